"""train_sklearn.py's training, started only once the file named by the `gate` hyperparameter exists: a test holds
the job InProgress for as long as it needs (until an operator has deferred), however fast or loaded the machine is."""

import argparse
import os
import runpy
import sys
import time

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--gate", required=True)
    args, rest = parser.parse_known_args()
    deadline = time.monotonic() + 300
    while not os.path.exists(args.gate):
        if time.monotonic() > deadline:
            raise SystemExit(f"the gate {args.gate} never opened")
        time.sleep(0.1)
    sys.argv = [sys.argv[0], *rest]
    runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_sklearn.py"), run_name="__main__")
