"""A processing script in the style of the SDK's SKLearnProcessor examples: paths come as arguments."""

import argparse
import os

import pandas as pd

parser = argparse.ArgumentParser()
parser.add_argument("--input", default="/opt/ml/processing/input/data")
parser.add_argument("--output", default="/opt/ml/processing/output/train")
parser.add_argument("--threshold", type=float, default=0.0)
args = parser.parse_args()
frames = [pd.read_csv(os.path.join(args.input, name)) for name in sorted(os.listdir(args.input))]
data = pd.concat(frames)
kept = data[data["f1"] > args.threshold]
kept.to_csv(os.path.join(args.output, "train.csv"), index=False)
print(f"kept {len(kept)} of {len(data)} rows (region {os.environ.get('REGION_TAG')})")
if args.threshold > 100:
    raise SystemExit("threshold too high: nothing would be kept")
