"""The demo's seeded days, in one place. ml_train labels a customer by a purchase in the `label_days` after its
cutoff (latest order day - label_days) and needs orders before the cutoff for its features, so the source holds
HISTORY_DAYS of orders before the demo's daily intervals. The history is loaded by ONE retail_etl run whose data
interval spans it (the REST API accepts an explicit data interval), then the daily intervals run one by one.
The plan turns on the generator's repeat-purchase signal (`Plan.history_days`): customers order at their own pace,
so who buys in the label window follows from their past orders, and ml_train has something real to learn."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DEMO_START = dt.date(2026, 1, 1)  # the first daily interval the demo runs
FEATURE_DAYS = 30  # days of orders before ml_train's cutoff (its features); the label window comes on top


@dataclass(frozen=True)
class Interval:
    start: dt.date
    end: dt.date  # exclusive

    @property
    def label(self) -> str:
        return self.start.isoformat() if self.days == 1 else f"{self.start} .. {self.end - dt.timedelta(days=1)}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def history_days(label_days: int) -> int:
    return label_days + FEATURE_DAYS


def seed_plan(orders: int, days: int, label_days: int, seed: int = 42):
    """The seed generator's Plan: history + the demo's days, orders spread evenly over all of them."""
    from mwaa_local.seed.generate import Plan

    history = history_days(label_days)
    # history_days: orders imported on the plan's first day, signed up and bought during the days before it
    return Plan(orders=orders, start=DEMO_START - dt.timedelta(days=history), days=history + days, seed=seed,
                history_days=label_days)


def history_interval(label_days: int) -> Interval:
    return Interval(DEMO_START - dt.timedelta(days=history_days(label_days)), DEMO_START)


def daily_intervals(days: int) -> list[Interval]:
    return [Interval(DEMO_START + dt.timedelta(days=d), DEMO_START + dt.timedelta(days=d + 1)) for d in range(days)]
