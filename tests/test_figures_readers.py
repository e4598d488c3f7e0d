"""Readers over time from the subscriber history: sign-ups, confirmations, unsubscribes, bounces
and complaints per week and by consent source, equal in `publisher stats --readers --json` and on
/admin/readers (chromium at 375 px: a chart, a table beside it, no horizontal scrolling)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from support.cli import invoke_cli
from support.webserver import served, web_app

from publisher.app import App
from publisher.config import Secrets
from publisher.demo import load_demo
from publisher.figures.readers import reader_figures
from publisher.subscribers.lifecycle import confirm, suppress

ADMIN_PASSWORD = "mot de passe de l’équipe"


@pytest.fixture
def history(app, clock):
    """The demo's subscribers imported this week; a week later three leave in three ways and
    one pending subscriber confirms."""
    report = load_demo(app)
    rows = list(app.store.conn.execute("SELECT id, status FROM subscribers ORDER BY id"))
    clock.advance(days=7)
    active = [subscriber_id for subscriber_id, status in rows if status == "active"]
    suppress(app, active[0], "unsubscribed", "test")
    suppress(app, active[1], "bounced", "test")
    suppress(app, active[2], "complained", "test")
    pending = [subscriber_id for subscriber_id, status in rows if status == "pending"]
    if pending:
        confirm(app, pending[0], "test")
    return report, rows, bool(pending)


def test_readers_per_week_and_by_source(app, config_file, history):
    _, rows, confirmed = history
    found = reader_figures(app, weeks=3)
    last, previous = -1, -2
    joined = [row for row in rows if row[1] in ("active", "pending")]
    assert found.per_week["sign_ups"][previous] == len(joined) < len(rows)
    assert found.per_week["unsubscribes"][previous] == 0  # imported already unsubscribed: not this week's
    assert found.per_week["sign_ups"][last] == 0
    assert [found.per_week[m][last] for m in ("unsubscribes", "bounces", "complaints")] == [1, 1, 1]
    assert found.per_week["confirmations"][last] == int(confirmed)
    assert sum(counts["sign_ups"] for counts in found.per_source.values()) == len(joined)
    assert "forum emploi Tours 2025" in found.per_source

    result = invoke_cli(config_file, "stats", "--readers", "--json", "--since", found.weeks[0].isoformat())
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == json.loads(json.dumps(found.as_dict()))
    text = invoke_cli(config_file, "stats", "--readers").output
    assert "inscriptions" in text and "désabonnements" in text


def test_readers_page_in_the_browser_at_375_px(browser, app, history):
    secrets = Secrets(signing_secret="test-secret", admin_password=ADMIN_PASSWORD)
    with served(web_app(App(app.config, secrets, app.clock))) as url:
        context = browser.new_context(
            java_script_enabled=False,
            viewport={"width": 375, "height": 800},
            http_credentials={"username": "admin", "password": ADMIN_PASSWORD},
        )
        page = context.new_page()
        assert page.goto(url + "/admin/").status == 200
        page.get_by_role("link", name="Lecteurs au fil des semaines").click()
        page.wait_for_load_state("load")  # its stylesheet applied
        assert page.url.endswith("/admin/readers")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        chart = page.locator("svg.chart")
        assert chart.bounding_box()["width"] > 200
        assert chart.locator("xpath=ancestor::div[@class='figure'][1]//table").count() == 1  # the text table beside it
        this_week = (app.clock.now().date() - timedelta(days=app.clock.now().weekday())).strftime("%d/%m/%Y")
        row = page.locator("tr", has=page.locator("td", has_text=this_week))
        assert row.locator("td").all_inner_texts()[3:6] == ["1", "1", "1"]
        context.close()
