"""`./mwaa-local down`: ends `up` (its Airflow components first), then everything else `stop` ends."""

NAME = "down"
HELP = ("Stop the local MWAA environment: `up` and its Airflow components (each with its process group), then the "
        "local cloud and PostgreSQL, as `stop` does.")


def add_arguments(parser):
    pass


def run(args) -> int:
    from mwaa_local.commands import stop
    from mwaa_local.runtime import components

    stopped = components.stop_all()
    for service, pid in stopped:
        print(f"{service}: stopped (pid {pid} and its process group)")
    if not stopped:
        print("airflow: not running")
    return stop.run(args)
