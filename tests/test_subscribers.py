"""Subscriber operations: double opt-in, links, leaving, preferences, GDPR access and erasure, export."""

import csv
import io
import json

import pytest
from support.subscribers import add_tags, write_csv

from publisher import signup_queue
from publisher.addresses import InvalidAddress
from publisher.errors import NotFoundError
from publisher.subscribers import lifecycle as subscriber_ops
from publisher.subscribers.csv_import import import_csv
from publisher.subscribers.export import export
from publisher.subscribers.lifecycle import (
    confirm,
    confirm_link,
    find_subscriber,
    forget,
    open_link,
    preferences_subscriber,
    purge_pending,
    show,
    suppress,
    unsubscribe,
    unsubscribe_link,
    update_preferences,
)
from publisher.subscribers.status import mailable
from publisher.tokens import PREFERENCES, UNSUBSCRIBE, TokenError, links_for


@pytest.fixture
def tags(store):
    return add_tags(store)


def subscribe(app, *args, **kwargs):
    """A sign-up from the form, and the email its queue entry sends (None: nothing queued)."""
    subscriber_id = subscriber_ops.subscribe(app, *args, **kwargs)
    if subscriber_id is None:
        return None
    return signup_queue.answer_for(app, subscriber_ops.get_subscriber(app, subscriber_id))


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def confirm_token(message) -> str:
    url = next(word for word in message.text.split() if "/confirm/" in word)
    return token_of(url)


def history(app, email):
    return [(entry["change"], entry["from"], entry["to"], entry["source"]) for entry in show(app, email)["history"]]


def test_double_opt_in_from_form_to_active(app, tags):
    message = subscribe(app, " Chloe@Example.ORG ", "Chloé", ["apprentissage", "VAE"], "formulaire site")
    assert message.to_email == "Chloe@example.org" and message.to_name == "Chloé"
    assert message.subject == "Confirmez votre inscription à Horizons Emploi-Formation"
    assert "Bonjour Chloé," in message.text and "valable 7 jours" in message.text
    assert "https://www.horizons-emploi.example.org/confirm/" in message.html
    chloe = find_subscriber(app, "chloe@example.org")
    assert (
        chloe.status == "pending"
        and chloe.consent_at is None
        and not mailable(chloe.status, chloe.paused_at is not None)
    )

    app.clock.advance(hours=2)
    assert confirm_link(app, confirm_token(message)) is True
    assert confirm_link(app, confirm_token(message)) is False  # idempotent
    chloe = find_subscriber(app, "chloe@example.org")
    assert chloe.status == "active" and mailable(chloe.status, chloe.paused_at is not None)
    assert chloe.consent_source == "formulaire site" and chloe.consent_at == app.clock.now()
    assert history(app, "chloe@example.org") == [
        ("status", None, "pending", "formulaire site"),
        ("status", "pending", "active", "lien de confirmation"),
    ]
    assert [interest["slug"] for interest in show(app, "chloe@example.org")["interests"]] == ["apprentissage", "vae"]


def test_subscribing_again_resends_for_pending_and_informs_active(app, tags):
    first = subscribe(app, "a@example.org", "A", ["VAE"], "formulaire site")
    app.clock.advance(days=5)
    again = subscribe(app, "a@example.org", "Anne", ["jeunes"], "formulaire site", locale="en")
    assert again.subject == "Please confirm your subscription to Horizons Emploi-Formation"
    assert [i["slug"] for i in show(app, "a@example.org")["interests"]] == ["jeunes"]
    assert purge_pending(app) == 0  # the resend restarted the delay
    assert confirm_link(app, confirm_token(first)) is True

    informed = subscribe(app, "a@example.org", "Anne", [], "formulaire site")
    assert informed.subject.startswith("You are already subscribed")  # their stored locale
    assert "/preferences/" in informed.text and "/confirm/" not in informed.text
    assert find_subscriber(app, "a@example.org").status == "active"


def test_subscribe_never_reactivates_who_left(app, tags):
    import_csv(
        app,
        write_csv(
            app.config.base_dir / "a.csv",
            "parti@example.org,,,,unsubscribed,,,,",
            "rebond@example.org,,,,bounced,,,,",
            "plainte@example.org,,,,complained,,,,",
        ),
    )
    assert subscribe(app, "rebond@example.org") is None
    assert subscribe(app, "plainte@example.org") is None
    message = subscribe(app, "parti@example.org", "Revenu")
    assert find_subscriber(app, "parti@example.org").status == "unsubscribed"  # until they confirm themselves
    app.clock.advance(minutes=1)
    assert confirm_link(app, confirm_token(message)) is True
    assert find_subscriber(app, "parti@example.org").status == "active"


def test_an_old_confirmation_link_does_not_undo_an_unsubscribe(app, tags):
    message = subscribe(app, "a@example.org")
    assert confirm_link(app, confirm_token(message))
    app.clock.advance(hours=1)
    unsubscribe(app, find_subscriber(app, "a@example.org").id, "lien de désinscription")
    app.clock.advance(hours=1)
    assert confirm_link(app, confirm_token(message)) is False
    assert find_subscriber(app, "a@example.org").status == "unsubscribed"


def test_forgotten_addresses_get_no_mail_from_the_form(app, tags):
    forget(app, "oubli@example.org")
    assert subscribe(app, "Oubli@example.org") is None
    assert find_subscriber(app, "oubli@example.org") is None


def test_subscribe_validates_address_and_tags(app, tags):
    with pytest.raises(InvalidAddress):
        subscribe(app, "pas une adresse")
    with pytest.raises(NotFoundError, match="unknown tag 'inconnu'"):
        subscribe(app, "a@example.org", interests=["inconnu"])
    assert find_subscriber(app, "a@example.org") is None


def test_purge_pending_after_the_configured_days(app, tags):
    subscribe(app, "vieux@example.org")
    app.clock.advance(days=3)
    subscribe(app, "recent@example.org")
    app.clock.advance(days=4, seconds=1)
    assert purge_pending(app) == 1
    assert find_subscriber(app, "vieux@example.org") is None
    assert find_subscriber(app, "recent@example.org").status == "pending"
    assert purge_pending(app, older_than_days=0) == 1


def test_a_token_signed_before_its_subscriber_existed_is_refused(app, tags):
    """Ids of purged subscribers are reused: an old confirmation link must not confirm a newcomer."""
    old = subscribe(app, "x@example.org")
    app.clock.advance(days=3)
    purge_pending(app, older_than_days=1)
    app.clock.advance(seconds=5)
    subscribe(app, "victim@example.org")
    assert find_subscriber(app, "victim@example.org").id == 1  # the same id as the purged one
    with pytest.raises(NotFoundError, match="no longer valid"):
        confirm_link(app, confirm_token(old))
    assert find_subscriber(app, "victim@example.org").status == "pending"


def test_unsubscribe_link_is_immediate_idempotent_and_recorded(app, tags):
    import_csv(app, write_csv(app.config.base_dir / "a.csv", "a@example.org,,,,,,,,"))
    links = links_for(app, find_subscriber(app, "a@example.org").id)
    assert unsubscribe_link(app, token_of(links.unsubscribe_url)) is True
    assert unsubscribe_link(app, token_of(links.unsubscribe_url)) is False
    assert history(app, "a@example.org")[-1] == ("status", "active", "unsubscribed", "lien de désinscription")
    with pytest.raises(TokenError):
        unsubscribe_link(app, token_of(links.preferences_url))  # a preferences token can't unsubscribe
    with pytest.raises(TokenError):
        open_link(app, token_of(links.unsubscribe_url) + "x", UNSUBSCRIBE)


def test_suppress_only_strengthens(app, tags):
    import_csv(app, write_csv(app.config.base_dir / "a.csv", "a@example.org,,,,,,,,"))
    subscriber_id = find_subscriber(app, "a@example.org").id
    assert suppress(app, subscriber_id, "bounced", "sendgrid webhook") is True
    assert unsubscribe(app, subscriber_id, "lien") is False
    assert suppress(app, subscriber_id, "unsubscribed", "sendgrid webhook") is False
    assert suppress(app, subscriber_id, "complained", "sendgrid webhook") is True
    assert suppress(app, 999, "complained", "sendgrid webhook") is False
    assert confirm(app, subscriber_id, "lien", app.clock.now()) is False  # complained: never back
    with pytest.raises(ValueError):
        suppress(app, subscriber_id, "active", "x")


def test_update_preferences_replaces_interests_and_pauses(app, tags):
    import_csv(app, write_csv(app.config.base_dir / "a.csv", "a@example.org,,,apprentissage|VAE,,,,,"))
    links = links_for(app, find_subscriber(app, "a@example.org").id)
    subscriber = preferences_subscriber(app, token_of(links.preferences_url))
    assert update_preferences(app, subscriber.id, ["VAE", "jeunes"], paused=True, source="page préférences")
    assert not update_preferences(app, subscriber.id, ["vae", "jeunes"], paused=True, source="page préférences")
    data = show(app, "a@example.org")
    assert [i["slug"] for i in data["interests"]] == ["jeunes", "vae"]
    assert data["paused_since"] == "2026-11-26T10:00:00+01:00"
    assert [(e["change"], e["from"], e["to"]) for e in data["history"][1:]] == [
        ("interests", "apprentissage | vae", "jeunes | vae"),
        ("paused", "false", "true"),
    ]
    assert update_preferences(app, subscriber.id, paused=False)
    again = find_subscriber(app, "a@example.org")
    assert mailable(again.status, again.paused_at is not None)
    with pytest.raises(NotFoundError):
        update_preferences(app, 999, paused=True)
    with pytest.raises(NotFoundError, match="unknown tag"):
        update_preferences(app, subscriber.id, ["nope"])
    assert open_link(app, token_of(links.preferences_url), PREFERENCES).subscriber.id == subscriber.id


def test_show_everything_held_and_forget_keeps_only_a_hash(app, store, tags):
    import_csv(
        app,
        write_csv(
            app.config.base_dir / "a.csv",
            "marie@example.org,Marie,fr,apprentissage,active,salon,2026-03-01T10:00:00+01:00,Tours,conseiller",
        ),
    )
    held = show(app, "MARIE@example.org")
    assert held["email"] == "marie@example.org" and held["name"] == "Marie"
    assert held["consent"] == {"source": "salon", "at": "2026-03-01T10:00:00+01:00"}
    assert held["attributes"] == {"bassin": "Tours", "role": "conseiller"}
    assert held["history"][0]["detail"] == "consent: salon, 2026-03-01T09:00:00Z"
    json.dumps(held)  # JSON-ready

    result = forget(app, "marie@example.org")
    assert result.found
    dump = "\n".join(store.conn.iterdump())
    assert "marie" not in dump.lower() and "Tours" not in dump and "salon" not in dump
    assert show(app, "marie@example.org")["forgotten"]["source"] == "demande d'effacement (RGPD)"
    assert forget(app, "marie@example.org").found is False  # idempotent
    with pytest.raises(NotFoundError):
        show(app, "personne@example.org")


def test_export_csv_round_trips_and_jsonl_has_everything(app, tags, tmp_path):
    path = write_csv(
        tmp_path / "a.csv",
        "a@example.org,Anne « A »,fr,apprentissage|bassin d'emploi,active,salon,2026-03-01T10:00:00+01:00,Tours,",
        "b@example.org,Bob,en,,unsubscribed,,2026-03-02,,formateur",
    )
    import_csv(app, path)
    out = io.StringIO()
    assert export(app, out=out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0] == {
        "email": "a@example.org",
        "name": "Anne « A »",
        "locale": "fr",
        "interests": "apprentissage|bassin d'emploi",
        "status": "active",
        "consent_source": "salon",
        "consent_at": "2026-03-01T10:00:00+01:00",
        "bassin": "Tours",
        "role": "",
    }
    assert rows[1]["status"] == "unsubscribed"

    again = tmp_path / "again.csv"
    again.write_text(out.getvalue(), encoding="utf-8")
    report = import_csv(app, again)
    assert (report.unchanged, report.ok) == (2, True)

    lines = io.StringIO()
    export(app, "apprentissage-tours", "jsonl", lines)
    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert [record["email"] for record in records] == ["a@example.org"]
    assert records[0]["interests"] == ["apprentissage", "bassin d'emploi"]
    assert records[0]["attributes"] == {"bassin": "Tours"}
