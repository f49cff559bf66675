"""Plan.history_days: the order history before the first interval, and the promise that without it the data is
exactly what it always was (the ETL tests count rows of seeded plans)."""

import datetime as dt
import hashlib

import psycopg2
import pytest

from mwaa_local.seed import generate, load
from mwaa_local.seed.generate import Plan
from mwaa_platform import extract

HISTORY = Plan(orders=600, start=dt.date(2026, 1, 1), days=2, seed=3, history_days=90, customer_count=800)


def _digest(plan: Plan) -> str:
    digest = hashlib.sha256(str(generate.products(plan).to_pylist()).encode())
    prices, ids = generate.product_prices_cents(plan), generate.OrderIds()
    for chunk in generate.history_orders(plan, ids, prices):
        digest.update(str([t.to_pylist() for t in chunk]).encode())
    for day in range(plan.days):
        digest.update(str(generate.customers(plan, day).to_pylist()).encode())
        for chunk in generate.orders(plan, day, ids, prices):
            digest.update(str([t.to_pylist() for t in chunk]).encode())
    return digest.hexdigest()[:16]


def test_without_history_the_data_is_unchanged():
    # The digest of the code before history existed (computed on that commit): a change here changes every seeded test's data.
    assert _digest(Plan(orders=3_000, start=dt.date(2024, 3, 1), days=3, seed=7)) == "5216417c27e7c207"


def test_history_is_deterministic_and_depends_on_the_seed():
    assert _digest(HISTORY) == _digest(HISTORY)
    assert _digest(HISTORY) != _digest(Plan(**{**HISTORY.__dict__, "seed": 4}))


@pytest.mark.parametrize("bad", [{"history_days": -1}, {"history_days": 3_651}, {"customer_count": -1}])
def test_bad_history_settings_are_refused(bad):
    with pytest.raises(ValueError, match="history_days|customer_count"):
        Plan(**{**HISTORY.__dict__, **bad})


def _rows(dsn, sql):
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def test_history_is_imported_on_day_0_so_the_first_extract_carries_it(fresh_db):
    manifest = load.seed(fresh_db, HISTORY)
    assert manifest["plan"]["history_days"] == 90 and manifest["plan"]["customers"] == 800
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    [(history, first, last)] = _rows(fresh_db, "SELECT count(*), min(created_at), max(created_at) FROM retail.orders "
                                               f"WHERE created_at < '{start.isoformat()}'")
    assert history > 300
    assert start - dt.timedelta(days=90) <= first and last < start
    # the first interval's extract query (what IncrementalExtractOperator runs) returns history and day 0 alike
    [(extracted,)] = _rows(fresh_db, "SELECT count(*) FROM ("
                                     + extract.interval_query("orders", start, start + dt.timedelta(days=1)) + ") q")
    assert extracted == history + HISTORY.orders_on(0) == manifest["clean_rows"]["orders"]["2026-01-01"]
    assert manifest["clean_rows"]["orders"]["2026-01-02"] == HISTORY.orders_on(1)
    # a customer signs up before their first order of the history; ids increase with time; totals equal their lines
    assert _rows(fresh_db, "SELECT count(*) FROM retail.orders o JOIN retail.customers c USING (customer_id) "
                           f"WHERE o.created_at < c.created_at AND o.created_at < '{start.isoformat()}'") == [(0,)]
    assert _rows(fresh_db, "SELECT count(*) FROM (SELECT order_id, created_at, lag(created_at) OVER (ORDER BY order_id) "
                           f"AS before FROM retail.orders WHERE created_at < '{start.isoformat()}') t WHERE created_at < before") == [(0,)]
    assert _rows(fresh_db, "SELECT count(*) FROM retail.orders o JOIN (SELECT order_id, sum(amount) s FROM "
                           "retail.order_items GROUP BY 1) i USING (order_id) WHERE o.total_amount <> i.s") == [(0,)]
