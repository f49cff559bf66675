"""`seed-data --drift shift` (mwaa_local/seed/drift.py): the shift's arithmetic by hand, a shifted chunk stays
consistent, and the command seeds data that is shifted from the drift day on and untouched before it."""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pytest

from mwaa_local.seed import drift, generate
from tests.cli.conftest import Cli, assert_one_line_error, end_recorded, make_state_dir


def test_shift_arithmetic_by_hand():
    assert drift.shift_prices([100, 999, 1], 1.8).tolist() == [180, 1798, 2]  # 1798.2 -> 1798, 1.8 -> 2
    assert drift.shift_quantities([1, 5], 2).tolist() == [3, 7]
    # every 3rd customer keeps buying: 1,2,3 -> 1; 4,5,6 -> 4; 7 -> 7
    assert drift.concentrate_customers([1, 2, 3, 4, 5, 6, 7], 3).tolist() == [1, 1, 1, 4, 4, 4, 7]


def test_a_shifted_chunk_keeps_its_keys_and_its_totals_equal_the_sum_of_lines():
    plan = generate.Plan(orders=300, days=1, seed=5)
    orders, items = next(generate.orders(plan, 0, generate.OrderIds(), generate.product_prices_cents(plan)))
    shifted_orders, shifted_items = drift.apply(orders, items, drift.Shift())

    def cents(column):
        return np.round(column.cast("float64").to_numpy() * 100).astype(np.int64)

    assert shifted_orders["order_id"].equals(orders["order_id"]) and shifted_items["order_id"].equals(items["order_id"])
    assert shifted_items["created_at"].equals(items["created_at"])
    assert (cents(shifted_items["unit_price"]) == np.round(cents(items["unit_price"]) * 1.8)).all()
    assert (shifted_items["quantity"].to_numpy() == items["quantity"].to_numpy() + 2).all()
    assert (cents(shifted_items["amount"]) == cents(shifted_items["unit_price"]) * shifted_items["quantity"].to_numpy()).all()
    line_totals = {}
    for order_id, amount in zip(shifted_items["order_id"].to_pylist(), cents(shifted_items["amount"]), strict=True):
        line_totals[order_id] = line_totals.get(order_id, 0) + int(amount)
    assert dict(zip(shifted_orders["order_id"].to_pylist(), cents(shifted_orders["total_amount"]).tolist(),
                    strict=True)) == line_totals
    customers = shifted_orders["customer_id"].to_numpy()
    assert ((customers - 1) % 3 == 0).all() and len(set(customers)) < len(set(orders["customer_id"].to_pylist()))


@pytest.fixture
def cli():
    state = make_state_dir("mwaa-drift-seed-")
    from mwaa_local.cloud import process

    yield Cli(state, process.free_port())
    end_recorded(state)
    shutil.rmtree(state, ignore_errors=True)


def _per_day(dsn: str) -> dict:
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT o.created_at::date, COUNT(DISTINCT o.order_id), COUNT(DISTINCT o.customer_id), "
                        "SUM(i.amount), AVG(i.quantity), AVG(i.unit_price), "
                        "COUNT(DISTINCT o.customer_id) FILTER (WHERE (o.customer_id - 1) % 3 <> 0) FROM retail.orders o "
                        "JOIN retail.order_items i ON i.order_id = o.order_id GROUP BY 1 ORDER BY 1")
            return {row[0]: tuple(float(v) for v in row[1:]) for row in cur.fetchall()}
    finally:
        conn.close()


def test_seed_data_drift_shift_shifts_from_the_drift_day_and_leaves_earlier_days_as_the_clean_seed(cli):
    args = ["--orders", "800", "--days", "4", "--start", "2024-03-01"]
    clean = cli.run("seed-data", *args, "--database", "clean_src", timeout=600)
    assert clean.returncode == 0, clean.stderr
    shifted = cli.run("seed-data", *args, "--database", "drift_src", "--drift", "shift", "--drift-day", "2024-03-03",
                      timeout=600)
    assert shifted.returncode == 0, shifted.stderr
    assert "drift shift from 2024-03-03: price_factor=1.8, extra_quantity=2, frequency_factor=3" in shifted.stdout
    dsn = next(line for line in shifted.stdout.splitlines() if line.startswith("source DSN: ")).split()[2]
    before, after = _per_day(dsn.rsplit("/", 1)[0] + "/clean_src"), _per_day(dsn)
    day = dt.date(2024, 3, 3)
    for d in before:
        if d < day:
            assert after[d] == before[d]  # untouched before the drift day
        else:
            orders, customers, amount, quantity, price, off_grid = after[d]
            assert orders == before[d][0]  # the same order volume ...
            assert off_grid == 0 and customers < before[d][1]  # ... from every third customer only
            assert price == pytest.approx(before[d][4] * 1.8, rel=0.01)
            assert quantity == pytest.approx(before[d][3] + 2, rel=1e-6)
            assert amount > before[d][2] * 2.5


def test_seed_data_drift_day_without_drift_is_a_one_line_error(cli):
    done = cli.run("seed-data", "--orders", "10", "--days", "2", "--drift-day", "2024-01-02", timeout=300)
    assert_one_line_error(done, 1, "--drift-day needs --drift shift")
    done = cli.run("seed-data", "--orders", "10", "--days", "2", "--drift", "shift", "--drift-day", "2025-01-01",
                   timeout=300)
    assert_one_line_error(done, 1, "--drift-day 2025-01-01 is outside the seeded days 2024-01-01..2024-01-02")
