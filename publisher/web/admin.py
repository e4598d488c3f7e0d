"""/admin/: the staff dashboard, behind HTTP basic auth (PUBLISHER_ADMIN_PASSWORD).

Failed or partly failed sends first, with their reasons; recent runs (manual sends included),
recent sends (the editions of one send grouped) with their delivery counts, what is paused,
batches whose outcome is unknown, likely typos of config.toml, the next scheduled runs, segment
sizes, and a preview of each newsletter. Closed (403) when no password is configured; 401 without valid credentials; 429
with Retry-After for a client IP after ``[service] admin_failures_before_block`` wrong passwords.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from publisher.app import App
from publisher.config import NewsletterConfig
from publisher.delivery.status import delivery_status
from publisher.digests.preview import render_preview
from publisher.errors import PublisherError
from publisher.french import count_of, plural
from publisher.jobs import NextRun, next_runs
from publisher.store.deliveries import BatchInfo, EditionDeliveries, failure_reasons
from publisher.store.runs import Run, recent_runs
from publisher.store.sends import Send, recent_sends
from publisher.store.signup_mails import queue_counts
from publisher.store.subscribers import count_by_status
from publisher.subscribers.segments import count_members
from publisher.tokens import edition_path
from publisher.typos import config_warnings
from publisher.web.context import WebContext
from publisher.web.run_words import run_label, summary_in_french
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
    one, other = DELIVERY_COUNTS.get(status, (status, status))
    return f"{count} {plural(count, one, other)}"


@dataclass(frozen=True)
class FailedSend:
    """A send with failed recipients or a paused edition, and why: (reason, recipients) the
    most frequent first."""

    send: Send
    reasons: list[tuple[str, int]]


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
    # One per send: the editions a send created together (one per distinct content).
    sends: list[Send]
    failed_sends: list[FailedSend]
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
    # Typos of config.toml that leave a newsletter or segment empty (publisher.typos).
    warnings: list[str]


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


def _dashboard(app: App) -> Dashboard:
    status = delivery_status(app, limit=20)
    runs = recent_runs(app.store, 20)
    sends = recent_sends(app.store, 10)
    editions = [edition for send in sends for edition in send.editions]
    segments = [_segment_size(app, name, segment.description) for name, segment in app.config.segments.items()]
    return Dashboard(
        runs=runs,
        failed_runs=[run for run in runs if run.status == "failed"],
        sends=sends,
        failed_sends=[_failed(app, send) for send in sends if send.counts.get("failed")],
        paused=[edition for edition in editions if edition.edition_status == "paused"],
        unknown_batches=status.unknown_batches,
        next_runs=next_runs(app),
        segments=segments,
        subscribers=count_by_status(app.store),
        newsletters=dict(app.config.newsletters),
        edition_links={
            edition.edition_id: edition_path(app, edition.edition_id, edition.newsletter)
            for edition in editions
            if edition.edition_status == "sent"
        },
        signup_mails=queue_counts(app.store),
        warnings=config_warnings(app),
    )


def _failed(app: App, send: Send) -> FailedSend:
    reasons: dict[str, int] = {}
    for edition in send.editions:
        if edition.counts.get("failed"):
            for found in failure_reasons(app.store, edition.edition_id):
                reasons[found.reason] = reasons.get(found.reason, 0) + found.count
    return FailedSend(send, sorted(reasons.items(), key=lambda item: (-item[1], item[0])))


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
    board = await context.call(_dashboard)
    return context.pages.render(
        "admin.html.j2",
        board=board,
        labels=LABELS,
        delivery_count=delivery_count,
        run_label=partial(run_label, context.apps.config),
        in_french=summary_in_french,
        count_of=count_of,
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
