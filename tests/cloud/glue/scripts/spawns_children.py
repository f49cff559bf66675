"""A job that starts a child and a grandchild which inherit its log pipes and would sleep 300 s, then exits.

Arguments (pairs, as Glue passes them): --marker <path> (written last, as JSON: the pids it started and the time it
exits), --exit_code <n> (default 0), --ignore_term 1 (the children ignore SIGTERM, so only SIGKILL ends them),
--wait 1 (do not exit: sleep until stopped or timed out, after writing the marker).
"""

import json
import os
import subprocess
import sys
import time

args = dict(zip(sys.argv[1::2], sys.argv[2::2], strict=False))
trap = "trap '' TERM; " if args.get("--ignore_term") == "1" else ""
child = subprocess.Popen(["sh", "-c", f"{trap}sleep 300 & wait"])  # holds stdout and stderr
grandparent = subprocess.Popen(
    [sys.executable, "-c", "import subprocess, sys, time\n"
     f"p = subprocess.Popen(['sh', '-c', {trap + 'exec sleep 300'!r}])\n"
     "print(p.pid, flush=True)\ntime.sleep(300)"],
    stdout=subprocess.PIPE, text=True)
grandchild = int(grandparent.stdout.readline())
print("children started", flush=True)
print("a line on stderr", file=sys.stderr, flush=True)
pids = [os.getpid(), child.pid, grandparent.pid, grandchild]
with open(args["--marker"] + ".tmp", "w") as handle:
    json.dump({"pids": pids, "pgid": os.getpgid(0), "exited_at": time.time()}, handle)
os.replace(args["--marker"] + ".tmp", args["--marker"])
if args.get("--wait") == "1":
    time.sleep(300)
os._exit(int(args.get("--exit_code", "0")))  # no cleanup: the children are left behind, as a careless script does
