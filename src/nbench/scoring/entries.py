"""Scoring the submission files of leaderboard entries (the leaderboard renders records; it never scores)."""

from __future__ import annotations

from pathlib import Path

from nbench.results import Record
from nbench.scoring.files import score_file


def score_entry_file(path: Path, task: str, phase: str | None, seed: int) -> Record:
    """Validate ``path`` against ``task``'s targets and score it exactly as ``nbench score`` does."""
    [record] = score_file(path, tasks=(task,), phase=phase, model_name=path.stem, seed=seed,
                          allow_extra_groups=True)
    record.submission = {"path": path.name, "sha256": record.submission["sha256"]}
    return record
