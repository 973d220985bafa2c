"""Import of nlb_tools tensor files: validation, atomic copy with sidecar, the imported task, discovery."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from nbench import registry
from nbench.data import nlb_tensors
from nbench.data.nlb_tensors import import_tensors, imported_dir, list_imported, read_tensors
from nbench.errors import DataError, NbenchError, ValidationError
from nbench.runner import RunSpec, make_task, run
from nbench.tasks.imported import ImportedTensorTask

R, E, T, F, I, O, K = 12, 5, 20, 4, 6, 3, 2  # noqa: E741 (the nlb_tools dimension letters)


def tensors(seed: int = 0, forward: bool = True, eval_forward: bool = False, behavior: bool = True,
            eval_behavior: bool = False) -> dict[str, np.ndarray]:
    """Poisson counts in the nlb_tools layout (float32, as nlb_tools saves them)."""
    rng = np.random.default_rng(seed)

    def counts(*shape: int) -> np.ndarray:
        return rng.poisson(0.3, shape).astype(np.float32)

    out = {"train_spikes_heldin": counts(R, T, I), "train_spikes_heldout": counts(R, T, O),
           "eval_spikes_heldin": counts(E, T, I), "eval_spikes_heldout": counts(E, T, O)}
    if forward:
        out.update(train_spikes_heldin_forward=counts(R, F, I), train_spikes_heldout_forward=counts(R, F, O))
    if eval_forward:
        out.update(eval_spikes_heldin_forward=counts(E, F, I), eval_spikes_heldout_forward=counts(E, F, O))
    if behavior:
        out["train_behavior"] = rng.normal(size=(R, T, K))
    if eval_behavior:
        out["eval_behavior"] = rng.normal(size=(E, T, K))
    return out


def write(path: Path, arrays: dict[str, np.ndarray], group: str | None = None) -> Path:
    with h5py.File(path, "w") as h5:
        node = h5.create_group(group) if group else h5
        for key, arr in arrays.items():
            node.create_dataset(key, data=arr, compression="gzip")
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_import_copies_atomically_with_sidecar_and_builds_the_task(tmp_path, root):
    arrays = tensors(eval_forward=True)
    src = write(tmp_path / "maze_5ms.h5", arrays)
    found = import_tensors(src, "maze", root)
    assert found.path == imported_dir(root) / "maze.h5"
    assert found.path.read_bytes() == src.read_bytes()
    meta = json.loads((imported_dir(root) / "maze.json").read_text())
    assert meta["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert meta["source_path"] == str(src.resolve()) and meta["bin_ms"] == 5.0 and meta["group"] is None
    assert meta["shapes"]["eval_spikes_heldout"] == [E, T, O] and meta["imported_utc"]
    assert sorted(p.name for p in imported_dir(root).iterdir()) == ["maze.h5", "maze.json"]

    task = ImportedTensorTask("maze", root)
    assert (task.info.name, task.info.bin_ms, task.info.phases) == ("maze", 5.0, ("val",))
    assert task.info.version == f"imported-{meta['sha256'][:12]}"
    inputs, targets = task.prepare()
    assert inputs.group == targets.group == "maze" and inputs.phase == "val"
    for key in ("train_spikes_heldin", "train_spikes_heldout", "eval_spikes_heldin",
                "train_spikes_heldin_forward", "train_spikes_heldout_forward", "train_behavior"):
        np.testing.assert_array_equal(getattr(inputs, key), arrays[key])
    for key in ("eval_spikes_heldout", "eval_spikes_heldin_forward", "eval_spikes_heldout_forward"):
        np.testing.assert_array_equal(getattr(targets, key), arrays[key])
    assert targets.eval_behavior is None and targets.train_behavior is None  # no vel R2 without eval behavior
    assert not hasattr(inputs, "eval_spikes_heldout")
    assert inputs.dataset_info["sha256"] == {"maze.h5": meta["sha256"]}


def test_eval_behavior_enables_decoding_targets_and_group_gives_bin_width(tmp_path, root):
    arrays = tensors(eval_behavior=True, forward=False)
    src = write(tmp_path / "x.h5", arrays, group="mc_maze_small_20")
    found = import_tensors(src, "maze20", root)
    assert found.bin_ms == 20.0 and found.meta["group"] == "mc_maze_small_20"
    inputs, targets = ImportedTensorTask("maze20", root).prepare("val")
    np.testing.assert_array_equal(targets.eval_behavior, arrays["eval_behavior"])
    np.testing.assert_array_equal(targets.train_behavior, arrays["train_behavior"])
    assert inputs.train_spikes_heldin_forward is None and targets.eval_spikes_heldin_forward is None


@pytest.mark.parametrize("group, filename, given, expected", [
    ("mc_maze", "a.h5", None, 5.0), ("dmfc_rsg_20", "a.h5", None, 20.0), (None, "mc_rtt_val_20ms.h5", None, 20.0),
    (None, "a.h5", 10, 10.0), ("mc_maze", "b_20ms.h5", 2.5, 2.5),
])
def test_bin_width(group, filename, given, expected):
    assert nlb_tensors.bin_ms_for(group, filename, given) == expected


def test_bin_width_unknown_is_one_line():
    with pytest.raises(ValidationError, match=r"tensors\.h5: cannot tell the bin width .*pass --bin-ms"):
        nlb_tensors.bin_ms_for(None, "tensors.h5", None)
    with pytest.raises(ValidationError, match="bin width -5 ms is invalid"):
        nlb_tensors.bin_ms_for(None, "a_5ms.h5", -5)


def _without(key: str):
    return lambda a: {k: v for k, v in a.items() if k != key}


def _replace(key: str, value: np.ndarray):
    return lambda a: {**a, key: value}


BAD_ARRAYS = [
    (_without("eval_spikes_heldout"), r"missing key 'eval_spikes_heldout' \(required"),
    (_replace("train_spikes_heldout", np.zeros((R - 1, T, O), np.float32)),
     rf"key 'train_spikes_heldout' has {R - 1} train trials \(axis 0, shape \({R - 1}, {T}, {O}\)\), "
     rf"expected {R} as in 'train_spikes_heldin'"),
    (_replace("eval_spikes_heldin", np.zeros((E, T, I + 1), np.float32)), f"has {I + 1} held-in neurons"),
    (_replace("eval_spikes_heldout", np.zeros((E, T + 1, O), np.float32)), f"has {T + 1} bins"),
    (_without("train_spikes_heldout_forward"),
     "key 'train_spikes_heldin_forward' is present but 'train_spikes_heldout_forward' is missing"),
    (lambda a: {**_without("train_behavior")(a), "eval_behavior": np.zeros((E, T, K))},
     "key 'eval_behavior' is present but 'train_behavior' is missing"),
    (_replace("eval_behavior", np.zeros((E, K))), r"key 'eval_behavior' has shape \(5, 2\), expected 3 dim"),
    (_replace("train_spikes_heldin", np.zeros((R, T), np.float32)), r"has shape \(12, 20\), expected 3 dim"),
    (_replace("train_behavior", np.zeros((R, T, K, 1))), "expected 3 dimensions .* or 2"),
    (_replace("eval_spikes_heldin", np.zeros((0, T, I), np.float32)), "no empty axis"),
    (_replace("train_spikes_heldin", np.full((R, T, I), -1, np.float32)), "negative values"),
    (_replace("train_spikes_heldin", np.full((R, T, I), 0.5, np.float32)), r"non-integer counts \(e.g. 0.5\)"),
    (_replace("eval_spikes_heldout", np.full((E, T, O), np.inf, np.float32)), "infinite values"),
    (_replace("train_spikes_heldin", np.array([[["a"] * I] * T] * R, dtype="S1")), "has dtype |S1"),
]


@pytest.mark.parametrize("damage, message", BAD_ARRAYS)
def test_bad_arrays_are_one_line_and_nothing_is_written(tmp_path, root, damage, message):
    src = write(tmp_path / "bad_5ms.h5", damage(tensors()))
    with pytest.raises(ValidationError, match=message) as err:
        import_tensors(src, "bad", root)
    assert "\n" not in str(err.value) and str(src) in str(err.value)
    assert not imported_dir(root).exists() or not any(imported_dir(root).iterdir())


def _links(kind: str):
    def make(path: Path) -> None:
        write(path, tensors())
        with h5py.File(path, "a") as h5:
            del h5["eval_spikes_heldin"]
            h5["eval_spikes_heldin"] = (h5py.ExternalLink("other.h5", "/x") if kind == "external"
                                        else h5py.SoftLink("/train_spikes_heldin"))
    return make


def _raw(content: bytes):
    return lambda path: path.write_bytes(content)


def _truncated(path: Path) -> None:
    write(path, tensors())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _two_groups(path: Path) -> None:
    with h5py.File(path, "w") as h5:
        for g in ("a", "b"):
            for k, v in tensors().items():
                h5.create_dataset(f"{g}/{k}", data=v)


def _group_as_key(path: Path) -> None:
    write(path, tensors())
    with h5py.File(path, "a") as h5:
        del h5["train_behavior"]
        h5.create_group("train_behavior")


BAD_FILES = [
    (_links("external"), "key 'eval_spikes_heldin' is an HDF5 link"),
    (_links("soft"), "key 'eval_spikes_heldin' is an HDF5 link"),
    (_raw(b""), "not an HDF5 file"),
    (_raw(b"train_spikes_heldin,1,2,3\n"), "not an HDF5 file"),
    (_truncated, "unreadable HDF5 file, perhaps truncated"),
    (_two_groups, r"no nlb_tools tensors .*found groups \['a', 'b'\]"),
    (_group_as_key, "key 'train_behavior' is a group, expected a numeric array"),
]


@pytest.mark.parametrize("make, message", BAD_FILES)
def test_bad_files_are_one_line(tmp_path, root, make, message):
    src = tmp_path / "bad_5ms.h5"
    make(src)
    with pytest.raises(ValidationError, match=message) as err:
        import_tensors(src, "bad", root)
    assert "\n" not in str(err.value)
    assert list_imported(root) == []


def test_missing_source(tmp_path, root):
    with pytest.raises(ValidationError, match="nlb_tools tensor file not found"):
        import_tensors(tmp_path / "nope.h5", "x", root)
    assert list_imported(root) == []


def test_nwb_source_is_refused(root, shared_data):
    nwb = shared_data / "nlb_mc_maze_small" / "sub-Jenkins_ses-small_desc-test_ecephys.nwb"
    with pytest.raises(ValidationError, match="an NWB file, expected an nlb_tools tensor file"):
        import_tensors(nwb, "x", root)


def test_shapes_are_checked_before_any_array_is_read(tmp_path, monkeypatch):
    src = write(tmp_path / "a.h5", _replace("eval_spikes_heldout", np.zeros((E + 1, T, O), np.float32))(tensors()))
    monkeypatch.setattr(nlb_tensors, "_load", lambda *a: pytest.fail("an array was read before shape checks"))
    with pytest.raises(ValidationError, match="eval trials"):
        read_tensors(src)


def test_ignored_keys_are_reported(tmp_path, root):
    src = write(tmp_path / "a_5ms.h5", {**tensors(), "psth": np.zeros((2, T, I + O))})
    assert import_tensors(src, "a", root).meta["ignored_keys"] == ["psth"]


def test_names_existing_imports_and_force(tmp_path, root):
    src = write(tmp_path / "a_5ms.h5", tensors(seed=1))
    with pytest.raises(ValidationError, match="dataset name 'My-Set' is invalid"):
        import_tensors(src, "My-Set", root)
    with pytest.raises(ValidationError, match="dataset name 'lorenz' is already a task"):
        import_tensors(src, "lorenz", root, taken=("lorenz",))
    first = import_tensors(src, "a", root)
    with pytest.raises(DataError, match="imported dataset 'a' already exists .*pass --force"):
        import_tensors(write(tmp_path / "b_5ms.h5", tensors(seed=2)), "a", root)
    second = import_tensors(tmp_path / "b_5ms.h5", "a", root, force=True)
    assert second.sha256 != first.sha256
    assert ImportedTensorTask("a", root).info.version == f"imported-{second.sha256[:12]}"


def test_failed_copy_validation_or_sidecar_write_leaves_nothing(tmp_path, root, monkeypatch):
    src = write(tmp_path / "a_5ms.h5", tensors())
    calls = []

    def flaky(path):  # the source's layout passed; the copy "fails" (as if the source changed while copying)
        calls.append(path)
        raise ValidationError(f"{path}: changed")

    real = nlb_tensors.read_tensors
    monkeypatch.setattr(nlb_tensors, "read_tensors", flaky)
    with pytest.raises(ValidationError, match=f"^{src}: changed"):
        import_tensors(src, "a", root)
    assert len(calls) == 1 and list(imported_dir(root).iterdir()) == []
    monkeypatch.setattr(nlb_tensors, "read_tensors", real)
    monkeypatch.setattr(nlb_tensors, "write_json_atomic", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        import_tensors(src, "a", root)
    assert list(imported_dir(root).iterdir()) == []


def test_file_changed_after_import_is_refused(tmp_path, root):
    import_tensors(write(tmp_path / "a_5ms.h5", tensors()), "a", root)
    with h5py.File(imported_dir(root) / "a.h5", "a") as h5:
        h5["eval_spikes_heldout"][0, 0, 0] += 1
    with pytest.raises(DataError, match="differs from the imported .*import it again with --force"):
        ImportedTensorTask("a", root).prepare()
    (imported_dir(root) / "a.h5").unlink()
    with pytest.raises(DataError, match="imported file is missing"):
        ImportedTensorTask("a", root).prepare()
    (imported_dir(root) / "a.json").write_text("{not json")
    with pytest.raises(DataError, match="unreadable import metadata"):
        ImportedTensorTask("a", root)
    assert list_imported(root) == []


def test_imported_task_is_discovered_and_runs(tmp_path, root):
    import_tensors(write(tmp_path / "a_5ms.h5", tensors()), "my_set", root)
    assert "my_set" in registry.names("tasks", root)
    assert "my_set" not in registry.names("tasks", tmp_path / "elsewhere")
    assert "imported nlb_tools tensors, 12/5 train/eval trials" in registry.summary("tasks", "my_set", root)
    with pytest.raises(NbenchError, match="unknown task 'my_set'"):
        registry.get("tasks", "my_set", tmp_path / "elsewhere")
    assert isinstance(make_task("my_set", str(root)), ImportedTensorTask)
    result = run(RunSpec.create("my_set", "mean_rate", data_dir=str(root)))
    assert result.record.task["group"] == "my_set" and result.record.task["phase"] == "val"
    assert np.isfinite(result.record.metrics["co-bps"].value)
    assert "fp-bps" not in result.record.metrics  # the file has no eval forward spikes
    assert result.record.dataset["source"] == "nlb_tools tensors (imported)"


def _import_real_val_tensors(shared_data: Path, root: Path):
    """Import the real nlb_tools val tensors of MC_Maze_Small; return the inputs, targets and a mean-rate record."""
    src = shared_data / "nlb_mc_maze_small" / "mc_maze_small_val_5ms.h5"
    found = import_tensors(src, "maze_small_val", root)
    # The recorded digest against one computed here (an independent value, not a stored one).
    assert found.bin_ms == 5.0 and found.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    inputs, targets = ImportedTensorTask("maze_small_val", root).prepare()
    record = run(RunSpec.create("maze_small_val", "mean_rate", data_dir=str(root))).record
    return inputs, targets, record


def test_real_mc_maze_small_val_tensors(shared_data, root):
    """The real nlb_tools val tensors of MC_Maze_Small: mean-rate co-bps equals the documented -0.0263."""
    inputs, _, record = _import_real_val_tensors(shared_data, root)
    assert (inputs.n_train, inputs.n_eval, inputs.n_bins, inputs.n_heldin, inputs.n_heldout) == (75, 25, 140,
                                                                                                  107, 35)
    assert inputs.forward_bins == 40 and inputs.train_behavior.shape == (75, 140, 2)
    assert round(record.metrics["co-bps"].value, 4) == -0.0263


def test_real_val_tensors_mean_rate_equals_nlb_tools(shared_data, root, nlb_tools):
    inputs, targets, record = _import_real_val_tensors(shared_data, root)
    rates = np.broadcast_to(inputs.train_spikes_heldout.mean(axis=(0, 1)), targets.eval_spikes_heldout.shape)
    oracle = nlb_tools.evaluation.bits_per_spike(rates.astype(np.float64),
                                                 targets.eval_spikes_heldout.astype(np.float64))
    assert record.metrics["co-bps"].value == pytest.approx(oracle, abs=1e-9)
