import os
import subprocess
import time

subprocess.Popen(["sleep", "300"])  # a child: must die with the job
open(os.path.join(os.environ["SM_MODEL_DIR"], "partial.txt"), "w").write("saved before the stop")
print("sleeping", flush=True)
time.sleep(300)
