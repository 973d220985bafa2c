"""Download and verification speed of ``nbench data fetch`` against the dandi client, on a local server.

Serves one asset of SIZE MB from memory through the local DANDI stand-in used by the tests and compares, in
one run (medians of REPEATS):

* nbench: resumable ``.part`` download with the sha256 computed while streaming, fsync, atomic rename;
* the dandi client's ``RemoteAsset.download`` followed by a separate sha256 pass (download + verify);
* the dandi client's ``RemoteAsset.download`` alone (no verification; the lower bound);
* re-checking a file already on disk: nbench's sidecar (stat only) against hashing it again.

Usage: ``python benchmark/bench_download.py [SIZE_MB] [REPEATS]`` (defaults 256 and 5).
"""

from __future__ import annotations

import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]
os.environ.setdefault("DANDI_NO_ET", "1")

from fake_dandi import FakeDandi, make_nwb_bytes  # noqa: E402

from nbench.data import dandi_fetch, download  # noqa: E402
from nbench.data.dandisets import NLB_DANDISETS, nlb_files  # noqa: E402


def median_times(fns: dict[str, object], repeats: int) -> dict[str, float]:
    """Median wall time of each function; the functions take turns so that background load hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()  # type: ignore[operator]
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main(size_mb: int = 256, repeats: int = 5) -> None:
    from dandi.dandiapi import DandiAPIClient

    spec = NLB_DANDISETS["mc_maze_small"]
    header = make_nwb_bytes("Jenkins", "small")  # a valid NWB head passes the identity check; the rest is padding
    content = header + os.urandom((size_mb << 20) - len(header))
    fake = FakeDandi().start()
    fake.add_asset(spec.dandiset_id, spec.version, spec.test_path, content)
    fake.add_asset(spec.dandiset_id, spec.version, spec.train_path, b"unused")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dest = nlb_files("mc_maze_small", root)["test"]

        def nbench_fetch() -> None:
            dandi_fetch.fetch("mc_maze_small", root, api_url=fake.api_url, force=True, files=("test",))

        client = DandiAPIClient(api_url=fake.api_url)
        asset = client.get_dandiset(spec.dandiset_id, spec.version).get_asset_by_path(spec.test_path)
        plain = root / "plain.bin"

        def dandi_download() -> None:
            asset.download(plain)

        def dandi_download_verify() -> None:
            asset.download(plain)
            assert download.file_digest(plain) == hashlib.sha256(content).hexdigest()

        rows = list(median_times({
            "nbench fetch (stream sha256, .part, rename)": nbench_fetch,
            "dandi RemoteAsset.download + sha256 pass": dandi_download_verify,
            "dandi RemoteAsset.download (no verification)": dandi_download}, repeats).items())
        remote = dandi_fetch.resolve(spec, fake.api_url)[1]
        checks = median_times({"sidecar": lambda: download.is_verified(dest, remote),
                               "rehash": lambda: download.file_digest(dest)}, repeats)
        sidecar, rehash = checks["sidecar"], checks["rehash"]
    fake.stop()

    anchor = rows[1][1]
    print(f"download of {size_mb} MiB from 127.0.0.1, median of {repeats} runs")
    print(f"{'method':48s} {'seconds':>8s} {'MiB/s':>8s} {'vs dandi+verify':>16s}")
    for name, seconds in rows:
        print(f"{name:48s} {seconds:8.3f} {size_mb / seconds:8.0f} {seconds / anchor:15.2f}x")
    print(f"\nre-check of a {size_mb} MiB file already on disk")
    print(f"{'sidecar (size + mtime)':48s} {sidecar * 1e3:8.3f} ms")
    print(f"{'sha256 of the whole file':48s} {rehash * 1e3:8.1f} ms  ({rehash / sidecar:,.0f}x the sidecar)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
