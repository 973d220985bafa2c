"""SVG plots of one board, drawn with matplotlib's object API (no pyplot state, no display needed)."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

ORIGIN_COLORS = {"trained": "#1f6feb", "rescored": "#8250df", "reported": "#d9480f"}
PLOT_RC = {"svg.hashsalt": "nbench", "svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
       "axes.spines.right": False}
#: y metric of the co-bps scatter, in order of preference (behavior where the dataset has it).
SCATTER_Y = ("vel R2", "rate R2 heldout", "psth R2")


def _label(text: str, limit: int = 36) -> str:
    """Plot-safe label: mathtext disabled by escaping '$', long names shortened."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def _labels(rows: list[dict[str, Any]]) -> list[str]:
    counts = Counter(r["model"] for r in rows)
    return [_label(r["model"] + (f" [{r['config_hash'][:6]}]" if counts[r["model"]] > 1 else "")) for r in rows]


def svg(fig: Figure) -> str:
    """The figure as SVG text (text kept as text, no date: the same figure gives the same bytes)."""
    buf = io.StringIO()
    with matplotlib.rc_context(PLOT_RC):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buf.getvalue()


def _few_ticks(*axes: object) -> None:
    """At most ~5 ticks on linear numeric axes, so that labels of close values never overlap."""
    for axis in axes:
        axis.set_major_locator(MaxNLocator(nbins=5))


def figure(height: float, width: float = 4.6) -> Figure:
    """A figure (constrained layout) in the house style."""
    with matplotlib.rc_context(PLOT_RC):
        return Figure(figsize=(width, height), layout="constrained")


def strip_plot(rows: list[dict[str, Any]], metric: dict[str, Any]) -> str:
    """One line per model, one dot per seed, a bar at the mean."""
    name = metric["name"]
    rows = [r for r in rows if name in r["metrics"]]
    with matplotlib.rc_context(PLOT_RC):
        fig = figure(1.0 + 0.3 * len(rows))
        ax = fig.add_subplot()
        for y, row in enumerate(rows):
            summary, color = row["metrics"][name], ORIGIN_COLORS[row["origin"]]
            values = summary["values"]
            offsets = [((i % 5) - 2) * 0.06 for i in range(len(values))]
            ax.scatter(values, [y + o for o in offsets], s=18, color=color, alpha=0.75, linewidths=0)
            ax.plot([summary["mean"]] * 2, [y - 0.3, y + 0.3], color="black", linewidth=1.5)
        ax.set_yticks(range(len(rows)), _labels(rows))
        ax.invert_yaxis()
        arrow = "↑" if metric["higher_is_better"] else "↓"
        ax.set_xlabel(f"{_label(name)} {arrow}   (dots: seeds, bar: mean)")
        ax.grid(axis="x", alpha=0.3)
        _few_ticks(ax.xaxis)
        return svg(fig)


def cost_plot(rows: list[dict[str, Any]], metric: dict[str, Any]) -> str | None:
    """Mean metric against mean wall time per run (log scale); None when no row reports a wall time."""
    name = metric["name"]
    rows = [r for r in rows if name in r["metrics"] and r["provenance"]["wall_s"]]
    if not rows:
        return None
    with matplotlib.rc_context(PLOT_RC):
        fig = figure(2.9)
        ax = fig.add_subplot()
        for row, label in zip(rows, _labels(rows), strict=True):
            s, x = row["metrics"][name], row["provenance"]["wall_s"]
            ax.errorbar([x], [s["mean"]], yerr=[[s["sd"] or 0.0]], fmt="o", color=ORIGIN_COLORS[row["origin"]],
                        capsize=3)
            ax.annotate(label, (x, s["mean"]), xytext=(5, 4), textcoords="offset points", fontsize=8)
        ax.set_xscale("log")
        _few_ticks(ax.yaxis)
        ax.set_xlabel("wall time per run, s (log scale)")
        ax.set_ylabel(f"{_label(name)} {'↑' if metric['higher_is_better'] else '↓'}  (mean ± sd)")
        ax.grid(alpha=0.3)
        return svg(fig)


def scatter_plot(rows: list[dict[str, Any]]) -> tuple[str, str] | None:
    """co-bps against vel R2 (or the first of :data:`SCATTER_Y` present); None without both metrics."""
    for y_name in SCATTER_Y:
        both = [r for r in rows if "co-bps" in r["metrics"] and y_name in r["metrics"]]
        if both:
            break
    else:
        return None
    with matplotlib.rc_context(PLOT_RC):
        fig = figure(2.9)
        ax = fig.add_subplot()
        for row, label in zip(both, _labels(both), strict=True):
            x, y = row["metrics"]["co-bps"], row["metrics"][y_name]
            ax.errorbar([x["mean"]], [y["mean"]], xerr=[[x["sd"] or 0.0]], yerr=[[y["sd"] or 0.0]], fmt="o",
                        color=ORIGIN_COLORS[row["origin"]], capsize=3)
            ax.annotate(label, (x["mean"], y["mean"]), xytext=(5, 4), textcoords="offset points", fontsize=8)
        _few_ticks(ax.xaxis, ax.yaxis)
        ax.set_xlabel("co-bps ↑ (mean ± sd)")
        ax.set_ylabel(f"{_label(y_name)} ↑ (mean ± sd)")
        ax.grid(alpha=0.3)
        return svg(fig), y_name
