"""Helpers shared by the delivery tests: subscribers, an edition with every placeholder,
and config.toml pointed at a local SendGrid-compatible server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from publisher.clock import SystemClock, to_db
from publisher.config import load_config
from publisher.models import Edition, Recipient
from publisher.placeholders import Placeholders, edition_placeholders
from publisher.store import Store
from publisher.store.editions import insert_edition
from publisher.store.senders import set_last_fire
from support.apps import SECRETS
from support.config import set_keys

HTML = (
    "<html><body><p>Bonjour {ph.name},</p><p>Les actualités « emploi » de la semaine.</p>"
    '<p><a href="{ph.view_online_url}">Voir en ligne</a> · <a href="{ph.unsubscribe_url}">Se désabonner</a> · '
    '<a href="{ph.preferences_url}">Préférences</a></p><p>Envoyé à {ph.email}</p></body></html>'
)
TEXT = (
    "Bonjour {ph.name},\n\nLes actualités « emploi » de la semaine.\n\nVoir en ligne : {ph.view_online_url}\n"
    "Se désabonner : {ph.unsubscribe_url}\nPréférences : {ph.preferences_url}\n"
)


def placeholders_of(edition: Edition) -> Placeholders:
    """The placeholders of a stored edition (the tests' secret)."""
    return edition_placeholders(SECRETS, edition.newsletter, edition.segment, edition.content_key)


def add_subscribers(
    store: Store, count: int, start: int = 1, status: str = "active", name: str = "Abonné {n}"
) -> list[Recipient]:
    now = to_db(store.clock.now())
    rows = [
        {
            "id": n,
            "email": f"abonne{n}@example.org",
            "name": name.format(n=n),
            "status": status,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(start, start + count)
    ]
    with store.transaction():
        store.db["subscribers"].insert_all(rows, batch_size=1000)
    return [Recipient(row["id"], row["email"], row["name"]) for row in rows]


def make_edition(store: Store, newsletter: str = "hebdo", segment: str = "tous", key: str = "k1") -> Edition:
    ph = edition_placeholders(SECRETS, newsletter, segment, key)
    return insert_edition(
        store,
        Edition(
            newsletter=newsletter,
            segment=segment,
            content_key=key,
            subject="L'essentiel de la semaine",
            preheader="",
            html=HTML.format(ph=ph),
            text=TEXT.format(ph=ph),
            article_ids=(1, 2),
        ),
    )


def use_sendgrid(config_file: Path, api_host: str, **delivery: object) -> None:
    """Point config.toml at a local SendGrid-compatible server, with fast retries."""
    settings = {
        "transport": "sendgrid",
        "batch_size": 100,
        "rate_per_second": 100000,
        "retry_delay": 0.01,
        "max_attempts": 10,
        "concurrency": 4,
        **delivery,
    }
    set_keys(config_file, "delivery", **settings)
    set_keys(config_file, "delivery.sendgrid", api_host=api_host)


def due_now(config_file: Path, slug: str) -> None:
    """Make newsletter ``slug`` due for the next `publisher run-once` (system clock): it fires
    every minute and last fired over a minute ago. The store must exist (`publisher init`)."""
    set_keys(config_file, f"newsletters.{slug}", schedule="* * * * *")
    clock = SystemClock()
    with Store(load_config(config_file).store.path, clock) as store:
        set_last_fire(store, slug, clock.now() - timedelta(minutes=1, seconds=1))
