"""Rate recovery against ground truth (synthetic data)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import r2_score


def rate_r2(pred: np.ndarray, true: np.ndarray) -> float:
    """R2 of predicted against true rates, per neuron over flattened trials x bins, averaged over neurons.

    Both arrays are trials x bins x neurons in the same units (expected counts per bin), as in NDT's evaluation
    (``r2_score(..., multioutput='uniform_average')``).
    """
    pred = np.asarray(pred, dtype=np.float64)
    true = np.asarray(true, dtype=np.float64)
    if pred.shape != true.shape:
        raise ValueError(f"pred shape {pred.shape} != true shape {true.shape}")
    n = true.shape[-1]
    return float(r2_score(true.reshape(-1, n), pred.reshape(-1, n), multioutput="uniform_average"))
