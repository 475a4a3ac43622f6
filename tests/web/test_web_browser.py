"""The dashboard in a real browser: headless Chromium (Debian's package, /usr/bin/chromium)
driven by Playwright, against uvicorn serving a database filled by a real replay.

Skips when Chromium or Playwright is missing, except under CI (``CI`` set), where it fails.
Screenshots go to the test's tmp folder and are checked for content (pixel spread).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest
from dashkit import SOURCE, Replayed, Server, start_daemon_ui

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic"]


def _need_browser() -> None:
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"{CHROMIUM} is missing (apt-get install chromium; see .ci/services.sh)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed (pip install -e .[test])"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; CI is set, so browser tests must not be skipped")
        pytest.skip(missing)


@pytest.fixture(scope="module")
def site(replayed: Replayed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from streamcv.web.app import create_app

    _need_browser()
    db = replayed.copy(tmp_path_factory.mktemp("browser"))  # acknowledging writes
    with Server(create_app(db.url)) as srv:
        yield srv.url


@pytest.fixture(scope="module")
def browser(site: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    pg = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.set_default_timeout(15_000)
    yield pg
    pg.close()
    assert not errors, errors


def _not_blank(path: Path, min_std: float = 15.0) -> None:
    img = cv2.imread(str(path))
    assert img is not None and img.size
    assert float(img.std()) > min_std, f"{path} looks blank (std {img.std():.1f})"


def test_overview_shows_the_camera_card_with_its_frame(site: str, page: Any,
                                                       tmp_path: Path) -> None:
    page.goto(site + "/")
    card = page.locator(f'article.card[data-source="{SOURCE}"]')
    card.wait_for()
    img = card.locator("img.pic")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    assert img.evaluate("img => img.naturalWidth") == 480
    text = card.inner_text()
    assert "replay finished" in text and "frames/s" in text and "visitors" in text
    card.screenshot(path=str(tmp_path / "card.png"))
    _not_blank(tmp_path / "card.png")


def test_camera_page_draws_charts_with_data(site: str, page: Any, tmp_path: Path) -> None:
    page.goto(f"{site}/sources/{SOURCE}")
    chart = page.locator('.chart[data-title="counting · people"]')
    chart.locator("canvas").wait_for()
    assert int(chart.get_attribute("data-points") or 0) >= 5
    # every chart loaded (data-points set), and at least six drew lines
    page.wait_for_function("() => !document.querySelector('#charts .chart:not([data-points])')")
    assert page.locator("#charts .chart canvas").count() >= 6
    chart.screenshot(path=str(tmp_path / "people.png"))
    _not_blank(tmp_path / "people.png", min_std=10)
    # the canvas has a drawn line, not only axes: pixels in the series colour
    shot = cv2.imread(str(tmp_path / "people.png"))
    assert shot is not None
    blue = (shot[:, :, 0] > 150) & (shot[:, :, 2] < 80)  # #1f77b4 in BGR
    assert blue.sum() > 50


def test_heat_map_for_a_time_range(site: str, page: Any, tmp_path: Path) -> None:
    page.goto(f"{site}/sources/{SOURCE}")
    heat = page.locator("#heatmap")
    page.wait_for_function("() => { const i = document.querySelector('#heatmap');"
                           " return i && !i.hidden && i.complete && i.naturalWidth > 0; }")
    assert heat.evaluate("i => i.naturalWidth") >= 480
    assert page.locator("#hotspots li").count() >= 1
    heat.screenshot(path=str(tmp_path / "heat.png"))
    _not_blank(tmp_path / "heat.png", min_std=25)
    # a custom range with no data: the picture goes and a note says why
    page.select_option("select[name=range]", "custom")
    page.fill("input[name=since]", "2001-01-01T00:00:00")
    page.fill("input[name=until]", "2001-01-02T00:00:00")
    page.click("#range button[type=submit]")
    page.wait_for_function("() => document.querySelector('#heatmap').hidden")
    assert "no heat-map windows" in page.inner_text("#heat-note")
    # back to all the data: the picture again
    page.select_option("select[name=range]", "all")
    page.click("#range button[type=submit]")
    page.wait_for_function("() => { const i = document.querySelector('#heatmap');"
                           " return !i.hidden && i.complete && i.naturalWidth > 0; }")


def test_acknowledge_an_alert(site: str, page: Any, tmp_path: Path) -> None:
    page.goto(site + "/alerts")
    row = page.locator("tr[data-alert='1']")
    row.wait_for()
    assert "intrusion" in row.inner_text()
    page.wait_for_function("() => { const i = document.querySelector('tr[data-alert] img');"
                           " return i && i.complete && i.naturalWidth > 0; }")
    row.locator("button[data-ack]").click()
    page.wait_for_function(
        "() => document.querySelector('tr[data-alert=\"1\"] td.ack').textContent"
        ".startsWith('by dashboard')")
    page.screenshot(path=str(tmp_path / "alerts.png"))
    _not_blank(tmp_path / "alerts.png", min_std=5)
    page.select_option("select[name=acked]", "no")
    page.wait_for_function("() => !document.querySelector('tr[data-alert]')")


def test_runs_link_to_the_source_page(site: str, page: Any) -> None:
    page.goto(site + "/runs")
    link = page.locator(f"#runs a:has-text('{SOURCE}')")
    link.click()
    page.wait_for_url(f"**/sources/{SOURCE}?run=1")
    page.locator(".chart canvas").first.wait_for()
    assert "run 1" in page.inner_text("h1")


def test_demographics_page_loads(site: str, page: Any) -> None:
    page.goto(site + "/demographics")
    page.wait_for_function("() => document.querySelector('#demo-chart .chart')")
    assert "no data in this range" in page.inner_text("#demo-chart")




def _wait_for_live_frame(url: str, timeout_s: float = 60.0) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url, timeout=10) as r:
            if r.status == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"no live frame from {url} within {timeout_s} s")


def test_live_view_updates_while_the_daemon_runs(browser: Any, tmp_path: Path) -> None:
    import signal

    cfg = tmp_path / "live.yaml"
    cfg.write_text(
        f"database: {{url: 'sqlite:///{tmp_path / 'd.db'}', flush_interval_s: 0.2}}\n"
        "pipeline: surveillance\n"
        "health: {listen: null}\n"
        "sources:\n"
        "  - {type: synthetic, id: cam1, seconds: 120, fps: 10, width: 320, height: 192,\n"
        "     realtime: true}\n")
    proc, url = start_daemon_ui(cfg, tmp_path / "run.log")
    pg = browser.new_page(viewport={"width": 1000, "height": 800})
    try:
        _wait_for_live_frame(url + "/live/cam1.jpg")  # the daemon runs its camera
        pg.set_default_timeout(45_000)  # a loaded CI machine is slow
        pg.goto(url + "/sources/cam1")
        pg.wait_for_function("() => { const i = document.querySelector('#live');"
                             " return i && i.naturalWidth === 320; }")
        live = pg.locator("#live")
        first = live.screenshot(path=str(tmp_path / "live1.png"))
        _not_blank(tmp_path / "live1.png", min_std=10)
        changed = False
        for _ in range(20):  # the synthetic camera's box moves: the picture changes
            pg.wait_for_timeout(300)
            if live.screenshot() != first:
                changed = True
                break
        assert changed, "the live view did not update"
    finally:
        pg.close()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0, (tmp_path / "run.log").read_text()[-2000:]
