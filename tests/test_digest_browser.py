"""The compiled digest in a real headless browser (Debian's chromium, installed by .ci/run).

At 600 px and 375 px: no horizontal overflow, readable font sizes, and with every <style>
removed (as some clients do) the tag pills keep their colours, padding and rounded corners.
Images are served by the test itself: nothing leaves the machine.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from conftest import SCREENSHOTS

from publisher.demo import load_demo
from publisher.digests import write_preview

WIDTHS = (600, 375)


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
# The lowest contrast ratio (WCAG) between a visible text and the first opaque background behind it.
LOWEST_CONTRAST = """() => {
  const rgb = value => (value.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => [r, g, b].map(channel => {
    const c = channel / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }).reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  const background = element => {
    for (let node = element; node && node.nodeType === 1; node = node.parentElement) {
      const [r, g, b, a = 1] = rgb(getComputedStyle(node).backgroundColor);
      if (a > 0 && getComputedStyle(node).backgroundColor !== 'rgba(0, 0, 0, 0)') return [r, g, b];
      if (node.getAttribute('bgcolor')) return rgb(node.style.backgroundColor || 'rgb(255,255,255)');
    }
    return [255, 255, 255];
  };
  let lowest = [21, ''];
  for (const element of document.body.querySelectorAll('*')) {
    const text = [...element.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
    if (!text || element.offsetParent === null) continue;
    const [l1, l2] = [luminance(rgb(getComputedStyle(element).color)), luminance(background(element))];
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    if (ratio < lowest[0]) lowest = [ratio, text.slice(0, 40)];
  }
  return lowest;
}"""
OVERSIZED_IMAGES = """() => [...document.images]
  .filter(image => image.getBoundingClientRect().right > window.innerWidth + 0.5).map(image => image.src)"""


@pytest.fixture(params=["hebdo", "mes-sujets"])
def digest_html(request, app, tmp_path):
    """What `publisher newsletters preview SLUG` writes for the demo data."""
    load_demo(app)
    return write_preview(app, request.param, out=tmp_path / f"{request.param}.html").html_path.read_text()


def _keep_screenshot(page, request, label: str) -> None:
    """Full-page PNG in $PUBLISHER_SCREENSHOTS, for a person to look at (not taken otherwise: slow)."""
    if SCREENSHOTS:
        newsletter = request.node.callspec.params["digest_html"]
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{newsletter}-{label}.png"), full_page=True)


def _page(browser, html: str, width: int):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.route("**/*", lambda route: route.fulfill(status=200, body=PHOTO, content_type="image/png"))
    page.set_content(html, wait_until="load")
    return page


@pytest.mark.parametrize("width", WIDTHS)
def test_no_horizontal_overflow_and_readable_text(browser, digest_html, width, request):
    page = _page(browser, digest_html, width)
    try:
        document_width, body_width, viewport = page.evaluate(OVERFLOW)
        assert document_width <= viewport and body_width <= viewport, (document_width, body_width, viewport)
        assert page.evaluate(OVERSIZED_IMAGES) == []
        assert page.evaluate("document.documentElement.lang") == "fr"
        assert page.evaluate("[...document.images].every(image => image.alt.trim().length > 0)")
        assert page.evaluate(SMALLEST_TEXT) >= 13
        ratio, text = page.evaluate(LOWEST_CONTRAST)
        assert ratio >= 4.5, f"contrast {ratio:.2f} for {text!r}"
        _keep_screenshot(page, request, f"{width}")
    finally:
        page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_pills_keep_their_style_without_style_elements(browser, digest_html, width, request):
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
        _keep_screenshot(page, request, f"{width}-no-style")
    finally:
        page.close()
