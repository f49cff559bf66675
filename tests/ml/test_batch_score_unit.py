"""Unit tests of batch scoring: the score date, SageMaker names, the SQL it generates, the champion lookup, and the
inference script on a real (tiny) model."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json

import pytest

from mwaa_platform.ml import champion, features, scoring
from mwaa_platform.paths import include_path

CHAMPION = champion.Champion("retail-repeat-purchase", 3, "run1", "s3://lake/ml/runs/x/output/job/output/model.tar.gz",
                             "ml-train-1")


def test_score_date_comes_from_the_conf_else_the_day_the_run_is_due():
    due = dt.datetime(2026, 5, 2, 3, 0)
    assert scoring.score_date({"score_date": "2026-04-30"}, due) == dt.date(2026, 4, 30)
    assert scoring.score_date({}, due) == dt.date(2026, 5, 2)
    with pytest.raises(scoring.ScoringError, match="score_date '30/04/2026' is not a date"):
        scoring.score_date({"score_date": "30/04/2026"}, due)
    with pytest.raises(scoring.ScoringError, match="pass score_date"):
        scoring.score_date({}, None)


def test_sagemaker_names_are_valid_short_and_stable():
    name = scoring.model_name(CHAMPION, "s3://lake/code/a/sourcedir.tar.gz")
    assert name == scoring.model_name(CHAMPION, "s3://lake/code/a/sourcedir.tar.gz")
    assert name != scoring.model_name(CHAMPION, "s3://lake/code/b/sourcedir.tar.gz")  # new code, new model
    assert name.startswith("retail-repeat-purchase-v3-")
    long = scoring.sagemaker_name("x_" * 60, "a")
    assert len(long) <= 63 and all(c.isalnum() or c == "-" for c in long) and not long.startswith("-")


def test_unload_selects_the_training_features_as_of_the_score_date_with_the_customer_first():
    sql = scoring.unload_features_sql(dt.date(2026, 5, 1), "s3://lake/ml/scoring/f/", "arn:role", 30, 20)
    assert sql.startswith("UNLOAD ('SELECT customer_id, " + ", ".join(features.FEATURES) + " FROM (")
    assert "TIMESTAMP ''2026-05-01 00:00:00''" in sql and "--" not in sql
    assert sql.endswith("TO 's3://lake/ml/scoring/f/' IAM_ROLE 'arn:role' FORMAT AS CSV PARALLEL OFF ALLOWOVERWRITE")
    with pytest.raises(scoring.ScoringError, match="ending in '/'"):
        scoring.unload_features_sql(dt.date(2026, 5, 1), "s3://lake/no-slash", "arn:role", 30, 20)


def test_the_load_replaces_one_slice_in_one_batch_and_quotes_what_it_embeds():
    statements = scoring.replace_scores_sql("ml.customer_scores", "s3://lake/out/", "arn:role", CHAMPION,
                                            dt.date(2026, 5, 1), "manual__it's")
    assert [s.split()[0] for s in statements] == ["CREATE", "COPY", "DELETE", "INSERT", "DROP"]
    assert "model_version = 3" in statements[2] and "score_date = DATE '2026-05-01'" in statements[2]
    assert "'manual__it''s'" in statements[3]
    assert all("--" not in s for s in statements)
    with pytest.raises(scoring.ScoringError, match="schema.table"):
        scoring.replace_scores_sql("scores; DROP TABLE x", "s3://lake/out/", "r", CHAMPION, dt.date(2026, 5, 1), "r")
    assert scoring.create_table_sql("ml.customer_scores")[0] == "CREATE SCHEMA IF NOT EXISTS ml"


def test_the_transform_job_reads_and_writes_csv_lines():
    config = scoring.transform_config("job", "model", "s3://lake/in/", "s3://lake/out/", "ml.m5.large")
    assert config["TransformInput"]["SplitType"] == "Line" and config["TransformOutput"]["AssembleWith"] == "Line"
    assert config["TransformInput"]["ContentType"] == config["TransformOutput"]["Accept"] == "text/csv"


def test_check_loaded_wants_exactly_one_score_per_customer():
    scoring.check_loaded(10, 10, 10, "ml.customer_scores", dt.date(2026, 5, 1))
    with pytest.raises(scoring.ScoringError, match="holds 20 scores \\(10 customers\\) for 2026-05-01, expected 10"):
        scoring.check_loaded(10, 20, 10, "ml.customer_scores", dt.date(2026, 5, 1))


class _Version:
    def __init__(self, tags):
        self.version, self.run_id, self.tags = "3", "run1", tags


class _Registry:
    def __init__(self, version=None):
        self.version = version

    def get_model_version_by_alias(self, name, alias):
        from mlflow.exceptions import MlflowException

        if self.version is None:
            raise MlflowException(f"Registered model alias {alias} not found.", error_code="RESOURCE_DOES_NOT_EXIST")
        return self.version


def test_the_champion_is_read_by_alias_and_must_name_its_artifact():
    with pytest.raises(champion.NoChampion, match="has no 'champion' alias yet: run ml_train"):
        champion.resolve(_Registry(), "m")
    with pytest.raises(champion.ChampionError, match="no sagemaker.model_artifacts tag"):
        champion.resolve(_Registry(_Version({})), "m")
    found = champion.resolve(_Registry(_Version({"sagemaker.model_artifacts": CHAMPION.artifact_uri,
                                                 "sagemaker.training_job_name": "ml-train-1"})), "m")
    assert (found.version, found.artifact_uri, found.training_job) == (3, CHAMPION.artifact_uri, "ml-train-1")


def test_a_deleted_artifact_is_a_clear_error():
    from botocore.exceptions import ClientError

    class S3:
        def head_object(self, Bucket, Key):  # noqa: N803 - boto3's names
            raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")

    with pytest.raises(champion.ChampionError, match="model.tar.gz \\(training job ml-train-1\\) does not exist; "
                                                     "restore the object, or retrain"):
        champion.check_artifact(S3(), CHAMPION)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The inference script with a real model as train_repeat_purchase.py saves it."""
    import joblib
    import numpy as np
    from sklearn.ensemble import GradientBoostingClassifier

    model_dir = tmp_path_factory.mktemp("model")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, len(features.FEATURES)))
    import pandas as pd

    model = GradientBoostingClassifier(n_estimators=10).fit(pd.DataFrame(x, columns=features.FEATURES), x[:, 0] > 0)
    joblib.dump(model, model_dir / "model.joblib")
    (model_dir / "feature_names.json").write_text(json.dumps(features.FEATURES))
    spec = importlib.util.spec_from_file_location("serve", include_path("sagemaker", scoring.INFERENCE_PROGRAM))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, module.model_fn(str(model_dir)), x


def test_the_inference_script_scores_csv_and_json_alike_keeping_the_customer(served):
    module, model, x = served
    csv_in = "\n".join(f"{100 + i}," + ",".join(repr(float(v)) for v in row) for i, row in enumerate(x[:3]))
    body, mime = module.output_fn(module.predict_fn(module.input_fn(csv_in.encode(), "text/csv"), model), "text/csv")
    assert mime == "text/csv" and not body.endswith("\n")
    by_csv = {int(line.split(",")[0]): float(line.split(",")[1]) for line in body.splitlines()}
    records = [{"customer_id": 100 + i, **dict(zip(features.FEATURES, row.tolist(), strict=True))}
               for i, row in enumerate(x[:3])]
    body, mime = module.output_fn(module.predict_fn(module.input_fn(json.dumps({"instances": records}),
                                                                    "application/json"), model), "application/json")
    by_json = {p["customer_id"]: p["score"] for p in json.loads(body)["predictions"]}
    assert by_csv == by_json and sorted(by_csv) == [100, 101, 102]
    assert all(0 <= s <= 1 for s in by_csv.values())


def test_the_inference_script_names_what_a_bad_request_lacks(served):
    module, model, _ = served
    with pytest.raises(ValueError, match="records lack \\['monetary'\\]"):
        module.predict_fn(module.input_fn(json.dumps([{"customer_id": 1, **{f: 1.0 for f in features.FEATURES
                                                                             if f != "monetary"}}]), None), model)
    with pytest.raises(ValueError, match="needs customer_id and 8 features"):
        module.predict_fn(module.input_fn(b"1,2.0,3.0", "text/csv"), model)
