"""A task's model inputs as an HDF5 file in NLB's tensor layout, for training a model outside nbench.

One group per submission group of the task (``lorenz``, ``mc_maze_small``; ``<task>/<session>/<query>`` for
tasks of several sessions or queries), holding what ``nlb_tools.make_train_input_tensors`` and
``make_eval_input_tensors`` give, under their key names: ``train_spikes_heldin``, ``train_spikes_heldout``,
``eval_spikes_heldin``, ``train_spikes_heldin_forward``, ``train_spikes_heldout_forward`` and ``train_behavior``
(where the task has them), counts per bin as float32 (NaN where NLB pads). nbench adds the order a submission
must follow: ``train_trial_ids`` / ``eval_trial_ids`` (rows of the rate arrays), ``heldin_ids`` /
``heldout_ids`` (their columns), and ``train_conditions`` where the task has conditions. Nothing hidden from a
model is written (no eval held-out spikes, forward spikes or behaviour of eval trials).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nbench import __version__
from nbench.io import atomic_path
from nbench.tasks.base import PreparedTask, Task, TaskInputs

TENSOR_KEYS = ("train_spikes_heldin", "train_spikes_heldout", "eval_spikes_heldin", "train_spikes_heldin_forward",
               "train_spikes_heldout_forward", "train_behavior")
ORDER_KEYS = ("train_trial_ids", "eval_trial_ids", "heldin_ids", "heldout_ids", "train_conditions")


def export_task(task: Task, path: str | Path, phase: str | None = None) -> Path:
    """Write the inputs of every view of ``task`` at ``phase`` (default: the task's) to ``path`` atomically."""
    prepared = task.build(task.resolve_phase(phase))
    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs.update(_file_attrs(task, prepared))
        for view in prepared.views:
            write_inputs(h5.create_group(view.group), view.inputs)
    return path


def _file_attrs(task: Task, prepared: PreparedTask) -> dict[str, Any]:
    info = task.info
    return {"nbench_task": info.name, "nbench_task_version": info.version, "nbench_phase": prepared.phase,
            "nbench_version": __version__, "bin_ms": float(info.bin_ms),
            "dataset_version": str(prepared.views[0].inputs.dataset_info.get("version") or "")}


def write_inputs(group: h5py.Group, inputs: TaskInputs) -> None:
    """The tensors and order arrays of one view (module docstring) into ``group``."""
    for key in TENSOR_KEYS:
        value = getattr(inputs, key)
        if value is not None:
            group.create_dataset(key, data=np.asarray(value, dtype=np.float32), compression="gzip")
    for key in ORDER_KEYS:
        value = getattr(inputs, key)
        if value is not None:
            group.create_dataset(key, data=_plain(np.asarray(value)))
    group.attrs.update({"bin_ms": float(inputs.bin_ms), "session": inputs.session, "query": inputs.query,
                        "forward_bins": inputs.forward_bins})


def _plain(values: np.ndarray) -> np.ndarray:
    """Numbers stay numbers; anything else (unit ids like ``"1011"`` or ``"s1/u3"``) becomes UTF-8 strings."""
    if values.dtype.kind in "iuf":
        return values
    return np.array([str(v) for v in values], dtype=h5py.string_dtype())


def describe(path: str | Path) -> list[str]:
    """One line per group of an exported file: its arrays' shapes (for the command's summary)."""
    lines = []
    with h5py.File(path, "r") as h5:
        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Group) and "eval_spikes_heldin" in obj:
                shapes = {k: obj[k].shape for k in TENSOR_KEYS if k in obj}
                train, evals = shapes["train_spikes_heldin"], shapes["eval_spikes_heldin"]
                lines.append(f"{name}: {train[0]} train / {evals[0]} eval trials x {train[1]} bins, "
                             f"{train[2]} held-in / {shapes['train_spikes_heldout'][2]} held-out neurons")

        h5.visititems(visit)
    return lines
