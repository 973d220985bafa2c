"""NLB'21 datasets from their NWB files: reader, nlb_tools-exact tensors and targets, disk cache.

Entry points: :func:`load_recording` (one or two NWB files on one 1 ms grid), :func:`build_arrays` (inputs and
targets of a phase at 5 or 20 ms), :data:`PARAMS` (per-dataset windows, lags, PSTH conditions) and
:func:`nlb_files` (where a dataset's files live in the data directory).
"""

from nbench.data.dandisets import nlb_files, nlb_targets_path
from nbench.data.nlb.build import NLBArrays, build_arrays
from nbench.data.nlb.params import BIN_SIZES, PARAMS, group_name
from nbench.data.nlb.recording import Recording, load_recording

__all__ = ["BIN_SIZES", "NLBArrays", "PARAMS", "Recording", "build_arrays", "group_name", "load_recording",
           "nlb_files", "nlb_targets_path"]
