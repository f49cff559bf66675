import datetime as dt

import psycopg2
import pytest

from mwaa_local.errors import UserError
from mwaa_local.seed import dirt, load, schema
from mwaa_local.seed.generate import Plan

PLAN = Plan(orders=3_000, start=dt.date(2024, 3, 1), days=3, seed=7)


def _query(dsn, sql, params=None):
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def _checksums(dsn):
    """md5 of every table's full content in key order: equal checksums = identical data."""
    out = {}
    for table, key in schema.KEYS.items():
        cols = ", ".join(schema.columns(table))
        out[table] = _query(dsn, f"SELECT md5(string_agg(t::text, '|' ORDER BY {key}, t::text)) "
                                 f"FROM (SELECT {cols} FROM retail.{table}) t")[0][0]
    return out


def test_same_seed_same_data_and_reseeding_replaces(fresh_db):
    manifest = load.seed(fresh_db, PLAN)
    first = _checksums(fresh_db)
    assert load.seed(fresh_db, PLAN)["clean_rows"] == manifest["clean_rows"]  # replaces, never appends
    assert _checksums(fresh_db) == first
    load.seed(fresh_db, Plan(orders=3_000, start=PLAN.start, days=3, seed=8))
    assert _checksums(fresh_db)["orders"] != first["orders"]


def test_rows_per_interval_and_internal_consistency(fresh_db):
    manifest = load.seed(fresh_db, PLAN)
    assert manifest["intervals"] == ["2024-03-01", "2024-03-02", "2024-03-03"]
    assert manifest["clean_rows"]["orders"] == {"2024-03-01": 1000, "2024-03-02": 1000, "2024-03-03": 1000}
    assert load.source_counts(fresh_db) == {t: {d: n for d, n in per.items() if n} for t, per in manifest["clean_rows"].items()}
    # every order's total equals the sum of its lines; every line references a real order, product, customer
    assert _query(fresh_db, "SELECT count(*) FROM retail.orders o JOIN (SELECT order_id, sum(amount) s FROM "
                            "retail.order_items GROUP BY 1) i USING (order_id) WHERE o.total_amount <> i.s") == [(0,)]
    assert _query(fresh_db, "SELECT count(*) FROM retail.order_items i LEFT JOIN retail.products p USING (product_id) "
                            "WHERE p.product_id IS NULL") == [(0,)]
    assert _query(fresh_db, "SELECT count(*) FROM retail.orders o LEFT JOIN retail.customers c USING (customer_id) "
                            "WHERE c.customer_id IS NULL") == [(0,)]
    # a row's created_at and updated_at lie in the interval it is assigned to
    assert _query(fresh_db, "SELECT count(*) FROM retail.order_items WHERE (created_at AT TIME ZONE 'UTC')::date "
                            "<> (updated_at AT TIME ZONE 'UTC')::date OR updated_at < created_at") == [(0,)]


def test_dirt_manifest_matches_what_is_in_the_source(fresh_db):
    manifest = load.seed(fresh_db, PLAN, dirt=["all"], dirt_rows=4)
    entries = {(e["table"], e["reason"] or e["kind"]): e for e in manifest["dirt"]}
    day = "2024-03-03"
    assert all(e["interval"] == day and e["rows"] == 4 for e in manifest["dirt"])

    def in_day(table, condition):
        return _query(fresh_db, f"SELECT count(*) FROM retail.{table} WHERE {condition} "
                                "AND (updated_at AT TIME ZONE 'UTC')::date = %s", (day,))[0][0]

    assert in_day("customers", "customer_id IS NULL") == 4
    assert in_day("order_items", "order_item_id IS NULL") == 4
    assert in_day("orders", "customer_id IS NULL") == 4
    assert in_day("order_items", "quantity < 0") == 4
    assert in_day("order_items", "amount < 0") == 8  # negative_quantity lines have a negative amount too
    assert in_day("orders", "total_amount < 0") == 4
    assert in_day("customers", "email NOT LIKE '%%@%%'") == 4
    assert in_day("orders", "currency !~ '^[A-Z]{3}$'") == 4
    assert in_day("orders", "coupon_code IS NOT NULL") == 4
    superseded = entries[("order_items", "superseded_duplicate")]["keys"]
    rows = _query(fresh_db, "SELECT order_item_id, count(*), count(DISTINCT updated_at) FROM retail.order_items "
                            "WHERE order_item_id = ANY(%s) GROUP BY 1", (superseded,))
    assert sorted(r[0] for r in rows) == superseded and all(r[1:] == (2, 2) for r in rows)
    exact = entries[("order_items", "duplicate_row")]["keys"]
    assert _query(fresh_db, "SELECT count(*) FROM (SELECT DISTINCT * FROM retail.order_items WHERE order_item_id = ANY(%s)) d",
                  (exact,)) == [(4,)]
    late = entries[("orders", "late_updates")]["keys"]
    assert _query(fresh_db, "SELECT count(*) FROM retail.orders WHERE order_id = ANY(%s) AND status = 'refunded' AND "
                            "(created_at AT TIME ZONE 'UTC')::date < %s AND (updated_at AT TIME ZONE 'UTC')::date = %s",
                  (late, day, day)) == [(4,)]
    assert dirt.expected_quarantine(manifest["dirt"])[("order_items", "negative_amount")] == 4
    # injected keys never collide with each other
    keyed = [k for e in manifest["dirt"] if e["reason"] in ("negative_quantity", "negative_amount", "malformed_email")
             for k in e["keys"]]
    assert len(keyed) == len(set(keyed))


def test_dirt_is_deterministic(fresh_db):
    one = load.seed(fresh_db, PLAN, dirt=["duplicates", "negative_amounts"], dirt_rows=3)["dirt"]
    two = load.seed(fresh_db, PLAN, dirt=["duplicates", "negative_amounts"], dirt_rows=3)["dirt"]
    assert one == two


def test_dirt_only_on_an_existing_source_dirties_the_next_interval(fresh_db):
    load.seed(fresh_db, PLAN)
    before = load.source_counts(fresh_db)
    entries = dirt.apply(fresh_db, PLAN, "malformed", day=1, rows=2)
    after = load.source_counts(fresh_db)
    assert after["customers"]["2024-03-02"] == before["customers"]["2024-03-02"] + 2
    assert after["orders"]["2024-03-02"] == before["orders"]["2024-03-02"] + 2
    assert after["order_items"] == before["order_items"]
    assert {e["reason"] for e in entries} == {"malformed_email", "malformed_currency"}


@pytest.mark.parametrize("kinds, day, message", [
    ("bogus", 2, "unknown dirt kind"),
    ("late_updates", 0, "EARLIER intervals"),
    ("malformed", 5, "outside the seeded intervals"),
])
def test_bad_dirt_requests_fail_clearly(kinds, day, message, fresh_db):
    with pytest.raises(UserError, match=message):
        load.seed(fresh_db, PLAN, dirt=dirt.parse_kinds(kinds) if kinds != "bogus" else kinds.split(","), dirt_day=day)


def test_failed_seed_leaves_the_previous_source_untouched(fresh_db):
    load.seed(fresh_db, PLAN)
    before = _checksums(fresh_db)
    with pytest.raises(UserError, match="at least 1"):  # fails after COPY, inside the transaction
        load.seed(fresh_db, Plan(orders=500, start=PLAN.start, days=3, seed=1), dirt=["malformed"], dirt_rows=0)
    assert _checksums(fresh_db) == before


def test_cli_prints_rows_per_interval_and_the_dsn(pg_server, tmp_path, monkeypatch, capsys):
    from mwaa_local import cli

    monkeypatch.setenv("MWAA_LOCAL_POSTGRES_DSN", pg_server[1])
    manifest = tmp_path / "m.json"
    assert cli.main(["seed-data", "--orders", "600", "--days", "2", "--start", "2024-05-01", "--database", "cli_seed",
                     "--dirt", "null_keys", "--dirt-rows", "1", "--manifest", str(manifest)]) == 0
    out = capsys.readouterr().out
    assert "2024-05-01" in out and "2024-05-02" in out and "orders" in out
    assert "/cli_seed" in out and "null_key" in out
    assert '"null_keys"' in manifest.read_text()
