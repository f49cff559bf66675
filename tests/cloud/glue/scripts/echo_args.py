"""Prints its command line and what it can import, for argument / --extra-py-files tests."""

import json
import sys

print(json.dumps(sys.argv[1:]))
try:
    import helper_lib  # shipped with --extra-py-files

    print("helper:", helper_lib.VALUE)
except ImportError:
    print("helper: missing")
