"""Sign-up, confirmation, preferences and unsubscribing over real HTTP, with the outbox transport."""

import email
import logging
import re
import sqlite3
from datetime import UTC, datetime
from email import policy
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from support.paths import DATA
from support.waiting import wait_for
from support.webserver import served, web_app

from publisher.article_import import import_files
from publisher.demo import demo_file
from publisher.store.signup_mails import queue_counts
from publisher.subscribers import lifecycle
from publisher.tokens import confirm_url, links_for
from publisher.web.access_log import combined_line

ADDRESS = "camille.martin@example.org"


@pytest.fixture
def site(app):
    import_files(app.store, [demo_file("articles.jsonl")], "fr")  # the demo's tags
    with served(web_app(app)) as url:
        yield url


@pytest.fixture
def web(site):
    with httpx.Client(base_url=site) as client:
        yield client


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def path_of(url: str, app) -> str:
    assert url.startswith(app.config.site.base_url)
    return url[len(app.config.site.base_url) :]


def outbox_messages(app) -> list[email.message.EmailMessage]:
    folder = Path(app.config.delivery.outbox.path)
    return [email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in sorted(folder.glob("*.eml"))]


def mails(app, count: int) -> list[email.message.EmailMessage]:
    """The outbox once the queue worker has written ``count`` messages (it sends in the background)."""
    wait_for(lambda: len(outbox_messages(app)) >= count, 10, f"{count} messages in the outbox")
    return outbox_messages(app)


def queue_drained(app) -> None:
    wait_for(lambda: "queued" not in queue_counts(app.store), 10, "the queue of sign-up emails")


def link_in(message, app, kind: str) -> str:
    text = message.get_body(("plain",)).get_content()
    return path_of(re.search(rf"https?://\S+/{kind}/\S+", text).group(0), app)


def sign_up(web, **fields) -> httpx.Response:
    csrf = csrf_of(web.get("/subscribe").text)
    data = {"email": ADDRESS, "name": "Camille Martin", "consent": "oui", "csrf": csrf} | fields
    return web.post("/subscribe", data=data)


def active_subscriber(app, address: str = ADDRESS) -> int:
    lifecycle.subscribe(app, address, "Camille", [], "test")
    subscriber = lifecycle.find_subscriber(app, address)
    lifecycle.confirm(app, subscriber.id, "test")
    return subscriber.id


def status_of(app, address: str = ADDRESS) -> str:
    return lifecycle.find_subscriber(app, address).status


def test_sign_up_sends_the_confirmation_email_and_its_link_confirms(app, web):
    page = web.get("/subscribe").text
    assert 'value="bassin-d-emploi"' in page and "bassin d&#39;emploi</label>" in page
    response = sign_up(web, interests=["apprentissage", "bassin-d-emploi"])
    assert response.status_code == 200
    assert "Vérifiez votre boîte de réception" in response.text
    assert status_of(app) == "pending"
    [message] = mails(app, 1)
    assert message["To"].addresses[0].addr_spec == ADDRESS
    confirm_path = link_in(message, app, "confirm")

    page = web.get(confirm_path)  # a mail scanner following the link changes nothing
    assert page.status_code == 200 and "Confirmer mon abonnement" in page.text
    assert status_of(app) == "pending"
    done = web.post(confirm_path, data={"csrf": csrf_of(page.text)})
    assert done.status_code == 200
    assert "Votre abonnement est confirmé" in done.text
    assert status_of(app) == "active"
    preferences = re.search(r'href="(/preferences/[^"]+)"', done.text).group(1)
    assert web.get(preferences).status_code == 200


def test_sign_up_errors_are_explained_and_the_answers_kept(app, web):
    response = sign_up(web, email="pas-une-adresse", consent="", name="Camille")
    assert response.status_code == 400
    assert "Indiquez une adresse électronique valide" in response.text
    assert "Cochez la case d’accord" in response.text
    assert 'value="pas-une-adresse"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert outbox_messages(app) == []


class InputAttributes(HTMLParser):
    """The attributes of each <input> of a page, by id."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str | None]] = {}
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input" and dict(attrs).get("id"):
            self.by_id[dict(attrs)["id"]] = dict(attrs)


def test_each_field_in_error_is_marked_invalid_and_points_to_its_message(app, web):
    response = sign_up(web, email="pas-une-adresse", consent="", name="x" * 101)
    fields = InputAttributes(response.text).by_id
    for field in ("email", "name", "consent"):
        assert fields[field].get("aria-invalid") == "true", (field, fields[field])
        assert f"{field}-erreur" in fields[field]["aria-describedby"].split()
        assert f'id="{field}-erreur"' in response.text
    assert "required" in fields["consent"]


def test_honeypot_sign_ups_are_answered_but_ignored(app, web):
    response = sign_up(web, website="https://spam.example.com")
    assert response.status_code == 200
    assert lifecycle.find_subscriber(app, ADDRESS) is None
    assert outbox_messages(app) == []


def test_sign_ups_are_rate_limited_per_address(app, web):
    for _ in range(app.config.service.subscribe_per_address_per_hour):
        assert sign_up(web).status_code == 200
    refused = sign_up(web, email=ADDRESS.upper())
    assert refused.status_code == 429
    assert "Trop de demandes" in refused.text
    assert sign_up(web, email="dominique.petit@example.org").status_code == 200


def test_look_alike_spellings_of_one_inbox_share_its_limit(app, web):
    """Case, full-width and other compatibility forms, sub-addresses (+tag) and dots all reach
    camille.martin@example.org: together they get the per-address limit, not each."""
    spellings = (DATA / "hostile" / "signup_lookalike_addresses.txt").read_text(encoding="utf-8").splitlines()
    limit = app.config.service.subscribe_per_address_per_hour
    codes = [sign_up(web, email=spelling).status_code for spelling in spellings]
    assert codes[:limit] == [200] * limit
    assert set(codes[limit:]) <= {429, 400}, codes  # 400: a spelling the address policy refuses
    assert 429 in codes[limit:]
    queue_drained(app)
    assert len(outbox_messages(app)) <= limit


def confirmation_path(app, web, address: str = ADDRESS) -> str:
    before = len(outbox_messages(app))
    assert sign_up(web, email=address).status_code == 200
    return link_in(mails(app, before + 1)[-1], app, "confirm")


def post_confirmation(web, path: str) -> httpx.Response:
    page = web.get(path)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    return web.post(path, data={"csrf": csrf.group(1) if csrf else ""})


def test_a_confirmation_link_replayed_after_a_later_change_of_status_confirms_nothing(app, web):
    first = confirmation_path(app, web)
    assert "Votre abonnement est confirmé" in post_confirmation(web, first).text
    subscriber_id = lifecycle.find_subscriber(app, ADDRESS).id
    app.clock.advance(seconds=2)
    lifecycle.unsubscribe(app, subscriber_id, "lien de désinscription")
    app.clock.advance(seconds=2)

    page = web.get(first)
    assert page.status_code == 400 and "Confirmer mon abonnement" not in page.text
    assert "n’est plus valable" in page.text
    replayed = post_confirmation(web, first)
    assert replayed.status_code == 400 and "confirmé" not in replayed.text
    assert status_of(app) == "unsubscribed"

    second = confirmation_path(app, web)  # they ask again: only the new link brings them back
    assert "Votre abonnement est confirmé" in post_confirmation(web, second).text
    assert status_of(app) == "active"
    app.clock.advance(seconds=2)
    lifecycle.suppress(app, subscriber_id, "bounced", "sendgrid webhook")
    for link in (first, second):
        replayed = post_confirmation(web, link)
        assert replayed.status_code == 400 and "confirmé" not in replayed.text
    assert status_of(app) == "bounced"


def test_a_confirmation_link_used_twice_says_it_has_already_served(app, web):
    path = confirmation_path(app, web)
    assert "Votre abonnement est confirmé" in post_confirmation(web, path).text
    again = web.get(path)
    assert again.status_code == 400 and "n’est plus valable" in again.text
    assert status_of(app) == "active"


def test_one_click_unsubscribe_needs_no_csrf_and_is_idempotent(app, site):
    subscriber_id = active_subscriber(app)
    path = path_of(links_for(app, subscriber_id).unsubscribe_url, app)
    for _ in range(2):  # a mail provider may POST more than once
        response = httpx.post(site + path, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
        assert status_of(app) == "unsubscribed"
    multipart = httpx.post(site + path, files={"List-Unsubscribe": (None, "One-Click")})
    assert multipart.status_code == 200
    assert "déjà désabonné" in httpx.get(site + path).text


@pytest.fixture
def short_busy_timeout(monkeypatch):
    """Writes wait 0.2 s, not 30, for another process's write lock (listed before ``site``, so
    that every connection the web app opens has it)."""
    monkeypatch.setattr("publisher.store.BUSY_TIMEOUT_SECONDS", 0.2)


def test_a_busy_store_answers_503_and_the_unsubscribe_works_when_tried_again(short_busy_timeout, app, site):
    subscriber_id = active_subscriber(app)
    path = path_of(links_for(app, subscriber_id).unsubscribe_url, app)
    importing = sqlite3.connect(app.store.path, isolation_level=None)  # another process, e.g. a large import
    importing.execute("BEGIN IMMEDIATE")

    busy = httpx.post(site + path, data={"List-Unsubscribe": "One-Click"})
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "60"
    assert "Réessayez dans une minute" in busy.text
    assert "lien" not in busy.text.lower()  # not mistaken for an invalid link
    importing.execute("ROLLBACK")
    importing.close()
    assert status_of(app) == "active"  # nothing was written

    again = httpx.post(site + path, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    assert status_of(app) == "unsubscribed"


def test_unsubscribe_button_is_a_csrf_protected_form(app, web):
    subscriber_id = active_subscriber(app)
    path = path_of(links_for(app, subscriber_id).unsubscribe_url, app)
    page = web.get(path)
    assert page.status_code == 200 and page.text.count("<button") == 1
    assert status_of(app) == "active"  # a GET changes nothing
    assert web.post(path, data={}).status_code == 400
    assert status_of(app) == "active"
    done = web.post(path, data={"csrf": csrf_of(page.text)})
    assert done.status_code == 200 and "Vous êtes désabonné·e" in done.text
    assert status_of(app) == "unsubscribed"


def test_tokens_open_only_their_own_page(app, web):
    subscriber_id = active_subscriber(app)
    links = links_for(app, subscriber_id)
    unsubscribe, preferences = path_of(links.unsubscribe_url, app), path_of(links.preferences_url, app)
    confirm = path_of(confirm_url(app, subscriber_id), app)
    token = {"unsubscribe": unsubscribe, "preferences": preferences, "confirm": confirm}
    for page, owner in [("preferences", "unsubscribe"), ("unsubscribe", "preferences"), ("unsubscribe", "confirm")]:
        foreign = f"/{page}/" + token[owner].rsplit("/", 1)[1]
        assert web.get(foreign).status_code == 400, (page, owner)
        assert web.post(foreign, data={"List-Unsubscribe": "One-Click"}).status_code == 400
    tampered = unsubscribe[:-3] + ("AAA" if not unsubscribe.endswith("AAA") else "BBB")
    assert web.post(tampered, data={"List-Unsubscribe": "One-Click"}).status_code == 400
    assert status_of(app) == "active"


def test_preferences_choose_interests_pause_and_leave(app, web):
    subscriber_id = active_subscriber(app)
    path = path_of(links_for(app, subscriber_id).preferences_url, app)
    page = web.get(path)
    assert page.status_code == 200
    form = {"csrf": csrf_of(page.text), "interests": ["apprentissage", "jeunes"], "delivery": "pause", "action": "save"}
    saved = web.post(path, data=form)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{path}?enregistre=1"
    again = web.get(saved.headers["location"])
    assert "Vos préférences sont enregistrées" in again.text
    assert re.search(r'value="apprentissage" checked', again.text)
    assert re.search(r'id="pause" name="delivery" value="pause" checked', again.text)
    subscriber = lifecycle.get_subscriber(app, subscriber_id)
    assert subscriber.paused_at is not None
    left = web.post(path, data={"csrf": csrf_of(again.text), "action": "leave"})
    assert left.status_code == 303
    assert status_of(app) == "unsubscribed"
    assert "Vous êtes désabonné·e" in web.get(path).text


def test_no_address_nor_token_reaches_the_logs(app, web, caplog):
    caplog.set_level(logging.DEBUG)
    sign_up(web)
    [message] = mails(app, 1)
    confirm_path = link_in(message, app, "confirm")
    web.post(confirm_path, data={"csrf": csrf_of(web.get(confirm_path).text)})
    subscriber_id = lifecycle.find_subscriber(app, ADDRESS).id
    unsubscribe = path_of(links_for(app, subscriber_id).unsubscribe_url, app)
    web.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    text = "\n".join(record.getMessage() for record in caplog.records if record.name.startswith("publisher"))
    assert ADDRESS not in text and "camille" not in text.lower()
    assert confirm_path.rsplit("/", 1)[1] not in text
    assert unsubscribe.rsplit("/", 1)[1] not in text


def test_access_log_leaves_out_tokens_and_client_addresses():
    scope = {
        "type": "http", "method": "POST", "path": "/unsubscribe/eyJ0b2tlbiI.abc.def", "query_string": b"x=1",
        "http_version": "1.1", "client": ("203.0.113.7", 5000), "headers": [],
    }  # fmt: skip
    line = combined_line(scope, 200, 0, datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    assert line == '- - - [26/Nov/2026:09:00:00 +0000] "POST /unsubscribe/[redacted]?[redacted] HTTP/1.1" 200 - "-" "-"'
