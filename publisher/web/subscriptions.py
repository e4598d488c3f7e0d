"""Sign-up, double opt-in, preferences and unsubscribing: the pages behind the links of every email.

Each signed link opens only its own page (publisher.tokens scopes tokens to one purpose).
Nothing changes on a GET: mail scanners follow links, so confirming, saving and leaving
are POSTs from a form with a CSRF token. The one exception the standard asks for is the
RFC 8058 one-click unsubscribe: a POST whose body is ``List-Unsubscribe=One-Click``, sent
by mail providers without cookies; the token in the URL is what authorises it.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from publisher.addresses import (
    NAME_MAX,
    InvalidAddress,
    InvalidName,
    UnsupportedAddress,
    address_key,
    checked_address,
    checked_name,
    normalize_email,
)
from publisher.app import App
from publisher.errors import NotFoundError
from publisher.store.articles import TagChoice, tag_choices
from publisher.store.subscribers import interests_of
from publisher.subscribers import lifecycle
from publisher.subscribers.status import has_left
from publisher.tokens import CONFIRM, TokenError, links_for
from publisher.web.context import WebContext, read_form
from publisher.web.security import client_key

# What a signed link that cannot be used raises: tampered, wrongly scoped or expired (TokenError), or
# its subscriber is gone (NotFoundError). Any other error (a busy store) is not the link's fault.
LINK_ERRORS = (TokenError, NotFoundError)
log = logging.getLogger(__name__)

ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"
CONSENT_SOURCE = "formulaire d'inscription du site"
# Tokens are URL-safe base64 and dots; anything else is not a token.
_TOKEN = re.compile(r"[A-Za-z0-9_\-.]{10,300}")
MAX_EMAIL, MAX_INTERESTS = 254, 200
VALID_ADDRESS = "Indiquez une adresse électronique valide, par exemple prenom.nom@exemple.fr."
ADDRESS_REFUSED = (
    "Cette adresse n’est pas acceptée\u202f: avant le signe @, elle ne peut contenir ni lettre accentuée "
    "ni caractère non latin, car la plupart des messageries ne sauraient pas y acheminer nos courriels."
)
NAME_REFUSED = "Ce nom n’est pas accepté\u202f: retirez les retours à la ligne, tabulations et caractères invisibles."
UNUSABLE_ADDRESS = "Cette adresse électronique ne peut pas être utilisée. Vérifiez-la."


def _tags_in_french_order(app: App) -> list[TagChoice]:
    return sorted(tag_choices(app.store), key=lambda tag: _french_sort_key(tag.name))


def _french_sort_key(name: str) -> tuple[str, str]:
    plain = "".join(c for c in unicodedata.normalize("NFD", name.casefold()) if not unicodedata.combining(c))
    return plain, name


def _link_error(context: WebContext, purpose: str) -> Response:
    what = {
        "confirm": "Ce lien de confirmation n’est pas valide ou a expiré.",
        "unsubscribe": "Ce lien de désinscription n’est pas valide.",
        "preferences": "Ce lien de gestion des préférences n’est pas valide.",
    }[purpose]
    return context.pages.message(
        "Lien non valide",
        what,
        "Vérifiez que l’adresse du lien a été copiée en entier depuis le courriel, "
        "ou utilisez le lien d’un courriel plus récent.",
        status=400,
        links=(("S’abonner à nouveau", "/subscribe"), ("Accueil", "/")),
    )


# --- sign-up -------------------------------------------------------------------------------


@dataclass
class SignupForm:
    email: str = ""
    name: str = ""
    interests: list[str] = field(default_factory=list)
    consent: bool = False
    honeypot: str = ""

    @classmethod
    def parse(cls, form: FormData) -> SignupForm:
        return cls(
            email=str(form.get("email") or "").strip()[: MAX_EMAIL + 1],
            name=str(form.get("name") or "").strip()[: NAME_MAX + 1],
            interests=[str(value)[:120] for value in form.getlist("interests")][:MAX_INTERESTS],
            consent=form.get("consent") == "oui",
            honeypot=str(form.get("website") or ""),
        )

    def errors(self, known_slugs: set[str], allow_test_domains: bool) -> dict[str, str]:
        """The French message of each field refused; addresses and names by the policy of
        publisher.addresses."""
        errors = {}
        if not self.email:
            errors["email"] = "Indiquez votre adresse électronique."
        elif error := _address_error(self.email, allow_test_domains):
            errors["email"] = error
        if len(self.name) > NAME_MAX:
            errors["name"] = f"Le nom ne peut pas dépasser {NAME_MAX} caractères."
        elif error := _name_error(self.name):
            errors["name"] = error
        if any(slug not in known_slugs for slug in self.interests):
            errors["interests"] = "Choisissez les thèmes dans la liste proposée."
        if not self.consent:
            errors["consent"] = "Cochez la case d’accord pour recevoir nos lettres."
        return errors


def _address_error(email: str, allow_test_domains: bool) -> str | None:
    if len(email) > MAX_EMAIL:
        return VALID_ADDRESS
    try:
        checked_address(email, allow_test_domains)
    except UnsupportedAddress:
        return ADDRESS_REFUSED
    except InvalidAddress:
        return VALID_ADDRESS
    return None


def _name_error(name: str) -> str | None:
    try:
        checked_name(name)
    except InvalidName:
        return NAME_REFUSED
    return None


async def subscribe_form(request: Request) -> Response:
    context = WebContext.of(request)
    tags = await context.call(_tags_in_french_order)
    return context.pages.form(request, "subscribe.html.j2", "subscribe", form=SignupForm(), errors={}, tags=tags)


async def subscribe_submit(request: Request) -> Response:
    context = WebContext.of(request)
    data = await read_form(request)
    form = SignupForm.parse(data)
    tags = await context.call(_tags_in_french_order)

    def again(errors: dict[str, str], status: int = 400) -> Response:
        return context.pages.form(
            request, "subscribe.html.j2", "subscribe", status, form=form, errors=errors, tags=tags
        )

    if not context.pages.csrf_ok(request, data.get("csrf"), "subscribe"):
        return again({"email": "Le formulaire a expiré\u202f: vérifiez vos réponses et envoyez-le à nouveau."})
    if form.honeypot:
        log.info("sign-up ignored: honeypot field filled")
        return _check_your_inbox(context)
    errors = form.errors({tag.slug for tag in tags}, context.apps.config.subscribers.allow_test_domains)
    if errors:
        return again(errors)
    try:
        limit_key = signup_limit_key(form.email, context.apps.config.subscribers.allow_test_domains)
    except InvalidAddress:  # publisher.addresses says why; the page does not echo it
        return again({"email": UNUSABLE_ADDRESS})
    client = client_key(request.client.host if request.client else None)
    if not context.signup_per_ip.allow(client) or not context.signup_per_address.allow(limit_key):
        log.warning("sign-up refused: rate limit reached")
        return context.pages.message(
            "Trop de demandes",
            "Plusieurs demandes d’abonnement viennent d’être faites pour cette adresse ou depuis votre connexion.",
            "Réessayez dans une heure. Si vous avez déjà reçu notre courriel de confirmation, "
            "il suffit d’en suivre le lien.",
            status=429,
        )
    try:
        await context.call(_sign_up, form)
    except NotFoundError:
        return again({"interests": "Choisissez les thèmes dans la liste proposée."})
    except InvalidAddress:
        return again({"email": UNUSABLE_ADDRESS})
    except InvalidName:
        return again({"name": NAME_REFUSED})
    context.mailer.wake()
    return _check_your_inbox(context)


def signup_limit_key(email: str, allow_test_domains: bool) -> str:
    """The key of the per-address sign-up limit: one for every spelling that reaches one inbox.

    The address's normal form (``address_key``: domain in lower-case punycode, so full-width or
    other compatibility forms of a domain are one) with its local part folded further (NFKC,
    case-folded) and without what most providers ignore (a ``+tag``, dots). Two people who
    differ only by a dot share a limit: a small cost, against a mailbox bombed through its aliases.
    """
    local, _, domain = address_key(normalize_email(email, allow_test_domains)).rpartition("@")
    local = unicodedata.normalize("NFKC", local).casefold().partition("+")[0].replace(".", "")
    return f"{local}@{domain}"


def _sign_up(app: App, form: SignupForm) -> None:
    """Record the sign-up and queue its email, in one transaction; nothing is sent from here
    (publisher.signup_queue), so the answer and its timing are the same for every address."""
    lifecycle.subscribe(app, form.email, form.name, form.interests, CONSENT_SOURCE)


def _check_your_inbox(context: WebContext) -> Response:
    return context.pages.message(
        "Vérifiez votre boîte de réception",
        "Si l’adresse indiquée peut recevoir nos lettres, un courriel de confirmation vient de lui être envoyé.",
        "Cliquez sur le lien qu’il contient pour confirmer votre abonnement. Pensez à regarder dans les "
        "indésirables si vous ne le voyez pas d’ici quelques minutes.",
    )


# --- confirmation --------------------------------------------------------------------------


def _valid_token(request: Request) -> str | None:
    token = request.path_params["token"]
    return token if _TOKEN.fullmatch(token) else None


async def confirm_page(request: Request) -> Response:
    context = WebContext.of(request)
    token = _valid_token(request)
    refused = await _unusable_confirmation(context, token)
    return refused or context.pages.form(request, "confirm.html.j2", "confirm", token=token)


async def confirm_submit(request: Request) -> Response:
    context = WebContext.of(request)
    token = _valid_token(request)
    form = await read_form(request)
    if token is None:
        return _link_error(context, "confirm")
    if not context.pages.csrf_ok(request, form.get("csrf"), "confirm"):
        refused = await _unusable_confirmation(context, token)
        return refused or context.pages.form(request, "confirm.html.j2", "confirm", 400, token=token)
    try:
        preferences = await context.call(_confirm, token)
    except LINK_ERRORS:
        return _link_error(context, "confirm")
    if preferences is None:
        return _link_spent(context)
    return context.pages.message(
        "Votre abonnement est confirmé",
        "Merci\u202f! Vous recevrez nos prochaines lettres d’information.",
        "Vous pouvez choisir vos thèmes ou vous désabonner à tout moment, depuis le lien présent dans chaque lettre.",
        links=(("Choisir mes thèmes", preferences), ("Lire les lettres déjà envoyées", "/archive/")),
    )


def _confirm(app: App, token: str) -> str | None:
    """The path of the preferences page when the link activated its subscriber, else None."""
    target = lifecycle.open_link(app, token, CONFIRM)
    if not lifecycle.confirm_link(app, token):
        return None
    log.info("subscriber %s confirmed", target.subscriber.id)
    return urlsplit(links_for(app, target.subscriber.id).preferences_url).path


async def _unusable_confirmation(context: WebContext, token: str | None) -> Response | None:
    """The page of a confirmation link that cannot confirm now (invalid, or spent); None if it can."""
    confirms = await context.call(_link_confirms, token) if token else None
    if confirms is None:
        return _link_error(context, "confirm")
    return None if confirms else _link_spent(context)


def _link_confirms(app: App, token: str) -> bool | None:
    """Whether the link would confirm its subscriber now; None when it is not a valid link."""
    try:
        return lifecycle.link_confirms(app, token)
    except LINK_ERRORS:
        return None


def _link_spent(context: WebContext) -> Response:
    """A valid confirmation link that confirms nothing now: it has served, or the subscriber's
    status changed since it was signed (they left, bounced…). It says neither which nor « confirmé »."""
    return context.pages.message(
        "Lien déjà utilisé",
        "Ce lien de confirmation a déjà servi ou n’est plus valable.",
        "Pour recevoir nos lettres, abonnez-vous à nouveau\u202f: un nouveau lien vous sera envoyé.",
        status=400,
        links=(("S’abonner", "/subscribe"), ("Accueil", "/")),
    )


# --- unsubscribing -------------------------------------------------------------------------


async def unsubscribe_page(request: Request) -> Response:
    context = WebContext.of(request)
    token = _valid_token(request)
    state = await context.call(_subscriber_status, token, "unsubscribe") if token else None
    if state is None:
        return _link_error(context, "unsubscribe")
    return context.pages.form(request, "unsubscribe.html.j2", "unsubscribe", token=token, already=state != "active")


async def unsubscribe_submit(request: Request) -> Response:
    context = WebContext.of(request)
    token = _valid_token(request)
    form = await read_form(request)
    if token is None:
        return _link_error(context, "unsubscribe")
    one_click = form.get(ONE_CLICK_FIELD) == ONE_CLICK_VALUE
    if not one_click and not context.pages.csrf_ok(request, form.get("csrf"), "unsubscribe"):
        state = await context.call(_subscriber_status, token, "unsubscribe")
        if state is None:
            return _link_error(context, "unsubscribe")
        return context.pages.form(request, "unsubscribe.html.j2", "unsubscribe", 400, token=token, already=False)
    source = "désinscription en un clic (List-Unsubscribe)" if one_click else "lien de désinscription"
    try:
        await context.call(_unsubscribe, token, source)
    except LINK_ERRORS:
        return _link_error(context, "unsubscribe")
    return context.pages.message(
        "Vous êtes désabonné·e",
        "Vous ne recevrez plus nos lettres d’information. Votre demande est prise en compte immédiatement.",
        links=(("Se réabonner", "/subscribe"),),
    )


def _unsubscribe(app: App, token: str, source: str) -> None:
    try:
        changed = lifecycle.unsubscribe_link(app, token, source)
    except NotFoundError:
        # The subscriber was erased (GDPR): there is no one left to unsubscribe.
        return
    if changed:
        log.info("unsubscribed through a link (%s)", "one-click" if "un clic" in source else "page")


def _subscriber_status(app: App, token: str, purpose: str) -> str | None:
    try:
        return lifecycle.open_link(app, token, purpose).subscriber.status
    except LINK_ERRORS:
        return None


# --- preferences ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PreferencesView:
    subscriber_id: int
    status: str
    paused: bool
    interests: set[str]
    tags: list[TagChoice]


def _preferences(app: App, token: str) -> PreferencesView | None:
    try:
        subscriber = lifecycle.preferences_subscriber(app, token)
    except LINK_ERRORS:
        return None
    tags = _tags_in_french_order(app)
    slugs = {tag.id: tag.slug for tag in tags}
    interest_ids = interests_of(app.store, [subscriber.id]).get(subscriber.id, set())
    return PreferencesView(
        subscriber.id,
        subscriber.status,
        subscriber.paused_at is not None,
        {slugs[tag_id] for tag_id in interest_ids if tag_id in slugs},
        tags,
    )


def _preferences_page(request: Request, view: PreferencesView, token: str, status: int = 200, saved: bool = False):
    context = WebContext.of(request)
    left = has_left(view.status)
    return context.pages.form(
        request,
        "preferences.html.j2",
        "preferences",
        status,
        token=token,
        tags=view.tags,
        interests=view.interests,
        paused=view.paused,
        left=left,
        saved=saved,
    )


async def preferences_page(request: Request) -> Response:
    context = WebContext.of(request)
    token = _valid_token(request)
    view = await context.call(_preferences, token) if token else None
    if view is None:
        return _link_error(context, "preferences")
    return _preferences_page(request, view, token, saved=request.query_params.get("enregistre") == "1")


async def preferences_submit(request: Request) -> Response:
    context = WebContext.of(request)
    token = _valid_token(request)
    form = await read_form(request)
    view = await context.call(_preferences, token) if token else None
    if view is None:
        return _link_error(context, "preferences")
    if not context.pages.csrf_ok(request, form.get("csrf"), "preferences"):
        return _preferences_page(request, view, token, status=400)
    if form.get("action") == "leave":
        await context.call(lifecycle.unsubscribe, view.subscriber_id, "page de préférences")
        log.info("subscriber %s left from the preferences page", view.subscriber_id)
        return RedirectResponse(f"/preferences/{token}", status_code=303)
    known = {tag.slug for tag in view.tags}
    wanted = [str(slug) for slug in form.getlist("interests")[:MAX_INTERESTS] if slug in known]
    paused = form.get("delivery") == "pause"
    await context.call(lifecycle.update_preferences, view.subscriber_id, wanted, paused, "page de préférences")
    log.info("subscriber %s saved preferences", view.subscriber_id)
    return RedirectResponse(f"/preferences/{token}?enregistre=1", status_code=303)
