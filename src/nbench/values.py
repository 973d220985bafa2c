"""Checks of array values shared by submissions and target files: NaN, infinities, negatives, fractions."""

from __future__ import annotations

import numpy as np


def value_problem(values: np.ndarray, nan_ok: bool | np.ndarray = False, *, nonnegative: bool = True,
                  whole: bool = False) -> str | None:
    """The first kind of unusable value in ``values``, as ``"<count> <kind> (first at <index>)"``, or None.

    Kinds, in this order: NaN (except where ``nan_ok``: True, False or a mask broadcastable to ``values``),
    infinite, negative (when ``nonnegative``), fractional (when ``whole``, for spike counts). Submissions and
    target files are checked by this one function.
    """
    if not values.size:
        return None
    # Fast path, two reductions without temporaries: min and max propagate NaN, so both are finite only when
    # every value is.
    low, high = values.min(), values.max()
    if np.isfinite(low) and np.isfinite(high) and (low >= 0 or not nonnegative) and not whole:
        return None
    nan = np.isnan(values)
    checks = [("NaN", nan & ~np.broadcast_to(np.asarray(nan_ok, dtype=bool), values.shape)),
              ("infinite", np.isinf(values))]
    with np.errstate(invalid="ignore"):
        if nonnegative:
            checks.append(("negative", values < 0))
        if whole:
            checks.append(("fractional", np.isfinite(values) & (values != np.round(values))))
    for kind, bad in checks:
        if bad.any():
            first = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), bad.shape))
            shown = f" {values[first]:.3g}" if kind in ("negative", "fractional") else ""
            return f"{int(bad.sum())} {kind} (first{shown} at {first})"
    return None
