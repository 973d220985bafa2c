"""Provenance of runs and scores: what task and data, which environment, how much memory.

Every record carries these (:mod:`nbench.results`): the task's identity (name, version, phase), the dataset's
source, version and file digests, the Python / platform / package versions and the git state of the nbench
source, and the peak memory of the process.
"""

from __future__ import annotations

import math
import platform
import resource
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from nbench import __version__
from nbench.tasks.base import Task, TaskInputs

KEY_PACKAGES = ("numpy", "scipy", "scikit-learn", "h5py", "pynwb", "torch", "elephant")


def task_record(task: Task, phase: str | None) -> dict[str, Any]:
    info = task.info
    return {"name": info.name, "version": info.version, "phase": phase, "bin_ms": info.bin_ms,
            "group": info.name}


def dataset_record(inputs: TaskInputs) -> dict[str, Any]:
    meta = inputs.dataset_info
    return {"name": inputs.dataset, "source": meta.get("source"), "version": meta.get("version"),
            "sha256": dict(meta.get("sha256", {}))}


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def environment() -> dict[str, Any]:
    """Python, platform, nbench and key package versions, and the git state of the nbench source."""
    packages = {}
    for name in KEY_PACKAGES:
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            continue
    commit, dirty = _git_state(Path(__file__).resolve().parent)
    return {"python": platform.python_version(), "platform": platform.platform(), "nbench": __version__,
            "packages": packages, "git_commit": commit, "git_dirty": dirty}


def _git_state(where: Path) -> tuple[str | None, bool | None]:
    try:
        commit = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5)
        if commit.returncode != 0:
            return None, None
        status = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=5)
        return commit.stdout.strip(), bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars/arrays as Python numbers/lists, mapping keys as strings, non-finite as None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
