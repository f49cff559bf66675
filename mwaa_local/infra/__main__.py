"""`python -m mwaa_local.infra overrides <env> <stack>`: the `Key=Value` parameter overrides of one stack for
`aws cloudformation deploy --parameter-overrides` (README, "Infrastructure")."""

import sys

from mwaa_local.errors import UserError
from mwaa_local.infra.templates import STACKS, command_line_overrides

USAGE = f"usage: python -m mwaa_local.infra overrides <environment> <{'|'.join(STACKS)}>"


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] != "overrides" or argv[2] not in STACKS:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        print(" ".join(command_line_overrides(argv[2], argv[1])))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
