import datetime as dt

from mwaa_local import arguments as _args

NAME = "seed-data"
HELP = "Generate the retail source database (deterministic, seeded, optional dirt) into the local PostgreSQL."


def _database(text: str) -> str:
    import argparse

    from mwaa_local import postgres
    from mwaa_local.errors import UserError

    try:
        return postgres.check_database_name(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _history_days(text: str) -> int:
    import argparse

    from mwaa_local.seed.generate import MAX_HISTORY_DAYS

    value = _args._int(text)
    if not 0 <= value <= MAX_HISTORY_DAYS:
        raise argparse.ArgumentTypeError(f"{value} is not a number of days (0-{MAX_HISTORY_DAYS})")
    return value


def add_arguments(parser):
    parser.add_argument("--orders", type=_args.positive, default=20_000,
                        help="orders in total, spread evenly over the days (order lines are ~3x; customers orders/4)")
    parser.add_argument("--seed", type=_args.seed, default=42,
                        help=f"random seed, 0-{_args.MAX_SEED}: same seed and sizes = same data")
    parser.add_argument("--start", type=_args.date, default=dt.date(2024, 1, 1), help="first data interval (YYYY-MM-DD)")
    parser.add_argument("--days", type=_args.positive, default=3, help="number of daily data intervals")
    parser.add_argument("--history-days", type=_history_days, default=0,
                        help="days of order history before --start with a repeat-purchase signal, imported on the first "
                             "interval (what ml_train learns from; 0-3650, default 0: none)")
    parser.add_argument("--customers", type=_args.positive, default=None,
                        help="customers (default: orders / 4, at least 50)")
    parser.add_argument("--dirt", default="",
                        help="comma-separated dirt kinds to inject: null_keys,negative_amounts,malformed,duplicates,"
                             "schema_drift,late_updates, or all")
    parser.add_argument("--dirt-day", type=_args.date, default=None, help="interval that gets the dirt (default: the last)")
    parser.add_argument("--dirt-rows", type=_args.positive, default=5, help="rows per dirt injection (at least 1)")
    parser.add_argument("--dirt-only", action="store_true",
                        help="do not regenerate: inject --dirt into the existing source (same --start/--days/--seed)")
    parser.add_argument("--drift", default="", choices=["shift"],
                        help="shift the data from --drift-day on (prices x1.8, +2 items per line, orders from a third of "
                             "the customers) so ml_monitor sees drift and requests retraining")
    parser.add_argument("--drift-day", type=_args.date, default=None,
                        help="first shifted interval (default: the middle day of the plan)")
    parser.add_argument("--database", type=_database, default="retail",
                        help="database name on the local PostgreSQL server (default retail: the demo's source)")
    parser.add_argument("--manifest", type=_args.output_file, default=None,
                        help="where to write the JSON manifest (default .local/seed/manifest.json)")


def run(args) -> int:
    import json

    from mwaa_local import paths, postgres
    from mwaa_local.errors import UserError
    from mwaa_local.seed import dirt, drift, load
    from mwaa_local.seed.generate import Plan

    plan = Plan(orders=args.orders, start=args.start, days=args.days, seed=args.seed,
                history_days=args.history_days, customer_count=args.customers or 0)
    try:
        plan.interval(plan.days)
    except OverflowError:
        raise UserError(f"--start {args.start} plus --days {args.days} runs past the year 9999") from None
    try:
        plan.interval(-plan.history_days - 1)
    except OverflowError:
        raise UserError(f"--start {args.start} minus --history-days {args.history_days} is before the year 1") from None
    kinds = dirt.parse_kinds(args.dirt)
    day = plan.days - 1 if args.dirt_day is None else (args.dirt_day - plan.start).days
    if kinds:
        dirt.check_day(plan, kinds, day)
    elif args.dirt_only:
        raise UserError("--dirt-only needs --dirt KIND[,KIND...]")
    shift = drift.parse(args.drift)
    drift_day = plan.days // 2 if args.drift_day is None else (args.drift_day - plan.start).days
    if shift is None and args.drift_day is not None:
        raise UserError("--drift-day needs --drift shift")
    if shift is not None and args.dirt_only:
        raise UserError("--drift regenerates the data: it cannot be combined with --dirt-only")
    if shift is not None and not 0 <= drift_day < plan.days:
        raise UserError(f"--drift-day {args.drift_day} is outside the seeded days {plan.start}.."
                        f"{plan.interval(plan.days - 1)}")
    was_running = postgres.user_dsn() is not None or postgres.running_port() is not None
    dsn = postgres.create_database(args.database)
    replaced = {} if args.dirt_only else _existing_rows(dsn)

    if args.dirt_only:
        manifest = {"dsn": dsn, "dirt": dirt.apply(dsn, plan, kinds, day, args.dirt_rows)}
    else:
        if replaced:
            print(f"replacing the source already in database {args.database} (schema retail: "
                  + ", ".join(f"{n:,} {table}" for table, n in replaced.items()) + ")"
                  + (" - also the demo's source; `./mwaa-local demo` seeds its own again"
                     if args.database == "retail" else ""), flush=True)
        print(f"seeding {plan.orders:,} orders over {plan.days} day(s) from {plan.start} (seed {plan.seed}) into {dsn}"
              + (f", with {plan.history_days} days of history before it (imported on {plan.start})"
                 if plan.history_days else ""), flush=True)
        manifest = load.seed(dsn, plan, kinds, day, args.dirt_rows, drift=shift, drift_day=drift_day)
        print(f"{'table':<12} " + " ".join(f"{d:>12}" for d in manifest["intervals"]) + f" {'total':>12}")
        for table, per_day in manifest["clean_rows"].items():
            cells = " ".join(f"{per_day.get(d, 0):>12,}" for d in manifest["intervals"])
            print(f"{table:<12} {cells} {sum(per_day.values()):>12,}")
        if shift is not None:
            print(f"drift shift from {plan.interval(drift_day)}: " + ", ".join(
                f"{k}={v}" for k, v in shift.describe().items()))
        print(f"loaded in {manifest['seconds']} s")
    for entry in manifest["dirt"]:
        reason = f"-> quarantine as {entry['reason']}" if entry["reason"] else "-> valid, must load"
        print(f"dirt {entry['kind']:<17} {entry['table']:<12} {entry['interval']} {entry['rows']:>4} rows {reason}"
              f" ({entry['note']})")
    target = args.manifest or paths.local_state() / "seed" / "manifest.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(manifest, indent=2, default=str))
    print(f"manifest: {target}")
    print(f"source DSN: {dsn}  (schema retail)")
    print(_server_note(postgres, was_running))
    return 0


def _existing_rows(dsn: str) -> dict[str, int]:
    """Rows per table of the retail schema already in the database (what a new seed replaces); {} if none."""
    import psycopg2

    from mwaa_local.seed import schema

    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
                        (schema.SCHEMA,))
            tables = [row[0] for row in cur.fetchall()]
            counts = {}
            for table in tables:
                cur.execute(f'SELECT COUNT(*) FROM "{schema.SCHEMA}"."{table}"')
                counts[table] = cur.fetchone()[0]
        return counts
    finally:
        conn.close()


def _server_note(postgres, was_running: bool) -> str:
    if postgres.user_dsn():
        return f"PostgreSQL: your server from {postgres.DSN_ENV} (this command starts and stops nothing)"
    port = postgres.running_port()
    return (f"PostgreSQL: {'still running' if was_running else 'started and left running'} on {postgres.HOST}:{port} "
            f"(data {postgres.default_data_dir()}); `./mwaa-local stop` ends it")
