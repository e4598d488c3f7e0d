"""The Starlette application: routes, error pages, middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from publisher.app import App, AppFactory
from publisher.errors import StoreBusy
from publisher.web import admin, admin_figures, archive, clicks, subscriptions, webhooks
from publisher.web.access_log import redact_path
from publisher.web.apps import ThreadApps
from publisher.web.context import Schedule, WebContext
from publisher.web.feeds import FeedFiles, FeedsFirst
from publisher.web.mailer import SignupMailer
from publisher.web.pages import Pages
from publisher.web.security import BodyLimit, Csrf, FailureThrottle, SecurityHeaders, SignupLimiter, TrackedSend

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/sendgrid"
_ERRORS = {
    400: ("Requête invalide", "Le formulaire ou l’adresse demandée n’est pas valide."),
    404: ("Page introuvable", "L’adresse demandée n’existe pas sur ce site."),
    405: ("Méthode non autorisée", "Cette adresse ne s’utilise pas ainsi."),
    413: ("Requête trop volumineuse", "Le formulaire envoyé dépasse la taille autorisée."),
    503: (
        "Service momentanément occupé",
        "Une opération importante est en cours sur nos listes et votre demande n’a pas pu être enregistrée. "
        "Réessayez dans une minute.",
    ),
}
# Seconds after which a client may try again when the store is busy (a large import, a send).
RETRY_AFTER_BUSY = 60


def feeds_path(factory: AppFactory) -> str:
    """The URL path under which output_dir is served: that of [feeds] public_url (default /feeds)."""
    return urlsplit(factory.template.config.feeds_url).path.rstrip("/") or "/feeds"


def create_app(factory: AppFactory, schedule: Schedule) -> FeedsFirst:
    """The web app for one config; ``schedule`` (the jobs of ``publisher serve``) feeds /admin/ and /healthz."""
    config, secrets = factory.template.config, factory.template.secrets
    secret = secrets.require("signing_secret", "PUBLISHER_SECRET", "the web app's signed links and forms")
    prefix = feeds_path(factory)
    csrf = Csrf(secret)
    context = WebContext(
        apps=ThreadApps(factory),
        pages=Pages(config, csrf, prefix),
        feeds=FeedFiles(config.feeds.output_dir, config.service.feeds_max_age),
        signup_per_address=SignupLimiter(config.service.subscribe_per_address_per_hour),
        signup_per_ip=SignupLimiter(config.service.subscribe_per_ip_per_hour),
        mailer=SignupMailer(factory),
        admin_throttle=FailureThrottle(
            config.service.admin_failures_before_block,
            config.service.admin_block_seconds,
            config.service.admin_block_max_seconds,
        ),
        schedule=schedule,
    )
    routes = [
        Route("/", home, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route(prefix, lambda request: RedirectResponse(f"{prefix}/", status_code=308), methods=["GET"]),
        Mount("/static", StaticFiles(packages=[("publisher.web", "static")]), name="static"),
        Route("/subscribe", subscriptions.subscribe_form, methods=["GET"]),
        Route("/subscribe", subscriptions.subscribe_submit, methods=["POST"]),
        Route("/confirm/{token}", subscriptions.confirm_page, methods=["GET"]),
        Route("/confirm/{token}", subscriptions.confirm_submit, methods=["POST"]),
        Route("/unsubscribe/", link_help, methods=["GET"]),
        Route("/unsubscribe/{token}", subscriptions.unsubscribe_page, methods=["GET"]),
        Route("/unsubscribe/{token}", subscriptions.unsubscribe_submit, methods=["POST"]),
        Route("/preferences/", link_help, methods=["GET"]),
        Route("/preferences/{token}", subscriptions.preferences_page, methods=["GET"]),
        Route("/preferences/{token}", subscriptions.preferences_submit, methods=["POST"]),
        Route("/archive/", archive.archive_index, methods=["GET"]),
        Route("/archive", lambda request: RedirectResponse("/archive/", status_code=308), methods=["GET"]),
        Route("/archive/{ref}", archive.archive_item, methods=["GET"]),
        Route("/archive/{ref}/{token}", archive.archive_private_item, methods=["GET"]),
        Route("/r/{edition}/{article}/{signature}", clicks.click, methods=["GET", "HEAD"]),
        Route(WEBHOOK_PATH, webhooks.sendgrid_events, methods=["POST"]),
        Route("/admin/", admin.dashboard, methods=["GET"]),
        Route("/admin", lambda request: RedirectResponse("/admin/", status_code=308), methods=["GET"]),
        Route("/admin/preview/{slug}", admin.preview, methods=["GET"]),
        Route("/admin/newsletters/{slug}", admin_figures.newsletter, methods=["GET"]),
        Route("/admin/editions/{edition}", admin_figures.edition, methods=["GET"]),
        Route("/admin/readers", admin_figures.readers, methods=["GET"]),
    ]
    middleware = [
        Middleware(
            BodyLimit,
            default=config.service.max_form_bytes,
            limits={WEBHOOK_PATH: config.service.webhook_max_bytes},
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: http_error, StoreBusy: store_busy, Exception: server_error},
        lifespan=_closing(context),
    )
    app.state.context = context
    return FeedsFirst(SecurityHeaders(ErrorsAnswered(app)), context.feeds, prefix)


class ErrorsAnswered:
    """ASGI: an error whose 500 page was already sent ends here, logged with its traceback.

    Starlette sends the 500 page and re-raises (for the server to log); uvicorn then drops the
    connection, which can reset it before the client has read the page.
    """

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        tracked = TrackedSend(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception:
            if not tracked.started:
                raise
            log.exception("error answered with a 500 page on %s", redact_path(scope.get("path", "")))


def _closing(context: WebContext):
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        context.mailer.start()
        try:
            yield
        finally:
            await run_in_threadpool(context.mailer.stop)  # it waits for the mail on the wire
            context.apps.close()

    return lifespan


async def home(request: Request) -> Response:
    context = WebContext.of(request)
    return context.pages.render("home.html.j2", newsletters=context.apps.config.newsletters, title="Accueil")


async def link_help(request: Request) -> Response:
    return WebContext.of(request).pages.message(
        "Gérer votre abonnement",
        "Pour choisir vos thèmes, faire une pause ou vous désabonner, utilisez les liens "
        "«\u202fGérer mes préférences\u202f» et «\u202fSe désabonner\u202f» présents en bas de chaque lettre "
        "que vous recevez\u202f: ils sont personnels.",
        links=(("S’abonner", "/subscribe"), ("Lettres envoyées", "/archive/")),
    )


def _store_ok(app: App) -> bool:
    app.store.conn.execute("SELECT 1 FROM migrations LIMIT 1").fetchone()
    return True


async def healthz(request: Request) -> Response:
    context = WebContext.of(request)
    body: dict[str, str] = {"status": "ok"}
    try:
        await context.call(_store_ok)
        body["store"] = "ok"
    except Exception as error:  # any failure to read the store makes the service unhealthy
        log.error("healthz: store check failed: %s", type(error).__name__)
        body.update(status="error", store="error")
    if context.schedule.live:
        body["scheduler"] = "running" if context.schedule.running else "stopped"
        if not context.schedule.running:
            body["status"] = "error"
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503, headers={"cache-control": "no-store"})


def _error_page(request: Request, status: int) -> Response:
    title, text = _ERRORS.get(status, ("Erreur", "La demande n’a pas pu aboutir."))
    return WebContext.of(request).pages.message(title, text, status=status, links=(("Accueil", "/"),))


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    response = _error_page(request, error.status_code)
    if error.headers:
        response.headers.update(error.headers)
    return response


async def store_busy(request: Request, error: Exception) -> Response:
    """Another process kept the write lock too long: nothing was written; 503 and Retry-After,
    so that a person, or a mail provider's one-click unsubscribe, tries again."""
    log.warning("answered 503 on %s: %s", redact_path(request.url.path), error)
    response = _error_page(request, 503)
    response.headers["retry-after"] = str(RETRY_AFTER_BUSY)
    return response


async def server_error(request: Request, error: Exception) -> Response:
    return _error_page(request, 500)
