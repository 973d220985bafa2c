"""Sweep files: which runs a sweep holds (a grid, or a random sample, of tasks x models x config values x seeds).

The format is documented in docs/sweeps.md. In short::

    tasks: [lorenz, chaotic_rnn]
    models:
      - mean_rate
      - {name: smoothing, grid: {kern_sd_ms: [20, 30, 40]}}     # config values to sweep
      - {name: gpfa, config: {latent_dim: 8}}                   # fixed overrides
    seeds: [0, 1, 2]
    phase: val                      # or [val, test]; default: each task's default phase
    sample: {configs: 4, seed: 0}   # or {runs: 10, seed: 0}: a random sample instead of the whole grid
    optional: true                  # runs whose task or data is not on this machine are skipped, not failed
    predictions: predictions/       # runs too slow for CI: score the committed predictions found here
    resources: {cpus: 2, gpus: 0}   # per run, instead of the model's declared needs
    sweeps: [...]                   # blocks; each inherits the keys above that it does not set

Every problem is one line naming the file and the key.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from nbench.baselines.base import Resources
from nbench.errors import ConfigError
from nbench.runner import RunSpec

BLOCK_KEYS = ("tasks", "models", "seeds", "phase", "device", "sample", "optional", "predictions", "resources")
TOP_KEYS = (*BLOCK_KEYS, "sweeps", "name", "description")
MODEL_KEYS = ("name", "config", "grid")
DISTRIBUTIONS = ("uniform", "log_uniform", "int_uniform")


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep and how its block treats it."""

    spec: RunSpec
    block: int
    optional: bool = False
    predictions: Path | None = None
    resources: Resources | None = None


def load_sweep(path: str | Path, data_dir: str | None = None) -> list[SweepRun]:
    """Read and expand a sweep file into its runs (in file order, each spec once)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: sweep file not found") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid YAML file ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sweep keys, got {type(data).__name__}")
    _check_keys(path, "", data, TOP_KEYS)
    top = {k: v for k, v in data.items() if k in BLOCK_KEYS}
    blocks = data.get("sweeps")
    if blocks is None:
        blocks = [{}]
    if not (isinstance(blocks, list) and blocks and all(isinstance(b, dict) for b in blocks)):
        raise ConfigError(f"{path}: key 'sweeps' expected a list of mappings, got {blocks!r}")
    runs: dict[RunSpec, SweepRun] = {}
    for i, block in enumerate(blocks):
        where = f"sweeps[{i}]." if data.get("sweeps") is not None else ""
        _check_keys(path, where, block, BLOCK_KEYS)
        for run in _expand(path, where, i, {**top, **block}, data_dir):
            runs.setdefault(run.spec, run)
    return list(runs.values())


def _check_keys(path: Path, where: str, data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = [str(k) for k in data if k not in allowed]
    if unknown:
        raise ConfigError(f"{path}: unknown key {where + unknown[0]!r} (expected one of: {', '.join(allowed)})")


class _Keys:
    """Typed access to one block's keys; errors name the file and key."""

    def __init__(self, path: Path, where: str, block: dict[str, Any]) -> None:
        self.path, self.where, self.block = path, where, block

    def fail(self, key: str, expected: str, got: Any) -> ConfigError:
        return ConfigError(f"{self.path}: key {self.where + key!r} expected {expected}, got {got!r}")

    def names(self, key: str, required: bool = True) -> list[str]:
        value = self.block.get(key)
        if value is None and not required:
            return []
        value = [value] if isinstance(value, str) else value
        if not (isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)):
            raise self.fail(key, "a list of names", value)
        return value

    def seeds(self) -> list[int]:
        value = self.block.get("seeds", [0])
        value = [value] if isinstance(value, int) and not isinstance(value, bool) else value
        if not (isinstance(value, list) and value
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)):
            raise self.fail("seeds", "a list of integers >= 0", value)
        return list(dict.fromkeys(value))

    def phases(self) -> list[str | None]:
        value = self.block.get("phase")
        if value is None:
            return [None]
        value = [value] if isinstance(value, str) else value
        if not (isinstance(value, list) and value and all(v in ("val", "test") for v in value)):
            raise self.fail("phase", "val, test or a list of them", value)
        return value

    def models(self) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """``(name, fixed config, grid)`` per model."""
        value = self.block.get("models")
        if isinstance(value, dict):
            value = [{"name": k, **(v or {})} if isinstance(v, dict) or v is None else {"name": k, "bad": v}
                     for k, v in value.items()]
        if not (isinstance(value, list) and value):
            raise self.fail("models", "a list of model names or {name, config, grid} mappings", value)
        out = []
        for j, item in enumerate(value):
            item = {"name": item} if isinstance(item, str) else item
            key = f"models[{j}]"
            if not (isinstance(item, dict) and isinstance(item.get("name"), str) and set(item) <= set(MODEL_KEYS)):
                raise self.fail(key, "a model name or a mapping with keys name, config, grid", item)
            config, grid = item.get("config") or {}, item.get("grid") or {}
            if not isinstance(config, dict):
                raise self.fail(f"{key}.config", "a mapping of config values", config)
            if not isinstance(grid, dict) or not all(_is_axis(v) for v in grid.values()):
                raise self.fail(f"{key}.grid", "a mapping of config keys to lists of values or distributions "
                                f"({', '.join(DISTRIBUTIONS)}: [low, high])", grid)
            out.append((item["name"], config, grid))
        return out

    def sample(self) -> tuple[str, int, int] | None:
        value = self.block.get("sample")
        if value is None:
            return None
        ok = isinstance(value, dict) and len(set(value) & {"configs", "runs"}) == 1 \
            and set(value) <= {"configs", "runs", "seed"}
        kind = next((k for k in ("configs", "runs") if isinstance(value, dict) and k in value), "")
        n, seed = (value.get(kind), value.get("seed", 0)) if ok else (None, None)
        if not (ok and isinstance(n, int) and n >= 1 and isinstance(seed, int)):
            raise self.fail("sample", "{configs: N, seed: S} or {runs: N, seed: S} with N >= 1", value)
        return kind, n, seed

    def resources(self) -> Resources | None:
        value = self.block.get("resources")
        if value is None:
            return None
        try:
            return Resources(**value)
        except (TypeError, ValueError):
            raise self.fail("resources", "{cpus: integer >= 1, gpus: number >= 0}", value) from None


def _is_axis(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value)
    return (isinstance(value, dict) and len(value) == 1 and next(iter(value)) in DISTRIBUTIONS
            and isinstance(bounds := next(iter(value.values())), list) and len(bounds) == 2
            and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds) and bounds[0] <= bounds[1]
            and (next(iter(value)) != "log_uniform" or bounds[0] > 0))


def _expand(path: Path, where: str, index: int, block: dict[str, Any], data_dir: str | None) -> list[SweepRun]:
    keys = _Keys(path, where, block)
    tasks, models, seeds, phases = keys.names("tasks"), keys.models(), keys.seeds(), keys.phases()
    sample, resources = keys.sample(), keys.resources()
    device = block.get("device", "auto")
    if not isinstance(device, str):
        raise keys.fail("device", "auto, cpu, cuda or cuda:N", device)
    predictions = block.get("predictions")
    if predictions is not None and not isinstance(predictions, str):
        raise keys.fail("predictions", "a folder (relative to the sweep file)", predictions)
    optional = block.get("optional", False)
    if not isinstance(optional, bool):
        raise keys.fail("optional", "true or false", optional)
    rng = np.random.default_rng(sample[2]) if sample else None
    points: list[tuple[str, dict[str, Any]]] = []
    for j, (model, config, grid) in enumerate(models):
        if sample and sample[0] == "configs":
            draws = _sample_configs(grid, sample[1], rng)
        elif any(isinstance(v, dict) for v in grid.values()):
            raise keys.fail(f"models[{j}].grid", "lists of values (distributions need sample: {configs: N})", grid)
        else:
            draws = [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
        points += [(model, {**config, **draw}) for draw in draws]
    combos = [(task, phase, model, config, seed) for task in tasks for phase in phases
              for model, config in points for seed in seeds]
    if sample and sample[0] == "runs":
        if any(isinstance(v, dict) for _, _, grid in models for v in grid.values()):
            raise keys.fail("sample", "{configs: N} when a grid has distributions", block.get("sample"))
        if sample[1] < len(combos):
            combos = [combos[i] for i in sorted(rng.choice(len(combos), sample[1], replace=False))]
    folder = (path.parent / predictions).resolve() if predictions else None
    return [SweepRun(RunSpec.create(task, model, seed=seed, phase=phase, overrides=config, device=device,
                                    data_dir=data_dir), index, optional, folder, resources)
            for task, phase, model, config, seed in combos]


def _sample_configs(grid: dict[str, Any], n: int, rng: Any) -> list[dict[str, Any]]:
    """``n`` distinct random config points (fewer when the grid is finite and smaller)."""
    finite = all(isinstance(v, list) for v in grid.values())
    size = math.prod(len(v) for v in grid.values()) if finite else math.inf
    out: list[dict[str, Any]] = []
    for _ in range(100 * n):
        if len(out) >= min(n, size):
            break
        point = {key: _draw(axis, rng) for key, axis in grid.items()}
        if point not in out:
            out.append(point)
    return out


def _draw(axis: Any, rng: Any) -> Any:
    if isinstance(axis, list):
        return axis[int(rng.integers(len(axis)))]
    kind, (low, high) = next(iter(axis.items()))
    if kind == "uniform":
        return float(rng.uniform(low, high))
    if kind == "log_uniform":
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    return int(rng.integers(int(low), int(high) + 1))
