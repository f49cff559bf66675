"""ml_monitor's plain logic: the baseline's profile, the input checks, the drift verdict and its report."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from mwaa_platform.ml import baseline, drift_report, monitor

FEATURES = ["monetary", "frequency"]


def _baseline(rows: int = 2000, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"monetary": rng.gamma(2.0, 30.0, rows), "frequency": rng.integers(1, 6, rows).astype(float)})
    scores = rng.uniform(0, 1, rows // 4)
    return baseline.build(frame, FEATURES, scores, bins=10, sample_size=500, meta={"cutoff": "2026-03-31T00:00:00"})


def _current(rows: int = 1500, seed: int = 1, price: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"customer_id": np.arange(rows), "monetary": rng.gamma(2.0, 30.0, rows) * price,
                         "frequency": rng.integers(1, 6, rows).astype(float), "label": 0})


def test_baseline_profiles_each_feature_and_the_scores():
    profile = _baseline()
    assert profile["format"] == 1 and profile["rows"] == 2000 and profile["cutoff"] == "2026-03-31T00:00:00"
    money = profile["features"]["monetary"]
    assert len(money["edges"]) == 9 and sum(money["counts"]) == 2000
    assert max(money["counts"]) - min(money["counts"]) <= 2  # quantile bins: equally full
    assert len(money["sample"]) == 500 and money["missing_share"] == 0.0
    assert money["quantiles"]["p01"] <= money["quantiles"]["p50"] <= money["quantiles"]["p99"]
    assert profile["features"]["frequency"]["edges"] == [1.0, 2.0, 3.0, 4.0, 5.0]  # discrete: one bin per value
    assert sum(profile["score"]["counts"]) == 500
    assert baseline.validate(profile, "here") is profile
    with pytest.raises(baseline.BaselineError, match="not a monitoring baseline"):
        baseline.validate({"format": 0}, "champion version 3")
    with pytest.raises(baseline.BaselineError, match="no column"):
        baseline.build(pd.DataFrame({"monetary": [1.0]}), FEATURES, [0.5], bins=10, sample_size=5, meta={})


def test_same_distribution_does_not_drift():
    verdict = monitor.evaluate(_current(), _baseline(), np.random.default_rng(2).uniform(0, 1, 1500), "model",
                               monitor.Thresholds())
    assert not verdict.drifted and verdict.reasons == [] and verdict.quality == []
    assert all(f.psi < 0.05 for f in verdict.features) and verdict.score.psi < 0.05
    metrics = verdict.metrics()
    assert metrics["drift_detected"] == 0 and metrics["rows"] == 1500 and "feature.monetary.ks" in metrics


def test_shifted_prices_and_scores_drift_with_reasons():
    scores = np.random.default_rng(2).beta(5, 2, 1500)  # the champion now scores most customers high
    verdict = monitor.evaluate(_current(price=3.0), _baseline(), scores, "model", monitor.Thresholds())
    assert verdict.drifted and verdict.drifted_features == ["monetary"]
    [money] = [f for f in verdict.features if f.name == "monetary"]
    assert money.psi > 0.2 and money.ks > 0.2 and any(r.startswith("PSI ") for r in money.reasons)
    assert any(r.startswith("score: PSI") for r in verdict.reasons)
    assert any("outside the training range" in q for q in verdict.quality)


def test_missing_values_count_as_drift_and_all_missing_is_an_input_error():
    current = _current()
    current.loc[current.index[:300], "frequency"] = np.nan  # 20% missing where training had none
    verdict = monitor.evaluate(current, _baseline(), None, "none", monitor.Thresholds())
    assert "frequency: missing share 0.0% -> 20.0%" in verdict.reasons and verdict.score is None
    current["frequency"] = np.nan
    with pytest.raises(monitor.InputSchemaError, match="feature frequency is missing .NULL. for every one of the 1500"):
        monitor.evaluate(current, _baseline(), None, "none", monitor.Thresholds())


def test_a_column_missing_vs_the_baseline_names_it():
    with pytest.raises(monitor.InputSchemaError, match=r"lack column\(s\) frequency that the champion's baseline has"):
        monitor.evaluate(_current().drop(columns=["frequency"]), _baseline(), None, "none", monitor.Thresholds())


def test_too_few_rows_and_unknown_thresholds_are_clear_errors():
    with pytest.raises(monitor.InputSchemaError, match="3 rows, fewer than min_rows=50"):
        monitor.evaluate(_current(rows=3), _baseline(), None, "none", monitor.Thresholds())
    with pytest.raises(ValueError, match="unknown monitoring threshold.s.: pssi"):
        monitor.Thresholds.from_settings({"pssi": 0.1})
    assert monitor.Thresholds.from_settings({"psi": 0.3}).psi == 0.3


def test_all_missing_baseline_feature_has_no_psi_but_is_still_checked():
    profile = _baseline()
    profile["features"]["frequency"] = baseline.profile([np.nan] * 10, 10, 5)
    verdict = monitor.evaluate(_current(), profile, None, "none", monitor.Thresholds())
    [frequency] = [f for f in verdict.features if f.name == "frequency"]
    assert frequency.psi is None and frequency.ks is None and frequency.missing_baseline == 1.0


def test_report_has_the_verdict_numbers_and_the_plots(tmp_path):
    verdict = monitor.evaluate(_current(price=1.8), _baseline(), None, "table ml.customer_scores",
                               monitor.Thresholds())
    image = drift_report.plot(verdict, tmp_path / "drift.png")
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = drift_report.render_html(verdict, "Drift <v1>", {"cutoff": "2026-03-31"}, image)
    assert "DRIFT: retraining requested" in page and "Drift &lt;v1&gt;" in page
    assert "table ml.customer_scores" in page and "data:image/png;base64," in page and "monetary" in page


def test_monitor_cutoff_is_today_but_not_past_the_warehouse():
    from mwaa_platform.ml.monitor_tasks import choose_cutoff

    latest = dt.datetime(2026, 3, 30, 17, 5)
    assert choose_cutoff(latest, dt.datetime(2026, 11, 26, 3), None) == dt.datetime(2026, 3, 31)
    assert choose_cutoff(latest, dt.datetime(2026, 3, 20, 3), None) == dt.datetime(2026, 3, 20)
    assert choose_cutoff(latest, dt.datetime(2026, 11, 26), "2026-02-01") == dt.datetime(2026, 2, 1)
