"""Tasks on the embedded synthetic datasets (generated from a seed, with true rates).

Two protocols per dataset:

- ``cosmooth`` (``lorenz``, ``chaotic_rnn``): NLB's shape with a fixed, seeded 20% of neurons held out:
  co-smoothing, forward prediction and rate R2 of held-in and held-out neurons;
- ``rates`` (``lorenz_rates``, ``chaotic_rnn_rates``): the NDT paper's rate recovery. Every neuron is observed;
  a model fits on the train trials, receives the eval trials' spikes of all neurons, and is scored by the rate R2
  of its eval rates against the true rates (per neuron, then averaged; counts per bin). Nothing is held out, so
  there is no co-bps.

The default phase is ``test`` (train+val -> test: NDT's split sizes). Each rate R2 is reported beside the
condition-average reference (:func:`nbench.tasks.segments.condition_average_reference`).
"""

from __future__ import annotations

from pathlib import Path

from nbench.data.synthetic import SPECS, dataset_version, load_synthetic
from nbench.tasks.base import DatasetPin, PreparedTask, Task, TaskInfo
from nbench.tasks.segments import all_visible_query, heldout_query, segment_task

TASK_VERSION = "1"
PROTOCOLS = {
    "cosmooth": (("co-bps", "co-bps per neuron", "fp-bps", "fp-bps per neuron", "rate R2 heldin",
                  "rate R2 heldout"), "co-bps", "co-smoothing, forward prediction, rate recovery",
                 "held-out neurons (fixed 20%)"),
    "rates": (("rate R2",), "rate R2", "rate recovery with every neuron observed (NDT paper protocol)",
              "none hidden: rates of every neuron"),
}
CITATIONS = {
    "lorenz": "Ye & Pandarinath 2021 (NDT), Lorenz data after Sussillo et al. 2016 (LFADS)",
    "chaotic_rnn": "Sussillo et al. 2016 (LFADS) chaotic RNN, as used by Ye & Pandarinath 2021 (NDT)",
}


class SyntheticTask(Task):
    """A synthetic dataset as a task.

    Parameters
    ----------
    dataset
        ``"lorenz"`` or ``"chaotic_rnn"``.
    data_dir
        Cache directory override (default: :func:`nbench.data.cache.data_dir`).
    protocol
        ``"cosmooth"`` (task name = dataset) or ``"rates"`` (task name ``<dataset>_rates``).
    """

    def __init__(self, dataset: str, data_dir: str | Path | None = None, protocol: str = "cosmooth") -> None:
        spec = SPECS[dataset]
        metrics, main, what, queries = PROTOCOLS[protocol]
        self.data_dir, self.protocol = data_dir, protocol
        self.dataset_version = dataset_version(spec)
        self.info = TaskInfo(
            name=dataset if protocol == "cosmooth" else f"{dataset}_{protocol}", dataset=dataset,
            bin_ms=spec.bin_ms, version=TASK_VERSION, description=f"{spec.description}: {what}",
            phases=("test", "val"), main_metric=main, metrics=metrics, family=dataset,
            pin=DatasetPin("synthetic", dataset, self.dataset_version), citation=CITATIONS[dataset],
            spike_times="jittered", queries=queries)

    def build(self, phase: str | None = None, *, spike_times: bool = False) -> PreparedTask:
        phase = self.resolve_phase(phase)
        queries = heldout_query if self.protocol == "cosmooth" else all_visible_query
        return segment_task(self.info, [load_synthetic(self.info.dataset, self.data_dir)], phase, queries,
                            spike_times=spike_times, forward_inputs=self.protocol == "cosmooth")
