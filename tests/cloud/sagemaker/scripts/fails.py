import sys

print("about to fail")
print("Traceback: ValueError: the data is bad", file=sys.stderr)
sys.exit(1)
