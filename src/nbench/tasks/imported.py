"""Tasks on imported nlb_tools tensor files (``nbench data import FILE --name NAME``).

An imported file already holds the split: train trials (held-in and held-out neurons, forward window and
behavior where present) and eval trials (held-in spikes as input, held-out spikes as truth). Its one phase is
``val``: fit on the file's train trials, score the file's eval trials. Metrics follow from what the file holds:
co-bps always; fp-bps when it has eval forward spikes; vel R2 only when it has ``eval_behavior``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from nbench.data.nlb_tensors import ImportedDataset, list_imported, load_imported, read_imported
from nbench.tasks.base import Targets, Task, TaskInfo, TaskInputs


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
        self.info = TaskInfo(
            name=name, dataset=name, bin_ms=self.dataset.bin_ms,
            version=f"imported-{self.dataset.sha256[:12]}",  # a different file is a different task version
            description=summary(self.dataset), phases=("val",), main_metric="co-bps",
        )

    def prepare(self, phase: str | None = None) -> tuple[TaskInputs, Targets]:
        phase = self.resolve_phase(phase)
        arrays = read_imported(self.dataset).arrays
        name, sha = self.info.name, self.dataset.sha256
        inputs = TaskInputs(
            task=name, dataset=name, phase=phase, group=name, bin_ms=self.info.bin_ms,
            train_spikes_heldin=arrays["train_spikes_heldin"], train_spikes_heldout=arrays["train_spikes_heldout"],
            eval_spikes_heldin=arrays["eval_spikes_heldin"],
            train_spikes_heldin_forward=arrays.get("train_spikes_heldin_forward"),
            train_spikes_heldout_forward=arrays.get("train_spikes_heldout_forward"),
            train_behavior=arrays.get("train_behavior"),
            dataset_info={"source": "nlb_tools tensors (imported)", "version": sha[:12],
                          "sha256": {self.dataset.path.name: sha},
                          "imported_from": self.dataset.meta.get("source_path")},
        )
        has_eval_behavior = "eval_behavior" in arrays
        targets = Targets(
            group=name, eval_spikes_heldout=arrays["eval_spikes_heldout"],
            train_behavior=arrays.get("train_behavior") if has_eval_behavior else None,
            eval_behavior=arrays.get("eval_behavior"),
            eval_spikes_heldin_forward=arrays.get("eval_spikes_heldin_forward"),
            eval_spikes_heldout_forward=arrays.get("eval_spikes_heldout_forward"),
        )
        return inputs, targets


def summary(dataset: ImportedDataset) -> str:
    """One line for ``nbench list tasks``: what the file holds and where it came from."""
    shapes = dataset.meta.get("shapes", {})
    train = shapes.get("train_spikes_heldin", ["?"] * 3)
    evals = shapes.get("eval_spikes_heldin", ["?"])
    extras = [k for k, key in (("forward", "eval_spikes_heldin_forward"), ("behavior", "eval_behavior"))
              if key in shapes]
    more = f", eval {'+'.join(extras)}" if extras else ""
    return (f"imported nlb_tools tensors, {train[0]}/{evals[0]} train/eval trials, {train[2]} held-in neurons, "
            f"{dataset.bin_ms:g} ms{more} ({Path(str(dataset.meta.get('source_path', '?'))).name})")


def discover(data_dir: str | Path | None = None) -> dict[str, tuple[Any, str]]:
    """Registry discoverer: ``{name: (factory, summary)}`` for every dataset imported into ``data_dir``."""
    return {d.name: (functools.partial(ImportedTensorTask, d.name, data_dir=data_dir), summary(d))
            for d in list_imported(data_dir)}
