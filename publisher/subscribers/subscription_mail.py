"""The transactional emails of double opt-in: "confirm your subscription" and "already subscribed".

French first, English for subscribers whose locale is English. Plain text and a small HTML
part; every value inserted into the HTML is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from publisher.config import Config
from publisher.french import count_of
from publisher.models import Message


@dataclass(frozen=True)
class _Wording:
    language: str
    confirm_subject: str
    confirm_body: str
    confirm_button: str
    confirm_ignore: str
    already_subject: str
    already_body: str
    already_button: str
    already_ignore: str  # they are subscribed: "you will receive nothing" would be false
    hello: str
    hello_named: str
    day: tuple[str, str]


_FRENCH = _Wording(
    language="fr",
    confirm_subject="Confirmez votre inscription à {site}",
    confirm_body="Pour recevoir la lettre {of_site}, confirmez votre adresse en ouvrant ce lien "
    "(valable {days})\u202f:",
    confirm_button="Je confirme mon inscription",
    confirm_ignore="Si vous n’êtes pas à l’origine de cette demande, ignorez ce message\u202f: vous ne recevrez rien.",
    already_subject="Vous êtes déjà inscrit·e à {site}",
    already_body="Votre adresse est déjà inscrite à la lettre {of_site}. Pour choisir vos sujets "
    "ou suspendre les envois, ouvrez ce lien\u202f:",
    already_button="Gérer mes préférences",
    already_ignore="Si vous n’êtes pas à l’origine de cette demande, ignorez ce message\u202f: "
    "votre abonnement reste tel qu’il est.",
    hello="Bonjour,",
    hello_named="Bonjour {name},",
    day=("jour", "jours"),
)
_ENGLISH = _Wording(
    language="en",
    confirm_subject="Please confirm your subscription to {site}",
    confirm_body="To receive the {site} newsletter, confirm your address by opening this link (valid for {days}):",
    confirm_button="Confirm my subscription",
    confirm_ignore="If you did not ask for this, ignore this message: you will receive nothing.",
    already_subject="You are already subscribed to {site}",
    already_body="Your address is already subscribed to the {site} newsletter. To choose your topics "
    "or pause the newsletter, open this link:",
    already_button="Manage my preferences",
    already_ignore="If you did not ask for this, ignore this message: your subscription stays as it is.",
    hello="Hello,",
    hello_named="Hello {name},",
    day=("day", "days"),
)


def _wording(locale: str) -> _Wording:
    return _ENGLISH if locale.lower().startswith("en") else _FRENCH


def _values(config: Config, words: _Wording) -> dict[str, str]:
    days = config.subscribers.pending_days
    return {
        "site": config.site.title,
        "of_site": config.site.of_title,
        "days": count_of(days, *words.day, language=words.language),
    }


def confirmation_message(config: Config, email: str, name: str, locale: str, url: str) -> Message:
    words = _wording(locale)
    values = _values(config, words)
    return _mail_with_button(
        config,
        email,
        name,
        words.hello_named.format(name=name) if name else words.hello,
        words.confirm_subject.format(**values),
        words.confirm_body.format(**values),
        (words.confirm_button, url),
        words.confirm_ignore,
    )


def already_subscribed_message(config: Config, email: str, name: str, locale: str, url: str) -> Message:
    words = _wording(locale)
    values = _values(config, words)
    return _mail_with_button(
        config,
        email,
        name,
        words.hello_named.format(name=name) if name else words.hello,
        words.already_subject.format(**values),
        words.already_body.format(**values),
        (words.already_button, url),
        words.already_ignore,
    )


def _mail_with_button(
    config: Config, email: str, name: str, hello: str, subject: str, body: str, link: tuple[str, str], ignore: str
) -> Message:
    button, url = link
    footer = f"{config.site.title}\n{config.site.postal_address}"
    text = f"{hello}\n\n{body}\n{url}\n\n{ignore}\n\n-- \n{footer}\n"
    html = (
        f'<!doctype html><html><body style="font-family:Arial,sans-serif;line-height:1.5">'
        f"<p>{escape(hello)}</p><p>{escape(body)}</p>"
        f'<p><a href="{escape(url, quote=True)}" style="display:inline-block;padding:10px 18px;'
        f'background:#1d4e89;color:#ffffff;text-decoration:none;border-radius:4px">{escape(button)}</a></p>'
        f'<p style="font-size:13px;color:#555">{escape(url)}</p>'
        f"<p>{escape(ignore)}</p>"
        f'<p style="font-size:12px;color:#777">{escape(config.site.title)}<br>{escape(config.site.postal_address)}</p>'
        f"</body></html>"
    )
    return Message(
        to_email=email,
        subject=subject,
        text=text,
        html=html,
        to_name=name,
        headers=(("Auto-Submitted", "auto-generated"),),
    )
