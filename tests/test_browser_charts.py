"""The narrative page's charts in a real browser (Debian's Chromium through Playwright) over the demo data:
resizing the window never lets a chart cover the section below it, names on the graph never overlap
(at laptop and phone width, for the whole narrative and each wave), the "strongest links" control
draws more, and the "who followed whom" table sorts. Screenshots go to ``tests/artifacts/``.

Skipped, saying why, when Debian's chromium is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.demo import build_demo, demo_config, demo_root, serving
from tests.test_browser import ARTIFACTS, CHROMIUM, biolabs_narrative, browser  # noqa: F401 - the fixture
from tracker.db import Database

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                "(apt-get install -y --no-install-recommends chromium fonts-wqy-zenhei)")

OVERLAPPING_NAMES = """() => {
  const boxes = Array.from(document.querySelectorAll('#graph-chart .textpoint text'))
    .filter(t => t.textContent.trim() && getComputedStyle(t).display !== 'none')
    .map(t => ({name: t.textContent, box: t.getBoundingClientRect()}));
  const out = [];
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach(b => {
    if (a.box.left < b.box.right && b.box.left < a.box.right && a.box.top < b.box.bottom && b.box.top < a.box.bottom) {
      out.push(a.name + ' / ' + b.name);
    }
  }));
  return {names: boxes.length, overlaps: out};
}"""

CHARTS_CLEAR = """() => {
  const out = [];
  for (const id of ['timeline-chart', 'graph-chart']) {
    const box = document.getElementById(id);
    const svg = box.querySelector('.main-svg');
    const section = box.closest('section');
    let next = section.nextElementSibling;
    while (next && next.offsetParent === null) next = next.nextElementSibling;  // skip hidden elements
    const plot = svg.getBoundingClientRect(), frame = box.getBoundingClientRect();
    if (plot.bottom > frame.bottom + 1) out.push(id + ': plot ends ' + (plot.bottom - frame.bottom) + 'px below its box');
    if (plot.right > frame.right + 1) out.push(id + ': plot ends ' + (plot.right - frame.right) + 'px right of its box');
    if (next && next.getBoundingClientRect().top < section.getBoundingClientRect().bottom - 1) out.push(id + ': next section overlaps');
    if (next && plot.bottom > next.getBoundingClientRect().top + 1) out.push(id + ': plot covers the next section');
  }
  return out;
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    from tracker.web import create_app

    folder = tmp_path_factory.mktemp("browser-charts") / "data"
    shutil.copytree(build_demo(demo_root(tmp_path_factory)), folder)
    cfg = demo_config(folder)
    db = Database(cfg.database_url)
    with serving(create_app(cfg, db=db)) as base:
        yield base, biolabs_narrative(db)
    db.dispose()


def open_page(chromium: Any, url: str, width: int) -> Any:
    page = chromium.new_context(viewport={"width": width, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("html.charts-ready", timeout=20_000)
    page.errors = errors
    return page


def resized(page: Any, width: int) -> None:
    page.evaluate("document.documentElement.classList.remove('charts-ready')")
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_selector("html.charts-ready", timeout=20_000)


@pytest.mark.parametrize("query", ["", "?wave=1", "?wave=2"])
def test_resizing_never_lets_a_chart_cover_the_next_section(site: tuple[str, int], browser: Any,  # noqa: F811
                                                            query: str) -> None:
    base, nid = site
    page = open_page(browser, f"{base}/narratives/{nid}{query}", 1280)
    assert page.evaluate(CHARTS_CLEAR) == []
    for width in (900, 600, 390, 1400, 1024):
        resized(page, width)
        assert page.evaluate(CHARTS_CLEAR) == [], f"at {width} px"
        assert page.evaluate(OVERLAPPING_NAMES)["overlaps"] == [], f"at {width} px"
    assert page.errors == []
    page.context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_names_on_the_graph_never_overlap_and_a_phone_keeps_some_or_has_the_table(
    site: tuple[str, int], browser: Any, width: int  # noqa: F811
) -> None:
    base, nid = site
    for query in ("", "?wave=1", "?wave=2"):
        page = open_page(browser, f"{base}/narratives/{nid}{query}", width)
        found = page.evaluate(OVERLAPPING_NAMES)
        assert found["overlaps"] == [], query
        table = page.locator("table#follows")
        assert found["names"] >= 3 or (table.is_visible() and table.locator("tbody tr").count() > 0), query
        if not query:
            tag = "wide" if width > 700 else "phone"
            page.locator("section[aria-labelledby=h-graph]").screenshot(path=str(ARTIFACTS / f"graph-{tag}.png"))
        page.context.close()


def test_more_links_on_request_and_the_caption_says_how_many(site: tuple[str, int], browser: Any) -> None:  # noqa: F811
    base, nid = site
    page = open_page(browser, f"{base}/narratives/{nid}", 1280)
    caption = page.locator(".graph-count")
    assert caption.inner_text().startswith("The 25 strongest links of ")
    total = int(caption.inner_text().split(" of ")[1].split()[0])
    lines_before = page.evaluate("document.querySelectorAll('#graph-chart .scatterlayer .trace path.js-line').length")
    page.locator(".edge-toggle").last.click()
    page.wait_for_function("document.querySelector('.graph-count').textContent.indexOf('The 25 ') < 0")
    assert f" of {total} are drawn" in caption.inner_text()
    assert page.evaluate(OVERLAPPING_NAMES)["overlaps"] == []
    assert lines_before >= 1
    page.context.close()


def test_the_follows_table_sorts_by_lag(site: tuple[str, int], browser: Any) -> None:  # noqa: F811
    base, nid = site
    page = open_page(browser, f"{base}/narratives/{nid}?wave=1", 1280)
    page.locator("table#follows th button", has_text="After").click()
    lags = page.evaluate("Array.from(document.querySelectorAll('table#follows tbody td[data-label=After]'))"
                         ".map(td => parseFloat(td.dataset.value))")
    assert lags == sorted(lags, reverse=True)
    page.locator("table#follows th button", has_text="After").click()
    lags = page.evaluate("Array.from(document.querySelectorAll('table#follows tbody td[data-label=After]'))"
                         ".map(td => parseFloat(td.dataset.value))")
    assert lags == sorted(lags)
    page.context.close()
