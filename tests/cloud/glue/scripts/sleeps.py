"""A job that runs for --seconds, recording its pid in --pid_file first (so tests can check the process is gone)."""

import sys
import time

from awsglue.utils import getResolvedOptions

args = getResolvedOptions(sys.argv, ["seconds", "pid_file"])
with open(args["pid_file"], "w") as handle:
    import os

    handle.write(str(os.getpid()))
print("sleeping", flush=True)
time.sleep(float(args["seconds"]))
print("woke up")
