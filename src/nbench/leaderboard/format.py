"""Jinja filters that turn numbers and metric summaries into short, readable text (escaped by the template)."""

from __future__ import annotations

import math
from typing import Any

import jinja2


def num(value: Any, digits: int = 4) -> str:
    """Fixed-point number, ``–`` for missing values; large magnitudes fall back to 4 significant digits."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    value = float(value)
    return f"{value:.{digits}f}" if abs(value) < 1e4 else f"{value:.4g}"


def short(value: Any, length: int = 10) -> str:
    """First ``length`` characters (commit hashes, checksums)."""
    return str(value)[:length]


def tooltip(summary: dict[str, Any]) -> str:
    """Plain-text tooltip of a metric cell: the ranking interval and each seed's bootstrap CI over trials."""
    lo, hi = summary["ci95"]
    lines = [f"95% interval [{num(lo)}, {num(hi)}]: {summary['interval']}"]
    for seed, value, ci in zip(summary["seeds"], summary["values"], summary["trial_ci95"], strict=True):
        trial = f"bootstrap 95% CI over trials [{num(ci[0])}, {num(ci[1])}]" if ci else "no bootstrap CI"
        lines.append(f"seed {seed}: {num(value)}, {trial}")
    return "\n".join(lines)


def register_filters(env: jinja2.Environment) -> None:
    env.filters.update(num=num, short=short, tooltip=tooltip)
