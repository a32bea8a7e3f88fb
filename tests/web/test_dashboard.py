"""The dashboard in a real headless browser (Debian's Chromium driven by Playwright): it loads,
a ticker search draws the timeline, and a point opens its evidence sentences, by mouse and by
keyboard. A screenshot goes to $NLP_PIPELINE_ARTIFACTS (default: a temp folder)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright import sync_api

from nlp_pipeline.server import create_app
from tests.test_server import SMALL_DOWN, SMALL_UP, build_store, serving

CHROMIUM = (
    os.environ.get("NLP_PIPELINE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)
# Headless, and nothing that reaches for the network on its own (this machine has none).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = build_store(tmp_path_factory.mktemp("dashboard") / "news.duckdb")
    with serving(create_app(db)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def artifacts() -> Path:
    folder = Path(
        os.environ.get("NLP_PIPELINE_ARTIFACTS")
        or Path(tempfile.gettempdir()) / "nlp-pipeline-artifacts"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_ticker_search_draws_its_timeline_and_a_point_shows_its_evidence(
    base_url: str, browser: sync_api.Browser
) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    started = time.monotonic()
    page.goto(base_url + "/")
    page.wait_for_selector("body[data-ready=true]")
    loaded_s = time.monotonic() - started
    # What is rising across the store is listed before any search.
    assert "small_cap_rotation" in page.inner_text("#rising-themes")
    page.fill("#subject", "FIX")
    page.press("#subject", "Enter")
    page.wait_for_selector("#chart-stories circle.point")
    assert page.input_value("#subject") == "TICKER:FIX"
    points = page.locator("#chart-stories circle.point")
    # One line (small_cap_rotation), one point per week with stories: 2026-08-03 and 08-10.
    assert [points.nth(i).get_attribute("data-period") for i in range(points.count())] == [
        "2026-08-03",
        "2026-08-10",
    ]
    assert "1 story, tone +0.60" in (points.first.get_attribute("aria-label") or "")
    assert "INDEX:RUT" in page.inner_text("#comentions")
    points.first.click()
    page.wait_for_selector("#evidence-list blockquote")
    assert page.locator("#evidence-list blockquote").all_inner_texts() == [SMALL_UP, SMALL_UP]
    assert "syndicated copy" in page.inner_text("#evidence-list")
    page.screenshot(path=str(artifacts() / "dashboard.png"), full_page=True)
    assert errors == []
    print(f"dashboard ready in {loaded_s:.2f} s; screenshot in {artifacts() / 'dashboard.png'}")


def test_the_timeline_works_from_the_keyboard(base_url: str, browser: sync_api.Browser) -> None:
    page = browser.new_page()
    page.goto(base_url + "/#entity=FIX")
    page.wait_for_selector("#chart-stories circle.point")
    page.focus("#subject")
    # Tab past the form and the legend to the first point, then on to the second.
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('point')"):
            break
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.period") == "2026-08-10"
    page.keyboard.press("Enter")
    page.wait_for_selector("#evidence-list blockquote")
    assert page.locator("#evidence-list blockquote").all_inner_texts() == [SMALL_DOWN]
