"""Held-out Poisson readout: nbench's batched GLM against NLB's per-neuron sklearn PoissonRegressor loop.

The problem has MC_Maze's size (2,295 training trials x 140 bins of 5 ms, 137 held-in -> 45 held-out neurons,
plus 574 evaluation trials) and realistic spike densities: per-neuron baseline rates log-normal around 6 Hz
(1-60 Hz) modulated by smooth 8-dimensional latents. Features are the smoothing baseline's
log(smoothed held-in + 1e-4) with MC_Maze's NLB settings (50 ms kernel, alpha 0.01). On the same arrays, taking
turns REPEATS times: nbench's batched GLM on one BLAS thread, and sklearn's per-neuron loop (the anchor) with one
BLAS/OpenMP thread and with its default threads. The table shows medians, the speed-up against the faster sklearn
setting and the co-bps each reaches on the evaluation trials; a second table compares, neuron by neuron, the
training objective both minimise (is either short of the optimum?) and the bin-by-bin rates.

Usage: ``python benchmark/bench_readout.py [--repeats 3] [--trials 2295] [--quick]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from scipy.ndimage import gaussian_filter1d
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench_common import anchor_pair, headline, load_average, take_turns  # noqa: E402

from nbench.baselines.glm import PoissonGLM  # noqa: E402
from nbench.baselines.readout import sklearn_poisson_fit  # noqa: E402
from nbench.baselines.smoothing import LOG_OFFSET, gaussian_kernel, smooth_spikes  # noqa: E402
from nbench.metrics.poisson import bits_per_spike  # noqa: E402


def make_problem(n_train: int, n_eval: int, n_bins: int, n_in: int, n_out: int, bin_ms: float,
                 seed: int = 0) -> dict[str, np.ndarray]:
    """Latent-driven Poisson spikes with realistic rates; returns readout features and targets."""
    rng = np.random.default_rng(seed)
    n_trials, n_neurons = n_train + n_eval, n_in + n_out
    latents = gaussian_filter1d(rng.standard_normal((n_trials, n_bins, 8)), sigma=8, axis=1) * 4.0
    loadings = rng.standard_normal((8, n_neurons)) * 0.6 / np.sqrt(8)
    base_hz = np.clip(np.exp(rng.normal(np.log(6.0), 0.9, n_neurons)), 1.0, 60.0)
    rates = base_hz * bin_ms / 1000 * np.exp(latents @ loadings)
    spikes = rng.poisson(rates).astype(np.float32)
    smoothed = smooth_spikes(spikes[..., :n_in], gaussian_kernel(50.0, bin_ms))
    features = np.log(smoothed.reshape(-1, n_in) + LOG_OFFSET)
    split = n_train * n_bins
    return {"X_train": features[:split], "X_eval": features[split:],
            "Y_train": spikes[:n_train, :, n_in:].reshape(-1, n_out).astype(np.float64),
            "Y_eval": spikes[n_train:, :, n_in:], "mean_hz": spikes.mean() * 1000 / bin_ms,
            "zero_frac": float((spikes == 0).mean())}


GOAL = 20.0
OURS = "nbench PoissonGLM (all neurons at once), 1 thread"
ANCHOR = "sklearn PoissonRegressor per neuron (NLB)"


def fit_batched(X: np.ndarray, Y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    with threadpool_limits(1):
        glm = PoissonGLM(alpha=alpha).fit(X, Y)
    return glm.coef_, glm.intercept_


def fit_sklearn(X: np.ndarray, Y: np.ndarray, alpha: float, threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    with threadpool_limits(threads):
        return sklearn_poisson_fit(X, Y, alpha)


def objective(X: np.ndarray, Y: np.ndarray, coef: np.ndarray, intercept: np.ndarray, alpha: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """Per neuron: the objective both minimise, mean(exp(eta) - y eta) + alpha/2 |w|^2, and its max |gradient|."""
    eta = X @ coef + intercept
    mu = np.exp(eta)
    f = (mu - Y * eta).mean(axis=0) + 0.5 * alpha * (coef**2).sum(axis=0)
    grad = np.vstack([X.T @ (mu - Y) / len(X) + alpha * coef, (mu - Y).mean(axis=0)])
    return f, np.abs(grad).max(axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trials", type=int, default=2295)
    parser.add_argument("--alpha", type=float, default=0.01)
    parser.add_argument("--quick", action="store_true", help="a small problem (smoke test of this script)")
    args = parser.parse_args()
    n_train, n_out = (200, 8) if args.quick else (args.trials, 45)
    console = Console(width=140)
    prob = make_problem(n_train, max(n_train // 4, 10), 140, 137, n_out, 5.0)
    X, Y = prob["X_train"], prob["Y_train"]
    console.print(f"problem: {n_train} train trials x 140 bins, 137 -> {n_out} neurons, mean rate "
                  f"{prob['mean_hz']:.1f} Hz, {100 * prob['zero_frac']:.1f}% empty bins; alpha {args.alpha}; "
                  f"{args.repeats} runs each, taking turns; {load_average()}")
    tools = {OURS: lambda: fit_batched(X, Y, args.alpha),
             **anchor_pair(ANCHOR, lambda threads: fit_sklearn(X, Y, args.alpha, threads))}
    times, fits = take_turns(tools, args.repeats, console.print)
    console.print(f"{load_average()} (after)")
    show_times(console, times, fits, prob, n_out)
    show_objectives(console, X, Y, fits[OURS], fits[f"{ANCHOR}, 1 thread"], args.alpha)


def show_times(console: Console, times: dict[str, list[float]], fits: dict, prob: dict, n_out: int) -> None:
    med = {k: statistics.median(v) for k, v in times.items()}
    anchors = [k for k in times if k != OURS]
    speedup, fastest = headline(times, OURS, anchors)
    table = Table(title=f"Held-out Poisson readout (medians); {load_average()}")
    for col in ("readout", "median s", "min-max s", "s per neuron", "x faster than it", "eval co-bps"):
        table.add_column(col, justify="right" if col != "readout" else "left")
    for key in times:
        coef, intercept = fits[key]
        pred = np.clip(np.exp(prob["X_eval"] @ coef + intercept), 1e-9, 1e20).reshape(prob["Y_eval"].shape)
        table.add_row(key, f"{med[key]:.2f}", f"{min(times[key]):.2f}-{max(times[key]):.2f}",
                      f"{med[key] / n_out:.3f}", f"{med[key] / med[OURS]:.1f}x",
                      f"{bits_per_spike(pred, prob['Y_eval']):.5f}")
    console.print(table)
    console.print(f"headline: nbench is {speedup:.1f}x faster than the faster sklearn setting ({fastest}); "
                  f"goal {GOAL:g}x: {'met' if speedup >= GOAL else 'NOT met'}")


def show_objectives(console: Console, X: np.ndarray, Y: np.ndarray, ours: tuple, ref: tuple, alpha: float) -> None:
    """Does either readout stop short of the optimum? Compare the objective each reaches, neuron by neuron."""
    f_ours, g_ours = objective(X, Y, *ours, alpha)
    f_ref, g_ref = objective(X, Y, *ref, alpha)
    gap = (f_ref - f_ours) / np.abs(f_ours)
    rates = [np.exp(X @ c + b) for c, b in (ours, ref)]
    rel = np.abs(rates[0] - rates[1]) / np.maximum(rates[1], 1e-12)
    table = Table(title="Training objective per neuron: sklearn minus nbench, relative to nbench's")
    for col in ("", "min", "median", "max"):
        table.add_column(col, justify="right" if col else "left")
    for name, v in (("objective gap (> 0: sklearn higher)", gap), ("max |gradient| nbench", g_ours),
                    ("max |gradient| sklearn", g_ref), ("rate difference per bin (rel.)", rel.ravel())):
        table.add_row(name, *(f"{x:.2e}" for x in (np.min(v), np.median(v), np.max(v))))
    console.print(table)
    console.print(f"nbench's objective is lower for {int((gap > 0).sum())} of {gap.size} neurons and never higher "
                  f"by more than {max(0.0, -gap.min()):.1e} (relative)")


if __name__ == "__main__":
    main()
