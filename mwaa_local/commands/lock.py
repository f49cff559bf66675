from mwaa_local import lock

NAME = "lock"
HELP = "Regenerate mwaa_local/lock/requirements-local.txt from requirements-local.in under the MWAA pins."


def add_arguments(parser):
    parser.add_argument("--python-version", default="3.11", help="Python version of the local env (default 3.11)")


def run(args) -> int:
    path = lock.regenerate(args.python_version)
    print(f"wrote {path}")
    return 0
