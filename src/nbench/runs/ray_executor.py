"""The Ray executor: each job is a Ray task with the CPUs and GPUs its model declares.

``ray.init()`` starts a local cluster (``num_cpus`` workers' worth of CPUs), or joins the cluster at ``address``
(``ray://host:10001`` or ``auto`` from a node of a running cluster). Workers only compute: they return each
run's record to this process, which stores it (:mod:`nbench.runs.execute`), so the results folder needs to exist
only here. Workers import the installed nbench, so every node needs the same nbench and data directory (set
``NBENCH_DATA_DIR``; it is passed on to the workers). Needs ``pip install "nbench[ray]"``.
"""

from __future__ import annotations

import os
from typing import Any

from nbench.errors import NbenchError
from nbench.runs.execute import Outcome
from nbench.runs.jobs import Job, call_limited

ENV_PASSED = ("NBENCH_DATA_DIR", "NBENCH_NUM_THREADS")


class RayExecutor:
    """Runs jobs as Ray tasks; at most as many at once as the cluster has CPUs."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise NbenchError('--executor ray needs Ray: pip install "nbench[ray]"') from None
        self.ray = ray
        env = {k: os.environ[k] for k in ENV_PASSED if k in os.environ}
        self.owned = not ray.is_initialized()
        if self.owned:
            options: dict[str, Any] = {"runtime_env": {"env_vars": env}, "log_to_driver": False}
            if address is None:
                options.update(num_cpus=num_cpus, include_dashboard=False)
            ray.init(address=address, **options)
        resources = ray.cluster_resources()
        self.slots = max(1, int(resources.get("CPU", 1)))
        self.has_gpu = resources.get("GPU", 0) > 0
        self.remote = ray.remote(call_limited)

    def start(self, job: Job) -> Any:
        gpus = job.resources.gpus if self.has_gpu and _device(job) != "cpu" else 0
        return self.remote.options(num_cpus=job.resources.cpus, num_gpus=gpus).remote(
            job.fn, job.args, job.resources.cpus)

    def wait(self, handles: list[Any]) -> list[tuple[Any, Outcome]]:
        ready, _ = self.ray.wait(handles, num_returns=1)
        out = []
        for handle in ready:
            try:
                out.append((handle, Outcome(doc=self.ray.get(handle))))
            except self.ray.exceptions.RayTaskError as exc:
                cause = getattr(exc, "cause", None) or exc
                out.append((handle, Outcome(error=cause, error_type=type(cause).__name__)))
            except self.ray.exceptions.RayError as exc:  # a worker died (out of memory, killed ...)
                out.append((handle, Outcome(error=exc, error_type=type(exc).__name__)))
        return out

    def cancel(self, handles: list[Any]) -> None:
        for handle in handles:
            try:
                self.ray.cancel(handle, force=True)
            except Exception:  # noqa: BLE001 - already finished or gone
                pass

    def close(self) -> None:
        if self.owned and self.ray.is_initialized():
            self.ray.shutdown()


def _device(job: Job) -> str:
    spec = job.args[0] if job.args else None
    return str(getattr(spec, "device", "auto"))
