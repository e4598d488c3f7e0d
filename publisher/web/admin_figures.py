"""/admin/newsletters/SLUG, /admin/editions/ID and /admin/readers: the figures of a newsletter's
last editions, of one edition and of readers over time (publisher.figures.pages), behind the
admin's basic auth like /admin/."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from publisher.errors import NotFoundError
from publisher.figures.pages import edition_page, newsletter_page, readers_page
from publisher.figures.text import LABELS, percent
from publisher.web.admin import access_refused
from publisher.web.archive import EDITION_ID
from publisher.web.context import WebContext


def _unknown(context: WebContext, what: str) -> Response:
    return context.pages.message(f"{what} introuvable", "Rien à montrer à cette adresse.", status=404)


async def newsletter(request: Request) -> Response:
    refused = access_refused(request)
    if refused is not None:
        return refused
    context = WebContext.of(request)
    slug = request.path_params["slug"]
    if slug not in context.apps.config.newsletters:
        return _unknown(context, "Lettre")
    page = await context.call(newsletter_page, slug)
    return context.pages.render(
        "admin_newsletter.html.j2", page=page, percent=percent, title=f"Chiffres de {page.title}"
    )


async def edition(request: Request) -> Response:
    refused = access_refused(request)
    if refused is not None:
        return refused
    context = WebContext.of(request)
    ref = request.path_params["edition"]
    if not EDITION_ID.fullmatch(ref):
        return _unknown(context, "Édition")
    try:
        page = await context.call(edition_page, int(ref))
    except NotFoundError:
        return _unknown(context, "Édition")
    return context.pages.render("admin_edition.html.j2", page=page, labels=LABELS, title=f"Chiffres de l’édition {ref}")


async def readers(request: Request) -> Response:
    refused = access_refused(request)
    if refused is not None:
        return refused
    context = WebContext.of(request)
    page = await context.call(readers_page)
    return context.pages.render("admin_readers.html.j2", page=page, title="Lecteurs au fil des semaines")
