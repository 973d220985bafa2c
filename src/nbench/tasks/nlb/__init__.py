"""The NLB'21 tasks: windowing, binning, PSTHs and targets built from NLB recordings exactly as nlb_tools does.

:class:`NLBTask` is the task; :func:`build_arrays` builds a phase's input tensors and (val phase) targets from a
recording (:func:`nbench.data.nlb.load_recording`).
"""

from nbench.tasks.nlb.build import NLBArrays, build_arrays
from nbench.tasks.nlb.task import NLBTask, read_target_group

__all__ = ["NLBArrays", "NLBTask", "build_arrays", "read_target_group"]
