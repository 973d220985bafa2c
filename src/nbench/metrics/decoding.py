"""Velocity decoding R2 (NLB ``vel R2``), exactly as ``nlb_tools.evaluation.velocity_decoding``.

NLB fits ``GridSearchCV(Ridge(), {"alpha": logspace(-4, 0, 9)})`` (5-fold ``KFold`` without shuffling, R2
scoring, first best alpha, refit on all training samples) from all neurons' rates to behaviour, one decoder per
decode-mask column, and averages the eval R2 over masks. scikit-learn refits the ridge 45 times, which is
about 93 % of ``nlb_tools.evaluate``'s time on MC_Maze. Here every fold and alpha is solved in closed form from
one pass over the data:

1. the data are centred on their overall means (so Gram matrices do not suffer cancellation) and per-fold sums
   (Gram, cross products, means) are accumulated once over the same contiguous fold blocks as ``KFold``;
2. each fold's training system (sum of the other folds' blocks, re-centred on the training mean) is
   eigendecomposed once, which solves all nine alphas at once;
3. fold R2s follow sklearn's ``r2_score`` rules; the first alpha with the highest mean wins.

Two situations where floating-point rounding could change sklearn's discrete choices fall back to scikit-learn
itself: a behaviour column that is constant within a fold (R2's zero-denominator rules), and CV means of
different alphas within ``TIE_TOLERANCE`` whose eval R2s disagree. The fallback is logged at debug level.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from threadpoolctl import threadpool_limits

from nbench.metrics.rates import R2TrialStats, r2_force_finite, r2_score_uniform, r2_trial_stats

logger = logging.getLogger(__name__)

ALPHAS = np.logspace(-4, 0, 9)
N_FOLDS = 5
TIE_TOLERANCE = 1e-11
AGREEMENT = 1e-12


@dataclass(frozen=True)
class DecoderFit:
    """One decoder's result: eval R2, the chosen alpha and the scored eval samples (for bootstrapping)."""

    r2: float
    alpha: float
    eval_true: np.ndarray
    eval_pred: np.ndarray
    eval_trial: np.ndarray


def drop_unobserved(rates: np.ndarray, behavior: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop samples whose behaviour column 0 is NaN (as nlb_tools); return rates, behaviour and the kept mask."""
    keep = ~np.isnan(behavior[:, 0])
    if not keep.all():
        rates, behavior = rates[keep], behavior[keep]
    if np.isnan(behavior).any():
        raise ValueError("behavior has NaN in columns other than 0 where column 0 is observed")
    if rates.size and not (np.isfinite(rates.min()) and np.isfinite(rates.max())):  # min/max propagate NaN
        raise ValueError("non-finite rate predictions found within the decoded bins")
    return rates, behavior, keep


def fold_bounds(n_samples: int, n_folds: int = N_FOLDS) -> np.ndarray:
    """Start/stop offsets of ``KFold(n_folds)`` test blocks (the first n % k folds are one sample larger)."""
    sizes = np.full(n_folds, n_samples // n_folds)
    sizes[: n_samples % n_folds] += 1
    return np.concatenate([[0], np.cumsum(sizes)])


def fit_and_eval_decoder(train_x: np.ndarray, train_y: np.ndarray, eval_x: np.ndarray,
                         eval_y: np.ndarray) -> tuple[float, np.ndarray, float]:
    """Fit NLB's cross-validated ridge on train samples and score it on eval samples.

    All arrays are samples x features / outputs with NaN-behaviour samples already dropped. Rates may be
    float32 (as read from a submission file): they are cast to float64 chunk by chunk, before any arithmetic.

    Returns
    -------
    r2, eval_pred, alpha
        sklearn ``r2_score`` (uniform average) on eval, the eval predictions, and the chosen alpha.
    """
    n = len(train_x)
    if n < N_FOLDS:
        raise ValueError(f"vel R2 needs at least {N_FOLDS} training samples, got {n}")
    if len(eval_x) == 0:
        raise ValueError("vel R2 needs at least one eval sample with observed behavior")
    bounds = fold_bounds(n)
    if n < 2 * N_FOLDS or _has_constant_fold(train_y, bounds):
        logger.debug("vel R2: degenerate folds, using scikit-learn's grid search")
        return _sklearn_decoder(train_x, train_y, eval_x, eval_y)
    # One BLAS thread: the products here are small enough that threads gain little on an idle machine, and
    # a p x p eigh or a 48k x 182 Gram ran 4-300x slower multi-threaded on a loaded 2-core machine (measured).
    # Folds are independent, so they are shared among a few Python threads instead (numpy releases the GIL).
    with threadpool_limits(limits=1), ThreadPoolExecutor(min(N_FOLDS, os.cpu_count() or 1)) as pool:
        x_mean, y_mean = train_x.mean(axis=0, dtype=np.float64), train_y.mean(axis=0)
        folds = list(pairwise(bounds))
        blocks = list(pool.map(lambda f: _BlockSums.of(_Centred(x_mean), train_x[f[0]:f[1]],
                                                       train_y[f[0]:f[1]] - y_mean), folds))
        cv = list(pool.map(lambda f: _fold_r2(blocks, f, x_mean, train_x, train_y, y_mean), range(len(folds))))
        means = np.mean(cv, axis=0)
        candidates = np.flatnonzero(means >= means.max() - TIE_TOLERANCE)
        preds = _BlockSums.total(blocks).predict(_Centred(x_mean), eval_x, ALPHAS[candidates]) + y_mean
    scores = [r2_score_uniform(eval_y, preds[:, i]) for i in range(len(candidates))]
    if max(scores) - min(scores) > AGREEMENT:
        logger.debug("vel R2: near-tied alphas disagree on eval, using scikit-learn's grid search")
        return _sklearn_decoder(train_x, train_y, eval_x, eval_y)
    best = int(np.argmax(means))
    i = int(np.flatnonzero(candidates == best)[0])
    return float(scores[i]), preds[:, i], float(ALPHAS[best])


def _fold_r2(blocks: list[_BlockSums], fold: int, x_mean: np.ndarray, train_x: np.ndarray, train_y: np.ndarray,
             y_mean: np.ndarray) -> np.ndarray:
    """Test R2 (sklearn rules, uniform average over outputs) of fold ``fold`` for every alpha."""
    a, b = (sum(blk.n for blk in blocks[:fold]), sum(blk.n for blk in blocks[: fold + 1]))
    system = _BlockSums.total([blk for g, blk in enumerate(blocks) if g != fold])
    pred = system.predict(_Centred(x_mean), train_x[a:b], ALPHAS) + y_mean
    y_test = train_y[a:b]
    numerator = ((y_test[:, None, :] - pred) ** 2).sum(axis=0)
    denominator = ((y_test - y_test.mean(axis=0)) ** 2).sum(axis=0)
    return r2_force_finite(numerator, denominator).mean(axis=1)


def _has_constant_fold(y: np.ndarray, bounds: np.ndarray) -> bool:
    return any(bool((np.ptp(y[a:b], axis=0) == 0).any()) for a, b in pairwise(bounds))


def _sklearn_decoder(train_x: np.ndarray, train_y: np.ndarray, eval_x: np.ndarray,
                     eval_y: np.ndarray) -> tuple[float, np.ndarray, float]:
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(Ridge(), {"alpha": ALPHAS})
    search.fit(np.asarray(train_x, dtype=np.float64), train_y)
    pred = search.predict(np.asarray(eval_x, dtype=np.float64))
    return float(r2_score(eval_y, pred)), pred, float(search.best_params_["alpha"])


class _Centred:
    """Samples minus the training mean, served in float64 row chunks from one reused buffer.

    Centring keeps the Gram matrices free of cancellation; doing it chunk by chunk (instead of one centred copy
    of all samples) keeps the data in cache between the subtraction and the product, and allocates no
    samples-sized temporary.
    """

    ROWS = 4096

    def __init__(self, mean: np.ndarray) -> None:
        self.mean = mean
        self._buffer = np.empty((self.ROWS, len(mean)))

    def chunks(self, x: np.ndarray) -> Iterator[np.ndarray]:
        """Successive centred row chunks of ``x`` (each valid until the next one is produced)."""
        for start in range(0, len(x), self.ROWS):
            rows = x[start : start + self.ROWS]
            yield np.subtract(rows, self.mean, out=self._buffer[: len(rows)])


@dataclass(frozen=True)
class _BlockSums:
    """Sums over a block of centred samples: Gram, cross products, column sums, count."""

    gram: np.ndarray
    cross: np.ndarray
    x_sum: np.ndarray
    y_sum: np.ndarray
    n: int

    @classmethod
    def of(cls, centred: _Centred, x: np.ndarray, centred_y: np.ndarray) -> _BlockSums:
        p, k = x.shape[1], centred_y.shape[1]
        gram, cross, x_sum = np.zeros((p, p)), np.zeros((p, k)), np.zeros(p)
        for start, chunk in zip(range(0, len(x), _Centred.ROWS), centred.chunks(x), strict=True):
            gram += chunk.T @ chunk
            cross += chunk.T @ centred_y[start : start + len(chunk)]
            x_sum += chunk.sum(axis=0)
        return cls(gram, cross, x_sum, centred_y.sum(axis=0), len(x))

    @classmethod
    def total(cls, blocks: list[_BlockSums]) -> _BlockSums:
        return cls(sum(b.gram for b in blocks), sum(b.cross for b in blocks), sum(b.x_sum for b in blocks),
                   sum(b.y_sum for b in blocks), sum(b.n for b in blocks))

    def predict(self, centred: _Centred, x: np.ndarray, alphas: np.ndarray) -> np.ndarray:
        """Ridge-with-intercept predictions for samples ``x``, shape samples x alphas x outputs.

        The training system is re-centred on the training mean; one eigendecomposition solves every alpha.
        """
        x_mu, y_mu = self.x_sum / self.n, self.y_sum / self.n
        gram = self.gram - self.n * np.outer(x_mu, x_mu)
        cross = self.cross - self.n * np.outer(x_mu, y_mu)
        eigval, eigvec = np.linalg.eigh(gram)
        rotated = eigvec.T @ cross
        coefs = eigvec @ (rotated[:, None, :] / (eigval[:, None, None] + alphas[None, :, None])).reshape(
            len(eigval), -1)
        offset = x_mu @ coefs  # x_mu is small (the samples are centred), so this loses no precision
        pred = np.empty((len(x), coefs.shape[1]))
        for start, chunk in zip(range(0, len(x), _Centred.ROWS), centred.chunks(x), strict=True):
            np.matmul(chunk, coefs, out=pred[start : start + len(chunk)])
        pred -= offset
        return pred.reshape(len(x), len(alphas), -1) + y_mu


def velocity_decoding(train_rates: np.ndarray, train_behavior: np.ndarray, train_mask: np.ndarray | None,
                      eval_rates: np.ndarray, eval_behavior: np.ndarray,
                      eval_mask: np.ndarray | None) -> tuple[float, list[DecoderFit]]:
    """NLB vel R2: one decoder per mask column, eval R2 averaged over masks.

    Parameters
    ----------
    train_rates, eval_rates
        trials x bins x neurons (held-in and held-out concatenated, held-in first).
    train_behavior, eval_behavior
        trials x bins x outputs; samples whose column 0 is NaN are dropped.
    train_mask, eval_mask
        trials x masks booleans, or None for one all-True mask.

    Returns
    -------
    vel_r2, fits
        Mean eval R2 over masks and each mask's :class:`DecoderFit`.
    """
    train_mask = _mask_or_all(train_mask, len(train_rates), "train_decode_mask")
    eval_mask = _mask_or_all(eval_mask, len(eval_rates), "eval_decode_mask")
    if train_mask.shape[1] != eval_mask.shape[1]:
        raise ValueError(f"decode masks have {train_mask.shape[1]} (train) and {eval_mask.shape[1]} (eval) columns")
    fits = []
    for col in range(train_mask.shape[1]):
        train_x, train_y, _ = drop_unobserved(*_flatten(train_rates, train_behavior, train_mask[:, col]))
        eval_x, eval_y, keep = drop_unobserved(*_flatten(eval_rates, eval_behavior, eval_mask[:, col]))
        trials = np.repeat(np.flatnonzero(eval_mask[:, col]), eval_rates.shape[1])[keep]
        r2, pred, alpha = fit_and_eval_decoder(train_x, train_y, eval_x, eval_y)
        fits.append(DecoderFit(r2, alpha, eval_y, pred, trials))
    return float(np.mean([fit.r2 for fit in fits])), fits


def _mask_or_all(mask: np.ndarray | None, n_trials: int, name: str) -> np.ndarray:
    if mask is None:
        return np.ones((n_trials, 1), dtype=bool)
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2 or mask.shape[0] != n_trials:
        raise ValueError(f"{name} shape {mask.shape} does not match {n_trials} trials x masks")
    return mask


def _flatten(rates: np.ndarray, behavior: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if rates.shape[:2] != behavior.shape[:2]:
        raise ValueError(f"rates shape {rates.shape} and behavior shape {behavior.shape} differ in trials x bins")
    if not mask.all():
        rates, behavior = rates[mask], behavior[mask]
    return rates.reshape(-1, rates.shape[-1]), behavior.reshape(-1, behavior.shape[-1])


def vel_r2_stats(fits: list[DecoderFit], n_eval_trials: int) -> list[R2TrialStats]:
    """Per-trial R2 sufficient statistics of each mask's eval predictions (for bootstrapping vel R2)."""
    return [r2_trial_stats(fit.eval_true, fit.eval_pred, fit.eval_trial, n_eval_trials) for fit in fits]


SERIES_ALPHAS = (0.0, 1e1, 1e2, 1e3, 1e4)
SERIES_FOLDS = 4


def decode_series_cv(train_features: np.ndarray, train_behavior: np.ndarray, eval_features: np.ndarray
                     ) -> np.ndarray:
    """Each eval trial's behaviour series decoded from its features by cross-validated ridge (MtM's protocol).

    MtM decodes whisker motion energy (one 100-bin series per trial) from the trial's flattened rates with
    ``GridSearchCV(Ridge(), {"alpha": [0, 1e1, 1e2, 1e3, 1e4]}, cv=4)`` (reference/mtm.md 2.3). Train trials with
    a NaN anywhere in their series are left out of the fit.

    Parameters
    ----------
    train_features, eval_features
        trials x features.
    train_behavior
        train trials x bins x k.

    Returns
    -------
    numpy.ndarray
        eval trials x bins x k.
    """
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV, KFold

    shape = train_behavior.shape[1:]
    targets = np.asarray(train_behavior, dtype=np.float64).reshape(len(train_behavior), -1)
    keep = ~np.isnan(targets).any(axis=1)
    x, y = np.asarray(train_features, dtype=np.float64)[keep], targets[keep]
    if len(x) < 2:
        raise ValueError(f"behaviour decoding needs at least 2 training trials with behaviour, got {len(x)}")
    folds = min(SERIES_FOLDS, len(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # alpha = 0 (in MtM's grid) is ill-conditioned by design
        search = GridSearchCV(Ridge(), {"alpha": list(SERIES_ALPHAS)}, cv=KFold(folds)).fit(x, y)
    return search.predict(np.asarray(eval_features, dtype=np.float64)).reshape((len(eval_features),) + shape)
