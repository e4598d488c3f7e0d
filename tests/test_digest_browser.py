"""The compiled digest in a real headless browser (Debian's chromium, installed by .ci/run).

At 600 px and 375 px: no horizontal overflow, readable font sizes, and with every <style>
removed (as some clients do) the tag pills keep their colours, padding and rounded corners.
Images are served by the test itself: nothing leaves the machine.
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from digest_helpers import week_of_articles

from publisher.digests import render_preview

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTHS = (600, 375)
# Where to keep the screenshots for a person to look at (default: the test's tmp_path).
SCREENSHOTS = os.environ.get("PUBLISHER_SCREENSHOTS")


def _unavailable(reason: str) -> None:
    """Without chromium the test fails in CI (nothing is skipped silently) and skips elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: .ci/run must install it", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        _unavailable(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def png(width: int, height: int) -> bytes:
    """A plain PNG, to stand in for the article photos (large, to test that they scale down)."""
    row = b"\x00" + bytes((92, 124, 168)) * width

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


PHOTO = png(1600, 900)

OVERFLOW = "[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
PILL_STYLES = """() => [...document.querySelectorAll('.pill')].map(pill => {
  const style = getComputedStyle(pill);
  return [style.backgroundColor, style.paddingLeft, style.paddingTop, style.borderTopLeftRadius, style.color];
})"""
SMALLEST_TEXT = """() => Math.min(...[...document.querySelectorAll('p, h1, h2, h3, a, span, div')]
  .filter(element => [...element.childNodes].some(node => node.nodeType === 3 && node.textContent.trim()))
  .filter(element => element.offsetParent !== null)
  .map(element => parseFloat(getComputedStyle(element).fontSize)))"""
OVERSIZED_IMAGES = """() => [...document.images]
  .filter(image => image.getBoundingClientRect().right > window.innerWidth + 0.5).map(image => image.src)"""


@pytest.fixture
def digest_html(app, clock):
    week_of_articles(app.store, clock.now(), count=10)
    return render_preview(app, "mes-sujets", None).html


def _page(browser, html: str, width: int):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.route("**/*", lambda route: route.fulfill(status=200, body=PHOTO, content_type="image/png"))
    page.set_content(html, wait_until="load")
    return page


@pytest.mark.parametrize("width", WIDTHS)
def test_no_horizontal_overflow_and_readable_text(browser, digest_html, width, tmp_path):
    page = _page(browser, digest_html, width)
    try:
        document_width, body_width, viewport = page.evaluate(OVERFLOW)
        assert document_width <= viewport and body_width <= viewport, (document_width, body_width, viewport)
        assert page.evaluate(OVERSIZED_IMAGES) == []
        assert page.evaluate("document.documentElement.lang") == "fr"
        assert page.evaluate("[...document.images].every(image => image.alt.trim().length > 0)")
        assert page.evaluate(SMALLEST_TEXT) >= 13
        page.screenshot(path=str(Path(SCREENSHOTS or tmp_path) / f"digest-{width}.png"), full_page=True)
    finally:
        page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_pills_keep_their_style_without_style_elements(browser, digest_html, width, tmp_path):
    page = _page(browser, digest_html, width)
    try:
        removed = page.evaluate(
            "() => { const styles = [...document.querySelectorAll('style')];"
            " styles.forEach(style => style.remove()); return styles.length; }"
        )
        assert removed > 0
        pills = page.evaluate(PILL_STYLES)
        assert len(pills) >= 10
        for background, padding_left, padding_top, radius, color in pills:
            assert background == "rgb(227, 236, 247)"
            assert (padding_left, padding_top, radius) == ("11px", "3px", "14px")
            assert color == "rgb(29, 78, 137)"
        document_width, body_width, viewport = page.evaluate(OVERFLOW)
        assert document_width <= viewport and body_width <= viewport
        page.screenshot(path=str(Path(SCREENSHOTS or tmp_path) / f"digest-{width}-no-style.png"), full_page=True)
    finally:
        page.close()
