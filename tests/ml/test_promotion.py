"""The champion gate and the checks that stop a run on data that cannot train."""

from __future__ import annotations

import datetime as dt

import pytest

from mwaa_platform.ml import features, promotion


def test_first_model_becomes_champion():
    decision = promotion.decide(0.71, None, 0.01)
    assert (decision.alias, decision.champion, decision.reason) == ("champion", None, "no champion yet")


def test_better_by_the_margin_becomes_champion_and_records_both_numbers():
    decision = promotion.decide(0.80, 0.78, 0.01)
    assert decision.promoted
    assert decision.tags("validation_auc") == {
        "promotion.decision": "champion", "promotion.metric": "validation_auc", "promotion.candidate_value": "0.800000",
        "promotion.champion_value": "0.780000", "promotion.margin": "0.01",
        "promotion.reason": "0.8000 beats the champion's 0.7800 by at least 0.01"}


@pytest.mark.parametrize("candidate", [0.785, 0.78, 0.60])
def test_better_by_less_than_the_margin_equal_or_worse_is_a_challenger(candidate):
    decision = promotion.decide(candidate, 0.78, 0.01)
    assert decision.alias == "challenger" and not decision.promoted
    assert "does not beat" in decision.reason


def test_zero_margin_still_needs_a_strictly_better_model():
    assert promotion.decide(0.78, 0.78, 0.0).alias == "challenger"
    assert promotion.decide(0.7801, 0.78, 0.0).alias == "champion"


@pytest.mark.parametrize(("candidate", "margin"), [(float("nan"), 0.01), (None, 0.01), (0.7, -0.1)])
def test_nonsense_inputs_are_refused(candidate, margin):
    with pytest.raises(ValueError):
        promotion.decide(candidate, 0.5, margin)


CUTOFF = dt.datetime(2026, 3, 1)


def test_no_feature_rows_says_what_to_load():
    with pytest.raises(features.TrainingDataError, match="no customers with orders before the cutoff"):
        features.check_training_data([], 20, CUTOFF)


def test_one_label_class_is_refused():
    with pytest.raises(features.TrainingDataError, match="one class only"):
        features.check_training_data([("train", 0, 500), ("validation", 0, 100)], 20, CUTOFF)


def test_a_split_without_both_classes_is_refused():
    with pytest.raises(features.TrainingDataError, match="validation split .* one label class"):
        features.check_training_data([("train", 0, 400), ("train", 1, 100), ("validation", 0, 30)], 20, CUTOFF)


def test_a_tiny_validation_set_is_refused():
    with pytest.raises(features.TrainingDataError, match="validation split has 6 rows, fewer than min_validation_rows=20"):
        features.check_training_data([("train", 0, 400), ("train", 1, 100), ("validation", 0, 3),
                                      ("validation", 1, 3)], 20, CUTOFF)


def test_good_data_passes_with_its_counts():
    counts = features.check_training_data([("train", 0, 400), ("train", 1, 100), ("validation", 0, 80),
                                           ("validation", 1, 20)], 20, CUTOFF)
    assert (counts.rows("train"), counts.rows("validation"), counts.positives("validation")) == (500, 100, 20)
