"""A corpus of bad inputs to `nbench score`: each must give exit code 2, one `error:` line naming the problem,
no traceback, and no partial output files."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from nbench.cli import main
from nbench.runner import RunSpec, run
from nbench.submission import write_submission


@pytest.fixture(scope="module")
def good_submission(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid lorenz submission (mean-rate predictions, with forward rates)."""
    path = tmp_path_factory.mktemp("sub") / "good.h5"
    write_submission(path, run(RunSpec.create("lorenz", "mean_rate")).submission)
    return path


def _copy_with(good: Path, dest: Path, edit: Callable[[h5py.File], None]) -> Path:
    dest.write_bytes(good.read_bytes())
    with h5py.File(dest, "r+") as h5:
        edit(h5)
    return dest


def _replace(key: str, value: np.ndarray | None = None, **kwargs: object) -> Callable[[h5py.File], None]:
    def edit(h5: h5py.File) -> None:
        del h5["lorenz"][key]
        if value is not None or kwargs:
            h5["lorenz"].create_dataset(key, data=value, **kwargs)
    return edit


def _scaled(key: str, change: Callable[[np.ndarray], np.ndarray]) -> Callable[[h5py.File], None]:
    def edit(h5: h5py.File) -> None:
        data = change(h5["lorenz"][key][()].copy())
        del h5["lorenz"][key]
        h5["lorenz"].create_dataset(key, data=data)
    return edit


def _set_first(key: str, value: float) -> Callable[[np.ndarray], np.ndarray]:
    def change(arr: np.ndarray) -> np.ndarray:
        arr[0, 0, 0] = value
        return arr
    return change


EVAL_OUT = "eval_rates_heldout"
# (case id, how to edit a copy of the good file, text the error line must contain)
H5_CASES: list[tuple[str, Callable[[h5py.File], None], str]] = [
    ("missing_eval_heldout", _replace(EVAL_OUT), "missing key 'eval_rates_heldout'"),
    ("missing_eval_heldin", _replace("eval_rates_heldin"), "missing key 'eval_rates_heldin'"),
    ("unknown_key", lambda h5: h5["lorenz"].create_dataset("eval_rates_extra", data=np.zeros(3)),
     "unexpected key 'eval_rates_extra'"),
    ("key_is_group", lambda h5: (h5["lorenz"].__delitem__(EVAL_OUT), h5["lorenz"].create_group(EVAL_OUT)),
     "expected a dataset, got a group"),
    ("wrong_trials", _scaled(EVAL_OUT, lambda a: a[:-1]), "expected shape (312, 50, 6), got (311, 50, 6)"),
    ("wrong_bins", _scaled(EVAL_OUT, lambda a: a[:, :-2]), "expected shape (312, 50, 6), got (312, 48, 6)"),
    ("wrong_neurons", _scaled(EVAL_OUT, lambda a: a[..., :-1]), "expected shape (312, 50, 6), got (312, 50, 5)"),
    ("wrong_ndim", _scaled(EVAL_OUT, lambda a: a.reshape(312, -1)), "expected shape (312, 50, 6), got (312, 300)"),
    ("scalar", _replace(EVAL_OUT, np.float32(1.0)), "expected shape (312, 50, 6), got ()"),
    ("string_dtype", _replace(EVAL_OUT, np.array([b"abc"] * 4)), "expected a float array, got dtype"),
    ("bool_dtype", _replace(EVAL_OUT, np.ones((312, 50, 6), dtype=bool)), "expected a float array, got dtype bool"),
    ("complex_dtype", _replace(EVAL_OUT, np.ones((312, 50, 6), dtype=np.complex64)),
     "expected a float array, got dtype complex64"),
    ("compound_dtype", _replace(EVAL_OUT, np.zeros((312, 50, 6), dtype=[("a", "f4"), ("b", "f4")])),
     "compound dtype"),
    ("nan_rate", _scaled(EVAL_OUT, _set_first(EVAL_OUT, np.nan)), "got 1 NaN (first at (0, 0, 0))"),
    ("inf_rate", _scaled("eval_rates_heldin", _set_first("eval_rates_heldin", np.inf)), "got 1 infinite"),
    ("negative_rate", _scaled(EVAL_OUT, _set_first(EVAL_OUT, -0.5)),
     "expected finite rates >= 0, got 1 negative (first -0.5 at (0, 0, 0))"),
    ("nan_forward", _scaled("eval_rates_heldin_forward", _set_first("eval_rates_heldin_forward", np.nan)),
     "key 'eval_rates_heldin_forward': expected finite rates"),
    ("negative_train", _scaled("train_rates_heldin", _set_first("train_rates_heldin", -1.0)),
     "key 'train_rates_heldin': expected finite rates >= 0"),
    ("one_forward_key", _replace("eval_rates_heldout_forward"), "forward rates come in pairs"),
    ("forward_wrong_bins", _scaled("eval_rates_heldin_forward", lambda a: a[:, :5]),
     "expected shape (312, 10, 23), got (312, 5, 23)"),
    ("train_trials_mismatch", _scaled("train_rates_heldout", lambda a: a[:-3]),
     "expected shape (1248, 50, 6), got (1245, 50, 6)"),
    ("train_neurons_mismatch", _scaled("train_rates_heldin", lambda a: a[..., :-1]),
     "expected shape (1248, 50, 23), got (1248, 50, 22)"),
    ("external_link", lambda h5: (h5["lorenz"].__delitem__(EVAL_OUT),
                                  h5["lorenz"].__setitem__(EVAL_OUT, h5py.ExternalLink("/etc/passwd.h5", "/x"))),
     "is an HDF5 link"),
    ("soft_link", lambda h5: (h5["lorenz"].__delitem__(EVAL_OUT),
                              h5["lorenz"].__setitem__(EVAL_OUT, h5py.SoftLink("/lorenz/eval_rates_heldin"))),
     "is an HDF5 link"),
    ("absurd_size", _replace(EVAL_OUT, shape=(10**6, 10**6, 100), dtype="f4", chunks=(1, 1, 100)),
     "absurdly large"),
    ("root_dataset", lambda h5: h5.create_dataset("eval_rates_heldout", data=np.zeros(3)),
     "top-level key 'eval_rates_heldout' is a dataset"),
    ("unknown_group", lambda h5: h5.create_group("lorenzo"), "group 'lorenzo' is not a task name"),
]


@pytest.mark.parametrize("case,edit,message", H5_CASES, ids=[c[0] for c in H5_CASES])
def test_bad_submission_content(case: str, edit: Callable, message: str, good_submission: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    bad = _copy_with(good_submission, tmp_path / f"{case}.h5", edit)
    _expect_error(["score", str(bad), "--out", str(tmp_path / "out")], message, capsys)
    assert not (tmp_path / "out").exists(), "no record may be written for a rejected submission"


def _write_bytes(name: str, data: bytes) -> Callable[[Path, Path], Path]:
    def make(tmp: Path, good: Path) -> Path:
        path = tmp / name
        path.write_bytes(data)
        return path
    return make


def _truncated(tmp: Path, good: Path) -> Path:
    path = tmp / "truncated.h5"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return path


def _corrupted(tmp: Path, good: Path) -> Path:
    data = bytearray(good.read_bytes())
    data[8:2048] = np.random.default_rng(0).integers(0, 256, 2040, dtype=np.uint8).tobytes()
    path = tmp / "corrupted.h5"
    path.write_bytes(bytes(data))
    return path


def _empty_hdf5(tmp: Path, good: Path) -> Path:
    path = tmp / "empty.h5"
    h5py.File(path, "w").close()
    return path


FILE_CASES: list[tuple[str, Callable[[Path, Path], Path], str]] = [
    ("missing_file", lambda tmp, good: tmp / "nope.h5", "submission file not found"),
    ("directory", lambda tmp, good: tmp, "got a directory"),
    ("zero_bytes", _write_bytes("zero.h5", b""), "not an HDF5 file"),
    ("text_file", _write_bytes("notes.h5", b"rate,neuron\n0.1,1\n"), "not an HDF5 file"),
    ("truncated", _truncated, "unreadable HDF5 file"),
    ("corrupted", _corrupted, "unreadable HDF5 file"),
    ("no_groups", _empty_hdf5, "no groups"),
]


@pytest.mark.parametrize("case,make,message", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_submission_file(case: str, make: Callable, message: str, good_submission: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    bad = make(tmp_path, good_submission)
    _expect_error(["score", str(bad), "--out", str(tmp_path / "out")], message, capsys)


def test_groups_without_targets_are_skipped_with_a_warning(good_submission: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """As docs/scoring.md says and nlb_tools does: a group without targets is skipped with one warning line;
    the other groups are scored (exit 0)."""
    two = tmp_path / "two.h5"
    two.write_bytes(good_submission.read_bytes())
    with h5py.File(two, "r+") as h5:
        h5.copy("lorenz", "extra_group")
    with pytest.raises(SystemExit) as exc:
        main(["score", str(two), "--task", "lorenz", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 0
    assert err == [f"warning: {two}: no targets for submission group 'extra_group'; skipped (scored: 'lorenz')"]
    assert len(list((tmp_path / "out").rglob("*.json"))) == 1


def test_bad_options(good_submission: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ["--out", str(tmp_path / "out")]
    cases = [
        (["score", str(good_submission), "--task", "lorenzz", *out], "did you mean 'lorenz'"),
        (["score", str(good_submission), "--task", "chaotic_rnn", *out], "missing group 'chaotic_rnn'"),
        (["score", str(good_submission), "--task", "lorenz", "--targets", "x.h5", *out],
         "a target file applies to NLB tasks only"),
        (["score", str(good_submission), "--phase", "train", *out], "'train' is not one of"),
            ]
    for argv, message in cases:
        _expect_error(argv, message, capsys)


def _expect_error(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2, err
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert message in err[0], err[0]


def test_no_traceback_in_a_real_process(good_submission: Path, tmp_path: Path) -> None:
    """End to end through the console script: one line on stderr, exit code 2."""
    bad = tmp_path / "bad.h5"
    bad.write_bytes(good_submission.read_bytes()[:1000])
    proc = subprocess.run([sys.executable, "-c", "from nbench.cli import main; main()", "score", str(bad)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error: ")
