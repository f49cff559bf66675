"""The champion gate: a candidate becomes `champion` only if it beats the current champion's validation metric by
the configured margin (higher is better); otherwise it is recorded as `challenger`."""

from __future__ import annotations

import math
from dataclasses import dataclass

CHAMPION, CHALLENGER = "champion", "challenger"


@dataclass(frozen=True)
class Decision:
    alias: str
    candidate: float
    champion: float | None
    margin: float
    reason: str

    @property
    def promoted(self) -> bool:
        return self.alias == CHAMPION

    def tags(self, metric: str) -> dict[str, str]:
        return {"promotion.decision": self.alias, "promotion.metric": metric,
                "promotion.candidate_value": f"{self.candidate:.6f}",
                "promotion.champion_value": "none" if self.champion is None else f"{self.champion:.6f}",
                "promotion.margin": f"{self.margin:g}", "promotion.reason": self.reason}


def decide(candidate: float, champion: float | None, margin: float) -> Decision:
    if candidate is None or not math.isfinite(candidate):
        raise ValueError(f"the candidate's validation metric is {candidate!r}: cannot decide a promotion")
    if margin < 0:
        raise ValueError(f"promotion margin must be >= 0, got {margin}")
    if champion is None:
        return Decision(CHAMPION, candidate, None, margin, "no champion yet")
    if candidate > champion and candidate - champion >= margin:
        return Decision(CHAMPION, candidate, champion, margin,
                        f"{candidate:.4f} beats the champion's {champion:.4f} by at least {margin:g}")
    return Decision(CHALLENGER, candidate, champion, margin,
                    f"{candidate:.4f} does not beat the champion's {champion:.4f} by {margin:g}")
