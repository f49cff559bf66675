"""Deterministic, seeded generation of the clean retail data, one day (= one DAG data interval) at a time.

Every chunk draws from its own random stream, derived from (seed, table, day, chunk), so the data depends
only on the plan, the seed and CHUNK_ORDERS (part of the data's definition, like the seed: changing it changes
the data). Each day's streams are independent of other days. Chunks are pyarrow tables
(vectorised numpy/pyarrow, no per-row Python), so tens of millions of rows stream through in bounded memory.
numpy and pyarrow are imported inside functions: the CLI imports this module to build its parser.

History (opt-in, `Plan.history_days` > 0): the day-0 customers signed up during the `history_days` before `start` and
ordered since, each at their own pace (a latent propensity: a Poisson rate per customer, a lifetime after which they
churn, a basket size that grows with the rate). The same propensity picks who orders on each interval, so a
customer's past frequency, recency and spend predict whether they buy again: the signal ml_train learns. The history
reaches the source as an import on day 0 (created_at in the past, updated_at on day 0), so the first interval's
extract carries it into the warehouse. With history_days = 0 (the default) the data is exactly as before.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass

CHUNK_ORDERS = 200_000  # orders per chunk (about 600k order lines): bounded memory at any size; fixed, see above
_STREAMS = {"customers": 1, "products": 2, "orders": 3, "propensity": 4, "history": 5}
_DAY_US = 86_400 * 10**6
_MAX_UPDATE_LAG_US = 600 * 10**6  # an order is updated (paid) within 10 minutes, inside its day

FIRST_NAMES = ["ana", "ben", "chen", "dara", "eli", "fatima", "goran", "hana", "ivan", "jun", "kofi", "lea",
               "mateo", "nia", "omar", "priya", "quinn", "rosa", "sven", "tariq", "uma", "vera", "wei", "yara"]
LAST_NAMES = ["smith", "garcia", "mueller", "rossi", "kim", "nguyen", "okafor", "silva", "dubois", "ivanova",
              "tanaka", "haddad", "larsen", "novak", "patel", "cohen"]
DOMAINS = ["example.com", "mail.example.org", "shop.example.net"]
COUNTRIES = ["US", "GB", "DE", "FR", "ES", "IT", "NL", "SE", "PL", "JP", "BR", "CA", "AU", "IN"]
SEGMENTS = ["consumer", "small_business", "corporate"]
CATEGORIES = ["apparel", "books", "electronics", "garden", "grocery", "home", "sports", "toys"]
ADJECTIVES = ["classic", "compact", "deluxe", "eco", "light", "pro", "smart", "solid", "ultra", "vintage"]
NOUNS = ["backpack", "blender", "chair", "desk lamp", "headphones", "kettle", "mug", "notebook", "sneakers", "tent"]
STATUSES = ["placed", "paid", "shipped", "delivered", "cancelled"]
STATUS_WEIGHTS = [0.10, 0.25, 0.30, 0.30, 0.05]
CURRENCIES = ["USD", "EUR", "GBP"]
MAX_HISTORY_DAYS = 3_650
HISTORY_STATUS_WEIGHTS = [0.0, 0.0, 0.0, 0.95, 0.05]  # old orders were delivered or cancelled long ago
MEAN_ORDERS_PER_DAY = 0.08  # a customer's mean pace while active: one order in ~12 days
MEAN_LIFETIME_DAYS = 120  # then they churn
CHURNED_PACE = 0.03  # a churned customer still orders, at 3 % of their old pace


@dataclass(frozen=True)
class Plan:
    """How much data, over which days. Sizes derive from the order count; days are data intervals."""

    orders: int = 20_000
    start: dt.date = dt.date(2024, 1, 1)
    days: int = 3
    seed: int = 42
    history_days: int = 0  # order history before `start` with a repeat-purchase signal (see the module docstring)
    customer_count: int = 0  # 0: derived from the order count (`customers`)

    def __post_init__(self):
        if self.orders < 1 or self.days < 1:
            raise ValueError("orders and days must be at least 1")
        if not 0 <= self.history_days <= MAX_HISTORY_DAYS:
            raise ValueError(f"history_days must be 0..{MAX_HISTORY_DAYS}")
        if self.customer_count < 0:
            raise ValueError("customer_count must be at least 0 (0: orders / 4)")

    @property
    def products(self) -> int:
        return min(max(20, self.orders // 50), 50_000)

    @property
    def customers(self) -> int:
        return self.customer_count or max(50, self.orders // 4)

    def interval(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=day)

    def day_start_us(self, day: int) -> int:
        moment = dt.datetime.combine(self.interval(day), dt.time(), tzinfo=dt.UTC)
        return int(moment.timestamp()) * 10**6

    def orders_on(self, day: int) -> int:
        base, extra = divmod(self.orders, self.days)
        return base + (1 if day < extra else 0)

    def customers_on(self, day: int) -> int:
        """Half the customers exist on day 0; the rest sign up evenly over the following days."""
        later = self.customers // (2 * self.days)
        return self.customers - later * (self.days - 1) if day == 0 else later

    def customers_through(self, day: int) -> int:
        return sum(self.customers_on(d) for d in range(day + 1))


def _rng(plan: Plan, stream: int, day: int, chunk: int = 0):
    import numpy as np

    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([plan.seed, stream, day, chunk])))


def _timestamps(values_us):
    import pyarrow as pa

    return pa.array(values_us, type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def money(cents):
    """Exact decimal text ("12.34", "-0.05") from integer cents, for COPY into numeric columns."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    cents = np.asarray(cents, dtype=np.int64)
    sign = pa.array(np.where(cents < 0, "-", ""))
    units = pa.array(np.abs(cents) // 100).cast(pa.string())
    hundredths = pc.utf8_lpad(pa.array(np.abs(cents) % 100).cast(pa.string()), 2, "0")
    return pc.binary_join_element_wise(sign, units, ".", hundredths, "")


def _pick(rng, options: list[str], size: int, p=None):
    import numpy as np
    import pyarrow as pa

    return pa.array(np.asarray(options, dtype=object)[rng.choice(len(options), size=size, p=p)], type=pa.string())


def customers(plan: Plan, day: int):
    """All customers who sign up on `day` (one chunk: customers are few next to order lines)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    count = plan.customers_on(day)
    rng = _rng(plan, _STREAMS["customers"], day)
    ids = np.arange(plan.customers_through(day) - count + 1, plan.customers_through(day) + 1, dtype=np.int64)
    first = _pick(rng, FIRST_NAMES, count)
    last = _pick(rng, LAST_NAMES, count)
    domain = _pick(rng, DOMAINS, count)
    email = pc.binary_join_element_wise(first, ".", last, pa.array(ids).cast(pa.string()), "@", domain, "")
    name = pc.binary_join_element_wise(pc.utf8_capitalize(first), pc.utf8_capitalize(last), " ")
    created = plan.day_start_us(day) + rng.integers(0, _DAY_US - _MAX_UPDATE_LAG_US, size=count)
    updated = created + rng.integers(0, _MAX_UPDATE_LAG_US, size=count)
    if plan.history_days and day == 0:  # imported on day 0; signed up during the history
        created = plan.day_start_us(0) + (propensity(plan).signup_day[ids - 1] * _DAY_US).astype(np.int64)
    return pa.table({
        "customer_id": ids, "email": email, "full_name": name,
        "country_code": _pick(rng, COUNTRIES, count), "segment": _pick(rng, SEGMENTS, count),
        "created_at": _timestamps(created), "updated_at": _timestamps(updated),
    })


def product_prices_cents(plan: Plan):
    """List prices of all products (index i = product_id i + 1); order lines need them, so they are drawn first."""
    import numpy as np

    rng = _rng(plan, _STREAMS["products"], 0)
    return np.clip(np.round(rng.lognormal(mean=3.2, sigma=0.9, size=plan.products) * 100), 99, 500_000).astype(np.int64)


def products(plan: Plan):
    """The catalog: every product is created on day 0 (the first interval)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    count = plan.products
    prices = product_prices_cents(plan)
    rng = _rng(plan, _STREAMS["products"], 0, chunk=1)
    ids = np.arange(1, count + 1, dtype=np.int64)
    sku = pc.binary_join_element_wise("SKU-", pc.utf8_lpad(pa.array(ids).cast(pa.string()), 6, "0"), "")
    name = pc.binary_join_element_wise(_pick(rng, ADJECTIVES, count), _pick(rng, NOUNS, count), " ")
    created = plan.day_start_us(0) + rng.integers(0, _DAY_US // 4, size=count)  # the catalog is loaded early
    return pa.table({
        "product_id": ids, "sku": sku, "name": name, "category": _pick(rng, CATEGORIES, count),
        "unit_price": money(prices), "created_at": _timestamps(created), "updated_at": _timestamps(created),
    })


@dataclass
class OrderIds:
    """Where the next day's ids start (ids are dense and increase with time)."""

    next_order_id: int = 1
    next_item_id: int = 1


def _order_tables(ids: OrderIds, rng, customer_id, created, updated, lines, prices_cents, status_weights):
    """One chunk's orders and their lines from drawn times, customers and line counts; advances `ids`. Random
    draws in a fixed order (lines' products and quantities, then status and currency): the data's definition."""
    import numpy as np
    import pyarrow as pa

    n, m = len(created), int(lines.sum())
    order_id = np.arange(ids.next_order_id, ids.next_order_id + n, dtype=np.int64)
    line_order = np.repeat(np.arange(n), lines)
    product_id = rng.integers(1, len(prices_cents) + 1, size=m)
    quantity = rng.integers(1, 6, size=m).astype(np.int32)
    unit_cents = prices_cents[product_id - 1]
    amount_cents = unit_cents * quantity
    total_cents = np.bincount(line_order, weights=amount_cents, minlength=n).astype(np.int64)
    if callable(customer_id):  # drawn here, after the lines, as the daily orders always did
        customer_id = customer_id()
    order_table = pa.table({
        "order_id": order_id,
        "customer_id": customer_id,
        "status": _pick(rng, STATUSES, n, p=status_weights),
        "currency": _pick(rng, CURRENCIES, n),
        "total_amount": money(total_cents),
        "created_at": _timestamps(created), "updated_at": _timestamps(updated),
    })
    items_table = pa.table({
        "order_item_id": np.arange(ids.next_item_id, ids.next_item_id + m, dtype=np.int64),
        "order_id": order_id[line_order], "product_id": product_id, "quantity": quantity,
        "unit_price": money(unit_cents), "amount": money(amount_cents),
        "created_at": _timestamps(created[line_order]), "updated_at": _timestamps(updated[line_order]),
    })
    ids.next_order_id += n
    ids.next_item_id += m
    return order_table, items_table


def orders(plan: Plan, day: int, ids: OrderIds, prices_cents) -> Iterator[tuple]:
    """Yields (orders, order_items) chunks for `day`; advances `ids`. Totals equal the sum of their lines."""
    remaining, chunk = plan.orders_on(day), 0
    known_customers = plan.customers_through(day)
    while remaining > 0:
        n = min(CHUNK_ORDERS, remaining)
        rng = _rng(plan, _STREAMS["orders"], day, chunk)
        created = plan.day_start_us(day) + rng.integers(0, _DAY_US - _MAX_UPDATE_LAG_US, size=n)
        updated = created + rng.integers(0, _MAX_UPDATE_LAG_US, size=n)
        lines = rng.integers(1, 6, size=n)  # 1..5 lines per order, 3 on average

        def customers_of_orders(rng=rng, n=n):
            if plan.history_days:  # who orders follows the customers' propensity (the signal)
                weights = propensity(plan).pace_on(day)[:known_customers]
                return rng.choice(known_customers, size=n, p=weights / weights.sum()) + 1
            return rng.integers(1, known_customers + 1, size=n)

        yield _order_tables(ids, rng, customers_of_orders, created, updated, lines, prices_cents, STATUS_WEIGHTS)
        remaining -= n
        chunk += 1


@dataclass(frozen=True)
class Propensity:
    """Each customer's latent repeat-purchase behaviour (index = customer_id - 1), drawn once per plan."""

    pace: object  # orders per day while active (numpy array)
    signup_day: object  # days after `start` (negative: during the history)
    lifetime: object  # days from sign-up until they churn
    basket: object  # mean extra lines per order: loyal customers buy bigger baskets

    def pace_on(self, day: float):
        """Orders per day of every customer on `day` (churned: a small fraction of their pace)."""
        import numpy as np

        return self.pace * np.where(day < self.signup_day + self.lifetime, 1.0, CHURNED_PACE)


@functools.lru_cache(maxsize=4)
def propensity(plan: Plan) -> Propensity:
    import numpy as np

    rng = _rng(plan, _STREAMS["propensity"], 0)
    n = plan.customers
    pace = rng.gamma(shape=0.7, scale=MEAN_ORDERS_PER_DAY / 0.7, size=n)
    lifetime = rng.exponential(MEAN_LIFETIME_DAYS, size=n)
    signup = np.repeat(np.arange(plan.days, dtype=np.float64), [plan.customers_on(d) for d in range(plan.days)])
    first = plan.customers_on(0)
    signup[:first] = -rng.uniform(0, plan.history_days, size=first)
    rank = np.argsort(np.argsort(pace)) / max(n - 1, 1)  # 0 = slowest, 1 = most frequent buyer
    return Propensity(pace, signup, lifetime, 0.5 + 2.5 * rank)


def history_orders(plan: Plan, ids: OrderIds, prices_cents) -> Iterator[tuple]:
    """Yields (orders, order_items) chunks of the day-0 customers' history before `start` (nothing when
    history_days is 0); advances `ids` (history ids come first: ids increase with time). Imported on day 0: each
    row's updated_at lies on day 0, its created_at in the past."""
    import numpy as np

    if not plan.history_days:
        return
    traits, first = propensity(plan), plan.customers_on(0)
    rng = _rng(plan, _STREAMS["history"], 0)
    signup = traits.signup_day[:first]
    churn = np.minimum(signup + traits.lifetime[:first], 0.0)
    active, churned = churn - signup, -churn
    n_active = rng.poisson(traits.pace[:first] * active)
    n_churned = rng.poisson(traits.pace[:first] * CHURNED_PACE * churned)
    customer = np.concatenate([np.repeat(np.arange(first), n_active), np.repeat(np.arange(first), n_churned)])
    low = np.concatenate([np.repeat(signup, n_active), np.repeat(churn, n_churned)])
    span = np.concatenate([np.repeat(active, n_active), np.repeat(churned, n_churned)])
    moment = low + rng.random(len(low)) * span  # days after start: < 0
    order = np.argsort(moment, kind="stable")
    customer, moment = customer[order], moment[order]
    for chunk, begin in enumerate(range(0, len(moment), CHUNK_ORDERS)):
        part = slice(begin, begin + CHUNK_ORDERS)
        crng = _rng(plan, _STREAMS["history"], 0, chunk + 1)
        n = len(moment[part])
        created = plan.day_start_us(0) + (moment[part] * _DAY_US).astype(np.int64)
        updated = plan.day_start_us(0) + crng.integers(0, _DAY_US, size=n)
        lines = np.minimum(1 + crng.poisson(traits.basket[customer[part]]), 8)
        yield _order_tables(ids, crng, customer[part] + 1, created, updated, lines, prices_cents,
                            HISTORY_STATUS_WEIGHTS)
