"""A pythonshell job: read CSV from S3, type it, write Parquet partitioned by dt (pandas + pyarrow + boto3)."""

import io
import sys

import boto3
import pandas as pd
from awsglue.utils import getResolvedOptions

args = getResolvedOptions(sys.argv, ["JOB_NAME", "source", "target_bucket", "target_prefix"])
s3 = boto3.client("s3")  # AWS_ENDPOINT_URL points it at the local cloud
bucket, _, key = args["source"][5:].partition("/")
frame = pd.read_csv(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()), parse_dates=["ordered_at"])
frame["amount"] = frame["amount"].astype("float64")
for dt, part in frame.groupby(frame["ordered_at"].dt.strftime("%Y-%m-%d")):
    buffer = io.BytesIO()
    part.to_parquet(buffer, index=False)
    s3.put_object(Bucket=args["target_bucket"], Key=f"{args['target_prefix']}orders/dt={dt}/part-0.parquet",
                  Body=buffer.getvalue())
    print(f"wrote {len(part)} rows for dt={dt}")
print(f"job {args['JOB_NAME']} done")
