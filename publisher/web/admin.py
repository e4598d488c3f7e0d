"""/admin/: the staff dashboard, behind HTTP basic auth (PUBLISHER_ADMIN_PASSWORD).

Recent runs, recent editions with their delivery counts, what is paused or failed, batches
whose outcome is unknown, the next scheduled runs, segment sizes, and a preview of each
newsletter. Closed (403) when no password is configured; 401 without valid credentials; 429
with Retry-After for a client IP after ``[service] admin_failures_before_block`` wrong passwords.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from publisher.app import App
from publisher.config import NewsletterConfig
from publisher.delivery.status import delivery_status
from publisher.digests.preview import render_preview
from publisher.errors import PublisherError
from publisher.store.deliveries import BatchInfo, EditionDeliveries
from publisher.store.runs import Run, recent_runs
from publisher.store.signup_mails import queue_counts
from publisher.store.subscribers import count_by_status
from publisher.subscribers.segments import count_members
from publisher.tokens import edition_path
from publisher.web.context import NextRun, Schedule, WebContext
from publisher.web.security import basic_auth_ok, client_key

log = logging.getLogger(__name__)

PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline' https:; img-src https: data:; font-src https:; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'"
)
REALM = 'Basic realm="publisher admin", charset="UTF-8"'
# The words of the dashboard for the states the library reports in English.
LABELS = {
    "ok": "réussie",
    "failed": "échec",
    "running": "en cours",
    "ready": "prête",
    "sending": "en cours d’envoi",
    "paused": "en pause",
    "sent": "envoyée",
    "pending": "en attente",
    "unknown": "issue inconnue",
    "skipped": "écartés",
    "in_flight": "en vol",
    "active": "actifs",
    "unsubscribed": "désabonnés",
    "bounced": "adresses en erreur",
    "complained": "plaintes pour spam",
}
# A count of ledger rows in French, singular (0 and 1) and plural: « 1 envoyé », « 3 envoyés ».
DELIVERY_COUNTS = {
    "sent": ("envoyé", "envoyés"),
    "failed": ("en échec", "en échec"),
    "pending": ("en attente", "en attente"),
    "sending": ("en cours d’envoi", "en cours d’envoi"),
    "unknown": ("d’issue inconnue", "d’issue inconnue"),
    "skipped": ("écarté", "écartés"),
}


def delivery_count(status: str, count: int) -> str:
    """« 1 envoyé », « 3 envoyés », « 2 en échec »: a count of ledger rows of one status."""
    singular, plural = DELIVERY_COUNTS.get(status, (status, status))
    return f"{count} {singular if count <= 1 else plural}"


@dataclass(frozen=True)
class SegmentSize:
    name: str
    description: str
    members: int | None
    error: str | None = None


@dataclass(frozen=True)
class Dashboard:
    runs: list[Run]
    failed_runs: list[Run]
    editions: list[EditionDeliveries]
    paused: list[EditionDeliveries]
    unknown_batches: list[BatchInfo]
    next_runs: list[NextRun]
    segments: list[SegmentSize]
    subscribers: dict[str, int]
    newsletters: dict[str, NewsletterConfig]
    # The web version of each sent edition, by id: its view-online path (signed when not public).
    edition_links: dict[int, str]
    # The sign-up emails by status (publisher.signup_queue): "failed" and "unknown" need a look.
    signup_mails: dict[str, int]


def access_refused(request: Request) -> Response | None:
    context = WebContext.of(request)
    password = context.apps.factory.template.secrets.admin_password
    if not password:
        return context.pages.message(
            "Tableau de bord fermé",
            "Le tableau de bord n’est pas activé sur ce serveur (variable d’environnement PUBLISHER_ADMIN_PASSWORD).",
            status=403,
        )
    client = client_key(request.client.host if request.client else None)
    wait = context.admin_throttle.retry_after(client)
    if wait is not None:
        return _blocked(context, wait)
    header = request.headers.get("authorization")
    if not basic_auth_ok(header, context.apps.config.service.admin_user, password):
        if header:  # a browser's first request carries no credentials: not a failed attempt
            context.admin_throttle.failed(client)
        response = context.pages.message(
            "Identification requise", "Ce tableau de bord est réservé à l’équipe.", status=401
        )
        response.headers["www-authenticate"] = REALM
        return response
    context.admin_throttle.succeeded(client)
    return None


def _blocked(context: WebContext, wait: int) -> Response:
    """429 for a client that tried too many wrong passwords; its credentials are not even checked."""
    log.warning("admin: a client is blocked for %s s after repeated wrong passwords", wait)
    response = context.pages.message(
        "Trop de tentatives",
        "Trop de mots de passe erronés ont été essayés depuis votre connexion.",
        f"Réessayez dans {wait} secondes.",
        status=429,
    )
    response.headers["retry-after"] = str(wait)
    return response


def _dashboard(app: App, schedule: Schedule) -> Dashboard:

    status = delivery_status(app, limit=20)
    runs = recent_runs(app.store, 20)
    segments = [_segment_size(app, name, segment.description) for name, segment in app.config.segments.items()]
    return Dashboard(
        runs=runs,
        failed_runs=[run for run in runs if run.status == "failed"],
        editions=status.editions,
        paused=[edition for edition in status.editions if edition.edition_status == "paused"],
        unknown_batches=status.unknown_batches,
        next_runs=schedule.next_runs(),
        segments=segments,
        subscribers=count_by_status(app.store),
        newsletters=dict(app.config.newsletters),
        edition_links={
            edition.edition_id: edition_path(app, edition.edition_id, edition.newsletter)
            for edition in status.editions
            if edition.edition_status == "sent"
        },
        signup_mails=queue_counts(app.store),
    )


def _segment_size(app: App, name: str, description: str) -> SegmentSize:
    try:
        return SegmentSize(name, description, count_members(app, name))
    except PublisherError as error:  # e.g. a tag the store does not know yet: say so, show the rest
        return SegmentSize(name, description, None, str(error))


async def dashboard(request: Request) -> Response:
    refused = access_refused(request)
    if refused is not None:
        return refused
    context = WebContext.of(request)
    board = await context.call(_dashboard, context.schedule)
    return context.pages.render(
        "admin.html.j2",
        board=board,
        live=context.schedule.live,
        labels=LABELS,
        delivery_count=delivery_count,
    )


def _preview(app: App, slug: str) -> str:
    return render_preview(app, slug, None).html


async def preview(request: Request) -> Response:
    refused = access_refused(request)
    if refused is not None:
        return refused
    context = WebContext.of(request)
    slug = request.path_params["slug"]
    if slug not in context.apps.config.newsletters:
        return context.pages.message("Lettre inconnue", "Aucune lettre ne porte ce nom dans config.toml.", status=404)
    try:
        html = await context.call(_preview, slug)
    except PublisherError as error:
        return context.pages.message("Aperçu impossible", str(error), status=500)
    return HTMLResponse(html, headers={"content-security-policy": PREVIEW_CSP, "cache-control": "no-store"})
