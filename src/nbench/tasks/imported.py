"""Tasks on imported nlb_tools tensor files (``nbench data import FILE --name NAME [--like DATASET]``).

An imported file already holds the split: train trials (held-in and held-out neurons, forward window and
behavior where present) and eval trials (held-in spikes as input, held-out spikes as truth). Its one phase is
``val``: fit on the file's train trials, score the file's eval trials. The declared metrics follow from what the
file holds, fixed at import: co-bps always; fp-bps when it has eval forward spikes; vel R2 when it has per-bin
``eval_behavior`` (and vel R2 and, for maze-reaching families, the reach direction decoded from latents). The
dataset family that model presets are keyed by is the one named at import (``--like``),
else the NLB dataset of the file's group name; otherwise models use their generic defaults (and say so).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from nbench.data.nlb.catalog import NLB_CATALOG, parse_nlb_group
from nbench.data.nlb_tensors import ImportedDataset, list_imported, load_imported, read_imported
from nbench.data.tensor_recording import tensor_recording
from nbench.tasks.base import BehaviorSpec, DatasetPin, PreparedTask, Task, TaskInfo
from nbench.tasks.info import latent_metrics
from nbench.tasks.segments import heldout_query, segment_task

VELOCITY = BehaviorSpec("vel", "continuous", "nlb_ridge")


class ImportedTensorTask(Task):
    """The task of an imported tensor file; its name, dataset and submission group are the import name.

    Parameters
    ----------
    name
        Import name.
    data_dir
        Data directory override.
    """

    def __init__(self, name: str, data_dir: str | Path | None = None) -> None:
        self.dataset: ImportedDataset = load_imported(name, data_dir)
        shapes = self.dataset.meta.get("shapes", {})
        per_bin = len(shapes.get("train_behavior", ())) == 3
        metrics = ["co-bps", "co-bps per neuron"]
        if "eval_spikes_heldin_forward" in shapes:
            metrics += ["fp-bps", "fp-bps per neuron"]
        family = family_of(self.dataset)
        if per_bin and "eval_behavior" in shapes:
            metrics += [VELOCITY.decoded_metric, VELOCITY.predicted_metric, *latent_metrics(VELOCITY, family)]
        sha = self.dataset.sha256
        self.info = TaskInfo(
            name=name, dataset=name, bin_ms=self.dataset.bin_ms,
            version=f"imported-{sha[:12]}",  # a different file is a different task version
            description=summary(self.dataset), phases=("val",), main_metric="co-bps", metrics=tuple(metrics),
            family=family, pin=DatasetPin("imported", name, sha[:12], {self.dataset.path.name: sha}),
            citation=str(self.dataset.meta.get("source_path", "")), behavior=(VELOCITY,) if per_bin else (),
            spike_times="jittered")

    def build(self, phase: str | None = None, *, spike_times: bool = False) -> PreparedTask:
        phase = self.resolve_phase(phase)
        recording = tensor_recording(self.dataset, read_imported(self.dataset))
        return segment_task(self.info, [recording], phase, heldout_query, spike_times=spike_times)


def family_of(dataset: ImportedDataset) -> str:
    """The family named at import (``--like``), else the NLB dataset of the file's group, else ``""``."""
    like = dataset.meta.get("like")
    if isinstance(like, str) and like:
        return like
    parsed = parse_nlb_group(str(dataset.meta.get("group") or ""))
    return parsed[0] if parsed is not None and parsed[0] in NLB_CATALOG else ""


def summary(dataset: ImportedDataset) -> str:
    """One line for ``nbench list tasks``: what the file holds and where it came from."""
    shapes = dataset.meta.get("shapes", {})
    train = shapes.get("train_spikes_heldin", ["?"] * 3)
    evals = shapes.get("eval_spikes_heldin", ["?"])
    extras = [k for k, key in (("forward", "eval_spikes_heldin_forward"), ("behavior", "eval_behavior"))
              if key in shapes]
    more = f", eval {'+'.join(extras)}" if extras else ""
    like = f", like {dataset.meta['like']}" if dataset.meta.get("like") else ""
    return (f"imported nlb_tools tensors, {train[0]}/{evals[0]} train/eval trials, {train[2]} held-in neurons, "
            f"{dataset.bin_ms:g} ms{more}{like} ({Path(str(dataset.meta.get('source_path', '?'))).name})")


def discover(data_dir: str | Path | None = None) -> dict[str, tuple[Any, str]]:
    """Registry discoverer: ``{name: (factory, summary)}`` for every dataset imported into ``data_dir``."""
    return {d.name: (functools.partial(ImportedTensorTask, d.name, data_dir=data_dir), summary(d))
            for d in list_imported(data_dir)}
