
from mwaa_local import arguments, paths, requirements_check

NAME = "test-requirements"
HELP = (f"Check that requirements.txt installs on {requirements_check.TARGET} under the vendored MWAA pins "
        "(no network except PyPI); --install also installs it for real into a scratch venv.")


def add_arguments(parser):
    parser.add_argument("--requirements", type=arguments.input_file, default=paths.REQUIREMENTS,
                        help="the file to check (default: the repository's requirements.txt)")
    parser.add_argument("--install", action="store_true",
                        help="also install it for real into a throw-away venv (uv venv + uv pip install under "
                             "MWAA's pins; Python 3.12 when found, else this interpreter)")
    parser.add_argument("--python", default=None,
                        help="with --install: the interpreter of the scratch venv (default: a Python 3.12 uv finds, "
                             "else this one)")


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
    if result.ok:
        print(f"{args.requirements} resolves for {requirements_check.TARGET}: {len(result.resolved)} packages")
    installed = _install(args) if args.install else True
    return 0 if result.ok and installed else 1


def _install(args) -> bool:
    """The real install, run even when the resolution failed (its own error says more)."""
    done = requirements_check.install(args.requirements, args.python)
    for warning in done.warnings:
        print(f"warning: {warning}")
    if not done.ok:
        print(f"--install: {args.requirements} could not be installed into a scratch venv (Python {done.python}); "
              f"uv says:\n    {done.error}")
        return False
    print(f"--install: {args.requirements} installed into a scratch venv (Python {done.python}): "
          f"{len(done.installed)} packages; the venv was removed")
    return True
