"""The dashboard in a real browser (headless Chromium driven by Playwright) over the demo database.

A researcher logs in, opens the bio-labs narrative and sees its timeline drawn, then tags three
statements in the queue with the keyboard, undoes the last one, and the database holds exactly the
two remaining decisions with their audit rows. Screenshots of the overview, the narrative page and
the queue (laptop and phone width) are written to ``tests/artifacts/`` on every run.

Uses Debian's ``chromium`` (never a Playwright-downloaded browser); skipped when it is missing.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.demo import build_demo, demo_config, demo_root, serving
from tracker import accounts, export
from tracker.config import Config
from tracker.db import Database
from tracker.models import Assignment, AuditEvent, User
from tracker.sample import corpus_path

CHROMIUM = shutil.which("chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PASSWORD = "a long enough passphrase"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                "(apt-get install -y --no-install-recommends chromium fonts-wqy-zenhei)")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database, Config]]:
    """The demo database (a private copy) served by the app on a free loopback port."""
    from tracker.web import create_app

    folder = tmp_path_factory.mktemp("browser") / "data"
    shutil.copytree(build_demo(demo_root(tmp_path_factory)), folder)
    cfg = demo_config(folder).replace(auth={"public_read": False})
    db = Database(cfg.database_url)
    with db.transaction() as tx:
        accounts.create_user(tx, "rita", "researcher", PASSWORD, cfg.auth)
    with serving(create_app(cfg, db=db)) as base:
        yield base, db, cfg
    db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def biolabs_narrative(db: Database) -> int:
    """The narrative holding most statements the sample corpus marks ``us-biolabs``."""
    hints = {r["external_id"]: r["narrative_hint"]
             for r in map(json.loads, corpus_path().read_text(encoding="utf-8").splitlines())}
    with db.reader() as session:
        votes = Counter(r["narrative_id"] for r in export.statement_rows(session)
                        if hints.get(r["external_id"]) == "us-biolabs" and r["narrative_id"] is not None)
    return int(votes.most_common(1)[0][0])


def shown_statement(page: Any) -> str:
    return str(page.get_attribute("#tag-item", "data-statement-id"))


def press_and_wait(page: Any, key: str) -> str:
    """Press a decision key; wait until the queue moved on to another statement; return the one decided."""
    before = shown_statement(page)
    page.keyboard.press(key)
    page.wait_for_function("prev => document.getElementById('tag-item').dataset.statementId !== prev", arg=before)
    return before


def test_researcher_tags_with_the_keyboard_and_undo_leaves_two_decisions(served: tuple[str, Database, Config],
                                                                         browser: Any) -> None:
    base, db, _cfg = served
    ARTIFACTS.mkdir(exist_ok=True)
    context, page, problems = _login(browser, base)
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)

    nid = biolabs_narrative(db)
    page.goto(f"{base}/narratives/{nid}")
    page.wait_for_selector("#timeline-chart.js-plotly-plot svg.main-svg")
    assert page.locator("#timeline-chart .scatterlayer .point").count() > 0, "the timeline has no points"
    page.screenshot(path=str(ARTIFACTS / "narrative.png"))  # the first screen: header and timeline

    page.goto(f"{base}/tag")
    page.on("dialog", lambda d: d.accept())  # a weak first choice asks before it is accepted: yes
    page.wait_for_selector("#tag-item[data-statement-id] ol.choices button[data-key='1']")
    chosen = int(page.get_attribute("#tag-item button[data-key='1']", "data-narrative-id") or 0)
    first = press_and_wait(page, "1")
    refused = int(page.get_attribute("#tag-item button[data-key='1']", "data-narrative-id") or 0)
    second = press_and_wait(page, "r")
    third = press_and_wait(page, "a")
    page.keyboard.press("u")
    page.wait_for_function(f"() => document.getElementById('tag-item').dataset.statementId === '{third}'")
    page.wait_for_selector("#tag-message:has-text('Undone')")
    page.screenshot(path=str(ARTIFACTS / "tagging.png"), full_page=True)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, storage_state=context.storage_state())
    small = phone.new_page()
    small.goto(f"{base}/tag")
    small.wait_for_selector("#tag-item[data-statement-id]")
    overflow = small.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    small.screenshot(path=str(ARTIFACTS / "tagging-phone.png"), full_page=True)
    phone.close()
    context.close()

    assert overflow <= 0, f"the queue is {overflow}px wider than a 390px phone"
    # the narrative page belongs to the charts; here the queue must run without a CSP violation or script error
    assert not [p for p in problems if "/tag" in p.split(": ", 1)[0]], problems
    decided = {int(first), int(second), int(third)}
    assert len(decided) == 3
    with db.reader() as session:
        rita = session.scalar(select(User).where(User.name == "rita"))
        rows = {(a.statement_id, a.narrative_id, a.state) for a in session.scalars(
            select(Assignment).where(Assignment.statement_id.in_(decided), Assignment.method == "manual"))}
        events = [(int(e.object_id), e.action) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.user_id == rita.id, AuditEvent.object_type == "statement")
            .order_by(AuditEvent.id))]
        left_third = list(session.scalars(select(Assignment).where(Assignment.statement_id == int(third))))
    assert rows == {(int(first), chosen, "confirmed"), (int(second), refused, "rejected")}
    assert left_third == [], "the undone decision is still stored"
    assert events == [(int(first), "statement.confirm"), (int(second), "statement.reject"),
                      (int(third), "statement.confirm"), (int(third), "statement.undo")]
    for name in ("overview.png", "narrative.png", "tagging.png", "tagging-phone.png"):
        assert (ARTIFACTS / name).stat().st_size > 5_000, name


def _login(browser: Any, base: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))
    page.goto(f"{base}/login")
    page.fill("input[name=name]", "rita")
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")
    return context, page, problems


def test_overview_shows_triage_states_and_filters_by_them(served: tuple[str, Database, Config], browser: Any) -> None:
    base, db, _cfg = served
    context, page, problems = _login(browser, base)
    nid = biolabs_narrative(db)
    page.goto(f"{base}/manage/narratives/{nid}")
    page.click("button[name=triage][value=tracked]")
    page.wait_for_selector(".flash.ok")
    page.goto(f"{base}/")
    row = page.locator(f"tr:has(a[href='/narratives/{nid}'])")
    assert row.locator(".badge.triage-tracked").count() == 1
    assert page.locator(".badge.triage-candidate").count() > 0
    page.select_option("#f-triage", "tracked")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**triage=tracked**")
    assert page.locator("table.narratives tbody a[href^='/narratives/']").count() == 1
    page.screenshot(path=str(ARTIFACTS / "overview-tracked.png"), full_page=True)
    context.close()
    assert not problems, problems


def test_queue_skips_dismisses_asks_before_weak_choices_and_undoes_after_a_reload(
    served: tuple[str, Database, Config], browser: Any
) -> None:
    base, db, _cfg = served
    context, page, problems = _login(browser, base)
    dialogs: list[str] = []

    def answer(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()  # no: a weak choice is not taken

    page.on("dialog", answer)
    page.goto(f"{base}/tag")
    page.wait_for_selector("#tag-item[data-statement-id]")
    skipped = press_and_wait(page, "p")
    dismissed = press_and_wait(page, "i")
    page.wait_for_selector("#tag-message:has-text('About no narrative')")
    with db.reader() as session:
        from tracker.models import Statement

        assert session.get(Statement, int(dismissed)).off_topic is True  # type: ignore[union-attr]
    weak = page.locator("#tag-item ol.choices button.below").first
    assert weak.count() == 1, "the demo queue's third statement has no weak choice to test with"
    before = shown_statement(page)
    weak.click()
    page.wait_for_function("() => document.getElementById('tag-message').hidden === false || true")
    assert dialogs and "below the suggestion level" in dialogs[-1]
    assert shown_statement(page) == before, "a weak choice was taken without asking"
    page.screenshot(path=str(ARTIFACTS / "tagging-weak.png"), full_page=True)

    page.reload()  # the session survives: the skipped statement stays away, undo still works
    page.wait_for_selector("#tag-item[data-statement-id]")
    assert page.locator("#tag-session").inner_text() == "1"
    assert shown_statement(page) != skipped
    assert page.is_enabled("#tag-undo")
    page.keyboard.press("u")
    page.wait_for_selector("#tag-message:has-text('Undone')")
    with db.reader() as session:
        from tracker.models import Statement

        assert session.get(Statement, int(dismissed)).off_topic is False  # type: ignore[union-attr]
    assert page.locator("#tag-session").inner_text() == "0"
    context.close()
    assert not [p for p in problems if "/tag" in p.split(": ", 1)[0]], problems
