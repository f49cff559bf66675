"""One ml_train run's plan: the cutoff, where its data and model go, and the training job's request."""

from __future__ import annotations

import datetime as dt

from mwaa_platform.ml import features, training


class PlanError(ValueError):
    pass


def choose_cutoff(latest_order: dt.datetime | None, label_days: int, requested: str | None) -> dt.datetime:
    """The cutoff: `requested` (ISO date/time from the run conf) or the latest order's day minus label_days, so the
    label window [cutoff, cutoff + label_days] is fully inside the loaded history."""
    if latest_order is None:
        raise PlanError("analytics.fact_orders is empty: load the warehouse (run retail_etl) before training")
    horizon = dt.datetime.combine(latest_order.date(), dt.time()) - dt.timedelta(days=label_days)
    if requested:
        try:
            cutoff = dt.datetime.fromisoformat(str(requested)).replace(tzinfo=None)
        except ValueError as exc:
            raise PlanError(f"run conf cutoff {requested!r} is not an ISO date (YYYY-MM-DD[THH:MM:SS])") from exc
        if cutoff > horizon:
            raise PlanError(f"cutoff {cutoff:%Y-%m-%d} leaves less than label_days={label_days} of history after it "
                            f"(latest order {latest_order:%Y-%m-%d}); use a cutoff on or before {horizon:%Y-%m-%d}")
        return cutoff
    return horizon


def make_plan(*, dag_id: str, run_id: str, cutoff: dt.datetime, config: dict, source_uri: str,
              hyperparameters: dict) -> dict:
    ml = config["ml"]
    base = f"s3://{ml['bucket']}/{ml['prefix']}/runs/{training.run_prefix(run_id)}"
    train_uri, validation_uri = f"{base}/train/", f"{base}/validation/"
    name = training.job_name(dag_id, run_id)
    return {
        "cutoff": cutoff.isoformat(),
        "build_sql": features.build_table_sql(cutoff, ml["label_days"], ml["validation_percent"]),
        "unload_sql": [features.unload_sql("train", train_uri, config["redshift"]["iam_role"]),
                       features.unload_sql("validation", validation_uri, config["redshift"]["iam_role"])],
        "training_config": training.training_config(
            name, ml["training_image"], ml["sagemaker_role"], ml["instance_type"], source_uri, train_uri,
            validation_uri, f"{base}/output", hyperparameters),
    }
