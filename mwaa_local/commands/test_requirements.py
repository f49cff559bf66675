
from mwaa_local import arguments, paths, requirements_check

NAME = "test-requirements"
HELP = (f"Check that requirements.txt installs on {requirements_check.TARGET} under the vendored MWAA pins "
        "(no network except PyPI).")


def add_arguments(parser):
    parser.add_argument("--requirements", type=arguments.input_file, default=paths.REQUIREMENTS,
                        help="the file to check (default: the repository's requirements.txt)")


def run(args) -> int:
    result = requirements_check.check(args.requirements)
    if result.problems:
        print(f"{args.requirements} is not ready for MWAA:")
    for problem in result.problems:
        print(f"  {problem}")
    if result.conflicts:
        print(f"{args.requirements} does not resolve under the {requirements_check.TARGET} pins:")
        for conflict in result.conflicts:
            print(f"  conflict: {conflict}")
        if result.resolver_message:
            print("uv says:\n" + "\n".join(f"    {line}" for line in result.resolver_message.splitlines()))
    if not result.ok:
        return 1
    print(f"{args.requirements} resolves for {requirements_check.TARGET}: {len(result.resolved)} packages")
    return 0
