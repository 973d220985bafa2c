"""Registry discoverers: entries that exist as files, looked up with the data directory in use."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nbench import registry
from nbench.errors import UnknownNameError


def test_discovered_entries_follow_the_data_dir_and_never_shadow_registered(monkeypatch, tmp_path):
    calls: list[object] = []

    def discover(data_dir):
        calls.append(data_dir)
        return {"found_here": (lambda **kw: ("task", kw), "a discovered task"),
                "lorenz": (lambda **kw: "shadow", "must not win")} if data_dir == tmp_path else {}

    monkeypatch.setitem(registry._DISCOVERERS, "tasks", [*registry._DISCOVERERS["tasks"], discover])
    assert "found_here" in registry.names("tasks", tmp_path)
    assert "found_here" not in registry.names("tasks")
    assert registry.summary("tasks", "found_here", tmp_path) == "a discovered task"
    assert registry.get("tasks", "found_here", tmp_path)(data_dir="x") == ("task", {"data_dir": "x"})
    assert registry.get("tasks", "lorenz", tmp_path) is not None
    assert registry.summary("tasks", "lorenz", tmp_path) != "must not win"
    with pytest.raises(UnknownNameError, match="unknown task 'found_here'"):
        registry.get("tasks", "found_here")
    assert tmp_path in calls and None in calls


def test_listing_tasks_stays_light():
    """Discovering imported datasets must not pull in torch."""
    code = ("import sys; from nbench import registry; registry.names('tasks'); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
