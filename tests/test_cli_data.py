"""``nbench data``: exit codes, one-line errors, and the commands end to end (local fake DANDI archive)."""

from __future__ import annotations

import hashlib

import h5py
import numpy as np
import pytest
from fake_dandi import FakeDandi, Fault, make_nwb_bytes

from nbench.cli import main
from nbench.data import dandi_fetch, download
from nbench.data.dandisets import NLB_DANDISETS, PinnedFile, nlb_files
from nbench.metrics.poisson import bits_per_spike
from nbench.results import load_records

SMALL = NLB_DANDISETS["mc_maze_small"]


def nbench(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DANDI_NO_ET", "1")
    monkeypatch.setattr(download, "RETRY_WAIT_S", 0.0)
    server = FakeDandi().start()
    monkeypatch.setenv("DANDI_INSTANCE", server.api_url)  # the dandi client's own setting
    yield server
    server.stop()


@pytest.fixture(scope="module")
def small_nwb() -> dict[str, bytes]:
    return {"train": make_nwb_bytes("Jenkins", "small", n_spikes=5000), "test": make_nwb_bytes("Jenkins", "small")}


def publish(fake: FakeDandi, nwb: dict[str, bytes]) -> dict[str, str]:
    return {role: fake.add_asset(SMALL.dandiset_id, SMALL.version, path, nwb[role])
            for role, path in (("train", SMALL.train_path), ("test", SMALL.test_path))}


def test_fetch_then_list_then_path(fake, small_nwb, tmp_path, capsys):
    publish(fake, small_nwb)
    code, out, err = nbench(capsys, "data", "fetch", "mc_maze_small", "--data-dir", str(tmp_path))
    assert code == 0, err
    assert "mc_maze_small: DANDI 000140/0.220113.0408, 2 files verified" in err
    assert nlb_files("mc_maze_small", tmp_path)["test"].read_bytes() == small_nwb["test"]
    code, out, _ = nbench(capsys, "data", "list", "--data-dir", str(tmp_path))
    assert code == 0
    row = next(line for line in out.splitlines() if "mc_maze_small" in line)
    assert "verified" in row and "000140" in row
    assert "missing" in next(line for line in out.splitlines() if line.startswith("│ mc_rtt"))
    code, out, _ = nbench(capsys, "data", "path", "mc_maze_small", "--data-dir", str(tmp_path))
    assert out.strip() == str(tmp_path / "dandi" / "000140" / "0.220113.0408")


def test_interrupted_fetch_exits_2_with_one_line_and_resumes(fake, small_nwb, tmp_path, capsys):
    blobs = publish(fake, small_nwb)
    fake.faults[blobs["train"]] = Fault(close_after=download.NET_CHUNK + 10, times=download.ATTEMPTS)
    code, _, err = nbench(capsys, "data", "fetch", "mc_maze_small", "--data-dir", str(tmp_path))
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "download interrupted at" in lines[0] and "Traceback" not in err
    dest = nlb_files("mc_maze_small", tmp_path)["train"]
    assert not dest.exists() and download.part_path(dest).stat().st_size > 0
    _, out, _ = nbench(capsys, "data", "list", "--data-dir", str(tmp_path))
    assert "train partial" in out  # "train partial NN%, test missing" (the train file failed first)
    code, _, err = nbench(capsys, "data", "fetch", "mc_maze_small", "--data-dir", str(tmp_path))
    assert code == 0, err
    assert dest.read_bytes() == small_nwb["train"]


def test_fetch_test_targets_via_cli(fake, tmp_path, capsys, monkeypatch):
    content = b"\x89HDF\r\n\x1a\n" + b"t" * 10_000
    url = fake.add_raw("eval_data_test.h5", content)
    monkeypatch.setattr(dandi_fetch, "NLB_TEST_TARGETS", PinnedFile(
        "eval_data_test.h5", url, len(content), hashlib.sha256(content).hexdigest(), "nlb/eval_data_test.h5"))
    code, _, err = nbench(capsys, "data", "fetch", "--test-targets", "--data-dir", str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "nlb" / "eval_data_test.h5").read_bytes() == content


@pytest.mark.parametrize("args, message", [
    (("data", "fetch", "mc_mazee"), "error: unknown NLB dataset 'mc_mazee'; did you mean 'mc_maze'"),
    (("data", "fetch"), "name at least one dataset"),
    (("data", "path", "nope"), "error: unknown dataset 'nope' (known: mc_maze,"),
    (("data", "import", "/no/such/file.h5", "--name", "x"), "error: /no/such/file.h5: nlb_tools tensor file not found"),
    (("data", "import", "x.h5"), "Missing option '--name'"),
])
def test_usage_and_user_errors_exit_2_with_one_line(capsys, tmp_path, args, message):
    code, _, err = nbench(capsys, *args, *(("--data-dir", str(tmp_path)) if args[1] != "fetch" else ()))
    assert code == 2
    assert message in err and "Traceback" not in err


def test_fetch_of_other_dataset_file_exits_2(fake, tmp_path, capsys):
    publish(fake, {"train": make_nwb_bytes("Han", "20171207"), "test": make_nwb_bytes("Jenkins", "small")})
    code, _, err = nbench(capsys, "data", "fetch", "mc_maze_small", "--data-dir", str(tmp_path))
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err
    assert errors[0].startswith("error: DANDI 000140/0.220113.0408 sub-Jenkins/sub-Jenkins_ses-small_desc-train")
    assert "NWB file of another dataset (subject 'Han', session '20171207'" in errors[0]
    assert not list((tmp_path / "dandi").rglob("*.nwb*"))


def test_import_run_and_score(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    src = tmp_path / "tensors_20ms.h5"
    with h5py.File(src, "w") as h5:
        for key, shape in (("train_spikes_heldin", (8, 10, 4)), ("train_spikes_heldout", (8, 10, 2)),
                           ("eval_spikes_heldin", (3, 10, 4)), ("eval_spikes_heldout", (3, 10, 2))):
            h5[key] = rng.poisson(1.0, shape).astype(np.float32)
    data_dir = tmp_path / "data"
    code, out, err = nbench(capsys, "data", "import", str(src), "--name", "tiny", "--data-dir", str(data_dir))
    assert code == 0, err
    assert "as 'tiny': 8 train / 3 eval trials, 10 bins of 20 ms, 4 held-in / 2 held-out neurons" in out
    code, _, err = nbench(capsys, "data", "import", str(src), "--name", "tiny", "--data-dir", str(data_dir))
    assert code == 2 and "already exists" in err
    _, out, _ = nbench(capsys, "data", "list", "--data-dir", str(data_dir))
    assert "tiny" in out and "imported" in out
    monkeypatch.setenv("NBENCH_DATA_DIR", str(data_dir))  # `list tasks` uses the default data directory
    _, out, _ = nbench(capsys, "list", "tasks")
    assert "tiny" in out
    sub = tmp_path / "sub.h5"
    code, out, err = nbench(capsys, "run", "--task", "tiny", "--model", "mean_rate", "--out", str(tmp_path / "run"),
                            "--save-submission", str(sub))
    assert code == 0, err
    code, out, err = nbench(capsys, "score", str(sub), "--task", "tiny", "--out", str(tmp_path / "score"))
    assert code == 0, err
    (run_record,), (score_record,) = load_records(tmp_path / "run"), load_records(tmp_path / "score")
    # Both score each held-out neuron's training mean on the imported eval spikes, computed here from the file.
    with h5py.File(src) as h5:
        truth = h5["eval_spikes_heldout"][()]
        expected = bits_per_spike(np.broadcast_to(h5["train_spikes_heldout"][()].mean(axis=(0, 1)), truth.shape),
                                  truth)
    assert run_record.metrics["co-bps"].value == pytest.approx(expected, rel=1e-6)
    assert score_record.metrics == run_record.metrics
    assert f"{expected:.4f}" in out
