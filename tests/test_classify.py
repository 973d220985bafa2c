"""Choice decoding: the fit in the span of the training trials equals the fit on every feature."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from nbench.metrics.classify import _row_span_coordinates, decode_labels


@pytest.mark.parametrize("c", [1e-3, 1.0, 1e2])
def test_the_row_span_fit_equals_the_full_width_fit(c: float) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 600))
    y = (x[:, :5].sum(axis=1) + rng.standard_normal(40) > 0).astype(float)
    z = rng.standard_normal((25, 600))
    small_x, small_z = _row_span_coordinates(x, z)
    assert small_x.shape == (40, 40)
    full = LogisticRegression(C=c, tol=1e-12, max_iter=100_000).fit(x, y)
    small = LogisticRegression(C=c, tol=1e-12, max_iter=100_000).fit(small_x, y)
    assert np.abs(full.decision_function(z) - small.decision_function(small_z)).max() < 1e-8


def test_decoded_labels_follow_the_signal_and_skip_unlabelled_trials() -> None:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 80).astype(float)
    x = rng.standard_normal((80, 2000))
    x[:, :50] += 1.5 * (labels[:, None] - 0.5)  # each class shifted along 50 of 2000 features
    train_labels = labels[:60].copy()
    train_labels[:5] = np.nan
    pred = decode_labels(x[:60], train_labels, x[60:])
    assert set(np.unique(pred)) <= {0.0, 1.0} and (pred == labels[60:]).mean() >= 0.8


def test_constant_features_decode_the_majority_label() -> None:
    features = np.ones((30, 500))
    labels = np.r_[np.zeros(10), np.ones(20)]
    assert (decode_labels(features, labels, np.ones((7, 500))) == 1.0).all()
