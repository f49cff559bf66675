"""ml_monitor end to end through the local cloud (Redshift, S3) and the local MLflow: the baseline ml_train saves, no
champion (a clear skip), a column missing vs the baseline (a clear error naming it), an unshifted warehouse (no drift,
no asset) and a shifted one (drift: `retail_feature_drift` is published and the scheduler would start ml_train).

"Unshifted" is the session's seeded history (what the champion trained on) cut at the champion's training cutoff, so today's
features have the same age as the baseline's (features such as tenure grow with the history); "shifted" is the same
sample with seed-data's drift (mwaa_local/seed/drift.py) applied to the 30 days before the cutoff. The module reloads
the session's warehouse and restores it afterwards."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

from mwaa_local.seed import drift as seed_drift
from mwaa_local.seed import warehouse as seed_warehouse
from tests.ml import warehouse
from tests.ml.conftest import HISTORY

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]  # ml_train runs in setup when no champion exists
MODEL = "retail-repeat-purchase"
FEATURE_DRIFT = "retail_feature_drift"


def _airflow_db(ml, code: str) -> dict:
    """Runs `code` (which sets `result`) against the stack's Airflow metadata DB in a child process."""
    script = ("import json\nfrom sqlalchemy import select, func\nfrom airflow.utils.session import create_session\n"
              f"result = None\n{code}\nprint('@@' + json.dumps(result, default=str))")
    done = subprocess.run([sys.executable, "-c", script], env=ml.stack.env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("@@")][-1][2:])


ASSET_STATE = f"""
from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
from airflow.models.dag import DagModel
with create_session() as session:
    asset = session.scalar(select(AssetModel).where(AssetModel.name == "{FEATURE_DRIFT}"))
    events = session.scalar(select(func.count()).select_from(AssetEvent).where(AssetEvent.asset_id == asset.id)) \\
        if asset else 0
    queued = session.scalars(select(AssetDagRunQueue.target_dag_id).where(AssetDagRunQueue.asset_id == asset.id)
                             ).all() if asset else []
    _, triggered = DagModel.dags_needing_dagruns(session)
    session.rollback()
    result = {{"events": events, "queued": list(queued), "triggered": sorted(triggered)}}
"""


def _run(ml, conf: dict | None = None):
    from mwaa_local import dag_runner

    result = dag_runner.run_dag("ml_monitor", ml.stack.env(), conf=conf)
    print(f"ml_monitor {conf}: {result.state} {result.tasks} log {result.log_file}")
    return result


@pytest.fixture(scope="module")
def champion(ml):
    """The champion (trained by ml_train here if the session has none yet; then removed again at the end so the
    registry is as this module found it)."""
    client = ml.client()
    created = not client.search_registered_models(f"name = '{MODEL}'")
    try:
        client.get_model_version_by_alias(MODEL, "champion")
    except Exception:  # noqa: BLE001 - no champion yet
        result = ml.run()
        assert result.ok, result.log_file.read_text()[-4000:]
    version = client.get_model_version_by_alias(MODEL, "champion")
    yield version
    if created:
        client.delete_registered_model(MODEL)


def _baseline(ml, version) -> dict:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        return json.loads(Path(ml.client().download_artifacts(version.run_id, "monitoring/baseline.json", tmp))
                          .read_text())


def test_ml_train_saves_the_baseline_with_the_champion(ml, champion):
    from mwaa_platform.ml.features import FEATURES

    baseline = _baseline(ml, champion)
    assert list(baseline["features"]) == FEATURES and baseline["bins"] == 10
    assert ml.client().get_run(champion.run_id).data.tags["monitoring.baseline"] == "monitoring/baseline.json"
    assert baseline["training_job_name"] == champion.tags["sagemaker.training_job_name"]
    for name, column in baseline["features"].items():
        assert sum(column["counts"]) == baseline["rows"], name  # no feature is missing in training
        assert len(column["counts"]) == len(column["edges"]) + 1 and column["missing_share"] == 0.0
        assert column["min"] <= column["quantiles"]["p50"] <= column["max"]
        assert len(column["sample"]) == min(baseline["rows"], 5000)
    score = baseline["score"]
    assert 0 <= score["min"] < score["max"] <= 1  # probabilities of the validation split
    assert 0 < score["rows"] < baseline["rows"]  # validation is the smaller split


def test_no_champion_is_a_clear_skip(ml, champion):
    client = ml.client()
    client.delete_registered_model_alias(MODEL, "champion")
    try:
        result = _run(ml)
    finally:
        client.set_registered_model_alias(MODEL, "champion", champion.version)
    assert result.state == "success" and set(result.tasks.values()) == {"skipped"}, result.tasks
    assert "no champion yet: registered model 'retail-repeat-purchase' has no version with alias 'champion'; run " \
           "ml_train first" in result.log_file.read_text()


def test_a_column_missing_vs_the_baseline_fails_naming_the_column(ml, champion):
    client = ml.client()
    baseline = _baseline(ml, champion)
    baseline["features"]["loyalty_tier"] = baseline["features"]["frequency"]  # the champion knew a column we lack
    experiment = client.get_experiment_by_name("retail-repeat-purchase").experiment_id
    run = client.create_run(experiment, run_name="baseline-with-a-column-the-features-lack")
    client.log_dict(run.info.run_id, baseline, "monitoring/baseline.json")
    client.set_terminated(run.info.run_id)
    version = client.create_model_version(MODEL, source=champion.source, run_id=run.info.run_id,
                                          model_id=champion.source.removeprefix("models:/"))
    client.set_registered_model_alias(MODEL, "champion", version.version)
    try:
        result = _run(ml)
    finally:
        client.set_registered_model_alias(MODEL, "champion", champion.version)
        client.delete_model_version(MODEL, version.version)
        client.delete_run(run.info.run_id)
    assert result.state == "failed" and result.tasks["measure_drift"] == "failed", result.tasks
    assert result.tasks["unload_features"] == "success" and result.tasks["publish_drift"] != "success"
    log = result.log_file.read_text()
    assert "the current features lack column(s) loyalty_tier that the champion's baseline has" in log
    assert "restore them in include/sql/features/ or retrain the model" in log  # says what to fix


def _cut_and_shift(cutoff: dt.datetime, shift: seed_drift.Shift | None):
    """A generated chunk cut at the champion's cutoff; with a shift, seed-data's shift on its last 30 days."""
    import pyarrow as pa
    import pyarrow.compute as pc

    utc = pa.timestamp("us", tz="UTC")
    cutoff = cutoff if cutoff.tzinfo else cutoff.replace(tzinfo=dt.UTC)

    def transform(orders, items):
        orders = orders.filter(pc.less(orders["created_at"].cast(utc), pa.scalar(cutoff, type=utc)))
        items = items.filter(pc.is_in(items["order_id"], value_set=orders["order_id"]))
        if shift is None or orders.num_rows == 0:
            return orders, items
        recent = pc.greater_equal(orders["created_at"].cast(utc), pa.scalar(cutoff - dt.timedelta(days=30), type=utc))
        moved, kept = orders.filter(recent), orders.filter(pc.invert(recent))
        in_moved = pc.is_in(items["order_id"], value_set=moved["order_id"])
        moved, moved_items = seed_drift.apply(moved, items.filter(in_moved), shift)
        return (pa.concat_tables([kept, moved.cast(kept.schema)]),
                pa.concat_tables([items.filter(pc.invert(in_moved)), moved_items.cast(items.schema)]))

    return transform


@pytest.fixture(scope="module")
def current_warehouse(ml, champion):
    """load(shifted) replaces the warehouse with a fresh sample cut at the champion's cutoff; restored at the end."""
    cutoff = dt.datetime.fromisoformat(_baseline(ml, champion)["cutoff"])
    redshift, s3 = ml.stack.client("redshift-data"), ml.stack.client("s3")

    bucket, role = ml.config["data_lake_bucket"], ml.config["redshift"]["iam_role"]

    def load(shifted: bool) -> None:  # the session's seeded history cut at the cutoff, then maybe shifted
        warehouse.reset_schema(redshift)
        seed_warehouse.load_orders(redshift, s3, bucket, role, HISTORY,
                                   warehouse.WORKGROUP, warehouse.DATABASE,
                                   transform=_cut_and_shift(cutoff, seed_drift.Shift() if shifted else None))

    yield load
    warehouse.reset_schema(redshift)
    seed_warehouse.load_orders(redshift, s3, bucket, role, HISTORY, warehouse.WORKGROUP, warehouse.DATABASE)


def _summary(ml, result) -> dict:
    client = ml.client()
    experiment = client.get_experiment_by_name("retail-repeat-purchase-monitoring").experiment_id
    [run] = client.search_runs([experiment], f"tags.`airflow.run_id` = '{result.run_id}'")
    names = {a.path for a in client.list_artifacts(run.info.run_id, "drift")}
    assert {"drift/drift_report.html", "drift/drift_plots.png", "drift/drift_summary.json"} <= names
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        summary = json.loads(Path(client.download_artifacts(run.info.run_id, "drift/drift_summary.json", tmp))
                             .read_text())
        report = Path(client.download_artifacts(run.info.run_id, "drift/drift_report.html", tmp)).read_text()
    assert "data:image/png;base64," in report and "avg_order_value" in report
    return {"run": run, "summary": summary, "report": report}


def test_unshifted_data_does_not_drift_and_publishes_nothing(ml, champion, current_warehouse):
    current_warehouse(shifted=False)
    _airflow_db(ml, "from airflow.models.dag import DagModel\nwith create_session() as s:\n"
                    "    s.get(DagModel, 'ml_train').is_paused = False\nresult = 1")
    before = _airflow_db(ml, ASSET_STATE)
    result = _run(ml)
    assert result.ok and result.tasks["measure_drift"] == "success", result.log_file.read_text()[-4000:]
    assert result.tasks["publish_drift"] == "skipped"
    found = _summary(ml, result)
    summary, run = found["summary"], found["run"]
    assert summary["drifted"] is False and summary["reasons"] == [], summary
    assert summary["cutoff"] == _baseline(ml, champion)["cutoff"]  # the same age as the baseline
    assert "scored the current features" in summary["score_source"]  # no batch-score table in this session
    assert run.data.metrics["drift_detected"] == 0 and run.data.tags["drift.verdict"] == "no_drift"
    psi = {k: v for k, v in run.data.metrics.items() if k.endswith(".psi")}
    assert len(psi) == 9 and max(psi.values()) < 0.1, psi  # 8 features + the score: sampling noise only
    after = _airflow_db(ml, ASSET_STATE)
    assert after["events"] == before["events"] and "ml_train" not in after["triggered"], after


def test_shifted_data_drifts_publishes_the_asset_and_requests_ml_train(ml, champion, current_warehouse):
    current_warehouse(shifted=True)
    before = _airflow_db(ml, ASSET_STATE)
    assert "ml_train" not in before["triggered"], before
    result = _run(ml)
    assert result.ok and result.tasks["publish_drift"] == "success", result.log_file.read_text()[-4000:]
    found = _summary(ml, result)
    summary, run = found["summary"], found["run"]
    assert summary["drifted"] is True and run.data.tags["drift.verdict"] == "drift"
    # prices and basket sizes move the per-order features directly (frequency/monetary move less: concentrating the
    # window's orders on a third of the customers leaves the other two thirds with less history)
    assert {"avg_order_value", "avg_basket_items"} <= set(summary["drifted_features"]), summary
    assert run.data.metrics["feature.avg_basket_items.psi"] > 0.2
    assert "DRIFT: retraining requested" in found["report"]
    after = _airflow_db(ml, ASSET_STATE)
    assert after["events"] == before["events"] + 1, after
    assert after["queued"] == ["ml_train"] and "ml_train" in after["triggered"], after  # RETAIL_WAREHOUSE | DRIFT


def test_scores_come_from_the_batch_score_table_when_it_has_the_champions(ml, champion):
    from mwaa_platform.ml.monitor_tasks import table_scores

    redshift = ml.stack.client("redshift-data")
    scores = {**ml.config["monitoring"]["scores"], "table": "ml.drift_test_scores"}
    warehouse.sql(redshift, "DROP TABLE IF EXISTS ml.drift_test_scores")
    assert table_scores(redshift, scores, champion.version, warehouse.WORKGROUP, warehouse.DATABASE) is None  # absent
    warehouse.sql(redshift, "CREATE SCHEMA IF NOT EXISTS ml")
    warehouse.sql(redshift, "CREATE TABLE ml.drift_test_scores (customer_id BIGINT, model_version VARCHAR(16), "
                            "score_date DATE, score DOUBLE PRECISION)")
    try:
        other = int(champion.version) + 1
        warehouse.sql(redshift, "INSERT INTO ml.drift_test_scores VALUES "
                                f"(1, '{champion.version}', DATE '2026-03-01', 0.1), "
                                f"(1, '{champion.version}', DATE '2026-03-02', 0.7), "
                                f"(2, '{champion.version}', DATE '2026-03-02', 0.2), (1, '{other}', DATE '2026-03-03', 0.9)")
        found = table_scores(redshift, scores, champion.version, warehouse.WORKGROUP, warehouse.DATABASE)
        assert sorted(found.tolist()) == [0.2, 0.7]  # the champion's latest score date only
        assert table_scores(redshift, scores, str(other + 1), warehouse.WORKGROUP, warehouse.DATABASE) is None
    finally:
        warehouse.sql(redshift, "DROP TABLE IF EXISTS ml.drift_test_scores")
