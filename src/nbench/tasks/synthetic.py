"""Tasks on the embedded synthetic datasets: co-smoothing, forward prediction and rate recovery at once."""

from __future__ import annotations

from pathlib import Path

from nbench.data.synthetic import SPECS, dataset_version, load_synthetic
from nbench.tasks.base import Targets, Task, TaskInfo, TaskInputs
from nbench.tasks.from_spikedata import split_spikedata

TASK_VERSION = "1"


class SyntheticTask(Task):
    """A synthetic dataset as a task. The default phase is ``test`` (train+val -> test, NDT's split sizes).

    Parameters
    ----------
    dataset
        ``"lorenz"`` or ``"chaotic_rnn"``.
    data_dir
        Cache directory override (default: :func:`nbench.data.cache.data_dir`).
    """

    def __init__(self, dataset: str, data_dir: str | Path | None = None) -> None:
        spec = SPECS[dataset]
        self.data_dir = data_dir
        self.info = TaskInfo(
            name=dataset, dataset=dataset, bin_ms=spec.bin_ms, version=TASK_VERSION,
            description=f"{spec.description}: co-smoothing, forward prediction, rate recovery",
            phases=("test", "val"), main_metric="co-bps",
        )
        self.dataset_version = dataset_version(spec)

    def prepare(self, phase: str | None = None) -> tuple[TaskInputs, Targets]:
        phase = self.resolve_phase(phase)
        return split_spikedata(load_synthetic(self.info.dataset, self.data_dir), self.info, phase)
