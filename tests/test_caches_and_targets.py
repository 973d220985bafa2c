"""Caches that rot on disk, NWB files that differ from DANDI's, and target files with values no metric can use."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest
from fixtures.nlb_nwb import DANDI_DIRS, fixture_data_dir

from nbench.cli import main
from nbench.errors import DataError, ValidationError
from nbench.tasks.targets_file import read_targets, write_targets


def flip_byte(path: Path, where: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    i = int(len(data) * where)
    data[i] ^= 0x10
    path.write_bytes(bytes(data))


def python(code: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """A fresh process: a damaged HDF5 file may crash the HDF5 library itself."""
    import os

    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          timeout=600, env={**os.environ, **(env or {})})


# ---- item 9: cache checksums ---------------------------------------------------------------------------------

LOAD_LORENZ = """
    import hashlib, sys
    from nbench.data.synthetic import load_synthetic
    data = load_synthetic("lorenz", sys.argv[1])
    print(hashlib.sha256(data.segments.counts.tobytes() + data.segments.true_rates.tobytes()).hexdigest())
    """


@pytest.mark.parametrize("where", [0.3, 0.5, 0.9])
def test_item9_damaged_synthetic_cache_is_rebuilt_with_a_notice(tmp_path, where):
    first = python(LOAD_LORENZ, str(tmp_path))
    assert first.returncode == 0 and first.stderr == "", first.stderr
    (cache,) = (tmp_path / "synthetic").glob("lorenz-*.h5")
    flip_byte(cache, where)
    again = python(LOAD_LORENZ, str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout  # the same data as generated in the first place
    assert again.stderr.strip().splitlines() == [f"{cache}: cache file does not match the sha256 recorded when it "
                                                 "was written (damaged on disk?); rebuilding it"]
    third = python(LOAD_LORENZ, str(tmp_path))
    assert third.stdout == first.stdout and third.stderr == ""  # rebuilt cache verifies


def test_item9_cache_without_checksum_is_rebuilt(tmp_path):
    first = python(LOAD_LORENZ, str(tmp_path))
    (sidecar,) = [p for p in (tmp_path / "synthetic").iterdir() if p.name.endswith(".sha256")]
    sidecar.unlink()
    again = python(LOAD_LORENZ, str(tmp_path))
    assert again.stdout == first.stdout and "no checksum recorded; rebuilding it" in again.stderr


LOAD_NLB = """
    import hashlib, sys
    from nbench.tasks.nlb import NLBTask
    inputs, targets = NLBTask("dmfc_rsg", data_dir=sys.argv[1]).prepare("val")
    blob = inputs.train_spikes_heldin.tobytes() + targets.eval_spikes_heldout.tobytes()
    print(hashlib.sha256(blob).hexdigest())
    """


def test_item9_damaged_nlb_cache_is_rebuilt_with_a_notice(tmp_path):
    shutil.copytree(fixture_data_dir() / "dandi" / DANDI_DIRS["dmfc"], tmp_path / "dandi" / DANDI_DIRS["dmfc"])
    first = python(LOAD_NLB, str(tmp_path))
    assert first.returncode == 0, first.stderr
    (cache,) = (tmp_path / "cache" / "nlb").glob("dmfc_rsg-val-*.h5")
    flip_byte(cache, 0.6)
    again = python(LOAD_NLB, str(tmp_path))
    assert again.returncode == 0 and again.stdout == first.stdout, again.stderr
    assert f"{cache}: cache file does not match the sha256 recorded when it was written" in again.stderr


# ---- item 10: NWB files are checked against DANDI's digests ------------------------------------------------------

def _manifest(data_dir: Path, train_digest: str | None = None) -> Path:
    """The manifest `nbench data fetch` writes, for the maze fixture laid out as MC_Maze_Small."""
    from nbench.data import dandi_fetch
    from nbench.data.dandisets import dandiset_dir, nlb_dandiset
    from nbench.data.download import RemoteFile, file_digest

    spec = nlb_dandiset("mc_maze_small")
    base = dandiset_dir(spec, data_dir)
    remotes = [RemoteFile(label=rel, url=f"https://example.org/{rel}", size=(base / rel).stat().st_size,
                          digest=file_digest(base / rel)) for rel in spec.asset_paths]
    if train_digest is not None:
        remotes[0] = RemoteFile(**{**remotes[0].__dict__, "digest": train_digest})
    dandi_fetch.write_manifest(base, spec, remotes)
    return base


@pytest.fixture
def maze_dir(tmp_path: Path) -> Path:
    shutil.copytree(fixture_data_dir() / "dandi" / DANDI_DIRS["maze"], tmp_path / "dandi" / DANDI_DIRS["maze"])
    return tmp_path


def test_item10_nwb_file_differing_from_dandi_is_refused(maze_dir):
    from nbench.tasks.nlb import NLBTask

    base = _manifest(maze_dir, train_digest="0" * 64)
    with pytest.raises(DataError) as info:
        NLBTask("mc_maze_small", 20, data_dir=maze_dir).prepare("val")
    message = str(info.value)
    assert "\n" not in message and "sha256 differs from DANDI's 000000" in message
    assert message.startswith(str(base / "sub-Jenkins")) and "nbench data fetch mc_maze_small --force" in message


def test_item10_matching_nwb_file_is_accepted_and_recorded_as_verified(maze_dir):
    from nbench.data.download import sidecar_path
    from nbench.tasks.nlb import NLBTask

    base = _manifest(maze_dir)
    inputs, _ = NLBTask("mc_maze_small", 20, data_dir=maze_dir).prepare("val")
    train = base / "sub-Jenkins/sub-Jenkins_ses-small_desc-train_behavior+ecephys.nwb"
    assert json.loads(sidecar_path(train).read_text())["digest"] == inputs.dataset_info["sha256"][train.name]


def test_item10_unverifiable_nwb_file_is_named_in_a_warning(maze_dir, caplog):
    from nbench.tasks.nlb import NLBTask

    NLBTask("mc_maze_small", 20, data_dir=maze_dir).prepare("val")
    assert any("not verified against DANDI" in r.getMessage() and "nbench data fetch mc_maze_small" in
               r.getMessage() for r in caplog.records)


# ---- item 14: target values; undefined metrics --------------------------------------------------------------------

@pytest.fixture(scope="module")
def lorenz_files(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A lorenz mean_rate submission (test phase) and its targets (in memory and as a file)."""
    from nbench.runner import RunSpec, make_task, run
    from nbench.submission import write_submission

    root = tmp_path_factory.mktemp("lorenz")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NBENCH_DATA_DIR", str(root / "data"))
        result = run(RunSpec.create("lorenz", "mean_rate"))
        _, targets = make_task("lorenz").prepare("test")
    return {"root": root, "submission": write_submission(root / "sub.h5", result.submission), "targets": targets,
            "result": result}


def _targets_with(lorenz_files: dict, path: Path, **changes) -> Path:
    from dataclasses import replace

    return write_targets(path, {"lorenz": replace(lorenz_files["targets"], **changes)})


def _set(array: np.ndarray, index: tuple, value: float) -> np.ndarray:
    out = np.array(array, dtype=np.float64, copy=True)
    out[index] = value
    return out


BAD_TARGETS = [
    ("inf_spikes", lambda t: {"eval_spikes_heldout": _set(t.eval_spikes_heldout, (0, 0, 0), np.inf)},
     "key 'eval_spikes_heldout' expected spike counts (whole numbers >= 0, or NaN where not scored), got 1 "
     "infinite (first at (0, 0, 0))"),
    ("negative_spikes", lambda t: {"eval_spikes_heldout": _set(t.eval_spikes_heldout, (1, 2, 0), -1)},
     "got 1 negative (first -1 at (1, 2, 0))"),
    ("fractional_spikes", lambda t: {"eval_spikes_heldout": _set(t.eval_spikes_heldout, (0, 3, 1), 0.5)},
     "got 1 fractional (first 0.5 at (0, 3, 1))"),
    ("inf_forward", lambda t: {"eval_spikes_heldin_forward": _set(t.eval_spikes_heldin_forward, (0, 0, 0), np.inf)},
     "key 'eval_spikes_heldin_forward' expected spike counts"),
    ("inf_true_rates", lambda t: {"eval_true_rates_heldout": _set(t.eval_true_rates_heldout, (0, 0, 0), np.inf)},
     "key 'eval_true_rates_heldout' expected finite rates >= 0, got 1 infinite"),
    ("nan_true_rates", lambda t: {"eval_true_rates_heldin": _set(t.eval_true_rates_heldin, (0, 0, 0), np.nan)},
     "key 'eval_true_rates_heldin' expected finite rates >= 0, got 1 NaN"),
    ("inf_reference", lambda t: {"reference": {"rate R2 heldout (cond-avg ref)": np.inf}},
     "key 'nbench_reference/rate R2 heldout (cond-avg ref)' expected a finite number, got inf"),
]


@pytest.mark.parametrize("case, change, message", BAD_TARGETS, ids=[c[0] for c in BAD_TARGETS])
def test_item14_target_values_are_checked_like_submissions(lorenz_files, tmp_path, capsys, case, change, message):
    path = _targets_with(lorenz_files, tmp_path / "t.h5", **change(lorenz_files["targets"]))
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_targets(path)
    with pytest.raises(SystemExit) as done:
        main(["score", str(lorenz_files["submission"]), "--targets", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert done.value.code == 2 and len(err) == 1 and message in err[0]
    assert not (tmp_path / "out").exists()


def _nlb_like_targets(tmp_path: Path, edit) -> Path:  # noqa: ANN001
    """An NLB-style target file with behaviour and PSTH (from the synthetic NLB fixture data), edited."""
    from nlb_synth import make_dataset, nlb_like_specs

    from nbench.tasks.base import Targets

    tgt, _ = make_dataset(nlb_like_specs(), seed=0)
    targets = {g: Targets(group=g, **{k: v for k, v in d.items() if k != "train_cond_idx"}) for g, d in tgt.items()}
    path = write_targets(tmp_path / "nlb_targets.h5", targets)
    with h5py.File(path, "r+") as h5:
        edit(h5)
    return path


def _edit(key: str, index: tuple, value: float):  # noqa: ANN202
    def edit(h5: h5py.File) -> None:
        data = h5["mc_maze"][key][()].astype(np.float64)
        data[index] = value
        del h5["mc_maze"][key]
        h5["mc_maze"].create_dataset(key, data=data)
    return edit


@pytest.mark.parametrize("edit, message", [
    (_edit("eval_behavior", (0, 0, 0), np.inf), "key 'eval_behavior' expected finite values (or NaN where not "
                                                "scored), got 1 infinite"),
    (_edit("train_behavior", (0, 0, 1), -np.inf), "key 'train_behavior' expected finite values"),
    (_edit("psth", (0, 0, 0), np.inf), "key 'psth' expected finite rates >= 0 (NaN only for a whole time row, "
                                       "marked by neuron 0), got 1 infinite (first at (0, 0, 0))"),
    (_edit("psth", (0, 1, 2), np.nan), "key 'psth' expected finite rates >= 0 (NaN only for a whole time row, "
                                       "marked by neuron 0), got 1 NaN (first at (0, 1, 2))"),
], ids=["inf_eval_behavior", "inf_train_behavior", "inf_psth", "nan_in_scored_psth_row"])
def test_item14_behaviour_and_psth_values(tmp_path, edit, message):
    path = _nlb_like_targets(tmp_path, edit)
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_targets(path)


@pytest.mark.parametrize("spikes", ["zeros", "nan"])
def test_item14_all_zero_or_all_nan_heldout_spikes_make_co_bps_undefined(lorenz_files, tmp_path, capsys, spikes):
    held = lorenz_files["targets"].eval_spikes_heldout
    value = np.zeros_like(held, dtype=np.float64) if spikes == "zeros" else np.full(held.shape, np.nan)
    path = _targets_with(lorenz_files, tmp_path / "t.h5", eval_spikes_heldout=value)
    with pytest.raises(SystemExit) as done:
        main(["score", str(lorenz_files["submission"]), "--targets", str(path), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert done.value.code == 0, captured.err
    assert "warning: group 'lorenz': co-bps is undefined (no observed held-out spikes)" in captured.err
    (record,) = (tmp_path / "out").rglob("*.json")
    metrics = json.loads(record.read_text())["metrics"]
    assert metrics["co-bps"]["value"] is None and metrics["co-bps"]["ci95"] is None
    assert "undefined" in captured.out


def test_item14_huge_finite_rates_give_undefined_metrics_not_a_crash(lorenz_files, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NBENCH_DATA_DIR", str(lorenz_files["root"] / "data"))
    huge = tmp_path / "huge.h5"
    huge.write_bytes(lorenz_files["submission"].read_bytes())
    with h5py.File(huge, "r+") as h5:
        for key in ("eval_rates_heldout", "eval_rates_heldin", "eval_rates_heldout_forward"):
            data = np.full(h5["lorenz"][key].shape, 1e308)
            del h5["lorenz"][key]
            h5["lorenz"].create_dataset(key, data=data)
    with pytest.raises(SystemExit) as done:
        main(["score", str(huge), "--task", "lorenz", "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert done.value.code == 0, captured.err
    (record,) = (tmp_path / "out").rglob("*.json")
    metrics = json.loads(record.read_text())["metrics"]
    assert metrics["co-bps"]["value"] is None and metrics["rate R2 heldout"]["value"] is None
    assert "co-bps is undefined (not a finite number: -inf)" in captured.err


def test_item14_write_record_turns_non_finite_values_into_null(tmp_path):
    from leaderboard_records import make_record

    from nbench.results import load_record, write_record

    record = make_record(metrics={"co-bps": float("nan"), "fp-bps": float("-inf")}, ci95={"co-bps": (np.nan, 1.0)})
    record.reference["rate R2 heldout (cond-avg ref)"].value = float("inf")
    loaded = load_record(write_record(record, tmp_path))
    assert loaded.metrics["co-bps"].value is None and loaded.metrics["co-bps"].ci95 is None
    assert loaded.metrics["fp-bps"].value is None and loaded.reference["rate R2 heldout (cond-avg ref)"].value is None


# ---- item 18: declared sizes are checked against what the file stores ------------------------------------------

def test_item18_declared_huge_dataset_is_refused_before_allocating(lorenz_files, tmp_path):
    path = _targets_with(lorenz_files, tmp_path / "t.h5")
    n_bins = lorenz_files["targets"].eval_spikes_heldout.shape[1]
    with h5py.File(path, "r+") as h5:  # 1 GiB of per-bin behaviour that was never written (no chunk stored)
        h5["lorenz"].create_dataset("train_behavior", shape=(2**27 // (n_bins * 2), n_bins, 2), dtype="f8",
                                    chunks=(64, n_bins, 2), compression="gzip")
        h5["lorenz"].create_dataset("eval_behavior", shape=(lorenz_files["targets"].eval_spikes_heldout.shape[0],
                                                            n_bins, 2), dtype="f8")
    assert path.stat().st_size < 2_000_000
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so it would include the test process.
    probe = python("""
        import re, sys
        from nbench.errors import ValidationError
        from nbench.tasks.targets_file import read_targets
        try:
            read_targets(sys.argv[1])
        except ValidationError as exc:
            print(exc)
        status = open("/proc/self/status").read()
        print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) // 1024)
        """, str(path))
    message, peak_mb = probe.stdout.strip().splitlines()
    assert "key 'train_behavior' declares 1,073,741,6" in message and "but stores 0 bytes" in message, message
    assert int(peak_mb) < 400, peak_mb
