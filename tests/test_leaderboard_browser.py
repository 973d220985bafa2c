"""The built page in a real browser (headless Debian Chromium via Playwright): tabs, sorting, escaping.

Needs the ``playwright`` package and a ``chromium`` executable (``apt-get install -y chromium``; never
``playwright install``): skipped without them, a failure in CI (tests/conftest.py).
"""

from __future__ import annotations

import pytest
from test_leaderboard_site import HOSTILE, make_inputs

from nbench.leaderboard.site import build_site
from nbench.scoring.entries import score_entry_file


def names_in(page, table_id: str) -> list[str]:
    return page.locator(f"#{table_id} tbody td.model .name").all_text_contents()


@pytest.mark.usefixtures("chromium")
def test_page_in_chromium(tmp_path):
    from nbench.leaderboard.browser import chromium_page

    records, subs = make_inputs(tmp_path)
    build_site([records], subs, tmp_path / "site", score_entry_file)
    problems: list[str] = []
    with chromium_page() as page:
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.goto((tmp_path / "site" / "index.html").as_uri())

        # Tabs: the first tab (chaotic_rnn) is shown, switching shows lorenz and hides the rest.
        assert page.locator("#panel-chaotic-rnn-10-ms").is_visible()
        assert not page.locator("#panel-lorenz-20-ms").is_visible()
        page.click("#tab-lorenz-20-ms")
        assert page.locator("#panel-lorenz-20-ms").is_visible()
        assert not page.locator("#panel-chaotic-rnn-10-ms").is_visible()
        assert page.get_attribute("#tab-lorenz-20-ms", "aria-selected") == "true"

        table = page.locator("#panel-lorenz-20-ms table.lb").first.get_attribute("id")
        ranked = ["gru", HOSTILE, "smoothing", '=HYPERLINK("http://x")', "mean_rate"]
        assert names_in(page, table) == ranked
        header = page.locator(f"#{table} thead th")
        header.nth(1).locator("button").click()  # model: alphabetical
        assert names_in(page, table) == sorted(ranked, key=str.lower)
        co_bps = header.filter(has_text="co-bps ↑").first
        co_bps.locator("button").click()  # first click: best first (higher is better -> descending)
        assert names_in(page, table) == ranked and co_bps.get_attribute("aria-sort") == "descending"
        co_bps.locator("button").click()
        assert names_in(page, table) == ranked[::-1] and co_bps.get_attribute("aria-sort") == "ascending"
        means = page.locator(f"#{table} tbody tr").evaluate_all(
            "rows => rows.map(r => parseFloat(r.cells[2].dataset.sort))")
        assert means == sorted(means)

        # The hostile name is text; none of its markup became elements and no script of it ran.
        assert HOSTILE in page.locator(f"#{table} td.model .name").all_text_contents()
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator("img[src='x']").count() == 0
        assert page.locator("script").count() == 1
        # Plots load from the file system under the page's Content-Security-Policy.
        widths = page.locator("#panel-lorenz-20-ms .plots img").evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
        assert widths and all(w > 0 for w in widths)
        shot = tmp_path / "leaderboard.png"
        page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert problems == []
