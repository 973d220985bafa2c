"""GPFA (Yu et al. 2009) with NLB'21's co-smoothing recipe (``nlb_tools/examples/baselines/gpfa/run_gpfa.py``).

Recipe:

1. Fit elephant's GPFA (exact EM, elephant's defaults: square-root counts, 20-bin training segments,
   factor-analysis start, RBF kernels) on the training trials' held-in spikes at the task's bin width, then infer
   the orthonormalised posterior latents (``latent_variable_orth``) of training and evaluation trials.
2. Held-in rates: ``Ridge(alpha1)`` from latents to held-in counts, fit on training *and* evaluation rows (eval
   held-in spikes are inputs), predictions below 1e-10 set to 1e-10.
3. Held-out rates: L2 Poisson GLM (``alpha2``) from the predicted held-in rates to held-out counts, fit on
   training rows (batched by default; ``readout="sklearn"`` runs NLB's per-neuron loop).

   NLB's published ``alpha2`` is 0 for every dataset. Unpenalised, this GLM has no finite optimum on real data
   (sparse held-out spikes and 19% of floored held-in rates on MC_Maze_Small give quasi-separation): NLB's
   numbers rest on L-BFGS stopping at ``max |gradient| <= 1e-4``, while an exact solver follows the weights to
   infinity (co-bps -1e21). The default ``alpha2 = None`` therefore picks a small penalty by 3-fold CV over
   training trials from ``ALPHA2_GRID`` (NLB's own sweep grid {0, 1e-4, 1e-3, 1e-2} is too coarse for
   features of ~0.02 counts per bin). ``alpha2=0 readout=sklearn`` reproduces NLB verbatim.
4. Forward-window rates: each neuron's mean training count per bin, pooled over the forward window (not part of
   NLB's script).
5. Latents (an nbench extension): the orthonormalised posterior latents of step 1, for behaviour decoded from
   latents.

Elephant is used as is, with three changes to how it is driven, none to what it computes (all tested against
stock elephant; timings in benchmark/bench_gpfa.py):

- it is fed the binned counts directly (elephant's record array of square-root counts) instead of
  ``neo.SpikeTrain`` objects as NLB's script does: same result, no ~0.07 s per trial of conversion;
- EM runs with one BLAS thread: elephant's EM is many small matrix operations, which multi-threaded BLAS slows;
- ``fast_em`` (default on) replaces elephant's ``gpfa_util.make_precomp`` during the fit with a vectorised
  equivalent. That function sums each training segment's posterior moments in a Python loop (one ``np.outer``
  per latent per segment) and takes most of each EM iteration's time once there are thousands of segments;
  the vectorised sums agree to rounding, so EM follows the same path to the same log-likelihood.

``em_max_iters`` and ``em_tol`` are elephant's (stop when the log-likelihood gain falls below ``em_tol`` times
the total gain so far).
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nbench.baselines.base import Capabilities, Model
from nbench.baselines.progress import fit_progress
from nbench.baselines.readout import (
    READOUTS,
    check_choice,
    choose_alpha_cv,
    flat,
    forward_rates,
    poisson_readout,
)
from nbench.errors import ConfigError, DataError
from nbench.extras import require
from nbench.submission import Submission
from nbench.tasks.base import TaskInputs

#: (latent_dim, alpha1) per dataset: NLB'21 run_gpfa.py (3-fold CV); for the synthetic sets the latent_dim with the
#: best val-phase co-bps (lorenz: 3, 5, 8, 12 tried; chaotic_rnn: 4, 6, 8, 16, 24; 100 EM iterations).
GPFA_DEFAULTS: dict[str, tuple[int, float]] = {
    "mc_maze": (52, 0.01),
    "mc_rtt": (36, 0.0),
    "area2_bump": (22, 1e-4),
    "dmfc_rsg": (32, 1e-4),
    "mc_maze_large": (44, 0.01),
    "mc_maze_medium": (28, 0.0),
    "mc_maze_small": (18, 0.01),
    "lorenz": (3, 0.01),
    "chaotic_rnn": (6, 0.01),
}
FALLBACK = (20, 0.01)
#: Candidate held-out GLM penalties when ``alpha2`` is None (chosen by CV on training trials).
ALPHA2_GRID = (1e-7, 1e-6, 1e-5, 1e-4, 1e-3)
HELDIN_FLOOR = 1e-10


@dataclass(frozen=True)
class GPFAConfig:
    """Settings of the GPFA baseline.

    Attributes
    ----------
    latent_dim
        Number of GPFA latents (elephant's ``x_dim``).
    alpha1
        Ridge penalty from latents to held-in counts.
    alpha2
        L2 penalty of the Poisson readout from predicted held-in rates to held-out counts; None: chosen by
        3-fold CV on training trials from ``ALPHA2_GRID``.
    em_max_iters, em_tol
        EM iteration limit and relative log-likelihood tolerance (elephant's defaults: 500 and 1e-8).
    fast_em
        Use the vectorised replacement of elephant's ``make_precomp`` (same EM, faster).
    readout
        ``"batched"`` or ``"sklearn"`` (NLB's per-neuron PoissonRegressor loop).
    """

    latent_dim: int = FALLBACK[0]
    alpha1: float = FALLBACK[1]
    alpha2: float | None = None
    em_max_iters: int = 500
    em_tol: float = 1e-8
    fast_em: bool = True
    readout: str = "batched"

    def validate(self) -> None:
        """One-line ConfigError for values no fit can use (the data-dependent latent_dim bound is checked in
        fit)."""
        check_choice(self.readout, READOUTS, "readout", "gpfa")
        if self.latent_dim < 1:
            raise ConfigError(f"model 'gpfa': config key 'latent_dim' expects >= 1, got {self.latent_dim!r}")
        for key in ("alpha1", "alpha2", "em_tol"):
            if (getattr(self, key) or 0) < 0:
                raise ConfigError(f"model 'gpfa': config key {key!r} expects a value >= 0, got {getattr(self, key)!r}")
        if self.em_max_iters < 1:
            raise ConfigError(f"model 'gpfa': config key 'em_max_iters' expects >= 1, got {self.em_max_iters!r}")


def counts_to_seqs(spikes: np.ndarray) -> np.ndarray:
    """trials x bins x neurons counts -> elephant's record array (``T``, ``y`` = sqrt counts, neurons x bins)."""
    seqs = np.empty(spikes.shape[0], dtype=[("T", int), ("y", "O")])
    for i, trial in enumerate(np.nan_to_num(np.asarray(spikes, dtype=np.float64))):
        seqs[i] = (trial.shape[0], np.sqrt(trial.T))
    return seqs


def vectorised_precomp(seqs: np.ndarray, x_dim: int) -> np.ndarray:
    """Drop-in for ``elephant.gpfa.gpfa_util.make_precomp``: the same record array, sums done with einsum.

    For each latent ``i`` and trial length ``T``, ``PautoSUM`` is the sum over trials of that length of the
    posterior covariance ``VsmGP[:, :, i]`` plus the outer product of the posterior mean of latent ``i``.
    """
    lengths = np.asarray(seqs["T"])
    t_max = int(lengths.max())
    lag = np.subtract.outer(np.arange(t_max), np.arange(t_max))
    groups = []
    for t in np.unique(lengths):
        members = np.flatnonzero(lengths == t)
        means = np.stack([seqs[n]["latent_variable"] for n in members])  # trials x latents x T
        auto = np.einsum("nis,nit->sti", means, means)
        for n in members:
            auto += seqs[n]["VsmGP"]
        groups.append((members, int(t), auto))
    precomp = np.empty(x_dim, dtype=[("absDif", object), ("difSq", object), ("Tall", object), ("Tu", object)])
    tu_dtype = [("nList", object), ("T", int), ("numTrials", int), ("PautoSUM", object)]
    for i in range(x_dim):
        tu = np.empty(len(groups), dtype=tu_dtype)
        for j, (members, t, auto) in enumerate(groups):
            tu[j]["nList"], tu[j]["T"], tu[j]["numTrials"] = members, t, members.size
            tu[j]["PautoSUM"] = auto[:, :, i].copy()
        precomp[i]["absDif"], precomp[i]["difSq"], precomp[i]["Tall"] = np.abs(lag), lag**2, lengths
        precomp[i]["Tu"] = tu
    return precomp


@contextlib.contextmanager
def _elephant_precomp(fast: bool) -> Iterator[None]:
    """Within the block, elephant's EM uses :func:`vectorised_precomp` (when ``fast``)."""
    from elephant.gpfa import gpfa_util

    original = gpfa_util.make_precomp
    if fast:
        gpfa_util.make_precomp = vectorised_precomp
    try:
        yield
    finally:
        gpfa_util.make_precomp = original


@contextlib.contextmanager
def _em_progress(max_iters: int) -> Iterator[None]:
    """Within the block, each E step of elephant's EM advances a progress bar (with the last log-likelihood)."""
    from elephant.gpfa import gpfa_core

    original = gpfa_core.exact_inference_with_ll
    state = {"done": 0, "ll": float("nan")}
    with fit_progress("GPFA EM iteration", max_iters) as update:
        def counted(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            state["done"] += 1
            if np.isfinite(result[1]):
                state["ll"] = float(result[1])
            update(min(state["done"], max_iters), f"log-likelihood {state['ll']:.1f}")
            return result

        gpfa_core.exact_inference_with_ll = counted
        try:
            yield
        finally:
            gpfa_core.exact_inference_with_ll = original


class ElephantGPFA:
    """elephant's GPFA on binned counts: ``elephant.gpfa.GPFA.fit`` / ``transform`` without the neo round trip.

    Parameters
    ----------
    latent_dim, bin_ms, em_max_iters, em_tol
        As elephant's ``x_dim``, ``bin_size``, ``em_max_iters``, ``em_tol``.
    fast_em
        Use :func:`vectorised_precomp` inside elephant's EM.
    seed
        Seeds numpy's global generator, which elephant uses to place overlapping training segments; the global
        state is restored afterwards.
    """

    def __init__(self, latent_dim: int, bin_ms: float, em_max_iters: int = 500, em_tol: float = 1e-8,
                 seed: int = 0, fast_em: bool = True) -> None:
        self.latent_dim, self.bin_ms, self.fast_em = latent_dim, bin_ms, fast_em
        self.em_max_iters, self.em_tol, self.seed = em_max_iters, em_tol, seed
        self.fit_info: dict[str, Any] = {}

    def fit(self, spikes: np.ndarray) -> ElephantGPFA:
        """Fit on trials x bins x neurons counts (neurons without spikes are dropped, as elephant does)."""
        from elephant.gpfa import gpfa_core
        from threadpoolctl import threadpool_limits

        seqs = counts_to_seqs(spikes)
        self.has_spikes = np.hstack(seqs["y"]).any(axis=1)
        for seq in seqs:
            seq["y"] = seq["y"][self.has_spikes]
        y_all = np.hstack(seqs["y"])
        if np.linalg.matrix_rank(np.cov(y_all)) < y_all.shape[0]:
            raise DataError("GPFA: the held-in training spikes' covariance is rank deficient (repeated neurons or "
                            "too few bins); elephant cannot fit it")
        state = np.random.get_state()
        np.random.seed(self.seed)
        start = time.perf_counter()
        try:
            with threadpool_limits(1), contextlib.redirect_stdout(io.StringIO()), _elephant_precomp(self.fast_em), \
                    _em_progress(self.em_max_iters):
                self.params, info = gpfa_core.fit(
                    seqs, x_dim=self.latent_dim, bin_width=float(self.bin_ms), em_tol=self.em_tol,
                    em_max_iters=self.em_max_iters)
        finally:
            np.random.set_state(state)
        lls = [float(v) for v in info["log_likelihoods"] if np.isfinite(v)]
        self.fit_info = {"em_iters": len(info["log_likelihoods"]), "log_likelihood": lls[-1] if lls else None,
                         "log_likelihoods": info["log_likelihoods"], "fit_s": time.perf_counter() - start,
                         "em_s_per_iter": float(np.median(info["iteration_time"]))}
        return self

    def transform(self, spikes: np.ndarray) -> np.ndarray:
        """Orthonormalised posterior latents, trials x bins x latent_dim."""
        from elephant.gpfa import gpfa_core

        seqs = counts_to_seqs(spikes)
        for seq in seqs:
            seq["y"] = seq["y"][self.has_spikes]
        seqs, self.transform_ll = gpfa_core.exact_inference_with_ll(seqs, self.params, get_ll=True)
        _, seqs = gpfa_core.orthonormalize(self.params, seqs)
        return np.stack([latents.T for latents in seqs["latent_variable_orth"]])


class GPFAModel(Model):
    """GPFA latents (elephant) -> ridge to held-in rates -> Poisson GLM to held-out rates (NLB'21)."""

    name = "gpfa"
    Config = GPFAConfig
    capabilities = Capabilities(produces=frozenset({"rates", "latents"}))

    def __init__(self, config: GPFAConfig, seed: int = 0, workdir: Path | None = None, device: str = "cpu") -> None:
        require("elephant", "model 'gpfa'")  # here, so that a missing extra fails before any data work
        super().__init__(config, seed, workdir, device)

    @classmethod
    def preset(cls, family: str, bin_ms: float | None = None) -> GPFAConfig | None:
        if family not in GPFA_DEFAULTS:
            return None
        latent_dim, alpha1 = GPFA_DEFAULTS[family]
        return GPFAConfig(latent_dim=latent_dim, alpha1=alpha1)

    def fit(self, inputs: TaskInputs) -> None:
        cfg = self._checked_config(inputs)
        self.gpfa = ElephantGPFA(cfg.latent_dim, inputs.bin_ms, cfg.em_max_iters, cfg.em_tol, self.seed, cfg.fast_em)
        self.gpfa.fit(inputs.train_spikes_heldin)
        # One inference call for train and eval trials: elephant inverts the posterior precision once per length.
        latents = self.gpfa.transform(np.concatenate([inputs.train_spikes_heldin, inputs.eval_spikes_heldin]))
        factors = {"train": flat(latents[: inputs.n_train]), "eval": flat(latents[inputs.n_train :])}
        heldin = self._heldin_rates(factors, inputs)
        heldout = flat(inputs.train_spikes_heldout)
        alpha2, self.alpha2_scores = cfg.alpha2, {}
        if alpha2 is None and inputs.n_heldout:
            alpha2, self.alpha2_scores = choose_alpha_cv(heldin["train"], heldout, inputs.n_bins, ALPHA2_GRID)
        train_out, eval_out = poisson_readout(heldin["train"], heldout, [heldin["train"], heldin["eval"]], alpha2,
                                              cfg.readout, progress="GPFA: Poisson readout")
        def shaped(values: np.ndarray, trials: int, neurons: int) -> np.ndarray:
            return values.reshape(trials, inputs.n_bins, neurons)

        self._rates = {"train_heldin": shaped(heldin["train"], inputs.n_train, inputs.n_heldin),
                       "eval_heldin": shaped(heldin["eval"], inputs.n_eval, inputs.n_heldin),
                       "train_heldout": shaped(train_out, inputs.n_train, inputs.n_heldout),
                       "eval_heldout": shaped(eval_out, inputs.n_eval, inputs.n_heldout)}
        self._forward = forward_rates(inputs)
        self._latents = {"train": latents[: inputs.n_train], "eval": latents[inputs.n_train :]}
        self.fit_info = dict(self.gpfa.fit_info, transform_log_likelihood=float(self.gpfa.transform_ll),
                             alpha2=alpha2, alpha2_cv=self.alpha2_scores)

    def _checked_config(self, inputs: TaskInputs) -> GPFAConfig:
        cfg = self.config
        cfg.validate()
        if not 1 <= cfg.latent_dim <= inputs.n_heldin:
            raise ConfigError(f"model 'gpfa': config key 'latent_dim' expects 1..{inputs.n_heldin} (held-in "
                              f"neurons), got {cfg.latent_dim!r}")
        return cfg

    def _heldin_rates(self, factors: dict[str, np.ndarray], inputs: TaskInputs) -> dict[str, np.ndarray]:
        """Ridge from latents to held-in counts on train + eval rows, floored at 1e-10 (NLB's ``fit_rectlin``)."""
        from sklearn.linear_model import Ridge

        X = np.vstack([factors["train"], factors["eval"]])
        Y = np.nan_to_num(np.vstack([flat(inputs.train_spikes_heldin), flat(inputs.eval_spikes_heldin)]))
        ridge = Ridge(alpha=self.config.alpha1).fit(X, Y)
        return {k: np.maximum(ridge.predict(v), HELDIN_FLOOR) for k, v in factors.items()}

    def predict(self, inputs: TaskInputs) -> Submission:
        r = self._rates
        return Submission(
            group=inputs.group, train_rates_heldin=r["train_heldin"], train_rates_heldout=r["train_heldout"],
            eval_rates_heldin=r["eval_heldin"], eval_rates_heldout=r["eval_heldout"],
            eval_rates_heldin_forward=self._forward[0], eval_rates_heldout_forward=self._forward[1],
            train_latents=self._latents["train"], eval_latents=self._latents["eval"],
        )
