"""`./mwaa-local reset-db`: an empty Airflow metadata DB for the next `up` (which migrates it)."""

NAME = "reset-db"
HELP = ("Empty the local Airflow metadata DB (database `airflow` of the embedded PostgreSQL, or --dsn): DAG runs, "
        "task history, import errors go; the next `up` migrates it again. Refused while `up` runs.")


def add_arguments(parser):
    parser.add_argument("--dsn", default=None, help="postgresql:// URL of the metadata DB `up --dsn` used")


def run(args) -> int:
    import subprocess
    import sys

    from mwaa_local import postgres
    from mwaa_local.errors import UserError
    from mwaa_local.runtime import components, services

    live = components.running()
    if live:
        raise UserError(f"the local MWAA environment is running ({', '.join(sorted(live))}); "
                        "`./mwaa-local down` first")
    if args.dsn:
        env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": services.sqlalchemy_url(args.dsn),
               "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        import os

        done = subprocess.run([sys.executable, "-m", "airflow", "db", "reset", "--yes", "--skip-init"],
                              env={**os.environ, **env}, capture_output=True, text=True)
        if done.returncode != 0:
            raise UserError(f"airflow db reset failed: {done.stderr.strip().splitlines()[-1:]}")
        print(f"reset the metadata DB at {args.dsn}")
        return 0
    import psycopg2

    server = postgres.ensure_server()
    conn = psycopg2.connect(postgres.with_database(server, "postgres"))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{services.METADATA_DB}" WITH (FORCE)')
    finally:
        conn.close()
    postgres.create_database(services.METADATA_DB, server)
    print(f"reset: database {services.METADATA_DB} on {server.rsplit('/', 1)[0]} is empty; "
          "the next `./mwaa-local up` migrates it")
    return 0
