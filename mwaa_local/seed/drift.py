"""Shifted data for drift monitoring (`seed-data --drift shift`): from a given interval on, customers pay more, buy
bigger baskets and buy more often, so the features of ml_train (monetary, order value, basket items, frequency)
move away from a model's training baseline and ml_monitor must request retraining.

The shift is applied to the generated chunks after the fact (the clean generator stays untouched, and data before the
shift is byte-identical to an unshifted seed): unit prices times `price_factor`, `extra_quantity` more units per order
line (amounts and order totals recomputed, so totals still equal the sum of their lines), and the day's orders
concentrated on every `frequency_factor`-th customer (the same order volume from fewer customers: each of them buys
`frequency_factor` times as often). The numpy functions are the definition; `apply` maps them over a seed chunk.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Shift:
    price_factor: float = 1.8
    extra_quantity: int = 2
    frequency_factor: int = 3

    def describe(self) -> dict:
        return asdict(self)


KINDS = {"shift": Shift()}


def parse(text: str | None) -> Shift | None:
    from mwaa_local.errors import UserError

    if not text:
        return None
    if text not in KINDS:
        raise UserError(f"--drift {text!r} is not a drift mode; choose one of: {', '.join(KINDS)}")
    return KINDS[text]


def shift_prices(unit_cents, factor: float):
    import numpy as np

    return np.round(np.asarray(unit_cents, dtype=np.float64) * factor).astype(np.int64)


def shift_quantities(quantity, extra: int):
    import numpy as np

    return (np.asarray(quantity) + extra).astype(np.int32)


def concentrate_customers(customer_id, factor: int):
    """1..factor -> 1, factor+1..2*factor -> factor+1, ...: only every factor-th customer keeps buying (ids stay
    valid: each maps to an existing, smaller id)."""
    import numpy as np

    ids = np.asarray(customer_id, dtype=np.int64)
    return (ids - 1) // factor * factor + 1


def _cents(column):
    import numpy as np
    import pyarrow as pa

    return np.round(column.cast(pa.float64()).to_numpy(zero_copy_only=False) * 100).astype(np.int64)


def apply(orders, items, shift: Shift):
    """One generated (orders, order_items) chunk -> the shifted chunk (same rows, keys and timestamps)."""
    import numpy as np
    import pyarrow as pa

    from mwaa_local.seed.generate import money

    unit = shift_prices(_cents(items["unit_price"]), shift.price_factor)
    quantity = shift_quantities(items["quantity"].to_numpy(), shift.extra_quantity)
    amount = unit * quantity
    position = {order_id: i for i, order_id in enumerate(orders["order_id"].to_pylist())}
    line_order = np.fromiter((position[o] for o in items["order_id"].to_pylist()), dtype=np.int64, count=len(items))
    totals = np.bincount(line_order, weights=amount, minlength=len(orders)).astype(np.int64)
    items = (items.set_column(items.schema.get_field_index("quantity"), "quantity", pa.array(quantity))
             .set_column(items.schema.get_field_index("unit_price"), "unit_price", money(unit))
             .set_column(items.schema.get_field_index("amount"), "amount", money(amount)))
    customers = concentrate_customers(orders["customer_id"].to_numpy(), shift.frequency_factor)
    orders = (orders.set_column(orders.schema.get_field_index("customer_id"), "customer_id", pa.array(customers))
              .set_column(orders.schema.get_field_index("total_amount"), "total_amount", money(totals)))
    return orders, items
