"""HDF5 files as an adversary writes them: many tiny groups, user blocks, committed datatypes, hard-link cycles,
null dataspaces; and submission groups that a target file has no targets for."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from nbench.cli import main
from nbench.errors import ValidationError
from nbench.tasks.targets_file import read_targets, write_targets


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A valid lorenz submission (mean_rate, test phase) and the matching target file."""
    from nbench.runner import RunSpec, make_task, run
    from nbench.submission import write_submission

    root = tmp_path_factory.mktemp("h5")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NBENCH_DATA_DIR", str(root / "data"))
        sub = write_submission(root / "good.h5", run(RunSpec.create("lorenz", "mean_rate")).submission)
        _, targets = make_task("lorenz").prepare("test")
    return {"submission": sub, "targets": write_targets(root / "targets.h5", {"lorenz": targets}),
            "data": root / "data"}


def score(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    with pytest.raises(SystemExit) as done:
        main(["score", *argv])
    return int(done.value.code or 0), capsys.readouterr().err.strip().splitlines()


def copy_with(src: Path, dest: Path, edit, **file_kwargs) -> Path:  # noqa: ANN001
    with h5py.File(src, "r") as old, h5py.File(dest, "w", **file_kwargs) as new:
        for name in old:
            old.copy(name, new)
        edit(new)
    return dest


@pytest.mark.parametrize("n_groups, ending", [
    (10_050, "more than 10,000 objects (expected a few groups of a few datasets)"),  # the walk stops there
    (500, "found 'g000000', 'g000001', 'g000002', 'g000003', 'g000004', 'g000005', 'g000006', 'g000007' and 492 "
          "more)"),  # listed names are cut
], ids=["walk_bounded", "message_bounded"])
def test_item19_many_tiny_groups_give_a_short_line(files, tmp_path, capsys, monkeypatch, n_groups, ending):
    monkeypatch.setenv("NBENCH_DATA_DIR", str(files["data"]))
    many = tmp_path / "many.h5"
    with h5py.File(many, "w") as h5:
        for i in range(n_groups):
            h5.create_group(f"g{i:06d}")
    code, err = score([str(many), "--task", "lorenz", "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and len(err) == 1 and len(err[0]) < 300 and err[0].startswith(f"error: {many}: ")
    assert err[0].endswith(ending), err[0]


@pytest.mark.parametrize("userblock", [512, 1024, 4096])
def test_item20_files_with_a_user_block_are_read(files, tmp_path, capsys, monkeypatch, userblock):
    monkeypatch.setenv("NBENCH_DATA_DIR", str(files["data"]))
    sub = copy_with(files["submission"], tmp_path / "ub.h5", lambda h5: None, userblock_size=userblock)
    targets = copy_with(files["targets"], tmp_path / "ubt.h5", lambda h5: None, userblock_size=userblock)
    assert sub.read_bytes()[:8] != b"\x89HDF\r\n\x1a\n"  # the signature is after the user block
    code, err = score([str(sub), "--targets", str(targets), "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    assert set(read_targets(targets)) == {"lorenz"}


def _datatype(h5: h5py.File) -> None:
    del h5["lorenz/eval_rates_heldout"]
    h5["lorenz/eval_rates_heldout"] = np.dtype("f8")  # a committed (named) datatype


def _cycle(h5: h5py.File) -> None:
    h5["lorenz/loop"] = h5["lorenz"]  # a hard link back to its own group


def _null(h5: h5py.File) -> None:
    del h5["lorenz/eval_rates_heldout"]
    h5["lorenz"].create_dataset("eval_rates_heldout", data=h5py.Empty("f4"))


@pytest.mark.parametrize("edit, message", [
    (_datatype, "group 'lorenz' key 'eval_rates_heldout': expected a dataset, got a committed datatype"),
    (_cycle, "key 'lorenz' is one of 2 hard links to the same group (hard-link cycles and shared groups are "
             "refused)"),
    (_null, "group 'lorenz' key 'eval_rates_heldout': expected a dataset, got a dataset with a null dataspace"),
], ids=["committed_datatype", "hard_link_cycle", "null_dataspace"])
def test_item21_odd_objects_are_named_for_what_they_are(files, tmp_path, capsys, monkeypatch, edit, message):
    monkeypatch.setenv("NBENCH_DATA_DIR", str(files["data"]))
    bad = copy_with(files["submission"], tmp_path / "bad.h5", edit)
    code, err = score([str(bad), "--task", "lorenz", "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and len(err) == 1 and message in err[0], err


@pytest.mark.parametrize("edit, message", [
    (lambda h5: h5["lorenz"].__setitem__("psth", np.dtype("f8")), "key 'psth' expected a dataset, got a committed "
                                                                  "datatype"),
    (lambda h5: h5["lorenz"].__setitem__("loop", h5["/"]), "key 'lorenz/loop' is one of 2 hard links"),
    (lambda h5: h5["lorenz"].create_dataset("psth", data=h5py.Empty("f8")), "key 'psth' expected a dataset, got a "
                                                                            "dataset with a null dataspace"),
], ids=["committed_datatype", "hard_link_cycle", "null_dataspace"])
def test_item21_target_files_too(files, tmp_path, edit, message):
    bad = copy_with(files["targets"], tmp_path / "bad_targets.h5", edit)
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_targets(bad)


def test_item22_target_file_skips_groups_without_targets_with_a_warning(files, tmp_path, capsys):
    two = copy_with(files["submission"], tmp_path / "two.h5", lambda h5: h5.copy("lorenz", "lorenz_extra"))
    code, err = score([str(two), "--targets", str(files["targets"]), "--out", str(tmp_path / "out")], capsys)
    assert code == 0 and err == [f"warning: {two}: no targets for submission group 'lorenz_extra'; skipped "
                                 "(scored: 'lorenz')"]
    assert len(list((tmp_path / "out").rglob("*.json"))) == 1
    only_extra = copy_with(files["submission"], tmp_path / "extra.h5", lambda h5: h5.move("lorenz", "other"))
    code, err = score([str(only_extra), "--targets", str(files["targets"]), "--out", str(tmp_path / "o2")], capsys)
    assert code == 2 and err == [f"error: {files['targets']}: no submission group matches the targets "
                                 "(submission: 'other'; targets: 'lorenz')"]
