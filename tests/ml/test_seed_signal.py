"""The seed generator's history (`Plan.history_days`) carries a repeat-purchase signal the model can learn: loaded
into the local Redshift as the ETL leaves it, the feature SQL's output trains a scikit-learn model (the training
script's own estimator) well above chance, and the same model on permuted labels does not. In a database of its
own, so the other ML tests' warehouse is untouched."""

from __future__ import annotations

import datetime as dt

import pytest

from mwaa_local.seed import warehouse as seed_warehouse
from mwaa_local.seed.generate import Plan
from mwaa_platform.ml import features
from mwaa_platform.ml.plan import choose_cutoff
from tests.ml.warehouse import WORKGROUP, reset_schema, sql

DATABASE = "seed_signal"
PLAN = Plan(orders=3_000, start=dt.date(2026, 1, 1), days=3, seed=5, history_days=120, customer_count=6_000)
LABEL_DAYS = 30


@pytest.fixture(scope="module")
def feature_frame(local_cloud):
    import boto3
    import pandas as pd

    from mwaa_local import provision

    config = provision.local_settings()
    redshift = boto3.client("redshift-data", endpoint_url=local_cloud.endpoint_url, region_name="us-east-1")
    s3 = boto3.client("s3", endpoint_url=local_cloud.endpoint_url, region_name="us-east-1")
    bucket = "seed-signal-test"
    s3.create_bucket(Bucket=bucket)
    sql(redshift, f"CREATE DATABASE {DATABASE}")
    reset_schema(redshift, DATABASE)
    seed_warehouse.load_orders(redshift, s3, bucket, config["redshift"]["iam_role"], PLAN, WORKGROUP, DATABASE)
    latest = sql(redshift, "SELECT MAX(created_at) AS latest FROM analytics.fact_orders", DATABASE)[0]["latest"]
    cutoff = choose_cutoff(dt.datetime.fromisoformat(str(latest)), LABEL_DAYS, None)
    assert cutoff < dt.datetime.combine(PLAN.start, dt.time())  # the features come from the history
    for statement in features.build_table_sql(cutoff, LABEL_DAYS, validation_percent=20):
        sql(redshift, statement, DATABASE)
    return pd.DataFrame(sql(redshift, f"SELECT * FROM {features.FEATURE_TABLE}", DATABASE))


def _validation_auc(frame, labels) -> float:
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    train, validation = frame["split"] == "train", frame["split"] == "validation"
    model = GradientBoostingClassifier(random_state=7).fit(frame.loc[train, features.FEATURES], labels[train])
    return roc_auc_score(frame.loc[validation, features.LABEL],
                         model.predict_proba(frame.loc[validation, features.FEATURES])[:, 1])


def test_history_gives_enough_customers_of_both_classes(feature_frame):
    assert len(feature_frame) > 1_000
    assert 0.2 < feature_frame[features.LABEL].mean() < 0.8
    assert (feature_frame["split"] == "validation").sum() > 200
    assert feature_frame["frequency"].max() > 3  # repeat buyers exist before the cutoff


def test_a_model_learns_the_signal_and_shuffled_labels_do_not(feature_frame):
    import numpy as np

    real = _validation_auc(feature_frame, feature_frame[features.LABEL].to_numpy())
    shuffled = _validation_auc(feature_frame, np.random.default_rng(3).permutation(feature_frame[features.LABEL]))
    print(f"validation AUC: real labels {real:.3f}, shuffled labels {shuffled:.3f}")
    assert real > 0.72
    assert shuffled < 0.6
