"""The figures of a run report (matplotlib object API, SVG): predicted against true rates, PSTHs by condition
against the data, per-neuron values, rasters of eval trials."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import numpy as np
from scipy.ndimage import gaussian_filter1d

from nbench.leaderboard.plots import PLOT_RC, figure, svg
from nbench.submission import Submission
from nbench.tasks.base import Targets, TaskInputs

#: Width (in bins) of the Gaussian that smooths PSTHs of the data, as the condition-average reference does.
PSTH_SIGMA_BINS = 2.0
PRED_COLOR, DATA_COLOR = "#1f6feb", "#222222"


def units_to_show(inputs: TaskInputs, targets: Targets, n: int = 3) -> tuple[str, np.ndarray]:
    """Which side is scored (``"heldout"``, or ``"heldin"`` when nothing is hidden) and its ``n`` most active
    units (most spikes on eval trials, so that the plots have something to show)."""
    if inputs.n_heldout:
        counts = np.nansum(targets.eval_spikes_heldout, axis=(0, 1))
        return "heldout", np.argsort(-counts, kind="stable")[:n]
    counts = np.nansum(inputs.eval_spikes_heldin, axis=(0, 1))
    return "heldin", np.argsort(-counts, kind="stable")[:n]


def eval_spikes(side: str, inputs: TaskInputs, targets: Targets) -> np.ndarray:
    return targets.eval_spikes_heldout if side == "heldout" else inputs.eval_spikes_heldin


def rates_figure(sub: Submission, inputs: TaskInputs, targets: Targets, trials: Sequence[int]) -> str | None:
    """Predicted against true rates of a few units on a few eval trials (synthetic data: true rates known)."""
    side, units = units_to_show(inputs, targets)
    true = targets.eval_true_rates_heldout if side == "heldout" else targets.eval_true_rates_heldin
    pred = getattr(sub, f"eval_rates_{side}")
    if true is None or pred is None or not len(units):
        return None
    spikes = eval_spikes(side, inputs, targets)
    time_ms = np.arange(inputs.n_bins) * inputs.bin_ms
    with matplotlib.rc_context(PLOT_RC):
        fig = figure(1.3 * len(units) + 0.4, 2.4 * len(trials) + 0.6)
        axes = fig.subplots(len(units), len(trials), squeeze=False, sharex=True)
        for row, unit in enumerate(units):
            for col, trial in enumerate(trials):
                ax = axes[row][col]
                ax.plot(time_ms, true[trial, :, unit], color=DATA_COLOR, linewidth=1.2, label="true rate")
                ax.plot(time_ms, pred[trial, :, unit], color=PRED_COLOR, linewidth=1.2, label="predicted")
                hit = np.flatnonzero(np.nan_to_num(spikes[trial, :, unit]) > 0)
                ax.plot(time_ms[hit], np.zeros(len(hit)), "|", color="#999999", markersize=6, label="spikes")
                if row == 0:
                    ax.set_title(f"eval trial {trial}", fontsize=9)
                if col == 0:
                    ax.set_ylabel(f"{side} unit {unit}\ncounts/bin")
        axes[-1][0].set_xlabel("time in trial (ms)")
        axes[0][-1].legend(fontsize=7, frameon=False, loc="upper right")
        return svg(fig)


def psth_figure(sub: Submission, inputs: TaskInputs, targets: Targets, max_conditions: int = 4) -> str | None:
    """Trial-averaged predicted rates against the smoothed average of the data, by condition, for a few units."""
    side, units = units_to_show(inputs, targets)
    pred = getattr(sub, f"eval_rates_{side}")
    if targets.eval_cond_idx is None or pred is None or not len(units):
        return None
    conditions = sorted(range(len(targets.eval_cond_idx)), key=lambda c: -len(targets.eval_cond_idx[c]))
    conditions = [c for c in conditions[:max_conditions] if len(targets.eval_cond_idx[c])]
    spikes = eval_spikes(side, inputs, targets)
    time_ms = np.arange(inputs.n_bins) * inputs.bin_ms
    colors = matplotlib.colormaps["tab10"].colors
    with matplotlib.rc_context(PLOT_RC):
        fig = figure(2.2, 2.6 * len(units) + 0.4)
        axes = fig.subplots(1, len(units), squeeze=False)[0]
        for ax, unit in zip(axes, units, strict=False):
            for k, cond in enumerate(conditions):
                rows = np.asarray(targets.eval_cond_idx[cond], dtype=int)
                data = gaussian_filter1d(np.nanmean(spikes[rows, :, unit], axis=0), PSTH_SIGMA_BINS, mode="nearest")
                ax.plot(time_ms, data, color=colors[k % 10], linestyle="--", linewidth=1)
                ax.plot(time_ms, np.mean(pred[rows, :, unit], axis=0), color=colors[k % 10], linewidth=1.4,
                        label=f"cond {cond} ({len(rows)} trials)")
            ax.set_title(f"{side} unit {unit}", fontsize=9)
            ax.set_xlabel("time in trial (ms)")
        axes[0].set_ylabel("counts/bin (solid: predicted,\ndashed: data, smoothed)")
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize=7, frameon=False)
        return svg(fig)


def neuron_histogram(values: dict[str, list[float | None]]) -> str | None:
    """Histogram of each per-unit metric (each unit's bits/spike, or its rate R2)."""
    shown = {name: np.array([v for v in vals if v is not None], dtype=float) for name, vals in values.items()}
    shown = {name: v for name, v in shown.items() if v.size}
    if not shown:
        return None
    with matplotlib.rc_context(PLOT_RC):
        fig = figure(2.2, 3.0 * len(shown) + 0.4)
        axes = fig.subplots(1, len(shown), squeeze=False)[0]
        for ax, (name, vals) in zip(axes, shown.items(), strict=True):
            ax.hist(vals, bins=min(30, max(5, vals.size // 2)), color=PRED_COLOR, alpha=0.8)
            ax.axvline(0.0, color="#999999", linewidth=0.8)
            ax.set_xlabel(f"{name} of each unit ({vals.size} units)")
            ax.set_ylabel("units")
        return svg(fig)


def raster_figure(sub: Submission, inputs: TaskInputs, targets: Targets, trials: Sequence[int]) -> str:
    """Spikes of every unit on a few eval trials (visible grey, hidden red) above the predicted hidden rates."""
    heldout = getattr(sub, "eval_rates_heldout", None)
    show_rates = heldout is not None and inputs.n_heldout > 0
    time_ms = np.arange(inputs.n_bins) * inputs.bin_ms
    with matplotlib.rc_context(PLOT_RC):
        fig = figure(4.2 if show_rates else 2.8, 2.6 * len(trials) + 0.4)
        axes = fig.subplots(2 if show_rates else 1, len(trials), squeeze=False,
                            height_ratios=[2, 1] if show_rates else None)
        for col, trial in enumerate(trials):
            ax = axes[0][col]
            for spikes, offset, color in ((inputs.eval_spikes_heldin[trial], 0, "#777777"),
                                          (targets.eval_spikes_heldout[trial], inputs.n_heldin, "#d9480f")):
                b, u = np.nonzero(np.nan_to_num(spikes) > 0)
                ax.scatter(time_ms[b], u + offset, s=1.5, color=color, linewidths=0)
            ax.set_ylim(-1, inputs.n_heldin + inputs.n_heldout)
            ax.set_title(f"eval trial {trial}", fontsize=9)
            if col == 0:
                ax.set_ylabel("unit (visible, then hidden)")
            if show_rates:
                ax2 = axes[1][col]
                ax2.imshow(heldout[trial].T, aspect="auto", origin="lower", cmap="viridis", interpolation="nearest",
                           extent=(time_ms[0], time_ms[-1] + inputs.bin_ms, -0.5, inputs.n_heldout - 0.5))
                ax2.set_xlabel("time in trial (ms)")
                if col == 0:
                    ax2.set_ylabel("predicted hidden\nrates (unit)")
        return svg(fig)
