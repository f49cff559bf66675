"""Distribution drift statistics in plain numpy (no Airflow, no MLflow): bins from a baseline, PSI and KS.

Binning. `bin_edges(values, bins)` takes the baseline's quantiles at 1/bins, 2/bins, ... as interior cut points
(inverted-CDF quantiles, i.e. values that occur; duplicates removed, so a discrete feature gets fewer, fuller bins). A value x falls in bin i when
edges[i-1] <= x < edges[i]; the first bin is open to -inf and the last to +inf, so current values outside the
baseline's range still land in a bin. A constant baseline (or one whose quantiles are all the same value c) gets the cuts [c, next float after c]:
three bins (< c, == c, > c), so a constant that moves is seen as drift instead of staying in a catch-all bin.
Missing values (NaN) are never binned: `missing_share` reports them separately.

PSI = sum over bins of (a - e) * ln(a / e), with e = baseline share and a = current share of the bin.
Epsilon rule: a share of 0 (an empty bin on either side) is replaced by EPSILON = 1e-4 before the formula, so an
empty bin adds a large but finite term instead of infinity (ln(0)) or nothing. PSI is None when either side has no
non-missing value (an all-missing feature): its missing share says what happened.

KS = the two-sample Kolmogorov-Smirnov statistic D = max |F_baseline(x) - F_current(x)| over the pooled values
(0: same empirical distributions, 1: disjoint); its p-value comes from scipy (asymptotic).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# numpy is imported inside each function: Airflow imports every module under plugins/ when it loads plugins (the
# scheduler, the dag-processor, DAG serialization), and nothing there may be heavy at import time.

EPSILON = 1e-4


def _floats(values) -> np.ndarray:
    """Every value as float64, None as NaN."""
    import numpy as np

    return np.asarray([np.nan if v is None else v for v in values] if isinstance(values, list) else values,
                      dtype=np.float64)


def finite(values) -> np.ndarray:
    """The non-missing values as float64 (None and NaN are missing)."""
    import numpy as np

    array = _floats(values)
    return array[~np.isnan(array)]


def missing_share(values) -> float | None:
    """Share of missing (None/NaN) values; None for an empty column."""
    import numpy as np

    array = _floats(values)
    return None if array.size == 0 else float(np.isnan(array).sum() / array.size)


def bin_edges(values, bins: int) -> list[float]:
    """Interior cut points from the baseline's quantiles (see the module doc); [] when there is no value."""
    import numpy as np

    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    data = finite(values)
    if data.size == 0:
        return []
    cuts = np.unique(np.quantile(data, np.arange(1, bins) / bins, method="inverted_cdf"))
    if cuts.size == 1:  # constant (or one value holds every quantile): < c, == c, > c
        c = float(cuts[0])
        return [c, float(np.nextafter(c, np.inf))]
    return [float(c) for c in cuts]


def bin_counts(values, edges: list[float]) -> list[int]:
    """Non-missing values per bin: len(edges) + 1 bins, bin i = [edges[i-1], edges[i])."""
    import numpy as np

    data = finite(values)
    index = np.searchsorted(np.asarray(edges, dtype=np.float64), data, side="right")
    return np.bincount(index, minlength=len(edges) + 1).astype(int).tolist()


def psi(expected_counts, actual_counts, epsilon: float = EPSILON) -> float | None:
    """Population stability index of two count vectors over the same bins (epsilon rule: module doc)."""
    import numpy as np

    expected = np.asarray(expected_counts, dtype=np.float64)
    actual = np.asarray(actual_counts, dtype=np.float64)
    if expected.shape != actual.shape:
        raise ValueError(f"bin counts differ in length: {expected.size} vs {actual.size}")
    if expected.sum() == 0 or actual.sum() == 0:
        return None
    e = np.maximum(expected / expected.sum(), epsilon)
    a = np.maximum(actual / actual.sum(), epsilon)
    return float(np.sum((a - e) * np.log(a / e)))


def ks_statistic(baseline, current) -> float | None:
    """Two-sample KS D (None when either side has no non-missing value)."""
    import numpy as np

    x, y = np.sort(finite(baseline)), np.sort(finite(current))
    if x.size == 0 or y.size == 0:
        return None
    pooled = np.concatenate([x, y])
    cdf_x = np.searchsorted(x, pooled, side="right") / x.size
    cdf_y = np.searchsorted(y, pooled, side="right") / y.size
    return float(np.max(np.abs(cdf_x - cdf_y)))


def ks_pvalue(baseline, current) -> float | None:
    from scipy import stats

    x, y = finite(baseline), finite(current)
    if x.size == 0 or y.size == 0:
        return None
    p = float(stats.ks_2samp(x, y, method="asymp").pvalue)
    return p if math.isfinite(p) else None


def sample(values, size: int, seed: int = 0) -> list[float]:
    """At most `size` non-missing values, drawn without replacement by a fixed seed (the baseline keeps this for KS)."""
    import numpy as np

    data = finite(values)
    if data.size > size:
        data = np.random.default_rng(seed).choice(data, size=size, replace=False)
    return np.sort(data).tolist()
