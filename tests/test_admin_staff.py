"""/admin/ as staff see it after a real week: the demo sent with the real `publisher send` (a few
recipients of « La lettre hebdo » fail), a `run-once` and the nightly purge.

- one row per send, the per-interest editions of « Mes sujets » grouped and expandable;
- the manual sends among the runs; every run summary in French, plurals agreeing;
- a partly failed send at the top, with its reason;
- the page fits a 375 px phone (Debian's chromium through Playwright).
"""

from __future__ import annotations

import html
import re

import httpx
import pytest
from support.serve import cli
from support.webserver import served, web_app
from test_delivery_recipient_failures import add_hostile_rows
from test_service_browser import shot

from publisher.app import App
from publisher.config import Secrets
from publisher.demo import load_demo
from publisher.jobs import PURGE_JOB, build_jobs, run_job
from publisher.store.deliveries import failure_reasons
from publisher.store.sends import recent_sends

PASSWORD = "mot de passe de l’équipe"
PHONE = 375
# English words of the library's summaries that must not reach the French page.
ENGLISH = (
    "incremental build",
    "full build",
    "unconfirmed",
    "sign-ups",
    "purge-pending",
    "editions",
    " sent",
    "not due",
)


@pytest.fixture
def week(app, config_file):
    """The demo store after a manual send of each newsletter, a run-once and the nightly purge."""
    load_demo(app)
    add_hostile_rows(app)  # recipients whose message cannot be built: they fail, the others go out
    for command in (["send", "hebdo"], ["send", "mes-sujets"], ["run-once"]):
        result = cli(config_file, *command)
        assert result.returncode == 0, (command, result.stderr)
    [purge] = [job for job in build_jobs(app.config) if job.id == PURGE_JOB]
    run_job(app, purge)


@pytest.fixture
def admin_url(app, week):
    secrets = Secrets(signing_secret="test-secret", admin_password=PASSWORD)
    with served(web_app(App(app.config, secrets, app.clock))) as url:
        yield url + "/admin/"


def page_text(page: str) -> str:
    """The words of a page, as a reader sees them (tags dropped, spaces, no-break ones too, folded)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def counts(app, newsletter: str) -> tuple[int, int]:
    editions, deliveries = app.store.conn.execute(
        "SELECT count(DISTINCT e.id), count(d.subscriber_id) FROM editions e "
        "JOIN deliveries d ON d.edition_id = e.id WHERE e.newsletter = ?",
        (newsletter,),
    ).fetchone()
    return editions, deliveries


def test_per_interest_editions_are_one_expandable_row_per_send(app, admin_url):
    page = httpx.get(admin_url, auth=("admin", PASSWORD)).text
    editions, deliveries = counts(app, "mes-sujets")
    assert editions > 100
    text = page_text(page)
    assert text.count(f"Mes sujets — {editions} éditions, {deliveries} envois") == 1, text
    sends = page.split('aria-labelledby="sends"')[1].split("</section>")[0]
    assert sends.count("<details") == 1  # the grouped send; a one-edition send needs none
    assert sends.count("<summary") == 1
    assert sends.count('class="send"') == 2  # one row for each send, not one per edition


def test_manual_sends_appear_among_the_runs_in_french(admin_url):
    page = httpx.get(admin_url, auth=("admin", PASSWORD)).text
    runs = page_text(page.split('aria-labelledby="runs"')[1].split("</section>")[0])
    assert "Envoi manuel de « La lettre hebdo »" in runs, runs
    assert "Envoi manuel de « Mes sujets »" in runs
    assert "Cycle de publication" in runs
    assert "Suppression des inscriptions non confirmées" in runs
    assert "0 inscription non confirmée supprimée" in runs  # French: 0 is singular
    assert re.search(r"\b1 édition, \d+ envoyés, \d+ en échec", runs), runs
    assert not re.search(r"\b[01] (envoyés|éditions|flux régénérés)", runs)
    for english in ENGLISH:
        assert english not in runs, english


def test_a_partly_failed_send_is_at_the_top_with_its_reason(app, admin_url):
    page = httpx.get(admin_url, auth=("admin", PASSWORD)).text
    top = page_text(page.split("<h2")[1].split("</section>")[0])
    assert top.startswith('id="attention">À traiter'), top[:80]
    [hebdo] = [send for send in recent_sends(app.store) if send.newsletter == "hebdo"]
    failed = hebdo.counts["failed"]
    assert failed > 1
    assert "Envoi de « La lettre hebdo »" in top
    assert f"{failed} en échec sur {hebdo.recipients}" in top, top
    reasons = failure_reasons(app.store, hebdo.editions[0].edition_id)
    assert f"{reasons[0].reason} ({reasons[0].count})" in top  # the most frequent first


def test_the_dashboard_fits_a_phone(browser, admin_url):
    context = browser.new_context(
        java_script_enabled=False,
        viewport={"width": PHONE, "height": 800},
        http_credentials={"username": "admin", "password": PASSWORD},
    )
    page = context.new_page()
    assert page.goto(admin_url).status == 200
    page.locator("details summary").first.click()  # opened, the 195 editions must fit too
    width = page.evaluate("document.scrollingElement.scrollWidth")
    shot(page, "13-admin-375px")
    context.close()
    assert width <= PHONE, f"the page is {width} px wide at {PHONE} px"
