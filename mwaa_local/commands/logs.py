"""`./mwaa-local logs [component]`: the output of `up` and of each Airflow component."""

NAME = "logs"
HELP = ("Print the last lines of a component's log (api-server, scheduler, dag-processor, triggerer, db-migrate, "
        "up); without one, list the logs.")


def add_arguments(parser):
    from mwaa_local import arguments as _args

    parser.add_argument("component", nargs="?", default=None,
                        choices=["api-server", "scheduler", "dag-processor", "triggerer", "db-migrate", "up"])
    parser.add_argument("-n", "--lines", type=_args.positive, default=100, help="how many lines (default 100)")


def run(args) -> int:
    from mwaa_local.errors import UserError
    from mwaa_local.runtime import supervisor

    logs = supervisor.logs_dir()
    if args.component is None:
        found = sorted(logs.glob("*.log")) if logs.is_dir() else []
        if not found:
            print(f"no logs yet in {logs}; `./mwaa-local up` writes them")
        for path in found:
            print(f"{path.stem:<14} {path.stat().st_size:>10,} bytes  {path}")
        return 0
    path = logs / f"{args.component}.log"
    if not path.exists():
        raise UserError(f"no log for {args.component} yet ({path}); `./mwaa-local up` writes it")
    lines = path.read_text(errors="replace").splitlines()
    print("\n".join(lines[-args.lines:]))
    return 0
