"""DANDI fetch: resolution through the dandi client, resumable verified downloads, cache checks.

Offline tests run the real code against a local fake of the DANDI API (tests/fake_dandi.py); the test marked
``network`` downloads the real 000140 test asset from DANDI.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from pathlib import Path

import pytest
from fake_dandi import FakeDandi, Fault, make_nwb_bytes

from nbench.data import dandi_fetch, download
from nbench.data.dandisets import NLB_DANDISETS, PinnedFile, dandiset_dir, nlb_files, nlb_targets_path
from nbench.errors import DataError, NbenchError, UnknownNameError

SMALL = NLB_DANDISETS["mc_maze_small"]


@pytest.fixture(scope="module")
def nwb() -> dict[str, bytes]:
    """Generated NWB files: the right recording for mc_maze_small (train ~1 MB, test) and one of another
    dataset."""
    return {"train": make_nwb_bytes("Jenkins", "small", n_spikes=40_000),
            "test": make_nwb_bytes("Jenkins", "small"), "other": make_nwb_bytes("Jenkins", "large")}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DANDI_NO_ET", "1")  # the dandi client's version check would go online
    monkeypatch.setattr(download, "RETRY_WAIT_S", 0.0)
    server = FakeDandi().start()
    yield server
    server.stop()


def publish(fake: FakeDandi, train: bytes, test: bytes, **kw: str) -> dict[str, str]:
    """Publish the two mc_maze_small assets; return their blob ids by role."""
    return {"train": fake.add_asset(SMALL.dandiset_id, SMALL.version, SMALL.train_path, train, **kw),
            "test": fake.add_asset(SMALL.dandiset_id, SMALL.version, SMALL.test_path, test)}


def assert_no_final(tmp_path: Path, role: str = "train") -> None:
    dest = nlb_files("mc_maze_small", tmp_path)[role]
    assert not dest.exists()
    assert not download.sidecar_path(dest).exists()


def test_fetch_downloads_verifies_and_caches(fake, nwb, tmp_path):
    publish(fake, nwb["train"], nwb["test"])
    paths = dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url)
    files = nlb_files("mc_maze_small", tmp_path)
    assert paths == [files["train"], files["test"]]
    assert files["train"].read_bytes() == nwb["train"] and files["test"].read_bytes() == nwb["test"]
    assert files["train"].parent == tmp_path / "dandi" / "000140" / "0.220113.0408" / "sub-Jenkins"
    assert not list(tmp_path.rglob("*.part"))
    side = json.loads(download.sidecar_path(files["test"]).read_text())
    assert side["digest"] == hashlib.sha256(nwb["test"]).hexdigest()
    assert side["source"]["dandiset"] == "000140"
    states = dandi_fetch.dataset_state("mc_maze_small", tmp_path)
    assert {role: s.state for role, s in states.items()} == {"train": "verified", "test": "verified"}
    n_blob = len(fake.blob_requests())
    dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url)  # already there: no download
    assert len(fake.blob_requests()) == n_blob == 2


def test_connection_drop_is_resumed_with_range(fake, nwb, tmp_path):
    blobs = publish(fake, nwb["train"], nwb["test"])
    fake.faults[blobs["train"]] = Fault(close_after=70_000, times=2)
    dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url, files=("train",))
    assert nlb_files("mc_maze_small", tmp_path)["train"].read_bytes() == nwb["train"]
    first, *resumed = fake.blob_requests()
    offsets = [int(r.removeprefix("bytes=").rstrip("-")) for r in resumed]
    assert first is None and len(offsets) == 2 and 0 < offsets[0] < offsets[1] < len(nwb["train"])


def test_interrupted_download_keeps_only_part_and_resumes_next_run(fake, nwb, tmp_path):
    blobs = publish(fake, nwb["train"], nwb["test"])
    fake.faults[blobs["train"]] = Fault(close_after=download.NET_CHUNK, times=download.ATTEMPTS)
    with pytest.raises(DataError, match=r"interrupted at [\d,]+ of [\d,]+ bytes .*run the same command"):
        dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url, files=("train",))
    dest = nlb_files("mc_maze_small", tmp_path)["train"]
    assert_no_final(tmp_path)
    done = download.part_path(dest).read_bytes()
    assert 0 < len(done) < len(nwb["train"]) and done == nwb["train"][:len(done)]
    assert dandi_fetch.dataset_state("mc_maze_small", tmp_path)["train"].state == "partial"
    dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url, files=("train",))
    assert fake.blob_requests()[-1] == f"bytes={len(done)}-"
    assert dest.read_bytes() == nwb["train"] and not download.part_path(dest).exists()


def test_checksum_mismatch_leaves_nothing(fake, nwb, tmp_path):
    publish(fake, nwb["train"], nwb["test"], sha256="0" * 64)
    with pytest.raises(DataError, match=r"sha256 mismatch \(expected 0{64}, got [0-9a-f]{64}\)") as err:
        dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url)
    assert "\n" not in str(err.value)
    assert_no_final(tmp_path)
    assert not list(tmp_path.rglob("*.part"))


def test_size_mismatch_leaves_nothing(fake, nwb, tmp_path):
    blobs = publish(fake, nwb["train"], nwb["test"])
    fake.faults[blobs["train"]] = Fault(extra_bytes=10)
    with pytest.raises(DataError, match="size mismatch"):
        dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url)
    assert_no_final(tmp_path)
    assert not list(tmp_path.rglob("*.part"))


def test_server_ignoring_range_restarts_from_zero(fake, nwb, tmp_path):
    blobs = publish(fake, nwb["train"], nwb["test"])
    dest = nlb_files("mc_maze_small", tmp_path)["train"]
    dest.parent.mkdir(parents=True)
    download.part_path(dest).write_bytes(b"x" * 1000)  # stale junk that a Range resume would keep
    fake.faults[blobs["train"]] = Fault(ignore_range=True)
    dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url, files=("train",))
    assert fake.blob_requests() == ["bytes=1000-"]
    assert dest.read_bytes() == nwb["train"]


def test_server_with_fewer_bytes_than_the_part_is_a_size_mismatch(fake, nwb, tmp_path):
    short = nwb["train"][:1000]
    fake.add_asset(SMALL.dandiset_id, SMALL.version, SMALL.train_path, short,
                   sha256=hashlib.sha256(nwb["train"]).hexdigest())
    fake.add_asset(SMALL.dandiset_id, SMALL.version, SMALL.test_path, nwb["test"])
    listed = fake.assets[(SMALL.dandiset_id, SMALL.version)][0]
    listed["size"] = listed["metadata"]["contentSize"] = len(nwb["train"])  # the metadata promises more
    dest = nlb_files("mc_maze_small", tmp_path)["train"]
    dest.parent.mkdir(parents=True)
    download.part_path(dest).write_bytes(nwb["train"][:5000])
    with pytest.raises(DataError, match=r"server cannot send bytes from 5,000 on \(HTTP 416.*size mismatch"):
        dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url, files=("train",))
    assert not download.part_path(dest).exists() and not dest.exists()


def test_file_of_another_dataset_is_refused(fake, nwb, tmp_path):
    publish(fake, nwb["other"], nwb["test"])
    with pytest.raises(DataError, match=r"^DANDI 000140/0.220113.0408 sub-Jenkins/\S+: NWB file of another dataset "
                                        r"\(subject 'Jenkins', session 'large'; expected subject 'Jenkins', "
                                        r"session 'small' of mc_maze_small.*the download was removed$"):
        dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url)
    assert_no_final(tmp_path)
    assert not list(tmp_path.rglob("*.part"))


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:], "sha256 differs from DANDI's"),
    (lambda b: b[: len(b) // 2], r"unreadable HDF5 file|bytes, expected"),
    (lambda b: b"hello, not an NWB file", "not an HDF5 file"),
])
def test_damaged_file_in_cache_is_one_line_and_force_repairs(fake, nwb, tmp_path, damage, message):
    publish(fake, nwb["train"], nwb["test"])
    dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url)
    dest = nlb_files("mc_maze_small", tmp_path)["test"]
    dest.write_bytes(damage(nwb["test"]))
    with pytest.raises(NbenchError, match=message) as err:
        dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url)
    assert "\n" not in str(err.value)
    assert dandi_fetch.dataset_state("mc_maze_small", tmp_path)["test"].state == "corrupt"
    dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url, force=True)
    assert dest.read_bytes() == nwb["test"]


def test_sidecar_is_revalidated_when_the_file_changes(fake, nwb, tmp_path, monkeypatch):
    publish(fake, nwb["train"], nwb["test"])
    dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url)
    hashed: list[Path] = []
    real = download.file_digest
    monkeypatch.setattr(download, "file_digest", lambda p, *a, **k: hashed.append(p) or real(p, *a, **k))
    assert [s.state for s in dandi_fetch.dataset_state("mc_maze_small", tmp_path).values()] == ["verified"] * 2
    assert hashed == []  # unchanged files: the sidecar answers
    dest = nlb_files("mc_maze_small", tmp_path)["test"]
    dest.write_bytes(nwb["test"])  # same bytes, new mtime: hashed again, still verified
    assert dandi_fetch.dataset_state("mc_maze_small", tmp_path)["test"].state == "verified"
    assert hashed == [dest]


def test_missing_asset_and_unknown_version(fake, nwb, tmp_path):
    fake.add_asset(SMALL.dandiset_id, SMALL.version, SMALL.train_path, nwb["train"])
    with pytest.raises(DataError, match=r"DANDI 000140/0.220113.0408: No asset at path "
                                        r"'sub-Jenkins/sub-Jenkins_ses-small_desc-test_ecephys.nwb'"):
        dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url)
    with pytest.raises(DataError, match=r"DANDI 000128/0.220113.0400: No such version"):
        dandi_fetch.fetch("mc_maze", tmp_path, api_url=fake.api_url)
    assert not (tmp_path / "dandi").exists() or not list((tmp_path / "dandi").rglob("*.nwb"))


def test_unreachable_archive_fails_at_once_with_one_line(fake, nwb, tmp_path):
    publish(fake, nwb["train"], nwb["test"])
    dandi_fetch.resolve(SMALL, fake.api_url)  # the client caches what it learnt about this archive
    fake.stop()
    with pytest.raises(DataError, match=r"^DANDI 000140/0.220113.0408: cannot reach the DANDI API at "
                                        r"http://127.0.0.1:\d+/api/info/ \(ConnectionError\)"):
        dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url)
    fake.start()  # for the fixture's teardown
    with pytest.raises(DataError, match=r"^DANDI 000140/0.220113.0408: Could not retrieve server info"):
        dandi_fetch.fetch("mc_maze_small", tmp_path, api_url="http://127.0.0.1:9/api")


def test_unknown_dataset_name():
    with pytest.raises(UnknownNameError, match="NLB dataset 'mc_maze_smal'; did you mean 'mc_maze_small"):
        dandi_fetch.fetch("mc_maze_smal")


def test_http_errors(fake, nwb, tmp_path):
    blobs = publish(fake, nwb["train"], nwb["test"])
    fake.faults[blobs["train"]] = Fault(status=503, times=1)  # transient: retried
    dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url, files=("train",))
    fake.faults[blobs["test"]] = Fault(status=403, times=1)  # permanent: one line
    with pytest.raises(DataError, match=r"test_ecephys.nwb: HTTP 403 Forbidden from 127.0.0.1"):
        dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url)


def test_dandi_etag_when_metadata_has_no_sha256(fake, nwb, tmp_path):
    fake.with_sha256 = False
    publish(fake, nwb["train"], nwb["test"])
    dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url)
    side = json.loads(download.sidecar_path(nlb_files("mc_maze_small", tmp_path)["train"]).read_text())
    assert side["algorithm"] == "dandi-etag" and side["digest"].endswith("-1")


class _InterruptAfter:
    """A progress object whose bar raises KeyboardInterrupt once ``limit`` bytes arrived (a Ctrl-C)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.seen = limit, 0

    def task(self, label: str, total: int, completed: int = 0):
        def advance(n: int) -> None:
            self.seen += n
            if self.seen >= self.limit:
                raise KeyboardInterrupt

        return advance


def test_ctrl_c_leaves_only_the_resumable_part(fake, nwb, tmp_path):
    publish(fake, nwb["train"], nwb["test"])
    big = nwb["train"] * 8  # several 1 MiB chunks
    fake.assets[(SMALL.dandiset_id, SMALL.version)].clear()
    publish(fake, big, nwb["test"])
    with pytest.raises(KeyboardInterrupt):
        dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url, progress=_InterruptAfter(1))
    dest = nlb_files("mc_maze_small", tmp_path)["train"]
    assert_no_final(tmp_path)
    done = download.part_path(dest).stat().st_size
    assert 0 < done < len(big)
    dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url)  # resumes where Ctrl-C stopped
    assert fake.blob_requests()[1] == f"bytes={done}-"
    assert dest.read_bytes() == big and not download.part_path(dest).exists()


def test_concurrent_download_of_same_file_is_refused(fake, nwb, tmp_path):
    publish(fake, nwb["train"], nwb["test"])
    dest = nlb_files("mc_maze_small", tmp_path)["train"]
    dest.parent.mkdir(parents=True)
    lock = download.part_path(dest).with_name(f".{download.part_path(dest).name}.lock")
    with open(lock, "ab") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(DataError, match="another process is downloading this file"):
            dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url)
    assert_no_final(tmp_path)


def test_test_targets_fetch_and_verify(fake, tmp_path, monkeypatch):
    content = b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 1200
    url = fake.add_raw("eval_data_test.h5", content)
    pinned = PinnedFile("eval_data_test.h5", url, len(content), hashlib.sha256(content).hexdigest(),
                        "nlb/eval_data_test.h5")
    monkeypatch.setattr(dandi_fetch, "NLB_TEST_TARGETS", pinned)
    fake.faults["raw/eval_data_test.h5"] = Fault(close_after=2 * download.NET_CHUNK + 100, times=1)
    path = dandi_fetch.fetch_test_targets(tmp_path)
    assert path == nlb_targets_path(tmp_path) and path.read_bytes() == content
    assert dandi_fetch.fetch_test_targets(tmp_path) == path  # verified from the sidecar, no request
    assert fake.blob_requests() == [None, f"bytes={2 * download.NET_CHUNK}-"]
    path.write_bytes(content[:-1] + b"?")
    with pytest.raises(DataError, match="differs from the pinned"):
        dandi_fetch.fetch_test_targets(tmp_path)


@pytest.mark.parametrize("fault, message", [
    (Fault(redirect="file:///etc/passwd", times=99), r"failed \(InvalidSchema: No connection adapters"),
    (Fault(redirect="gopher://127.0.0.1/x", times=99), r"failed \(InvalidSchema: No connection adapters"),
    (Fault(redirect="self", times=99), r"failed \(TooManyRedirects: Exceeded"),
    (Fault(content_length="abc", times=99), "sent an invalid Content-Length 'abc'"),
], ids=["file", "gopher", "loop", "content_length"])
def test_item17_hostile_server_answers_are_one_line(fake, nwb, tmp_path, fault, message):
    blobs = publish(fake, nwb["train"], nwb["test"])
    fake.faults[blobs["train"]] = fault
    with pytest.raises(DataError, match=message) as info:
        dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url, files=("train",))
    assert "\n" not in str(info.value) and str(info.value).startswith("sub-Jenkins/")
    assert_no_final(tmp_path)
    assert not download.part_path(nlb_files("mc_maze_small", tmp_path)["train"]).exists()


def test_item17_offline_test_targets_leave_no_empty_partial_file(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "RETRY_WAIT_S", 0.0)
    with pytest.raises(DataError, match=r"eval_data_test.h5: cannot download from 127.0.0.1:9 \(.*\); check the "
                                        "network and run the same command again$"):
        dandi_fetch.fetch_test_targets(tmp_path, url="http://127.0.0.1:9/eval_data_test.h5")
    dest = nlb_targets_path(tmp_path)
    assert not download.part_path(dest).exists()
    assert dandi_fetch.targets_state(tmp_path).state == "missing"


def test_manifest_of_another_dandiset_is_refused(tmp_path):
    base = dandiset_dir(SMALL, tmp_path)
    base.mkdir(parents=True)
    (base / dandi_fetch.MANIFEST).write_text(json.dumps({"dandiset": "000138", "version": SMALL.version}))
    with pytest.raises(DataError, match="manifest of DANDI 000138/0.220113.0408, expected 000140/0.220113"):
        dandi_fetch.dataset_state("mc_maze_small", tmp_path)


#: sha256 that DANDI publishes for the 000140 test asset (sub-Jenkins_ses-small_desc-test_ecephys.nwb).
REAL_TEST_SHA256 = "ca8a0bef5f189eafb9db1961d617e065cb461360718fde1c16a538922a6fa5fe"


@pytest.mark.parametrize("flip_byte", [None, 200_000])
def test_real_shared_test_file_against_dandis_published_sha256(fake, shared_data, nwb, tmp_path, flip_byte):
    """The fake archive publishes DANDI's real digest (not that of what it serves): the genuine 000140 test asset
    passes the identity check and the digest; the same file with one byte changed is refused, leaving nothing."""
    served = (shared_data / "nlb_mc_maze_small" / "sub-Jenkins_ses-small_desc-test_ecephys.nwb").read_bytes()
    if flip_byte is not None:
        served = served[:flip_byte] + bytes([served[flip_byte] ^ 1]) + served[flip_byte + 1:]
    fake.add_asset(SMALL.dandiset_id, SMALL.version, SMALL.train_path, nwb["train"])
    fake.add_asset(SMALL.dandiset_id, SMALL.version, SMALL.test_path, served, sha256=REAL_TEST_SHA256)
    dest = nlb_files("mc_maze_small", tmp_path)["test"]
    if flip_byte is None:
        dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url, files=("test",))
        assert download.file_digest(dest) == REAL_TEST_SHA256
        return
    with pytest.raises(DataError, match=rf"sha256 mismatch \(expected {REAL_TEST_SHA256}, got [0-9a-f]{{64}}\)"):
        dandi_fetch.fetch("mc_maze_small", tmp_path, api_url=fake.api_url, files=("test",))
    assert_no_final(tmp_path, "test")
    assert not list(tmp_path.rglob("*.part"))


@pytest.mark.network
def test_real_dandi_download_of_000140_test_asset(tmp_path):
    """Downloads the real 689 KB test asset of DANDI 000140 (needs internet)."""
    (path,) = dandi_fetch.fetch("mc_maze_small", tmp_path, files=("test",))
    assert path.stat().st_size == 689_312
    assert download.file_digest(path) == REAL_TEST_SHA256
    manifest = json.loads((dandiset_dir(SMALL, tmp_path) / dandi_fetch.MANIFEST).read_text())
    assert manifest["assets"][SMALL.test_path]["algorithm"] == "sha256"
