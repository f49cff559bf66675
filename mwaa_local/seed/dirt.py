"""Dirt on demand: deterministic, countable defects injected into one interval (day) of the source.

Every defect is a NEW row (or, for late updates and schema drift, a change to existing rows) whose updated_at
falls inside the dirty interval, so the incremental extract picks it up. Clean rows stay as generated, hence
"warehouse = clean source" still holds after the dirty rows are quarantined. Rows are chosen by
md5(key, seed, table) order, and each kind takes its own slice of that order, so no source row is used twice
within one injection (a second `apply` on the same day may pick rows an earlier one wrote).

Each injection is reported in the manifest with the reject reason the curation must give it (None when the
rows are valid and must load) and the keys it wrote, so tests can assert exactly which rows are quarantined.
"""

from __future__ import annotations

from mwaa_local.errors import UserError
from mwaa_local.seed.generate import Plan
from mwaa_local.seed.schema import KEYS, SCHEMA, columns

KINDS = ("null_keys", "negative_amounts", "malformed", "duplicates", "schema_drift", "late_updates")
DRIFT_COLUMN = ("orders", "coupon_code")


def parse_kinds(kinds) -> list[str]:
    if isinstance(kinds, str):
        kinds = [k for k in kinds.split(",") if k.strip()]
    kinds = [k.strip() for k in kinds]
    if "all" in kinds:
        return list(KINDS)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise UserError(f"unknown dirt kind(s) {', '.join(unknown)}; choose from {', '.join(KINDS)} or all")
    return list(dict.fromkeys(kinds))


def check_day(plan: Plan, kinds: list[str], day: int) -> None:
    if not 0 <= day < plan.days:
        raise UserError(f"dirty day {plan.interval(day)} is outside the seeded intervals "
                        f"{plan.interval(0)}..{plan.interval(plan.days - 1)}")
    if "late_updates" in kinds and day == 0:
        raise UserError("late_updates change rows of EARLIER intervals: pick a dirty day after the first")


class _Injector:
    def __init__(self, cur, plan: Plan, day: int, rows: int):
        self.cur, self.plan, self.day, self.rows = cur, plan, day, rows
        self.lo = plan.day_start_us(day) / 1e6
        self.interval = plan.interval(day).isoformat()
        self.slice = {}  # (table, earlier) -> next offset in its candidate pool
        self.pools: dict[tuple[str, bool], list[int]] = {}
        self.entries: list[dict] = []

    def pick(self, table: str, earlier: bool = False) -> list[int]:
        """The next `rows` clean keys of the dirty day (or of earlier days), in a seeded but stable order.

        The candidate order is read once per table, before this injector writes to that table, so the
        rows it inserts never become candidates and the kinds' slices never overlap."""
        key = KEYS[table]
        slot = (table, earlier)
        if slot not in self.pools:
            where = ("updated_at < to_timestamp(%(lo)s)" if earlier else
                     "updated_at >= to_timestamp(%(lo)s) + interval '1 minute' "
                     "AND updated_at < to_timestamp(%(lo)s) + interval '1 day'")
            self.cur.execute(
                f"SELECT {key} FROM {SCHEMA}.{table} WHERE {key} IS NOT NULL AND {where} "
                f"ORDER BY md5({key}::text || %(salt)s), {key} LIMIT %(n)s",
                {"lo": self.lo, "salt": f":{self.plan.seed}:{table}", "n": self.rows * len(KINDS) * 3})
            self.pools[slot] = [row[0] for row in self.cur.fetchall()]
        offset = self.slice.get(slot, 0)
        self.slice[slot] = offset + self.rows
        return self.pools[slot][offset:offset + self.rows]

    def copy(self, table: str, kind: str, reason: str | None, overrides: dict[str, str], new_keys: bool,
             note: str) -> None:
        """INSERT copies of picked rows with some columns rewritten (SQL expressions over the original row)."""
        key = KEYS[table]
        picked = self.pick(table)
        cols = columns(table)
        if new_keys:
            overrides = {key: f"(SELECT max({key}) FROM {SCHEMA}.{table}) + row_number() OVER (ORDER BY {key})",
                         **overrides}
        select = ", ".join(overrides.get(c, c) for c in cols)
        self.cur.execute(
            f"INSERT INTO {SCHEMA}.{table} ({', '.join(cols)}) SELECT {select} FROM {SCHEMA}.{table} "
            f"WHERE {key} = ANY(%(keys)s) ORDER BY {key} RETURNING {key}", {"keys": picked})
        written = sorted(k for (k,) in self.cur.fetchall() if k is not None)
        self.entries.append({"kind": kind, "table": table, "reason": reason, "interval": self.interval,
                             "rows": len(picked), "keys": written if overrides.get(key) != "NULL" else [],
                             "copied_from": picked, "note": note})

    def null_keys(self):
        self.copy("customers", "null_keys", "null_key", {"customer_id": "NULL"}, False, "customer_id is NULL")
        self.copy("orders", "null_keys", "null_key", {"customer_id": "NULL"}, True, "new orders with customer_id NULL")
        self.copy("order_items", "null_keys", "null_key", {"order_item_id": "NULL"}, False, "order_item_id is NULL")

    def negative_amounts(self):
        self.copy("order_items", "negative_amounts", "negative_quantity",
                  {"quantity": "-quantity", "amount": "-amount"}, True, "new lines with quantity and amount negated")
        self.copy("order_items", "negative_amounts", "negative_amount", {"amount": "-amount"}, True,
                  "new lines with amount negated (quantity positive)")
        self.copy("orders", "negative_amounts", "negative_amount", {"total_amount": "-total_amount"}, True,
                  "new orders with total_amount negated")

    def malformed(self):
        self.copy("customers", "malformed", "malformed_email", {"email": "replace(email, '@', ' at ')"}, True,
                  "new customers whose email has no @")
        self.copy("orders", "malformed", "malformed_currency", {"currency": "lower(currency) || '$'"}, True,
                  "new orders with a currency that is not an ISO 4217 code")

    def duplicates(self):
        self.copy("order_items", "duplicates", "duplicate_row", {}, False, "exact copies of existing lines")
        self.copy("order_items", "duplicates", "superseded_duplicate",
                  {"updated_at": "updated_at - interval '30 seconds'", "quantity": "quantity + 1",
                   "amount": "unit_price * (quantity + 1)"}, False,
                  "older versions (30 s earlier, other quantity) of existing lines: the original must win")
        self.copy("customers", "duplicates", "duplicate_row", {}, False, "exact copies of existing customers")

    def schema_drift(self):
        table, column = DRIFT_COLUMN
        key = KEYS[table]
        picked = self.pick(table)
        self.cur.execute(f"ALTER TABLE {SCHEMA}.{table} ADD COLUMN IF NOT EXISTS {column} text")
        self.cur.execute(f"UPDATE {SCHEMA}.{table} SET {column} = 'WELCOME10' WHERE {key} = ANY(%(keys)s)",
                         {"keys": picked})
        self.entries.append({"kind": "schema_drift", "table": table, "reason": None, "interval": self.interval,
                             "rows": len(picked), "keys": sorted(picked), "extra_columns": [column],
                             "note": f"the app added column {column}; set on these rows, NULL elsewhere"})

    def late_updates(self):
        table, key = "orders", KEYS["orders"]
        picked = self.pick(table, earlier=True)
        self.cur.execute(
            f"UPDATE {SCHEMA}.{table} SET status = 'refunded', "
            f"updated_at = to_timestamp(%(lo)s) + interval '1 hour' + ({key} %% 3600) * interval '1 second' "
            f"WHERE {key} = ANY(%(keys)s)", {"lo": self.lo, "keys": picked})
        self.entries.append({"kind": "late_updates", "table": table, "reason": None, "interval": self.interval,
                             "rows": len(picked), "keys": sorted(picked),
                             "note": "orders of earlier intervals refunded now: the warehouse must update them"})


def inject(cur, plan: Plan, kinds: list[str], day: int, rows: int = 5) -> list[dict]:
    """Injects `kinds` into interval `day` inside the caller's transaction; returns the manifest entries."""
    check_day(plan, kinds, day)
    if rows < 1:
        raise UserError("dirt rows per injection must be at least 1")
    injector = _Injector(cur, plan, day, rows)
    for kind in kinds:
        getattr(injector, kind)()
    return injector.entries


def apply(dsn: str, plan: Plan, kinds, day: int, rows: int = 5) -> list[dict]:
    """Dirties an already seeded source (e.g. the next interval after a clean run), in one transaction."""
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            return inject(cur, plan, parse_kinds(kinds), day, rows)
    finally:
        conn.close()


def expected_quarantine(entries: list[dict]) -> dict[tuple[str, str], int]:
    """(table, reason) -> rows the curation must quarantine, from manifest entries."""
    out: dict[tuple[str, str], int] = {}
    for entry in entries:
        if entry["reason"]:
            key = (entry["table"], entry["reason"])
            out[key] = out.get(key, 0) + entry["rows"]
    return out
