"""The archive of sent editions: /archive/ lists them, /archive/<id> shows one.

An edition is stored with per-recipient placeholders; here they get neutral values, so the
page carries no one's name, address or personal links. Only newsletters with a public archive
(``[newsletters.SLUG] archive``: by default all but those made for each subscriber from their
interests) are listed and served by id. An edition of any other newsletter opens only at
``/archive/ID/TOKEN``, the view-online link of its email, whose token is signed for that
edition alone; anything else about it is a 404, like an edition that does not exist.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from publisher.app import App
from publisher.figures.clicks import fill_click_links
from publisher.placeholders import RecipientValues, edition_placeholders
from publisher.store.archive import ArchivedEdition, archived_edition_html, archived_editions
from publisher.tokens import opens_edition
from publisher.web.context import WebContext

# The email's own styles are inline; its images may come from the site or a CDN.
EDITION_CSP = (
    "default-src 'none'; style-src 'unsafe-inline' https:; img-src https: data:; font-src https:; "
    "frame-ancestors 'none'; form-action 'none'; base-uri 'none'"
)
PUBLIC_HEADERS = {"content-security-policy": EDITION_CSP, "cache-control": "public, max-age=3600"}
# An edition opened by its token: kept out of shared caches and search engines.
PRIVATE_HEADERS = {
    "content-security-policy": EDITION_CSP,
    "cache-control": "private, max-age=3600",
    "x-robots-tag": "noindex",
}
NEUTRAL_NAME = ""
NEUTRAL_EMAIL = "votre adresse"
# An edition id as written in the links: ASCII digits, no sign, no leading zero, at most 12 digits.
EDITION_ID = re.compile(r"[1-9][0-9]{0,11}")


def _neutral_values(app: App, view_online_path: str) -> RecipientValues:
    base = app.config.site.base_url
    return RecipientValues(
        name=NEUTRAL_NAME,
        email=NEUTRAL_EMAIL,
        unsubscribe_url=f"{base}/unsubscribe/",
        preferences_url=f"{base}/preferences/",
        view_online_url=base + view_online_path,
    )


def _listed(app: App) -> list[str]:
    return [slug for slug, newsletter in app.config.newsletters.items() if newsletter.public_archive]


def _index(app: App, newsletter: str | None) -> list[ArchivedEdition]:
    return archived_editions(app.store, [newsletter] if newsletter else _listed(app))


async def archive_index(request: Request) -> Response:
    context = WebContext.of(request)
    editions = await context.call(_index, None)
    newsletters = context.apps.config.newsletters
    return context.pages.render("archive.html.j2", editions=editions, newsletters=newsletters, newsletter=None)


async def archive_item(request: Request) -> Response:
    """/archive/ID (an edition with a public archive) or /archive/SLUG (a newsletter's sent editions)."""
    context = WebContext.of(request)
    ref = request.path_params["ref"]
    newsletters = context.apps.config.newsletters
    if EDITION_ID.fullmatch(ref):
        return await _edition_response(context, int(ref), None)
    if ref not in newsletters:
        return _not_found(context)
    if not newsletters[ref].public_archive:
        return context.pages.message(
            newsletters[ref].title,
            _no_public_archive(newsletters[ref].selection),
            links=(("Toutes les lettres envoyées", "/archive/"),),
        )
    editions = await context.call(_index, ref)
    return context.pages.render("archive.html.j2", editions=editions, newsletters=newsletters, newsletter=ref)


async def archive_private_item(request: Request) -> Response:
    """/archive/ID/TOKEN: the view-online link of an edition, public or not."""
    context = WebContext.of(request)
    ref = request.path_params["ref"]
    if not EDITION_ID.fullmatch(ref):
        return _not_found(context)
    return await _edition_response(context, int(ref), request.path_params["token"])


def _no_public_archive(selection: str) -> str:
    why = (
        "Cette lettre est composée pour chaque abonné·e selon ses thèmes\u202f: elle"
        if selection == "interests"
        else "Cette lettre"
    )
    return f"{why} n’a pas d’archive publique. Chaque lettre reçue s’ouvre dans le navigateur par son propre lien."


async def _edition_response(context: WebContext, edition_id: int, token: str | None) -> Response:
    html = await context.call(_edition_page, edition_id, token)
    if html is None:
        return _not_found(context)
    return HTMLResponse(html, headers=PUBLIC_HEADERS if token is None else PRIVATE_HEADERS)


def _edition_page(app: App, edition_id: int, token: str | None) -> str | None:
    """The page of a sent edition that this request may open, else None."""
    found = archived_edition_html(app.store, edition_id)
    if found is None or not _may_open(app, found.edition, token):
        return None
    path = f"/archive/{edition_id}" + (f"/{token}" if token else "")
    placeholders = edition_placeholders(app.secrets, found.edition.newsletter, found.segment, found.content_key)
    html = fill_click_links(app, edition_id, placeholders, found.html, html=True)
    return placeholders.fill(html, _neutral_values(app, path), html=True)


def _may_open(app: App, edition: ArchivedEdition, token: str | None) -> bool:
    """With a token: only the one signed for this edition. Without: only editions of a public archive."""
    if token is not None:
        return opens_edition(app, token, edition.id, edition.created_at)
    settings = app.config.newsletters.get(edition.newsletter)
    return settings is not None and settings.public_archive


def _not_found(context: WebContext) -> Response:
    return context.pages.message(
        "Lettre introuvable",
        "Cette lettre n’existe pas ou n’a pas encore été envoyée.",
        status=404,
        links=(("Toutes les lettres envoyées", "/archive/"),),
    )
