"""NLB'21 datasets from their NWB files: the reader and the per-dataset facts.

Entry points: :func:`load_recording` (one or two NWB files of one dataset as a
:class:`~nbench.data.recording.Recording` on one 1 ms grid), :data:`PARAMS` (per-dataset windows, lags, PSTH
conditions); where a dataset's files live in
the data directory is :mod:`nbench.data.dandisets`. Tensors and targets are
built on the task side (:mod:`nbench.tasks.nlb`).
"""

from nbench.data.nlb.params import BIN_SIZES, PARAMS, group_name
from nbench.data.nlb.recording import load_recording

__all__ = ["BIN_SIZES", "PARAMS", "group_name", "load_recording"]
