"""Categorical behaviour: accuracy of predicted labels, and labels decoded from rates by cross-validated
logistic regression (MtM's choice-decoding protocol).

MtM decodes the binary choice from each trial's flattened predicted rates with scikit-learn's
``LogisticRegression`` (L2), choosing ``C`` in ``{1e-4, ..., 1e4}`` by ``GridSearchCV(cv=4)`` on the training
trials, and reports the accuracy on the evaluation trials (reference/mtm.md 2.3). Features are standardised on
the training trials first (a scale-free choice of ``C``; MtM feeds log-rates of similar scale).

Flattened rates have far more features (bins x neurons, ~25,000) than trials (~100), and the L2 solution lies in
the span of the training trials: a weight component orthogonal to them changes no training prediction and only
adds to the penalty. So the fit runs on the trials' coordinates in that span (``x @ V`` from a thin SVD),
which gives the same optimum as the fit on every feature (decision values equal to 1e-13 at a tight tolerance),
hundreds of times faster; every cross-validation fold's span lies inside it, so the search over ``C`` is unchanged
too. The small problem is solved to a tight tolerance: scikit-learn's default (1e-4) stops short of the optimum
on the full-width problem (decision values off by up to ~2 at C = 100), so labels near the boundary depended on
where it stopped.
"""

from __future__ import annotations

import warnings

import numpy as np

C_GRID = np.logspace(-4, 4, 9)
CV_FOLDS = 4
TOL, MAX_ITER = 1e-10, 20_000


def labels_of(values: np.ndarray) -> np.ndarray:
    """Per-trial labels from a (trials,) or (trials, 1) array; NaN marks a trial without a label."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"categorical behaviour must be one label per trial, got shape {values.shape}")
    return values


def accuracy_per_trial(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """1.0 where the predicted label equals the true one, 0.0 elsewhere, NaN where the true label is missing."""
    true, pred = labels_of(true), labels_of(pred)
    if true.shape != pred.shape:
        raise ValueError(f"{len(pred)} predicted labels for {len(true)} trials")
    return np.where(np.isnan(true), np.nan, (true == pred).astype(np.float64))


def decode_labels(train_features: np.ndarray, train_labels: np.ndarray, eval_features: np.ndarray) -> np.ndarray:
    """Labels of the eval trials decoded by cross-validated L2 logistic regression fit on the train trials.

    Parameters
    ----------
    train_features, eval_features
        trials x features (e.g. flattened rates); must be finite.
    train_labels
        One label per train trial; trials with a NaN label are left out of the fit.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    train_labels = labels_of(train_labels)
    keep = ~np.isnan(train_labels)
    x, y = np.asarray(train_features, dtype=np.float64)[keep], train_labels[keep]
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        return np.full(len(eval_features), classes[0] if len(classes) else np.nan)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    x = (x - mean) / scale
    z = (np.asarray(eval_features, dtype=np.float64) - mean) / scale
    if x.shape[1] > x.shape[0]:
        x, z = _row_span_coordinates(x, z)
    folds = int(min(CV_FOLDS, counts.min()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings at extreme C are part of the grid search
        if folds < 2:
            model = LogisticRegression(max_iter=MAX_ITER, tol=TOL).fit(x, y)
        else:
            model = GridSearchCV(LogisticRegression(max_iter=MAX_ITER, tol=TOL), {"C": C_GRID},
                                 cv=StratifiedKFold(folds)).fit(x, y)
    return model.predict(z)


def _row_span_coordinates(x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``z`` in an orthonormal basis of the span of ``x``'s rows (numerically zero directions dropped)."""
    _, singular, basis = np.linalg.svd(x, full_matrices=False)
    keep = singular > singular[0] * max(x.shape) * np.finfo(np.float64).eps
    if not keep.any():  # constant features (e.g. a mean-rate model): only the intercept can be fitted
        return np.zeros((len(x), 1)), np.zeros((len(z), 1))
    basis = basis[keep]
    return x @ basis.T, z @ basis.T


#: Reach directions are the 8 sectors of 45 degrees centred on 0, 45, ... 315 degrees (Swap-VAE's 8 directions).
N_DIRECTIONS = 8
#: A bin is "moving" when the hand speed is at least this fraction of the trial's peak speed.
MOVING_FRACTION = 0.2
KNN_NEIGHBOURS = 5


def reach_directions(velocity: np.ndarray, n_directions: int = N_DIRECTIONS) -> np.ndarray:
    """Per trial, the sector of its net hand displacement: 0 .. n-1 counter-clockwise from +x, each sector
    centred on a multiple of 360/n degrees; NaN for a trial without observed velocity or without displacement.

    Parameters
    ----------
    velocity
        trials x bins x 2 (x, y); NaN marks unobserved bins. The displacement is the sum of the observed samples.
    """
    velocity = np.asarray(velocity, dtype=np.float64)
    if velocity.ndim != 3 or velocity.shape[2] < 2:
        raise ValueError(f"reach directions need trials x bins x 2 velocity, got shape {velocity.shape}")
    xy = np.nansum(velocity[..., :2], axis=1)
    angle = np.arctan2(xy[:, 1], xy[:, 0])
    sector = np.round(angle / (2 * np.pi / n_directions)) % n_directions
    return np.where(np.hypot(xy[:, 0], xy[:, 1]) > 0, sector, np.nan)


def moving_bins(velocity: np.ndarray, fraction: float = MOVING_FRACTION) -> np.ndarray:
    """trials x bins booleans: observed bins whose speed is at least ``fraction`` of the trial's peak speed."""
    speed = np.hypot(*np.moveaxis(np.asarray(velocity, dtype=np.float64)[..., :2], -1, 0))
    with np.errstate(invalid="ignore"):
        peak = np.nanmax(np.where(np.isnan(speed), -np.inf, speed), axis=1, keepdims=True)
        return (speed >= fraction * peak) & (peak > 0) & ~np.isnan(speed)


def knn_labels(train_features: np.ndarray, train_labels: np.ndarray, eval_features: np.ndarray,
               k: int = KNN_NEIGHBOURS) -> np.ndarray:
    """Labels of ``eval_features`` by a k-nearest-neighbour vote (Euclidean, features standardised on the train
    samples; ties go to the smallest label, as scikit-learn's ``KNeighborsClassifier``)."""
    from sklearn.neighbors import KNeighborsClassifier

    x = np.asarray(train_features, dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = KNeighborsClassifier(n_neighbors=min(k, len(x))).fit((x - mean) / scale, train_labels)
    return model.predict((np.asarray(eval_features, dtype=np.float64) - mean) / scale)
