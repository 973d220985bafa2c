"""Coverage of bootstrap intervals for bits/spike, on synthetic data with known rates.

Bits/spike compares a model with a null model that predicts each neuron's mean count *over the scored trials*
(NLB's definition). Four 95% intervals over eval trials are compared, from the same 1000 trial resamples:

* ``refit pct``: percentile interval, null re-estimated on every resample (nbench before this script);
* ``fixed pct``: percentile interval, null held at the full-sample estimate (nbench now: its own code);
* ``refit BCa``: bias-corrected and accelerated interval (jackknife acceleration), null re-estimated;
* ``refit basic``: basic (reverse percentile) interval, null re-estimated.

Two targets: ``E[bps]``, the expected value of the metric as defined on eval sets of this size (what a score on
another eval set of the same size is centred on; estimated from 5,000 independent eval sets), and ``pop``, the
bits/spike against the population mean rate (the limit of infinitely many eval trials). Each row is one
scenario: Poisson counts from trial-varying rates (a random phase per trial, so counts are overdispersed across
trials as in real data), a fixed model, ``n`` eval trials; 400 simulated data sets per scenario. Columns: coverage
of each target, how often the interval contains its own point estimate, and the mean width.

Run: ``python benchmark/bootstrap_coverage.py`` (about 4 CPU-minutes; ``--reps`` to change).
"""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from nbench.metrics.bootstrap import resample_weights
from nbench.metrics.poisson import ZERO_RATE, bps_population_and_neurons, bps_trial_stats

LN2 = math.log(2)


@dataclass(frozen=True)
class Scenario:
    name: str
    n_trials: int
    n_neurons: int
    n_bins: int
    base: float  # mean count per bin
    depth: float  # log-rate modulation depth
    model: str  # "noisy oracle", "weak", "mean rate"


SCENARIOS = (
    Scenario("forward window, weak model", 312, 29, 10, 0.08, 1.0, "weak"),
    Scenario("forward window, mean rate", 312, 29, 10, 0.08, 1.0, "mean rate"),
    Scenario("co-smoothing, noisy oracle", 100, 45, 35, 0.15, 0.8, "noisy oracle"),
    Scenario("co-smoothing, mean rate", 100, 45, 35, 0.15, 0.8, "mean rate"),
    Scenario("few spikes, weak model", 60, 10, 10, 0.03, 1.2, "weak"),
)


def true_rates(s: Scenario, n: int, rng: np.random.Generator) -> np.ndarray:
    """n trials x bins x neurons expected counts: a per-trial phase moves each neuron's tuning curve."""
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    pref = np.linspace(0, 2 * np.pi, s.n_neurons, endpoint=False)[None, None, :]
    time_ = np.linspace(0, np.pi, s.n_bins)[None, :, None]
    return s.base * np.exp(s.depth * np.cos(time_ + phase - pref) - s.depth ** 2 / 4)


def model_rates(s: Scenario, lam: np.ndarray, pop_mean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if s.model == "noisy oracle":
        return lam * np.exp(rng.normal(0, 0.3, lam.shape))
    if s.model == "weak":
        return 0.85 * pop_mean + 0.15 * lam
    return np.broadcast_to(pop_mean * 1.05, lam.shape)  # a training mean, slightly off


def population_bps(s: Scenario, rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """Bits/spike against the population mean rate, and that mean, from 200,000 trials' expected counts."""
    lam = true_rates(s, 200_000, rng)
    mean = lam.mean(axis=(0, 1))
    r = model_rates(s, lam, mean, np.random.default_rng(7))
    gain = (mean - lam * np.log(mean)) - (r - lam * np.log(r))
    return float(gain.sum() / lam.sum() / LN2), mean


def stats_of(s: Scenario, pop_mean: np.ndarray, rng: np.random.Generator):
    lam = true_rates(s, s.n_trials, rng)
    spikes = rng.poisson(lam).astype(np.float64)
    return bps_trial_stats(model_rates(s, lam, pop_mean, rng), spikes)


def bps_refit(st, weights: np.ndarray) -> np.ndarray:
    """Population bits/spike per weight row, the null re-estimated on each row (the old nbench resampling)."""
    spikes, count, model = weights @ st.spike_sum, weights @ st.n_observed, weights @ st.model_nll
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, spikes / count, 0.0)
    mean = np.where(mean == 0, ZERO_RATE, mean)
    gain = count * mean - spikes * np.log(mean) - model
    return gain.sum(axis=1) / spikes.sum(axis=1) / LN2


def bca(theta: float, boot: np.ndarray, jack: np.ndarray) -> tuple[float, float]:
    """Efron's BCa 95% interval from bootstrap and jackknife (leave-one-trial-out) values."""
    frac = (np.sum(boot < theta) + 0.5 * np.sum(boot == theta)) / boot.size
    z0 = norm.ppf(np.clip(frac, 1e-6, 1 - 1e-6))
    d = jack.mean() - jack
    a = np.sum(d ** 3) / (6 * np.sum(d ** 2) ** 1.5) if np.any(d) else 0.0
    z = norm.ppf([0.025, 0.975])
    alpha = norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
    lo, hi = np.percentile(boot, 100 * alpha)
    return float(lo), float(hi)


def intervals(st, weights: np.ndarray) -> tuple[float, dict[str, tuple[float, float]]]:
    n = st.spike_sum.shape[0]
    theta = float(bps_population_and_neurons(st)[0][0])
    refit, fixed = bps_refit(st, weights), bps_population_and_neurons(st, weights)[0]  # fixed: nbench's own
    jack = bps_refit(st, 1.0 - np.eye(n))
    q_refit, q_fixed = np.percentile(refit, [2.5, 97.5]), np.percentile(fixed, [2.5, 97.5])
    return theta, {"refit pct": tuple(q_refit), "fixed pct": tuple(q_fixed), "refit BCa": bca(theta, refit, jack),
                   "refit basic": (2 * theta - q_refit[1], 2 * theta - q_refit[0])}


def expected_bps(s: Scenario, pop_mean: np.ndarray, seed: int, n_sets: int = 5_000) -> float:
    rng = np.random.default_rng(seed)
    values = [bps_population_and_neurons(stats_of(s, pop_mean, rng))[0][0] for _ in range(n_sets)]
    return float(np.mean(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=400, help="simulated data sets per scenario")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.reps} data sets x 1000 resamples per scenario\n")
    header = f"{'scenario':<28} {'pop':>8} {'E[bps]':>8} {'bias':>8} | {'interval':<12} {'cover E':>8} " \
             f"{'cover pop':>9} {'has est.':>8} {'width':>8}"
    print(header)
    print("-" * len(header))
    for k, s in enumerate(SCENARIOS):
        pop, pop_mean = population_bps(s, np.random.default_rng(100 + k))
        expected = expected_bps(s, pop_mean, seed=200 + k)
        rng = np.random.default_rng(300 + k)
        hits = {name: np.zeros(3) for name in ("refit pct", "fixed pct", "refit BCa", "refit basic")}
        widths = {name: [] for name in hits}
        for rep in range(args.reps):
            st = stats_of(s, pop_mean, rng)
            theta, cis = intervals(st, resample_weights(s.n_trials, 1000, seed=rep))
            for name, (lo, hi) in cis.items():
                hits[name] += [lo <= expected <= hi, lo <= pop <= hi, lo <= theta <= hi]
                widths[name].append(hi - lo)
        for i, (name, h) in enumerate(hits.items()):
            lead = f"{s.name:<28} {pop:8.4f} {expected:8.4f} {expected - pop:8.4f}" if i == 0 else " " * 55
            cover = 100 * h / args.reps
            print(f"{lead} | {name:<12} {cover[0]:7.1f}% {cover[1]:8.1f}% {cover[2]:7.1f}% "
                  f"{np.mean(widths[name]):8.4f}")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
