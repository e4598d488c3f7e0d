"""Article text, tag names, staff's config strings and subscriber names cannot reach a
reader's address, token or links: hostile articles imported with the real CLI, sent through
every transport (outbox, SMTP to aiosmtpd, the local SendGrid-compatible server, whose
substitutions and ``<%asm_…%>`` tags are applied here as SendGrid would), previewed and shown
in the web archive. Each recipient's values appear only where the templates put them."""

from __future__ import annotations

import contextlib
import json
import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner
from support.apps import app_for
from support.config import set_keys
from support.delivery import add_subscribers, use_sendgrid
from support.sendgrid_fake import FakeSendgrid
from support.webserver import served, web_app
from test_delivery_outbox_smtp import start_smtp_server

from publisher.app import App
from publisher.cli import main
from publisher.config import Secrets
from publisher.delivery.send import send_message
from publisher.placeholders import edition_placeholders
from publisher.store.editions import get_edition
from publisher.subscribers.subscription_mail import confirmation_message
from publisher.tokens import PREFERENCES, UNSUBSCRIBE, TokenError, verify

HOSTILE = Path(__file__).parent / "data" / "hostile" / "articles_placeholders.jsonl"
SECRET = "test-secret-of-at-least-thirty-two-bytes"
BAIT = "__PUB_EMAIL__ __PUB_HTML_UNSUBSCRIBE_URL__ <%asm_group_unsubscribe_raw_url%> __PUB_EMAIL_AAAAAAAAAAAAAAAA__"
NAMES = ("Camille __PUB_EMAIL__ __PUB_HTML_EMAIL__", "<%asm_preferences_raw_url%> __PUB_UNSUBSCRIBE_URL__", "Léa")
# Where the shipped templates (and the greeting added below) put each value in one message:
# the address in To and the footers of both parts, the unsubscribe link in List-Unsubscribe
# and both footers, the preferences link in both footers.
EXPECTED = {"email": 3, UNSUBSCRIBE: 3, PREFERENCES: 2}
ASM_TAGS = ("<%asm_group_unsubscribe_raw_url%>", "<%asm_global_unsubscribe_raw_url%>", "<%asm_preferences_raw_url%>")
TOKEN = r"[A-Za-z0-9_\-.]+"
SIGNED = r"[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"  # itsdangerous: payload.time.signature
FIRST = 11  # subscribers abonne11@… (the SMTP server of the delivery tests refuses abonne2@…)


def cli(config_file: Path, *args: str, **env: str):
    result = CliRunner().invoke(main, ["--config", str(config_file), *args], env={"PUBLISHER_SECRET": SECRET, **env})
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def hostile(app, config_file):
    """Hostile staff strings and subscriber names, a greeting by name in the hebdo templates,
    and the hostile articles imported with `publisher articles import`."""
    set_keys(config_file, "site", title=f"Horizons {BAIT}", postal_address=f"10 rue {BAIT}, 45000 Orleans")
    # A sender name is at most 100 characters (the address policy): the bait without its last part.
    set_keys(
        config_file,
        "delivery",
        from_name="Lettre __PUB_EMAIL__ __PUB_HTML_UNSUBSCRIBE_URL__ <%asm_group_unsubscribe_raw_url%>",
    )
    set_keys(
        config_file,
        "newsletters.hebdo",
        title=f"La lettre {BAIT}",
        subject=f"{{{{ site.title }}}} {BAIT}",
        preheader=f"Preambule {BAIT}",
    )
    templates = config_file.parent / "newsletters" / "hebdo"
    for name, greeting in (("digest.mjml.j2", "<p>Bonjour {{ recipient.name }},</p>"), ("digest.txt.j2", "")):
        path = templates / name
        greeting = greeting or "Bonjour {{ recipient.name }},\n"
        path.write_text(path.read_text().replace("{% block intro %}\n", "{% block intro %}\n" + greeting))
    for number, name in enumerate(NAMES, start=FIRST):
        add_subscribers(app.store, 1, start=number, name=name)
    cli(config_file, "articles", "import", str(HOSTILE))
    return {f"abonne{n}@example.org": n for n in range(FIRST, FIRST + len(NAMES))}


def tokens_in(text: str, purpose: str) -> list[str]:
    return re.findall(rf"/{purpose}/({TOKEN})", text)


def check_message(message: str, email: str, readers: dict[str, int]) -> None:
    """``message`` (headers, subject, text and HTML, decoded) holds ``email``'s values only
    where the templates put them, and nobody else's."""
    subscriber_id = readers[email]
    assert "evil.example" in message  # the hostile articles are in it
    assert message.count(email) + message.count(quote(email, safe="")) == EXPECTED["email"]
    for other in readers.keys() - {email}:
        assert other not in message and quote(other, safe="") not in message
    for purpose in (UNSUBSCRIBE, PREFERENCES):
        found = tokens_in(message, purpose)
        assert len(found) == EXPECTED[purpose], (purpose, found)
        assert {verify(SECRET, token, purpose) for token in found} == {subscriber_id}
        assert message.count(found[0]) == EXPECTED[purpose]  # the bare token is nowhere else
    for token in re.findall(SIGNED, message):  # no other recipient's token, under any name
        for purpose in (UNSUBSCRIBE, PREFERENCES):
            with contextlib.suppress(TokenError):
                assert verify(SECRET, token, purpose) == subscriber_id


def mime_text(mime: EmailMessage) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in mime.items())
    text = mime.get_body(("plain",)).get_content()
    html = mime.get_body(("html",)).get_content()
    return f"{headers}\n{text}\n{html}"


def sendgrid_messages(body: dict) -> dict[str, str]:
    """What each recipient of one request receives: SendGrid's substitutions applied again
    and again (as if a value could expand too), and its ASM tags filled with a link that
    names the recipient. Also: the request minus each recipient's own fields names nobody."""
    shared = {key: value for key, value in body.items() if key != "personalizations"}
    messages = {}
    for personalization in body["personalizations"]:
        email = personalization["to"][0]["email"]
        values = {**personalization["substitutions"], **{tag: f"https://asm.example/?to={email}" for tag in ASM_TAGS}}

        def substituted(text: str, values: dict = values) -> str:
            for _ in range(3):
                for key, value in values.items():
                    text = text.replace(key, value)
            return text

        parts = [json.dumps(personalization["to"]), json.dumps(personalization["headers"]), json.dumps(shared["from"])]
        parts += [substituted(shared["subject"]), substituted(json.dumps(shared["headers"]))]
        parts += [substituted(part["value"]) for part in shared["content"]]
        messages[email] = "\n".join(parts)
        others = {key: value for key, value in personalization.items() if key not in ("to", "substitutions")}
        others["headers"] = {k: v for k, v in personalization["headers"].items() if k != "List-Unsubscribe"}
        assert "@" not in json.dumps(others) and "/unsubscribe/" not in json.dumps(others)
    assert "/unsubscribe/" not in json.dumps(shared) and "@example.org" not in json.dumps(shared)
    return messages


def sent_edition(app, readers):
    [edition_id] = {row["edition_id"] for row in app.store.db["deliveries"].rows}
    statuses = {row["status"] for row in app.store.db["deliveries"].rows}
    assert statuses == {"sent"} and app.store.db["deliveries"].count == len(readers)
    return get_edition(app.store, edition_id)


def test_outbox_messages_preview_and_archive_give_nobody_away(app, config_file, hostile, tmp_path):
    preview = tmp_path / "preview" / "hebdo.html"
    cli(config_file, "newsletters", "preview", "hebdo", "--email", "abonne11@example.org", "--out", str(preview))
    html, text = preview.read_text(), preview.with_suffix(".txt").read_text()
    for part in (html, text):  # no To header: one address and one of each link per part
        assert part.count("abonne11@example.org") == 1 and "abonne12@" not in part and "abonne13@" not in part
        assert len(tokens_in(part, UNSUBSCRIBE)) == len(tokens_in(part, PREFERENCES)) == 1
    assert "evil.example" in html and "__PUB_EMAIL__" in text  # the hostile text is there, inert

    cli(config_file, "send", "hebdo")

    edition = sent_edition(app, hostile)
    messages = sorted(app.config.delivery.outbox.path.glob("*.eml"))
    assert len(messages) == len(hostile)
    for path in messages:
        mime = message_from_bytes(path.read_bytes(), policy=default)
        check_message(mime_text(mime), mime["To"].addresses[0].addr_spec, hostile)

    ph = edition_placeholders(Secrets(signing_secret=SECRET), edition.newsletter, edition.segment, edition.content_key)
    assert ph.email in edition.html and ph.email not in edition.subject + edition.preheader
    with served(web_app(App(app.config, Secrets(signing_secret=SECRET), app.clock))) as url:
        page = httpx.get(f"{url}/archive/{edition.id}").text
    assert "evil.example" in page and ph.tag not in page
    assert "@example.org" not in page and not tokens_in(page, UNSUBSCRIBE) and not tokens_in(page, PREFERENCES)
    assert page.count("votre adresse") == 1


def test_smtp_messages_give_nobody_away(app, config_file, hostile):
    recorder, controller = start_smtp_server()
    try:
        set_keys(config_file, "delivery", transport="smtp")
        set_keys(config_file, "delivery.smtp", host="127.0.0.1", port=recorder.port, starttls=False, username="lettre")
        cli(config_file, "send", "hebdo", SMTP_PASSWORD="mot-de-passe")
    finally:
        controller.stop()
    sent_edition(app, hostile)
    assert len(recorder.messages) == len(hostile)
    for _, (to,), data in recorder.messages:
        check_message(mime_text(message_from_bytes(data, policy=default)), to, hostile)


def test_sendgrid_requests_give_nobody_away(app, config_file, hostile):
    fake = FakeSendgrid().start()
    try:
        use_sendgrid(config_file, fake.url)
        set_keys(config_file, "delivery.sendgrid", asm_group_id=4242)
        cli(config_file, "send", "hebdo", SENDGRID_API_KEY="SG.test-key")
    finally:
        fake.stop()
    assert not fake.invalid
    sent_edition(app, hostile)
    messages = {}
    for request in fake.accepted:
        messages |= sendgrid_messages(request.body)
    assert set(messages) == set(hostile)
    for email, message in messages.items():
        check_message(message, email, hostile)


@pytest.mark.parametrize("key", ["subject", "preheader"])
def test_subject_and_preheader_cannot_place_recipient_values(app, config_file, hostile, key):
    set_keys(config_file, "newsletters.hebdo", **{key: "Pour {{ recipient.email }}"})
    result = CliRunner().invoke(
        main, ["--config", str(config_file), "newsletters", "preview", "hebdo"], env={"PUBLISHER_SECRET": SECRET}
    )
    assert result.exit_code == 1
    assert f"newsletters.hebdo.{key}: undefined variable: 'recipient' is undefined" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_placeholders_are_the_same_for_one_secret_and_edition_and_unguessable_otherwise():
    def tag(secret: str, *edition: str) -> str:
        return edition_placeholders(Secrets(signing_secret=secret), *edition).tag

    assert tag(SECRET, "hebdo", "tous", "k1") == tag(SECRET, "hebdo", "tous", "k1")  # byte-identical rebuilds
    others = {
        tag("another", "hebdo", "tous", "k1"),
        tag(SECRET, "hebdo", "tous", "k2"),
        tag(SECRET, "hebdo", "tours", "k1"),
    }
    assert len(others | {tag(SECRET, "hebdo", "tous", "k1")}) == 4
    assert re.fullmatch("[A-Z2-7]{16}", tag(SECRET, "hebdo", "tous", "k1"))


def test_a_confirmation_mail_keeps_sendgrid_tags_in_a_name_or_site_title_inert(app, config_file):
    fake = FakeSendgrid().start()
    try:
        use_sendgrid(config_file, fake.url)
        set_keys(config_file, "delivery.sendgrid", asm_group_id=4242)
        set_keys(config_file, "site", title=f"Horizons {BAIT}")
        sender = app_for(config_file, app.clock, sendgrid_api_key="SG.test-key")
        url = f"{sender.config.site.base_url}/confirm/jeton"
        send_message(sender, confirmation_message(sender.config, "abonne11@example.org", NAMES[1], "fr", url))
        sender.close()
    finally:
        fake.stop()
    [request] = fake.accepted
    sent = json.dumps(request.body["content"]) + request.body["subject"]
    assert "asm_preferences_raw_url" in sent and "asm_group_unsubscribe_raw_url" in sent and "<%" not in sent
