"""ml_monitor's readable report: a PNG with one panel per feature (and the score) showing the baseline's and the
current share of each bin, and an HTML page with the verdict, the per-feature numbers and that image."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

from mwaa_platform.ml.monitor import FeatureDrift, Verdict


def _shares(counts: list[int]) -> list[float]:
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]


def plot(verdict: Verdict, target: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [*verdict.features, *([verdict.score] if verdict.score else [])]
    columns = 3
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 2.8 * rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, item in zip(axes.flat, panels, strict=False):
        positions = range(len(item.counts_baseline))
        ax.bar([p - 0.2 for p in positions], _shares(item.counts_baseline), width=0.4, label="baseline", color="#7a9cc6")
        ax.bar([p + 0.2 for p in positions], _shares(item.counts_current), width=0.4, label="current",
               color="#d9534f" if item.reasons else "#5cb85c")
        psi = "n/a" if item.psi is None else f"{item.psi:.3f}"
        ks = "n/a" if item.ks is None else f"{item.ks:.3f}"
        ax.set_title(f"{item.name}  PSI {psi}  KS {ks}", fontsize=9, color="#b52b27" if item.reasons else "black")
        ax.set_xticks(list(positions))
        ax.set_xticklabels(_bin_labels(item.edges), rotation=45, fontsize=6, ha="right")
        ax.tick_params(axis="y", labelsize=7)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(target, dpi=80)
    plt.close(fig)
    return target


def _bin_labels(edges: list[float]) -> list[str]:
    if not edges:
        return []
    labels = [f"<{edges[0]:.3g}"]
    labels += [f"{low:.3g}-{high:.3g}" for low, high in zip(edges, edges[1:], strict=False)]
    return [*labels, f">={edges[-1]:.3g}"]


def _cell(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _row(item: FeatureDrift) -> str:
    style = ' style="background:#f8d7da"' if item.reasons else ""
    cells = [item.name, _cell(item.psi), _cell(item.ks), _cell(item.ks_pvalue, 4), f"{item.missing_baseline:.1%}",
             f"{item.missing_current:.1%}", f"{item.out_of_range:.1%}", "; ".join(item.reasons) or "ok"]
    return f"<tr{style}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"


def render_html(verdict: Verdict, title: str, context: dict[str, str], image: Path) -> str:
    status = "DRIFT: retraining requested" if verdict.drifted else "no drift"
    rows = "".join(_row(f) for f in [*verdict.features, *([verdict.score] if verdict.score else [])])
    facts = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(str(v))}</li>" for k, v in context.items())
    quality = "".join(f"<li>{html.escape(q)}</li>" for q in verdict.quality) or "<li>all checks passed</li>"
    png = base64.b64encode(image.read_bytes()).decode()
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px}}
table{{border-collapse:collapse}}</style></head><body>
<h1>{html.escape(title)}</h1><h2>{html.escape(status)}</h2><ul>{facts}<li><b>rows</b>: {verdict.rows}</li>
<li><b>score source</b>: {html.escape(verdict.score_source)}</li></ul>
<h3>Drift per feature</h3><table><tr><th>feature</th><th>PSI</th><th>KS D</th><th>KS p</th><th>missing (baseline)</th>
<th>missing (current)</th><th>outside training range</th><th>verdict</th></tr>{rows}</table>
<h3>Data quality of the inference inputs</h3><ul>{quality}</ul>
<h3>Baseline vs current, share per bin</h3><img src="data:image/png;base64,{png}" alt="per-feature drift plots">
</body></html>"""
