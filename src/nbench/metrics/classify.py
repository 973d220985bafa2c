"""Categorical behaviour: accuracy of predicted labels, and labels decoded from rates by cross-validated
logistic regression (MtM's choice-decoding protocol).

MtM decodes the binary choice from each trial's flattened predicted rates with scikit-learn's
``LogisticRegression`` (L2), choosing ``C`` in ``{1e-4, ..., 1e4}`` by ``GridSearchCV(cv=4)`` on the training
trials, and reports the accuracy on the evaluation trials (reference/mtm.md 2.3). Features are standardised on
the training trials first (a scale-free choice of ``C``; MtM feeds log-rates of similar scale).
"""

from __future__ import annotations

import warnings

import numpy as np

C_GRID = np.logspace(-4, 4, 9)
CV_FOLDS = 4


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
    folds = int(min(CV_FOLDS, counts.min()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings at extreme C are part of the grid search
        if folds < 2:
            model = LogisticRegression(max_iter=1000).fit(x, y)
        else:
            model = GridSearchCV(LogisticRegression(max_iter=1000), {"C": C_GRID},
                                 cv=StratifiedKFold(folds)).fit(x, y)
    return model.predict(z)
