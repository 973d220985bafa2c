"""What the torch baselines share: device and thread choice, resumable checkpoints (progress bars:
:mod:`nbench.baselines.progress`).

Importing this module does not import torch; its functions do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nbench.errors import ConfigError
from nbench.io import atomic_path


def resolve_device(device: str | None) -> Any:
    """``"auto"`` (or None) -> CUDA when available, else CPU; otherwise the named torch device."""
    import torch

    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(f"--device {device!r}: not a torch device (expected auto, cpu, cuda or cuda:N)") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {device!r}: CUDA is not available on this machine (use cpu or auto)")
    return dev


def set_threads(limit: int | None = None) -> None:
    """Use ``NBENCH_NUM_THREADS`` torch threads if set, else at most the cores this process may run on (and at
    most ``limit``: models of small matrices, where threads cost more than they save).

    torch's default already follows ``OMP_NUM_THREADS``; the affinity mask covers containers and ``taskset``.
    """
    import torch

    requested = os.environ.get("NBENCH_NUM_THREADS", "").strip()
    if requested:
        if not requested.isdigit() or int(requested) < 1:
            raise ConfigError(f"NBENCH_NUM_THREADS={requested!r}: expected a positive integer")
        torch.set_num_threads(int(requested))
        return
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    torch.set_num_threads(max(1, min(torch.get_num_threads(), usable, limit or usable)))


def rng_state(device: Any) -> dict[str, Any]:
    """The global torch RNG states a training run draws from (CPU, and the CUDA device in use)."""
    import torch

    state = {"rng_torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["rng_cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: dict[str, Any], device: Any) -> None:
    """Restore what :func:`rng_state` saved."""
    import torch

    torch.set_rng_state(state["rng_torch"].cpu())
    if "rng_cuda" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["rng_cuda"].cpu(), device)


def save_checkpoint(path: Path | None, state: dict[str, Any]) -> None:
    """Write ``state`` atomically with ``torch.save`` (tensors, numbers, strings, lists and dicts only, so that it
    loads with ``weights_only=True``); nothing when ``path`` is None."""
    import torch

    if path is None:
        return
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path | None, device: Any, fingerprint: str) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it exists and was written by the same fit (``fingerprint``), else None.

    Loaded with ``weights_only=True``: a checkpoint never unpickles objects.
    """
    import torch

    if path is None or not path.exists():
        return None
    state = torch.load(path, map_location=device, weights_only=True)
    return state if state.get("fingerprint") == fingerprint else None
