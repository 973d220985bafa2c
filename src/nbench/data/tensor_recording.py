"""An imported nlb_tools tensor file as a :class:`~nbench.data.recording.Recording` (binned-only).

The file already holds NLB's split: its train trials (split ``"train"``) and its eval trials (split ``"val"``),
held-in units then held-out units (flagged ``heldout``), the forward window and per-bin behaviour where present.
Arrays a file lacks for its eval trials (forward spikes, behaviour) are NaN there. The file has no spike times:
the recording is binned-only, and models that consume spike times get times drawn within bins
(:mod:`nbench.tasks.spiketimes`).
"""

from __future__ import annotations

import numpy as np

from nbench.data.nlb_tensors import ImportedDataset, NlbTensors
from nbench.data.recording import Recording, TrialSegments, TrialTable, UnitTable


def tensor_recording(dataset: ImportedDataset, tensors: NlbTensors) -> Recording:
    """The recording of an imported tensor file (the arrays of ``tensors``, provenance of ``dataset``)."""
    a = tensors.arrays
    n_train, n_eval = len(a["train_spikes_heldin"]), len(a["eval_spikes_heldin"])
    n_in, n_out = a["train_spikes_heldin"].shape[2], a["train_spikes_heldout"].shape[2]
    counts = _stack(a["train_spikes_heldin"], a["train_spikes_heldout"], a["eval_spikes_heldin"],
                    a["eval_spikes_heldout"], n_eval)
    forward = None
    if "train_spikes_heldin_forward" in a:
        forward = _stack(a["train_spikes_heldin_forward"], a["train_spikes_heldout_forward"],
                         a.get("eval_spikes_heldin_forward"), a.get("eval_spikes_heldout_forward"), n_eval)
    behavior = a.get("train_behavior")
    per_bin = behavior is not None and behavior.ndim == 3
    units = UnitTable(session=dataset.name, local_id=np.arange(n_in + n_out), region=np.full(n_in + n_out, ""),
                      flags={"heldout": np.arange(n_in + n_out) >= n_in})
    trials = TrialTable({"split": np.array(["train"] * n_train + ["val"] * n_eval)})
    segments = TrialSegments(bin_ms=dataset.bin_ms, counts=counts, forward=forward,
                             behavior=_rows(behavior, a.get("eval_behavior"), n_eval) if per_bin else None)
    sha = dataset.sha256
    return Recording(name=dataset.name, units=units, trials=trials, segments=segments,
                     provenance={"source": "nlb_tools tensors (imported)", "version": sha[:12],
                                 "sha256": {dataset.path.name: sha}, "binned_only": True,
                                 "imported_from": dataset.meta.get("source_path")})


def _stack(train_in: np.ndarray, train_out: np.ndarray, eval_in: np.ndarray | None, eval_out: np.ndarray | None,
           n_eval: int) -> np.ndarray:
    """Train trials then eval trials, held-in units then held-out units; missing eval parts are NaN."""
    train = np.concatenate([train_in, train_out], axis=2).astype(np.float32, copy=False)
    if eval_in is None or eval_out is None:
        evals = np.full((n_eval,) + train.shape[1:], np.nan, dtype=np.float32)
    else:
        evals = np.concatenate([eval_in, eval_out], axis=2).astype(np.float32, copy=False)
    return np.concatenate([train, evals])


def _rows(train: np.ndarray, evals: np.ndarray | None, n_eval: int) -> np.ndarray:
    if evals is None:
        evals = np.full((n_eval,) + train.shape[1:], np.nan)
    return np.concatenate([train, evals]).astype(np.float64, copy=False)
