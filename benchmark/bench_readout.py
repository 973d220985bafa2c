"""Held-out Poisson readout: nbench's batched GLM against NLB's per-neuron sklearn PoissonRegressor loop.

The problem has MC_Maze's size (2,295 training trials x 140 bins of 5 ms, 137 held-in -> 45 held-out neurons,
plus 574 evaluation trials) and realistic spike densities: per-neuron baseline rates log-normal around 6 Hz
(1-60 Hz) modulated by smooth 8-dimensional latents. Features are the smoothing baseline's
log(smoothed held-in + 1e-4) with MC_Maze's NLB settings (50 ms kernel, alpha 0.01). Both readouts run on the same
arrays, taking turns, REPEATS times under the same thread limit; the table shows medians, the speed-up and the
co-bps each reaches on the evaluation trials.

Usage: ``python benchmark/bench_readout.py [--repeats 3] [--threads 1] [--trials 2295] [--quick]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from scipy.ndimage import gaussian_filter1d
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from nbench.baselines.readout import poisson_readout  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads for both readouts")
    parser.add_argument("--trials", type=int, default=2295)
    parser.add_argument("--alpha", type=float, default=0.01)
    parser.add_argument("--quick", action="store_true", help="a small problem (smoke test of this script)")
    args = parser.parse_args()
    n_train, n_out = (200, 8) if args.quick else (args.trials, 45)
    console = Console(width=120)
    prob = make_problem(n_train, max(n_train // 4, 10), 140, 137, n_out, 5.0)
    console.print(f"problem: {n_train} train trials x 140 bins, 137 -> {n_out} neurons, mean rate "
                  f"{prob['mean_hz']:.1f} Hz, {100 * prob['zero_frac']:.1f}% empty bins; alpha {args.alpha}; "
                  f"threads {args.threads}; {args.repeats} runs each, taking turns")
    times: dict[str, list[float]] = {"batched": [], "sklearn": []}
    preds: dict[str, np.ndarray] = {}
    with threadpool_limits(args.threads):
        for run in range(args.repeats):
            for readout in times:
                start = time.perf_counter()
                (pred,) = poisson_readout(prob["X_train"], prob["Y_train"], [prob["X_eval"]], args.alpha, readout)
                times[readout].append(time.perf_counter() - start)
                preds[readout] = np.clip(pred, 1e-9, 1e20).reshape(prob["Y_eval"].shape)
                console.print(f"  run {run + 1}: {readout:8s} {times[readout][-1]:8.2f} s")
    show(console, times, preds, prob["Y_eval"], n_out)


def show(console: Console, times: dict[str, list[float]], preds: dict[str, np.ndarray], truth: np.ndarray,
         n_out: int) -> None:
    med = {k: statistics.median(v) for k, v in times.items()}
    cobps = {k: bits_per_spike(p, truth) for k, p in preds.items()}
    table = Table(title="Held-out Poisson readout (medians)")
    for col in ("readout", "median s", "min-max s", "s per neuron", "speed-up", "eval co-bps"):
        table.add_column(col, justify="right" if col != "readout" else "left")
    names = {"batched": "nbench PoissonGLM, all neurons at once",
             "sklearn": "sklearn PoissonRegressor per neuron (NLB)"}
    for key in ("sklearn", "batched"):
        table.add_row(names[key], f"{med[key]:.2f}", f"{min(times[key]):.2f}-{max(times[key]):.2f}",
                      f"{med[key] / n_out:.3f}", f"{med['sklearn'] / med[key]:.1f}x", f"{cobps[key]:.5f}")
    console.print(table)
    rel = np.abs(preds["batched"] - preds["sklearn"]) / preds["sklearn"]
    console.print(f"co-bps difference {abs(cobps['batched'] - cobps['sklearn']):.5f}; "
                  f"rate difference: median {np.median(rel):.2e}, max {rel.max():.2e} (relative)")


if __name__ == "__main__":
    main()
