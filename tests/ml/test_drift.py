"""PSI, KS and the baseline's bins against values computed by hand (plugins/mwaa_platform/ml/drift.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mwaa_platform.ml import drift
from mwaa_platform.ml.drift import EPSILON


def test_psi_of_identical_distributions_is_zero():
    assert drift.psi([50, 50], [50, 50]) == 0.0
    assert drift.psi([1, 2, 3], [10, 20, 30]) == pytest.approx(0.0, abs=1e-12)  # shares, not counts


def test_psi_by_hand():
    # e = .25 each, a = .1 .2 .3 .4:
    # (.1-.25)ln(.4) + (.2-.25)ln(.8) + (.3-.25)ln(1.2) + (.4-.25)ln(1.6)
    # = .137444 + .011157 + .009116 + .070501 = .228218
    assert drift.psi([25, 25, 25, 25], [10, 20, 30, 40]) == pytest.approx(0.228218, abs=1e-6)


def test_psi_is_symmetric_in_its_formula():
    assert drift.psi([10, 20, 30, 40], [25, 25, 25, 25]) == pytest.approx(0.228218, abs=1e-6)


def test_empty_bins_use_the_epsilon_rule():
    # e = (.5, .5, 0 -> eps), a = (.5, 0 -> eps, .5): the first bin adds 0, the others (.5 - eps) ln(.5 / eps) each
    expected = 2 * (0.5 - EPSILON) * math.log(0.5 / EPSILON)
    assert drift.psi([50, 50, 0], [50, 0, 50]) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(8.5155, abs=1e-4)  # large but finite
    assert drift.psi([50, 50, 0], [50, 50, 0]) == 0.0  # a bin empty on both sides adds nothing


def test_psi_is_none_without_values_on_a_side_and_rejects_mismatched_bins():
    assert drift.psi([0, 0], [3, 4]) is None
    assert drift.psi([3, 4], [0, 0]) is None
    with pytest.raises(ValueError, match="differ in length"):
        drift.psi([1, 2], [1, 2, 3])


def test_bin_edges_are_the_baselines_quantiles_and_counts_fill_open_ended_bins():
    values = list(range(1, 11))
    # inverted-CDF quantiles of 1..10 (the smallest x with F(x) >= q) at .25/.5/.75: 3 (F=.3), 5 (F=.5), 8 (F=.8)
    edges = drift.bin_edges(values, 4)
    assert edges == [3.0, 5.0, 8.0]
    assert drift.bin_counts(values, edges) == [2, 2, 3, 3]  # [1,2] [3,4] [5,6,7] [8,9,10]
    assert drift.bin_counts([-100, 5, 1000], edges) == [1, 0, 1, 1]  # outside the range -> the end bins; edge -> right
    with pytest.raises(ValueError, match="at least 2"):
        drift.bin_edges(values, 1)


def test_discrete_feature_gets_fewer_bins():
    values = [1] * 6 + [2] * 3 + [3]
    edges = drift.bin_edges(values, 10)  # F(1)=.6, F(2)=.9: deciles .1-.6 -> 1, .7-.9 -> 2
    assert edges == [1.0, 2.0]
    assert drift.bin_counts(values, edges) == [0, 6, 4]


def test_constant_feature_gets_three_bins_so_a_moved_constant_is_drift():
    edges = drift.bin_edges([5.0] * 10, 10)
    assert edges == [5.0, float(np.nextafter(5.0, np.inf))]
    baseline = drift.bin_counts([5.0] * 10, edges)
    assert baseline == [0, 10, 0]
    assert drift.psi(baseline, drift.bin_counts([5.0] * 7, edges)) == 0.0
    moved = drift.bin_counts([6.0] * 10, edges)
    assert moved == [0, 0, 10]
    # e = (eps, 1, eps), a = (eps, eps, 1): 0 + (eps - 1) ln(eps) + (1 - eps) ln(1 / eps) = 2 (1 - eps) ln(1 / eps)
    assert drift.psi(baseline, moved) == pytest.approx(2 * (1 - EPSILON) * math.log(1 / EPSILON), rel=1e-12)


def test_all_missing_feature_has_no_bins_no_psi_no_ks_and_a_full_missing_share():
    values = [None, float("nan"), None]
    assert drift.missing_share(values) == 1.0
    assert drift.bin_edges(values, 10) == []
    assert drift.bin_counts(values, []) == [0]
    assert drift.ks_statistic(values, [1.0, 2.0]) is None
    assert drift.ks_pvalue([1.0, 2.0], values) is None
    assert drift.missing_share([1.0, None, float("nan"), 2.0]) == 0.5
    assert drift.missing_share([]) is None


def test_ks_statistic_by_hand():
    # F1 - F2 at x=2: .5 - 0 = .5 (largest gap)
    assert drift.ks_statistic([1, 2, 3, 4], [3, 4, 5, 6]) == 0.5
    assert drift.ks_statistic([1, 2, 3], [3, 2, 1]) == 0.0
    assert drift.ks_statistic([1, 2], [10, 20]) == 1.0  # disjoint
    assert drift.ks_statistic([1, 2, 3, 4], [2.5]) == 0.5  # F1(2) = .5, F2(2) = 0
    assert drift.ks_statistic([1, None, 2], [1, 2, float("nan")]) == 0.0  # missing values are ignored


def test_ks_matches_scipy_and_its_pvalue_separates_same_from_shifted():
    from scipy import stats

    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 400), rng.normal(0.8, 1, 300)
    assert drift.ks_statistic(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)
    assert drift.ks_pvalue(a, b) < 1e-6
    assert drift.ks_pvalue(a, rng.normal(0, 1, 300)) > 0.01


def test_sample_is_deterministic_sorted_and_bounded():
    values = np.arange(1000, dtype=float)
    first, second = drift.sample(values, 50, seed=3), drift.sample(values, 50, seed=3)
    assert first == second and len(first) == 50 and first == sorted(first)
    assert drift.sample([3.0, None, 1.0], 10) == [1.0, 3.0]
