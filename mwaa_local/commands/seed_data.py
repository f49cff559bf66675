import datetime as dt
from pathlib import Path

NAME = "seed-data"
HELP = "Generate the retail source database (deterministic, seeded, optional dirt) into the local PostgreSQL."


def _date(text: str) -> dt.date:
    import argparse

    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-01-31") from exc


def add_arguments(parser):
    parser.add_argument("--orders", type=int, default=20_000,
                        help="orders in total, spread evenly over the days (order lines are ~3x; customers orders/4)")
    parser.add_argument("--seed", type=int, default=42, help="random seed: same seed and sizes = same data")
    parser.add_argument("--start", type=_date, default=dt.date(2024, 1, 1), help="first data interval (YYYY-MM-DD)")
    parser.add_argument("--days", type=int, default=3, help="number of daily data intervals")
    parser.add_argument("--dirt", default="",
                        help="comma-separated dirt kinds to inject: null_keys,negative_amounts,malformed,duplicates,"
                             "schema_drift,late_updates, or all")
    parser.add_argument("--dirt-day", type=_date, default=None, help="interval that gets the dirt (default: the last)")
    parser.add_argument("--dirt-rows", type=int, default=5, help="rows per dirt injection")
    parser.add_argument("--dirt-only", action="store_true",
                        help="do not regenerate: inject --dirt into the existing source (same --start/--days/--seed)")
    parser.add_argument("--database", default="retail", help="database name on the local PostgreSQL server")
    parser.add_argument("--manifest", type=Path, default=None,
                        help="where to write the JSON manifest (default .local/seed/manifest.json)")


def run(args) -> int:
    import json

    from mwaa_local import paths, postgres
    from mwaa_local.errors import UserError
    from mwaa_local.seed import dirt, load
    from mwaa_local.seed.generate import Plan

    if args.orders < 1 or args.days < 1:
        raise UserError("--orders and --days must be at least 1")
    plan = Plan(orders=args.orders, start=args.start, days=args.days, seed=args.seed)
    kinds = dirt.parse_kinds(args.dirt)
    day = plan.days - 1 if args.dirt_day is None else (args.dirt_day - plan.start).days
    if kinds:
        dirt.check_day(plan, kinds, day)
    elif args.dirt_only:
        raise UserError("--dirt-only needs --dirt KIND[,KIND...]")
    dsn = postgres.create_database(args.database)

    if args.dirt_only:
        manifest = {"dsn": dsn, "dirt": dirt.apply(dsn, plan, kinds, day, args.dirt_rows)}
    else:
        print(f"seeding {plan.orders:,} orders over {plan.days} day(s) from {plan.start} (seed {plan.seed}) into {dsn}",
              flush=True)
        manifest = load.seed(dsn, plan, kinds, day, args.dirt_rows)
        print(f"{'table':<12} " + " ".join(f"{d:>12}" for d in manifest["intervals"]) + f" {'total':>12}")
        for table, per_day in manifest["clean_rows"].items():
            cells = " ".join(f"{per_day.get(d, 0):>12,}" for d in manifest["intervals"])
            print(f"{table:<12} {cells} {sum(per_day.values()):>12,}")
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
    return 0
