"""Leaderboard entries: one folder per entry in ``submissions/``, validated and turned into records.

An entry is a folder ``submissions/<entry-id>/`` holding ``metadata.yaml`` and, per seed, either a submission
``.h5`` (scored here against every task in ``tasks`` whose targets can be built) or a record ``.json`` (taken as
reported). The metadata schema is documented in ``submissions/README.md`` and enforced by
:func:`load_metadata`; every problem is reported as one line naming the file and key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nbench.config import SEED_MAX, config_hash
from nbench.errors import DataError, ValidationError
from nbench.io import read_yaml
from nbench.results import Record, load_record
from nbench.text import text_problem

METADATA_FILE = "metadata.yaml"
ENTRY_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MAX_FILE_BYTES = 100 * 1024 * 1024  # GitHub refuses larger files anyway
MAX_METADATA_BYTES = 64 * 1024
PHASES = ("val", "test")
_KEYS = {"name", "authors", "description", "paper", "code", "tasks", "phase", "seeds", "config", "cost"}
_COST_KEYS = {"wall_s", "peak_mem_mb", "device"}

#: (submission file, task name, phase or None for the task's default, seed) -> Record.
Scorer = Callable[[Path, str, "str | None", int], Record]


@dataclass(frozen=True)
class Entry:
    """A validated leaderboard entry (metadata only; records are produced by :func:`entry_records`)."""

    id: str
    folder: Path
    name: str
    authors: tuple[str, ...]
    description: str
    paper: str | None
    code: str | None
    tasks: tuple[str, ...]
    phase: str | None
    seeds: tuple[tuple[int, Path], ...]
    config: dict[str, Any] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)

    @property
    def config_hash(self) -> str | None:
        return config_hash(self.config) if self.config else None


def safe_url(value: object) -> str | None:
    """``value`` if it is an absolute http(s) URL without whitespace, control characters or quotes, else None."""
    if not isinstance(value, str) or re.search(r"[\x00-\x20\x7f-\x9f\"'<>`\\]|\s", value):
        return None
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def load_metadata(folder: Path) -> Entry:
    """Read and validate ``folder/metadata.yaml``.

    Raises
    ------
    ValidationError
        One line naming the file and the offending key.
    """
    folder = Path(folder)
    path = folder / METADATA_FILE
    if not ENTRY_ID.match(folder.name):
        raise ValidationError(f"{folder}: entry folder name expected to match {ENTRY_ID.pattern}")
    if folder.is_symlink() or path.is_symlink():
        link = folder if folder.is_symlink() else path
        raise ValidationError(f"{link}: expected a regular {'folder' if link == folder else 'file'}, got a "
                              "symlink (symlinks are refused)")
    if not path.is_file():
        raise ValidationError(f"{path}: metadata file not found (every entry needs {METADATA_FILE})")
    data = read_yaml(path, MAX_METADATA_BYTES)
    if not isinstance(data, dict):
        raise ValidationError(f"{path}: expected a mapping of metadata keys, got {type(data).__name__}")
    unknown = sorted(set(map(str, data)) - _KEYS)
    if unknown:
        raise ValidationError(f"{path}: unknown key {unknown[0]!r} (expected keys: {', '.join(sorted(_KEYS))})")
    check = _Checker(path, data)
    seeds = check.seeds(folder)
    return Entry(
        id=folder.name, folder=folder, name=check.text("name", 80, required=True),
        authors=check.authors(), description=check.text("description", 1000, multiline=True),
        paper=check.url("paper"), code=check.url("code"), tasks=check.tasks(seeds), phase=check.phase(),
        seeds=seeds, config=check.mapping("config"), cost=check.cost())


class _Checker:
    """Typed access to metadata keys, raising one-line errors that name the file and key."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path, self.data = path, data

    def fail(self, key: str, expected: str, got: object) -> ValidationError:
        shown = repr(got) if len(repr(got)) <= 80 else repr(got)[:77] + "..."
        return ValidationError(f"{self.path}: key {key!r} expected {expected}, got {shown}")

    def text(self, key: str, max_len: int, required: bool = False, multiline: bool = False) -> str:
        value = self.data.get(key)
        if value is None and not required:
            return ""
        problem = text_problem(value.strip() if isinstance(value, str) else value, max_len, multiline=multiline)
        if problem is not None:
            lines = "" if multiline else "one line of "
            got = problem if isinstance(value, str) and value.strip() else value
            raise self.fail(key, f"{lines}non-empty text of at most {max_len} characters without control "
                                 "characters", got)
        return value.strip()

    def url(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if safe_url(value) is None:
            raise self.fail(key, "an absolute http:// or https:// link", value)
        return value

    def authors(self) -> tuple[str, ...]:
        value = self.data.get("authors")
        if isinstance(value, str):
            value = [value]
        if not (isinstance(value, list) and 0 < len(value) <= 50
                and all(text_problem(a.strip() if isinstance(a, str) else a, 100) is None for a in value)):
            raise self.fail("authors", "a list of 1-50 author names (one line each, at most 100 characters)",
                            value)
        return tuple(a.strip() for a in value)

    def phase(self) -> str | None:
        value = self.data.get("phase")
        if value is not None and value not in PHASES:
            raise self.fail("phase", f"one of {', '.join(PHASES)}", value)
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.data.get(key) or {}
        if not isinstance(value, dict):
            raise self.fail(key, "a mapping", value)
        return value

    def cost(self) -> dict[str, Any]:
        cost = self.mapping("cost")
        for key, value in cost.items():
            if key not in _COST_KEYS:
                raise self.fail(f"cost.{key}", f"one of {', '.join(sorted(_COST_KEYS))}", key)
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
            if key != "device" and not numeric:
                raise self.fail(f"cost.{key}", "a number >= 0", value)
            if key == "device" and text_problem(value, 40) is not None:
                raise self.fail("cost.device", "a short text such as 'cpu' or 'A100'", value)
        return cost

    def seeds(self, folder: Path) -> tuple[tuple[int, Path], ...]:
        value = self.data.get("seeds")
        if not (isinstance(value, list) and 0 < len(value) <= 50):
            raise self.fail("seeds", "a list of 1-50 items {seed: int, file: path}", value)
        out: list[tuple[int, Path]] = []
        for i, item in enumerate(value):
            key = f"seeds[{i}]"
            if not (isinstance(item, dict) and set(item) == {"seed", "file"}):
                raise self.fail(key, "a mapping with exactly the keys 'seed' and 'file'", item)
            seed = item["seed"]
            if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= SEED_MAX:
                raise self.fail(f"{key}.seed", f"an integer in [0, {SEED_MAX}]", seed)
            if seed in {s for s, _ in out}:
                raise self.fail(f"{key}.seed", "a seed not listed before", seed)
            out.append((seed, self.entry_file(folder, f"{key}.file", item["file"])))
        return tuple(out)

    def entry_file(self, folder: Path, key: str, value: object) -> Path:
        """A regular file inside the entry folder (no symlink anywhere on the way, no escaping), .h5 or .json,
        size-capped."""
        if not isinstance(value, str) or text_problem(value, 255) is not None or Path(value).is_absolute() \
                or ".." in Path(value).parts:
            raise self.fail(key, "a relative path inside the entry folder", value)
        path = folder / value
        if path.suffix not in (".h5", ".json"):
            raise self.fail(key, "a submission .h5 or a record .json", value)
        parts = Path(value).parts
        if any((folder.joinpath(*parts[:i])).is_symlink() for i in range(1, len(parts) + 1)) \
                or not path.is_file():
            raise self.fail(key, "an existing regular file, no symlink on its path (symlinks are refused)", value)
        if path.stat().st_size > MAX_FILE_BYTES:
            raise self.fail(key, f"a file of at most {MAX_FILE_BYTES // 2**20} MB", value)
        return path

    def tasks(self, seeds: tuple[tuple[int, Path], ...]) -> tuple[str, ...]:
        value = self.data.get("tasks")
        if value is None and all(p.suffix == ".json" for _, p in seeds):
            return ()
        if isinstance(value, str):
            value = [value]
        if not (isinstance(value, list) and 0 < len(value) <= 50 and all(text_problem(t, 64) is None for t in value)):
            raise self.fail("tasks", "a list of task names to score the .h5 files on", value)
        return tuple(value)


def entry_records(entry: Entry, scorer: Scorer, warn: Callable[[str], None] = print) -> list[Record]:
    """Records of every seed of ``entry``: ``.h5`` files scored on each task by ``scorer`` (the leaderboard does
    not score: :func:`nbench.scoring.entries.score_entry_file` does), ``.json`` records checked.

    A task whose targets cannot be built here (``DataError``, e.g. NLB data not downloaded) is skipped with a
    warning; every other problem raises a one-line :class:`NbenchError` naming the entry.
    """
    records: list[Record] = []
    for seed, path in entry.seeds:
        if path.suffix == ".json":
            records.append(_checked_record(entry, seed, path))
            continue
        for task in entry.tasks:
            try:
                records.append(scorer(path, task, entry.phase, seed))
            except DataError as exc:
                warn(f"warning: entry {entry.id!r}: task {task!r} skipped, targets unavailable here ({exc})")
    return records


def _checked_record(entry: Entry, seed: int, path: Path) -> Record:
    """A submitted record: ok, for this seed, and for the installed version of a registered task."""
    from nbench import registry
    from nbench.tasks import make_task

    record = load_record(path)
    where = f"{path}: record"
    if record.status != "ok":
        raise ValidationError(f"{where} has status {record.status!r} (expected 'ok')")
    if record.seed is not None and record.seed != seed:
        raise ValidationError(f"{where} key 'seed' is {record.seed}, but metadata.yaml lists seed {seed}")
    task = record.task.get("name")
    known = registry.names("tasks")
    if task not in known or (entry.tasks and task not in entry.tasks):
        allowed = entry.tasks or known
        raise ValidationError(f"{where} key 'task.name' expected one of {', '.join(allowed)}, got {task!r}")
    if entry.phase is not None and record.task.get("phase") != entry.phase:
        raise ValidationError(f"{where} key 'task.phase' is {record.task.get('phase')!r}, but metadata.yaml "
                              f"says phase {entry.phase!r}")
    info = make_task(task).info  # cheap: tasks load data only in prepare()
    expected = {"task.version": str(info.version), "task.bin_ms": float(info.bin_ms), "dataset.name": info.dataset}
    actual = {"task.version": str(record.task.get("version")), "task.bin_ms": record.task.get("bin_ms"),
              "dataset.name": record.dataset.get("name")}
    for key, value in expected.items():
        if actual[key] != value:
            raise ValidationError(f"{where} key {key!r} expected {value!r} (installed task {task!r}), "
                                  f"got {actual[key]!r}")
    record.seed = seed
    # Reference values describe the task's data: the board takes them from records nbench computed, never
    # from a submitted one.
    record.reference = {}
    return record


def entry_folders(submissions_dir: Path) -> list[Path]:
    """The entry folders under ``submissions_dir`` (hidden folders are skipped), sorted by name."""
    submissions_dir = Path(submissions_dir)
    if not submissions_dir.is_dir():
        raise ValidationError(f"{submissions_dir}: submissions folder not found")
    # is_dir() follows links, so a symlinked entry folder reaches load_metadata, which refuses it.
    return sorted(p for p in submissions_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def load_entries(submissions_dir: Path) -> list[Entry]:
    """Validate every entry folder under ``submissions_dir``, sorted by id."""
    return [load_metadata(folder) for folder in entry_folders(submissions_dir)]
