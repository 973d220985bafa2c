"""Install size and time: nbench's scoring core without extras against the full install, in fresh venvs.

Variants (each in its own fresh virtual environment, interleaved, ``--runs`` times):

- ``light``: ``pip install <checkout>`` (no extras), then the light-install check: ``nbench run`` of the smoothing
  baseline on lorenz saving its predictions, ``nbench score`` of that file, and ``import torch`` failing;
- ``plots``: ``pip install "<checkout>[plots]"``: the core and matplotlib (what ``nbench report`` adds);
- ``all``: ``pip install torch==2.13.0`` then ``pip install "<checkout>[all]"`` (everything but test tools);
- ``before``: the same two commands on ``--before`` (a git ref, default ``main``), whose plain install pulled
  torch, dandi, elephant and matplotlib.

Prints wall time of the pip commands, size of the environment's ``site-packages`` and number of installed
distributions; the pip cache is whatever the machine has (say whether it was warm). Usage::

    python benchmark/bench_install.py [--runs 1] [--before main]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
TORCH = "torch==2.13.0"


def sh(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def site_packages_bytes(venv: Path) -> int:
    [site] = list(venv.glob("lib/python*/site-packages"))
    return sum(p.stat().st_size for p in site.rglob("*") if p.is_file() and not p.is_symlink())


def install(variant: str, source: Path, work: Path) -> dict[str, object]:
    venv = work / f"venv-{variant}"
    sh([sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    started = time.perf_counter()
    if variant in ("all", "before"):
        sh([*pip, TORCH])
    sh([*pip, f"{source}[{variant}]" if variant in ("all", "plots") else str(source)])
    seconds = time.perf_counter() - started
    dists = sh([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"]).count("\n")
    row: dict[str, object] = {"variant": variant, "seconds": seconds, "bytes": site_packages_bytes(venv),
                              "dists": dists, "check": ""}
    if variant == "light":
        row["check"] = light_check(venv, work)
    shutil.rmtree(venv)
    return row


def light_check(venv: Path, work: Path) -> str:
    """Score a lorenz submission with the light install; torch must be absent."""
    env = {**os.environ, "NBENCH_DATA_DIR": str(work / "data")}
    nbench = str(venv / "bin" / "nbench")
    sh([nbench, "run", "-t", "lorenz", "-m", "smoothing", "--save-submission", "sub.h5", "--out", "runs"], work, env)
    out = sh([nbench, "score", "sub.h5", "--task", "lorenz", "--out", "scores", "--json"], work, env)
    torch = subprocess.run([str(venv / "bin" / "python"), "-c", "import torch"], capture_output=True)
    co = out[out.index('"co-bps"'):].split('"value": ')[1].split(",")[0]
    return f"score ok (co-bps {float(co):.4f}); import torch {'fails' if torch.returncode else 'WORKS'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--before", default="main", help="git ref of the install to compare with")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory(prefix="nbench-install-") as tmp:
        work = Path(tmp)
        before = work / "before"
        before.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive.stdout, check=True)
        rows = []
        for _ in range(args.runs):
            for variant, source in (("light", ROOT), ("plots", ROOT), ("all", ROOT), ("before", before)):
                rows.append(install(variant, source, work))
                console.print(f"{variant}: {rows[-1]['seconds']:.0f} s", highlight=False)
    table = Table(title=f"pip install in a fresh venv (load average {os.getloadavg()[0]:.1f}; "
                        f"before = {args.before})", title_justify="left")
    for column in ("variant", "pip wall time", "site-packages", "distributions", "light-install check"):
        table.add_column(column, justify="left" if column in ("variant", "light-install check") else "right")
    for row in rows:
        table.add_row(str(row["variant"]), f"{row['seconds']:.0f} s", f"{int(row['bytes']) / 1e6:.0f} MB",
                      str(row["dists"]), str(row["check"]))
    console.print(table)


if __name__ == "__main__":
    main()
