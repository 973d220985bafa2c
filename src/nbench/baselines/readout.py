"""Pieces shared by the classic baselines (smoothing, GPFA): the Poisson readout to held-out neurons and the
forward-window rule.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from nbench.baselines.glm import PoissonGLM
from nbench.baselines.progress import fit_progress
from nbench.errors import ConfigError
from nbench.metrics.poisson import bits_per_spike
from nbench.tasks.base import TaskInputs

READOUTS = ("batched", "sklearn")


def check_choice(value: str, choices: Sequence[str], key: str, model: str) -> None:
    """Raise a one-line ConfigError when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"model {model!r}: config key {key!r} expects one of {', '.join(choices)}, got {value!r}")


def flat(x: np.ndarray) -> np.ndarray:
    """trials x bins x neurons -> (trials*bins) x neurons, float64."""
    return np.asarray(x, dtype=np.float64).reshape(int(np.prod(x.shape[:-1])), x.shape[-1])


def poisson_readout(X_train: np.ndarray, Y_train: np.ndarray, X_pred: Sequence[np.ndarray], alpha: float,
                    readout: str = "batched", progress: str | None = None, **glm_options: Any) -> list[np.ndarray]:
    """Fit an L2 Poisson GLM (log link) from ``X_train`` to every column of ``Y_train``; predict each ``X_pred``.

    ``readout="batched"`` fits all columns at once with :class:`~nbench.baselines.glm.PoissonGLM`;
    ``"sklearn"`` is NLB's recipe verbatim: one ``PoissonRegressor(alpha, max_iter=500)`` per column, refit with
    five times the iterations while it stops at ``max_iter`` (up to 10000). Both minimise the same objective.
    Rows whose target is NaN are left out of the fit. ``progress`` labels a progress bar of the batched fit
    (drawn when the fit lasts, :mod:`nbench.baselines.progress`).
    """
    if Y_train.shape[1] == 0:  # nothing hidden (e.g. rate recovery with every neuron observed)
        return [np.zeros((len(X), 0)) for X in X_pred]
    keep = ~np.isnan(Y_train).any(axis=1)
    X_train, Y_train = X_train[keep], Y_train[keep]
    if readout == "batched":
        with contextlib.ExitStack() as stack:
            bar = stack.enter_context(fit_progress(progress, Y_train.shape[1])) if progress else None
            glm = PoissonGLM(alpha=alpha, **glm_options).fit(
                X_train, Y_train, progress=None if bar is None else lambda done: bar(done, "targets fitted"))
        if not glm.converged_.all():
            warnings.warn(f"Poisson readout: {int((~glm.converged_).sum())} of {glm.converged_.size} targets did "
                          f"not converge (max |gradient| {glm.grad_max_.max():.2e})", RuntimeWarning, stacklevel=2)
        return [glm.predict(X) for X in X_pred]
    return _sklearn_readout(X_train, Y_train, X_pred, alpha)


def _sklearn_readout(X_train: np.ndarray, Y_train: np.ndarray, X_pred: Sequence[np.ndarray],
                     alpha: float) -> list[np.ndarray]:
    coef, intercept = sklearn_poisson_fit(X_train, Y_train, alpha)
    return [np.exp(np.asarray(X, dtype=np.float64) @ coef + intercept) for X in X_pred]


def sklearn_poisson_fit(X: np.ndarray, Y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """NLB's readout verbatim: one ``PoissonRegressor(alpha, max_iter=500)`` per column of ``Y``, refit with five
    times the iterations while it stops at ``max_iter`` (up to 10000); weights (features x columns), intercepts."""
    from sklearn.linear_model import PoissonRegressor

    coef, intercept = np.zeros((X.shape[1], Y.shape[1])), np.zeros(Y.shape[1])
    for j in range(Y.shape[1]):
        max_iter = 500
        while True:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # sklearn's ConvergenceWarning; handled by the refit below
                model = PoissonRegressor(alpha=alpha, max_iter=max_iter).fit(X, Y[:, j])
            if model.n_iter_ < max_iter or max_iter >= 10000:
                break
            max_iter *= 5
        coef[:, j], intercept[j] = model.coef_, model.intercept_
    return coef, intercept


def choose_alpha_cv(X: np.ndarray, Y: np.ndarray, n_bins: int, grid: Sequence[float],
                    folds: int = 3) -> tuple[float, dict[float, float]]:
    """The L2 penalty of ``grid`` (ascending) with the best mean co-bps over ``folds`` folds of whole trials
    (every ``folds``-th trial, as NLB's sweeps), fitting the batched GLM; also returns the scores it computed.

    The score is taken to be unimodal in the penalty: the search starts in the middle of the grid and walks
    towards the better neighbour until neither neighbour improves, which usually scores 3 of 5 points. ``X`` and
    ``Y`` hold the rows of consecutive trials of ``n_bins`` bins each. CV fits stop at ``max |gradient| <= 1e-6``.
    """
    fold_of_row = np.repeat(np.arange(X.shape[0] // n_bins) % folds, n_bins)
    scores: dict[float, float] = {}

    def score(i: int) -> float:
        alpha = float(grid[i])
        if alpha not in scores:
            per_fold = []
            for fold in range(folds):
                test = fold_of_row == fold
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    (pred,) = poisson_readout(X[~test], Y[~test], [X[test]], alpha, tol=1e-6, hessian_float32=True)
                per_fold.append(bits_per_spike(np.clip(pred, 1e-9, None), Y[test]))
            scores[alpha] = float(np.mean(per_fold))
        return scores[alpha]

    best = len(grid) // 2
    while True:
        neighbours = [i for i in (best - 1, best + 1) if 0 <= i < len(grid)]
        better = max(neighbours, key=score, default=best)
        if not neighbours or score(better) <= score(best):
            return float(grid[best]), scores
        best = better


def forward_rates(inputs: TaskInputs) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Forward-window rates for eval trials: each neuron's mean count per bin over the training trials' forward
    windows, the same in every forward bin and eval trial; None when the task has no forward window.

    Pooling over the forward bins matters on small 5 ms data: a per-bin training PSTH is zero wherever no training
    trial spiked, and those zero rates cost about 7 bits/spike on MC_Maze_Small (fp-bps -7.07 vs -0.13 pooled,
    50 training trials predicting 25). A neuron silent in every training forward window gets its mean count per
    bin over the training trial window instead, so a rate is zero only for a neuron that never fired in training.
    """
    if inputs.forward_bins == 0:
        return None, None

    def pooled(fwd: np.ndarray, window: np.ndarray) -> np.ndarray:
        rate = np.nanmean(np.asarray(fwd, dtype=np.float64), axis=(0, 1))
        rate = np.where(rate > 0, rate, np.nanmean(np.asarray(window, dtype=np.float64), axis=(0, 1)))
        return np.broadcast_to(rate, (inputs.n_eval, inputs.forward_bins, rate.size)).copy()

    return (pooled(inputs.train_spikes_heldin_forward, inputs.train_spikes_heldin),
            pooled(inputs.train_spikes_heldout_forward, inputs.train_spikes_heldout))
