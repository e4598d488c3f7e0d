"""The transactional emails of double opt-in: "confirm your subscription" and "already subscribed".

French first, English for subscribers whose locale is English. Plain text and a small HTML
part; every value inserted into the HTML is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from publisher.config import Config
from publisher.models import Message


@dataclass(frozen=True)
class _Wording:
    confirm_subject: str
    confirm_body: str
    confirm_button: str
    already_subject: str
    already_body: str
    already_button: str
    hello: str
    hello_named: str
    ignore: str


_FRENCH = _Wording(
    confirm_subject="Confirmez votre inscription à {site}",
    confirm_body="Pour recevoir la lettre de {site}, confirmez votre adresse en ouvrant ce lien "
    "(valable {days} jours) :",
    confirm_button="Je confirme mon inscription",
    already_subject="Vous êtes déjà inscrit·e à {site}",
    already_body="Votre adresse est déjà inscrite à la lettre de {site}. Pour choisir vos sujets "
    "ou suspendre les envois, ouvrez ce lien :",
    already_button="Gérer mes préférences",
    hello="Bonjour,",
    hello_named="Bonjour {name},",
    ignore="Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : vous ne recevrez rien.",
)
_ENGLISH = _Wording(
    confirm_subject="Please confirm your subscription to {site}",
    confirm_body="To receive the {site} newsletter, confirm your address by opening this link (valid for {days} days):",
    confirm_button="Confirm my subscription",
    already_subject="You are already subscribed to {site}",
    already_body="Your address is already subscribed to the {site} newsletter. To choose your topics "
    "or pause the newsletter, open this link:",
    already_button="Manage my preferences",
    hello="Hello,",
    hello_named="Hello {name},",
    ignore="If you did not ask for this, ignore this message: you will receive nothing.",
)


def _wording(locale: str) -> _Wording:
    return _ENGLISH if locale.lower().startswith("en") else _FRENCH


def confirmation_message(config: Config, email: str, name: str, locale: str, url: str) -> Message:
    words = _wording(locale)
    values = {"site": config.site.title, "days": config.subscribers.pending_days}
    return _mail_with_button(
        config,
        email,
        name,
        words,
        words.confirm_subject.format(**values),
        words.confirm_body.format(**values),
        words.confirm_button,
        url,
    )


def already_subscribed_message(config: Config, email: str, name: str, locale: str, url: str) -> Message:
    words = _wording(locale)
    values = {"site": config.site.title}
    return _mail_with_button(
        config,
        email,
        name,
        words,
        words.already_subject.format(**values),
        words.already_body.format(**values),
        words.already_button,
        url,
    )


def _mail_with_button(
    config: Config, email: str, name: str, words: _Wording, subject: str, body: str, button: str, url: str
) -> Message:
    hello = words.hello_named.format(name=name) if name else words.hello
    footer = f"{config.site.title}\n{config.site.postal_address}"
    text = f"{hello}\n\n{body}\n{url}\n\n{words.ignore}\n\n-- \n{footer}\n"
    html = (
        f'<!doctype html><html><body style="font-family:Arial,sans-serif;line-height:1.5">'
        f"<p>{escape(hello)}</p><p>{escape(body)}</p>"
        f'<p><a href="{escape(url, quote=True)}" style="display:inline-block;padding:10px 18px;'
        f'background:#1d4e89;color:#ffffff;text-decoration:none;border-radius:4px">{escape(button)}</a></p>'
        f'<p style="font-size:13px;color:#555">{escape(url)}</p>'
        f"<p>{escape(words.ignore)}</p>"
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
