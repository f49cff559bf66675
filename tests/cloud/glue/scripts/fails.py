"""A job whose script raises: the run must end FAILED with this text in ErrorMessage and the error log."""

print("about to fail")
raise ValueError("bad row 42: amount is negative")
