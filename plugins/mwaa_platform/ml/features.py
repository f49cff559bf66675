"""Customer features for the repeat-purchase model: render the feature SQL (include/sql/features/), the table the run
builds from it, the UNLOAD of its train/validation splits, and the checks that stop a run on data that cannot train."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from mwaa_platform.paths import include_path

FEATURE_SQL = ("sql", "features", "customer_features.sql")
FEATURE_TABLE = "ml.customer_features"
FEATURES = ["recency_days", "tenure_days", "frequency", "monetary", "avg_order_value", "max_order_value",
            "avg_basket_items", "avg_basket_products"]
LABEL = "label"


class TrainingDataError(ValueError):
    """The data cannot train a model (no rows, one class, too small a validation set): fix the data, not the task."""


def _timestamp_literal(cutoff: dt.datetime) -> str:
    return f"TIMESTAMP '{cutoff.strftime('%Y-%m-%d %H:%M:%S')}'"


def feature_select(cutoff: dt.datetime, label_days: int, validation_percent: int) -> str:
    if not 1 <= int(label_days) <= 366:
        raise ValueError(f"label_days must be 1..366, got {label_days}")
    if not 1 <= int(validation_percent) <= 50:
        raise ValueError(f"validation_percent must be 1..50, got {validation_percent}")
    template = include_path(*FEATURE_SQL).read_text()
    return template.format(cutoff=_timestamp_literal(cutoff), label_days=int(label_days),
                           validation_percent=int(validation_percent))


def build_table_sql(cutoff: dt.datetime, label_days: int, validation_percent: int) -> list[str]:
    """Statements (one transaction) that rebuild the feature table for this cutoff."""
    return ["CREATE SCHEMA IF NOT EXISTS ml", f"DROP TABLE IF EXISTS {FEATURE_TABLE}",
            f"CREATE TABLE {FEATURE_TABLE} AS {feature_select(cutoff, label_days, validation_percent)}"]


SUMMARY_SQL = f"SELECT split, label, COUNT(*) FROM {FEATURE_TABLE} GROUP BY split, label ORDER BY split, label"


def unload_sql(split: str, s3_prefix: str, iam_role: str) -> str:
    if split not in ("train", "validation"):
        raise ValueError(f"split must be train or validation, got {split!r}")
    if not re.match(r"^s3://[a-z0-9.-]+/[A-Za-z0-9._/=-]+/$", s3_prefix):
        raise ValueError(f"unload prefix must be s3://bucket/path/ ending in '/', got {s3_prefix!r}")
    columns = ", ".join([*FEATURES, LABEL])
    inner = f"SELECT {columns} FROM {FEATURE_TABLE} WHERE split = ''{split}'' ORDER BY customer_id"
    return (f"UNLOAD ('{inner}') TO '{s3_prefix}' IAM_ROLE '{iam_role}' "
            "FORMAT AS CSV HEADER PARALLEL OFF ALLOWOVERWRITE")


@dataclass(frozen=True)
class SplitCounts:
    counts: dict[tuple[str, int], int]

    def rows(self, split: str) -> int:
        return sum(n for (s, _), n in self.counts.items() if s == split)

    def positives(self, split: str) -> int:
        return self.counts.get((split, 1), 0)


def check_training_data(rows: list[tuple], min_validation_rows: int, cutoff: dt.datetime) -> SplitCounts:
    """rows: (split, label, count) from SUMMARY_SQL. Raises TrainingDataError with what to fix."""
    counts = SplitCounts({(str(split), int(label)): int(n) for split, label, n in rows})
    total = counts.rows("train") + counts.rows("validation")
    if total == 0:
        raise TrainingDataError(
            f"the feature query returned no customers with orders before the cutoff {cutoff:%Y-%m-%d %H:%M}: load "
            "orders into analytics.fact_orders (run retail_etl) or pass an earlier cutoff in the run conf")
    labels = {label for (_, label) in counts.counts}
    if len(labels) < 2:
        only = "bought again" if labels == {1} else "did not buy again"
        raise TrainingDataError(
            f"every one of the {total} customers {only} within the label window after {cutoff:%Y-%m-%d}: the label "
            "has one class only; move the cutoff or change label_days so both outcomes occur")
    for split in ("train", "validation"):
        if counts.positives(split) == 0 or counts.positives(split) == counts.rows(split):
            raise TrainingDataError(f"the {split} split ({counts.rows(split)} rows) has one label class only: "
                                    "more customers are needed to train and score a model")
    if counts.rows("validation") < min_validation_rows:
        raise TrainingDataError(
            f"the validation split has {counts.rows('validation')} rows, fewer than min_validation_rows="
            f"{min_validation_rows}: too small to score a model; load more history or lower the setting")
    return counts
