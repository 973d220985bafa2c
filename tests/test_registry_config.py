"""Registry look-up (with plug-ins and suggestions) and model-config overrides."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from nbench import registry
from nbench.config import apply_overrides, config_hash, load_config_file, parse_set_options
from nbench.errors import ConfigError, UnknownNameError


def test_unknown_names_suggest_close_ones() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown task 'lorenzz'; did you mean 'lorenz'( or 'lorenz_rates')?\?"):
        registry.get("tasks", "lorenzz")
    with pytest.raises(UnknownNameError, match="unknown model 'zzz' \\(see `nbench list models`\\)"):
        registry.get("models", "zzz")


def test_listing_does_not_import_models() -> None:
    import subprocess
    import sys

    assert "mean_rate" in registry.names("models")
    assert registry.summary("models", "mean_rate").startswith("each neuron's mean")
    # Listing leaves model modules (and torch) unloaded; checked in a fresh interpreter because other tests of
    # this session may already have imported them.
    probe = ("import sys; from nbench import registry; registry.names('models'); registry.summary('models', 'ndt');"
             " print('nbench.baselines.ndt.model' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_entry_point_plugins_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = EntryPoint(name="my_model", value="nbench.baselines.mean_rate:MeanRateModel", group="nbench.models")

    def fake_entry_points(group: str) -> list[EntryPoint]:
        return [plugin] if group == "nbench.models" else []

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)
    monkeypatch.setattr(registry, "_PLUGINS_LOADED", False)
    monkeypatch.setitem(registry._BUILTIN, "models", dict(registry._BUILTIN["models"]))
    monkeypatch.setitem(registry._SUMMARY, "models", dict(registry._SUMMARY["models"]))
    assert "my_model" in registry.names("models")
    assert registry.get("models", "my_model").name == "mean_rate"
    assert registry.summary("models", "my_model").startswith("plug-in")


def test_registered_kwargs_are_bound() -> None:
    task = registry.get("tasks", "chaotic_rnn")()
    assert task.info.name == "chaotic_rnn" and task.info.bin_ms == 10.0


@dataclass(frozen=True)
class _Cfg:
    width: float = 1.0
    layers: int = 2
    name: str = "a"
    flag: bool = False
    window: tuple[int, int] = (1, 2)
    optional: float | None = None


def test_overrides_are_coerced_to_field_types() -> None:
    cfg = apply_overrides(_Cfg(), {"width": "0.5", "layers": 4, "flag": "true", "window": "[3, 4]",
                                   "optional": 2}, "m")
    assert cfg == _Cfg(width=0.5, layers=4, name="a", flag=True, window=(3, 4), optional=2.0)


@pytest.mark.parametrize("overrides,message", [
    ({"depth": 3}, "unknown config key 'depth' \\(expected one of: flag, layers"),
    ({"layers": "many"}, "config key 'layers' expects int, got 'many'"),
    ({"layers": 2.5}, "config key 'layers' expects int"),
    ({"flag": "maybe"}, "config key 'flag' expects bool"),
])
def test_bad_overrides(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        apply_overrides(_Cfg(), overrides, "m")


def test_set_options_and_files(tmp_path: Path) -> None:
    assert parse_set_options(["a=0.1", "b=true", "c=[1, 2]", "d=text"]) == {"a": 0.1, "b": True, "c": [1, 2],
                                                                          "d": "text"}
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_set_options(["novalue"])
    good = tmp_path / "c.yaml"
    good.write_text("width: 0.25\nlayers: 3\n")
    assert load_config_file(good) == {"width": 0.25, "layers": 3}
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config_file(bad)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config_file(tmp_path / "missing.yaml")
    assert config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1})


def test_a_preset_keyed_by_the_task_name_comes_before_the_family_preset() -> None:
    from nbench.baselines.smoothing import SmoothingConfig, SmoothingModel
    from nbench.runner import RunSpec, plan

    class ProtocolSmoothing(SmoothingModel):
        name = "protocol_smoothing"

        @classmethod
        def preset(cls, family: str, bin_ms: float | None = None) -> SmoothingConfig | None:
            if family == "lorenz_rates":
                return SmoothingConfig(kern_sd_ms=80.0, alpha=0.5)
            return super().preset(family, bin_ms)

    registry.register_class("models", "protocol_smoothing", ProtocolSmoothing)
    family_preset = SmoothingModel.preset("lorenz")
    assert family_preset is not None and family_preset.kern_sd_ms != 80.0
    assert plan(RunSpec.create("lorenz_rates", "protocol_smoothing")).config == SmoothingConfig(80.0, 0.5)
    assert plan(RunSpec.create("lorenz", "protocol_smoothing")).config == family_preset
    assert plan(RunSpec.create("lorenz_rates", "smoothing")).config == family_preset  # none for the name
