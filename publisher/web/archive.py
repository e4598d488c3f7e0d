"""The public archive of sent editions: /archive/ lists them, /archive/<id> shows one.

An edition is stored with its per-recipient placeholders; here they get neutral values, so the
public page carries no one's name, address or personal links. Newsletters made for each
reader from their interests (``selection = "interests"``) are reachable by their id (the
"view online" link of the email) but not listed.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from publisher.app import App
from publisher.placeholders import RecipientValues, edition_placeholders
from publisher.store.web import ArchivedEdition, archived_edition_html, archived_editions
from publisher.web.context import WebContext

# The email's own styles are inline; its images may come from the site or a CDN.
EDITION_CSP = (
    "default-src 'none'; style-src 'unsafe-inline' https:; img-src https: data:; font-src https:; "
    "frame-ancestors 'none'; form-action 'none'; base-uri 'none'"
)
NEUTRAL_NAME = ""
NEUTRAL_EMAIL = "votre adresse"


def edition_path(edition_id: int) -> str:
    """The URL path of an edition's web version (the "view online" link points here)."""
    return f"/archive/{edition_id}"


def public_values(app: App, edition_id: int) -> RecipientValues:
    base = app.config.site.base_url
    return RecipientValues(
        name=NEUTRAL_NAME,
        email=NEUTRAL_EMAIL,
        unsubscribe_url=f"{base}/unsubscribe/",
        preferences_url=f"{base}/preferences/",
        view_online_url=f"{base}{edition_path(edition_id)}",
    )


def _listed(app: App) -> list[str]:
    return [slug for slug, newsletter in app.config.newsletters.items() if newsletter.selection != "interests"]


def _index(app: App, newsletter: str | None) -> list[ArchivedEdition]:
    return archived_editions(app.store, [newsletter] if newsletter else _listed(app))


async def archive_index(request: Request) -> Response:
    context = WebContext.of(request)
    editions = await context.call(_index, None)
    newsletters = context.apps.config.newsletters
    return context.pages.render("archive.html.j2", editions=editions, newsletters=newsletters, newsletter=None)


async def archive_item(request: Request) -> Response:
    context = WebContext.of(request)
    ref = request.path_params["ref"]
    newsletters = context.apps.config.newsletters
    if ref.isdigit() and len(ref) <= 12:
        found = await context.call(_edition_page, int(ref))
        if found is None:
            return _not_found(context)
        return HTMLResponse(
            found, headers={"content-security-policy": EDITION_CSP, "cache-control": "public, max-age=3600"}
        )
    if ref in newsletters:
        if newsletters[ref].selection == "interests":
            return context.pages.message(
                newsletters[ref].title,
                "Cette lettre est composée pour chaque abonné·e selon ses thèmes : elle n’a pas d’archive publique.",
                links=(("Toutes les lettres envoyées", "/archive/"),),
            )
        editions = await context.call(_index, ref)
        return context.pages.render("archive.html.j2", editions=editions, newsletters=newsletters, newsletter=ref)
    return _not_found(context)


def _edition_page(app: App, edition_id: int) -> str | None:
    found = archived_edition_html(app.store, edition_id)
    if found is None:
        return None
    placeholders = edition_placeholders(app.secrets, found.edition.newsletter, found.segment, found.content_key)
    return placeholders.fill(found.html, public_values(app, edition_id), html=True)


def _not_found(context: WebContext) -> Response:
    return context.pages.message(
        "Lettre introuvable",
        "Cette lettre n’existe pas ou n’a pas encore été envoyée.",
        status=404,
        links=(("Toutes les lettres envoyées", "/archive/"),),
    )
