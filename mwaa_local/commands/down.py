"""`./mwaa-local down`: the counterpart of `up`; the same as `stop` (which ends `up` and Airflow first)."""

NAME = "down"
HELP = ("Stop the local MWAA environment: `up` and its Airflow components (each with its process group), then the "
        "local cloud and PostgreSQL, as `stop` does.")


def add_arguments(parser):
    pass


def run(args) -> int:
    from mwaa_local.commands import stop

    return stop.run(args)  # stop ends `up` and Airflow first
