"""Screenshot a built leaderboard page for the docs (headless Debian Chromium via Playwright).

Usage, from the repository root::

    nbench leaderboard build --out site
    python leaderboard/screenshot.py site/index.html docs/img/leaderboard.png --tab lorenz-20-ms
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nbench.errors import NbenchError
from nbench.leaderboard.browser import chromium_page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="the built index.html")
    parser.add_argument("png", type=Path, help="where to write the screenshot")
    parser.add_argument("--tab", default=None, help="id of the tab to show, e.g. lorenz-20-ms")
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=820)
    parser.add_argument("--open-provenance", action="store_true", help="expand the first row's provenance")
    args = parser.parse_args(argv)
    if not args.page.is_file():
        raise NbenchError(f"{args.page}: page not found (run nbench leaderboard build first)")
    with chromium_page(args.width, args.height) as page:
        page.goto(args.page.resolve().as_uri())
        if args.tab:
            page.click(f"#tab-{args.tab}")
        if args.open_provenance:
            page.locator(".panel:not([hidden]) details").first.evaluate("d => d.open = true")
        args.png.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.png))
    _shrink(args.png)
    print(f"{args.png}: {args.png.stat().st_size // 1024} KB")
    return 0


def _shrink(png: Path) -> None:
    """Re-save as a 256-colour palette PNG (a page is mostly flat colour: about a third of the size)."""
    from PIL import Image  # a matplotlib dependency

    with Image.open(png) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(png, optimize=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except NbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
