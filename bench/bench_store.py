"""What the delivery benches share: a store of active subscribers and one edition to send them.

Imported by bench/dispatch.py and bench/send_paths.py after they put the repository on sys.path.
"""

from __future__ import annotations

from publisher.app import App
from publisher.clock import to_db
from publisher.models import Edition
from publisher.placeholders import edition_placeholders
from publisher.store.editions import insert_edition

# Filled with the edition's placeholders (publisher.placeholders) once its identity is known.
HTML = (
    "<html><body><p>Bonjour {ph.name},</p>"
    + "<p>Les actualités « emploi-formation » de la semaine.</p>" * 40
    + '<a href="{ph.view_online_url}">En ligne</a> <a href="{ph.unsubscribe_url}">Se désabonner</a> '
    '<a href="{ph.preferences_url}">Préférences</a></body></html>'
)
TEXT = "Bonjour {ph.name},\n" + "Les actualités de la semaine.\n" * 40 + "Se désabonner : {ph.unsubscribe_url}\n"


def add_active_subscribers(app: App, count: int) -> None:
    """Subscribers 1…count, active, abonneN@example.org, in one transaction."""
    now = to_db(app.clock.now())
    rows = (
        {
            "id": n,
            "email": f"abonne{n}@example.org",
            "name": f"Abonné {n}",
            "status": "active",
            "created_at": now,
            "updated_at": now,
        }
        for n in range(1, count + 1)
    )
    with app.store.transaction():
        app.store.db["subscribers"].insert_all(rows, batch_size=5000)


def bench_edition(app: App) -> Edition:
    """The stored edition of « hebdo » that the benches send, with its own placeholders."""
    ph = edition_placeholders(app.secrets, "hebdo", "tous", "bench")
    html, text = HTML.format(ph=ph), TEXT.format(ph=ph)
    return insert_edition(app.store, Edition("hebdo", "tous", "bench", "La lettre hebdo", "", html, text, (1,)))
