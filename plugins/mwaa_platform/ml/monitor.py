"""ml_monitor's verdict in plain Python: data-quality checks of the inference inputs against the champion's baseline,
then drift per feature (PSI, KS, missing share) and of the score distribution, against configured thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field

from mwaa_platform.ml import drift


class InputSchemaError(ValueError):
    """The current features cannot be compared with the baseline (a column is missing, no rows): fix the feature SQL
    or the data, or retrain so the baseline matches."""


@dataclass(frozen=True)
class Thresholds:
    psi: float = 0.2  # per feature; 0.1-0.25 is the usual "moderate" band, above 0.25 "major"
    ks: float = 0.2  # KS D per numeric feature
    missing_share_increase: float = 0.05  # current missing share minus the baseline's
    score_psi: float = 0.2
    max_missing_share: float = 0.5  # data quality: a feature missing more often than this is an input problem
    out_of_range_share: float = 0.05  # data quality: values outside the baseline's [min, max]
    min_rows: int = 50

    @classmethod
    def from_settings(cls, values: dict) -> Thresholds:
        known = {k: values[k] for k in cls.__dataclass_fields__ if k in values}
        unknown = set(values) - set(known)
        if unknown:
            raise ValueError(f"unknown monitoring threshold(s): {', '.join(sorted(unknown))}")
        return cls(**known)


@dataclass
class FeatureDrift:
    name: str
    psi: float | None
    ks: float | None
    ks_pvalue: float | None
    missing_baseline: float
    missing_current: float
    out_of_range: float
    counts_baseline: list[int]
    counts_current: list[int]
    edges: list[float]
    reasons: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    rows: int
    features: list[FeatureDrift]
    score: FeatureDrift | None
    score_source: str
    quality: list[str]  # data-quality warnings (nulls, ranges); errors raise InputSchemaError instead

    @property
    def drifted_features(self) -> list[str]:
        return [f.name for f in self.features if f.reasons]

    @property
    def reasons(self) -> list[str]:
        found = [f"{f.name}: {r}" for f in self.features for r in f.reasons]
        return found + ([f"score: {r}" for r in self.score.reasons] if self.score else [])

    @property
    def drifted(self) -> bool:
        return bool(self.reasons)

    def metrics(self) -> dict[str, float]:
        out = {"rows": float(self.rows), "drifted_features": float(len(self.drifted_features)),
               "drift_detected": float(self.drifted), "dq_warnings": float(len(self.quality))}
        for f in [*self.features, *([self.score] if self.score else [])]:
            prefix = "score" if f is self.score else f"feature.{f.name}"
            for key in ("psi", "ks", "missing_current", "out_of_range"):
                value = getattr(f, key)
                if value is not None:
                    out[f"{prefix}.{key}"] = round(float(value), 6)
        return out


def check_columns(columns: list[str], baseline: dict) -> None:
    """Every baseline feature must be among the current columns (extra columns are fine)."""
    missing = [name for name in baseline["features"] if name not in columns]
    if missing:
        raise InputSchemaError(
            f"the current features lack column(s) {', '.join(missing)} that the champion's baseline has "
            f"(current columns: {', '.join(columns)}): restore them in include/sql/features/ or retrain the model")


def _compare(name: str, profile: dict, current, thresholds: Thresholds, *, psi_limit: float,
             with_ks: bool) -> FeatureDrift:
    import numpy as np

    values = np.asarray(current, dtype=np.float64)
    finite = values[~np.isnan(values)]
    counts = drift.bin_counts(finite, profile["edges"]) if profile["edges"] else []
    psi = drift.psi(profile["counts"], counts) if profile["edges"] else None
    ks = drift.ks_statistic(profile["sample"], finite) if with_ks else None
    missing = drift.missing_share(values) or 0.0
    low, high = profile.get("min"), profile.get("max")
    outside = float(((finite < low) | (finite > high)).mean()) if finite.size and low is not None else 0.0
    result = FeatureDrift(name, psi, ks, drift.ks_pvalue(profile["sample"], finite) if with_ks else None,
                          profile["missing_share"] or 0.0, missing, outside, profile["counts"], counts,
                          profile["edges"])
    if psi is not None and psi > psi_limit:
        result.reasons.append(f"PSI {psi:.3f} > {psi_limit:g}")
    if ks is not None and ks > thresholds.ks:
        result.reasons.append(f"KS {ks:.3f} > {thresholds.ks:g}")
    if missing - result.missing_baseline > thresholds.missing_share_increase:
        result.reasons.append(f"missing share {result.missing_baseline:.1%} -> {missing:.1%}")
    return result


def evaluate(frame, baseline: dict, scores, score_source: str, thresholds: Thresholds) -> Verdict:
    """frame: the current features (pandas; extra columns ignored); scores: the champion's scores of them (or None)."""
    check_columns(list(frame.columns), baseline)
    if len(frame) < thresholds.min_rows:
        raise InputSchemaError(f"the current features have {len(frame)} rows, fewer than min_rows="
                               f"{thresholds.min_rows}: too few customers to measure drift; load the warehouse first")
    features, quality = [], []
    for name, profile in baseline["features"].items():
        values = frame[name].to_numpy(dtype="float64")
        result = _compare(name, profile, values, thresholds, psi_limit=thresholds.psi, with_ks=True)
        if result.missing_current >= 1.0:
            raise InputSchemaError(f"feature {name} is missing (NULL) for every one of the {len(frame)} customers: "
                                   "the feature SQL or the warehouse load is broken")
        if result.missing_current > thresholds.max_missing_share:
            quality.append(f"{name}: {result.missing_current:.1%} missing (> {thresholds.max_missing_share:.0%})")
        if result.out_of_range > thresholds.out_of_range_share:
            quality.append(f"{name}: {result.out_of_range:.1%} of values outside the training range "
                           f"[{profile['min']:g}, {profile['max']:g}]")
        features.append(result)
    score = None
    if scores is not None and baseline.get("score", {}).get("edges"):
        score = _compare("score", baseline["score"], scores, thresholds, psi_limit=thresholds.score_psi, with_ks=True)
    return Verdict(len(frame), features, score, score_source, quality)
