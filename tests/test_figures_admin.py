"""Where staff see the figures: /admin/newsletters/SLUG and /admin/editions/ID in chromium at
375 and 1280 px (charts drawn as SVG, legible, a text table beside each, no horizontal
scrolling), the figures equal to `publisher stats --json`; /admin/ links to them; the pages are
behind the admin password; `publisher stats` in French on the terminal, as CSV, and one clear
line for a mistake."""

from __future__ import annotations

import csv
import io
import json
import re

import httpx
import pytest
from conftest import SCREENSHOTS
from support.cli import invoke_cli
from support.webhook_signing import Signer, body_of
from support.webserver import served, web_app

from publisher.app import App
from publisher.config import Secrets, load_config
from publisher.delivery.events import handle_event_webhook
from publisher.delivery.send import send_newsletter
from publisher.demo import load_demo

ADMIN_PASSWORD = "mot de passe de l’équipe"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
CLICK = re.compile(r"https?://[^\s\"'<>]+(/r/\d+/\d+/[A-Za-z0-9_-]{22})")


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
def config(config_file, signer):
    signer.configure(config_file)
    return load_config(config_file)


@pytest.fixture
def site(app, signer):
    """The demo's hebdo sent to the outbox, some events and clicks on it, the web app serving it."""
    load_demo(app)
    send_newsletter(app, "hebdo")
    (edition_id,) = {row["edition_id"] for row in app.store.db["deliveries"].rows}
    rows = list(
        app.store.conn.execute("SELECT s.id, s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id")
    )
    events = [
        {
            "event": kind,
            "email": email,
            "timestamp": 1795000000,
            "sg_event_id": f"adm{number}",
            "newsletter": "hebdo",
            "edition_id": str(edition_id),
            "subscriber_id": str(subscriber_id),
            **({"type": "bounce"} if kind == "bounce" else {}),
        }
        for number, ((subscriber_id, email), kind) in enumerate(zip(rows, ["delivered"] * 4 + ["bounce"], strict=False))
    ]
    body = body_of(events)
    handle_event_webhook(app, body, signer.headers(body, app.clock.now()))
    html = (next((app.config.base_dir / "outbox").rglob("*.eml"))).read_text(encoding="utf-8", errors="replace")
    links = sorted(set(CLICK.findall(html.replace("=\n", "").replace("=3D", "="))))
    secrets = Secrets(signing_secret="test-secret", admin_password=ADMIN_PASSWORD)
    with served(web_app(App(app.config, secrets, app.clock))) as url:
        for clicks, link in enumerate(links[:3], start=1):
            for _ in range(clicks):
                assert httpx.get(url + link, headers={"user-agent": BROWSER}).status_code == 302
        yield url, edition_id


def stats_json(config_file, *args: str) -> list[dict]:
    result = invoke_cli(config_file, "stats", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def cells(page, caption: str) -> list[list[str]]:
    table = page.locator("table", has=page.locator("caption", has_text=caption))
    return [row.locator("td").all_inner_texts() for row in table.locator("tbody tr").all()]


@pytest.mark.parametrize("width", [375, 1280])
def test_admin_figures_pages_in_the_browser(browser, config_file, site, width):
    url, edition_id = site
    [figures] = stats_json(config_file, "hebdo")
    assert figures["edition"] == edition_id and figures["delivered"] == 4 and figures["bounced_hard"] == 1
    assert figures["clicks"] == 6
    context = browser.new_context(
        java_script_enabled=False,
        viewport={"width": width, "height": 900},
        http_credentials={"username": "admin", "password": ADMIN_PASSWORD},
    )
    page = context.new_page()

    assert page.goto(url + "/admin/").status == 200
    page.get_by_role("link", name="La lettre hebdo").first.click()
    assert page.url.endswith("/admin/newsletters/hebdo")
    check_layout(page, width)
    [row] = cells(page, "Dernières éditions")
    assert row[2] == str(figures["accepted"]) and row[3].startswith("4 (") and row[5].startswith("6 (")
    shoot(page, f"figures-newsletter-{width}")

    page.get_by_role("link", name=str(edition_id), exact=True).click()
    assert page.url.endswith(f"/admin/editions/{edition_id}")
    check_layout(page, width)
    funnel = {label: count for label, count, _ in cells(page, "Parcours des messages")}
    assert funnel["destinataires"] == str(figures["recipients"]) and funnel["délivrés"] == "4"
    assert funnel["clics"] == "6"
    ranked = cells(page, "Articles par clics")
    assert [row[1] for row in ranked] == [str(a["clicks"]) for a in figures["articles"]]
    assert [row[1] for row in ranked[:3]] == ["3", "2", "1"]
    assert ranked[0][0] == figures["articles"][0]["title"]
    shoot(page, f"figures-edition-{width}")
    context.close()


def check_layout(page, width: int) -> None:
    """Each chart is visible, fits the screen, has a table beside it, and its text is legible."""
    page.wait_for_load_state("load")  # its stylesheet applied
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    charts = page.locator("svg.chart")
    assert charts.count() >= 1
    for index in range(charts.count()):
        chart = charts.nth(index)
        box = chart.bounding_box()
        assert box and box["width"] > 200 and box["x"] + box["width"] <= width
        assert chart.get_attribute("aria-hidden") == "true"
        assert chart.locator("xpath=ancestor::div[@class='figure'][1]//table").count() == 1  # the text table beside it
        heights = chart.evaluate("svg => [...svg.querySelectorAll('text')].map(t => t.getBoundingClientRect().height)")
        assert min(heights) >= 12, heights  # at least about 11 px type on a phone
        widths = chart.evaluate("svg => [...svg.querySelectorAll('text')].map(t => t.getBoundingClientRect().right)")
        assert max(widths) <= box["x"] + box["width"] + 1, "a label runs out of its chart"


def shoot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/{name}.png", full_page=True)


def test_figures_pages_need_the_admin_password_and_refuse_unknown_ids(site):
    url, edition_id = site
    assert httpx.get(f"{url}/admin/editions/{edition_id}").status_code == 401
    assert httpx.get(f"{url}/admin/newsletters/hebdo").status_code == 401
    auth = ("admin", ADMIN_PASSWORD)
    for path in ("/admin/editions/999", "/admin/editions/0", "/admin/editions/1e3", "/admin/newsletters/nope"):
        assert httpx.get(url + path, auth=auth).status_code == 404, path


def test_stats_in_french_csv_and_clear_errors(config_file, site):
    _, edition_id = site
    text = invoke_cli(config_file, "stats", "--edition", str(edition_id))
    assert text.exit_code == 0
    assert "délivrés 4" in text.output and "rebonds définitifs 1" in text.output
    assert "Articles par clics" in text.output
    rows = list(csv.DictReader(io.StringIO(invoke_cli(config_file, "stats", "--csv").output)))
    assert [row["edition"] for row in rows] == [str(edition_id)] and rows[0]["clicks"] == "6"
    assert stats_json(config_file, "--since", "2100-01-01") == []
    for args, message in [
        (["--edition", "999"], "edition 999"),
        (["nope"], "'nope'"),
        (["--json", "--csv"], "choose one"),
        (["--since", "2026-02-30"], "--since"),
        (["mes-sujets", "--edition", str(edition_id)], f"edition {edition_id}"),
    ]:
        result = invoke_cli(config_file, "stats", *args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
        assert "Traceback" not in result.output
