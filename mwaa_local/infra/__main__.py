"""Helpers for the AWS side (README, "Infrastructure"):

  python -m mwaa_local.infra overrides <env> <stack>  Key=Value overrides for `aws cloudformation deploy`
  python -m mwaa_local.infra upload <env>             dags/, include/, plugins.zip, requirements.txt, startup.sh to
                                                      the environment's MWAA bucket (AWS_* credentials of the shell)
"""

import sys

from mwaa_local.errors import UserError
from mwaa_local.infra.templates import STACKS, command_line_overrides, load_environment

USAGE = (f"usage: python -m mwaa_local.infra overrides <environment> <{'|'.join(STACKS)}>\n"
         "       python -m mwaa_local.infra upload <environment>")


def upload(environment: str) -> str:
    import boto3

    from mwaa_local import bucket_sync

    env = load_environment(environment)
    bucket = env.parameters["MwaaBucketName"]
    result = bucket_sync.sync(boto3.client("s3", region_name=env.region), bucket)
    versions = " ".join(f"{key}={version}" for key, version in sorted(result.versions.items()) if "/" not in key)
    return (f"s3://{bucket}: {len(result.uploaded)} uploaded, {len(result.unchanged)} unchanged, "
            f"{len(result.deleted)} deleted; versions: {versions}")


def main(argv: list[str]) -> int:
    valid = ((len(argv) == 3 and argv[0] == "overrides" and argv[2] in STACKS)
             or (len(argv) == 2 and argv[0] == "upload"))
    if not valid:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        print(" ".join(command_line_overrides(argv[2], argv[1])) if argv[0] == "overrides" else upload(argv[1]))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
