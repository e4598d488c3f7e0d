"""The subscriber's journey in a real headless browser (Debian's chromium, driven by Playwright),
with JavaScript disabled: sign up → the confirmation email lands in the outbox → follow its link →
change preferences → follow the unsubscribe link of a delivered digest → unsubscribed.

Set PUBLISHER_SCREENSHOTS=DIR to keep a screenshot of every page for a person to look at.
"""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import pytest
from conftest import SCREENSHOTS
from support.waiting import wait_for
from support.webserver import served, web_app

from publisher.app import App
from publisher.article_import import import_files
from publisher.config import Secrets
from publisher.delivery import send
from publisher.demo import demo_file
from publisher.subscribers import lifecycle

ADDRESS = "dominique.lefevre@example.org"
ADMIN_PASSWORD = "mot de passe de l’équipe"


@pytest.fixture
def site(app):
    import_files(app.store, [demo_file("articles.jsonl")], "fr")
    secrets = Secrets(signing_secret="test-secret", admin_password=ADMIN_PASSWORD)
    with served(web_app(App(app.config, secrets, app.clock))) as url:
        yield url


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def messages_to(app, address: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(Path(app.config.delivery.outbox.path).glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"].addresses[0].addr_spec == address:
            found.append(message)
    return found


def local(url: str, app, site: str) -> str:
    """A link of an email (on the public site) opened on the test server."""
    return site + url.removeprefix(app.config.site.base_url)


def contrast(foreground: str, background: str) -> float:
    def luminance(css: str) -> float:
        red, green, blue = (int(value) / 255 for value in re.findall(r"\d+", css)[:3])
        channels = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)]
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_sign_up_confirm_preferences_and_unsubscribe_without_javascript(browser, app, site):
    context = browser.new_context(java_script_enabled=False, locale="fr-FR", viewport={"width": 1000, "height": 800})
    page = context.new_page()

    page.goto(site + "/")
    shot(page, "01-accueil")
    page.goto(site + "/subscribe")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"  # keyboard users skip the menu
    button = page.get_by_role("button", name="M’abonner")
    colors = button.evaluate("b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]")
    assert contrast(*colors) >= 4.5
    page.get_by_label("Adresse électronique").fill(ADDRESS)
    page.get_by_label("Prénom et nom").fill("Dominique Lefèvre")
    page.get_by_label("apprentissage", exact=True).check()
    page.get_by_label("bassin d'emploi").check()
    page.get_by_label("J’accepte de recevoir").check()
    shot(page, "02-inscription")
    page.set_viewport_size({"width": 375, "height": 800})  # a phone: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "02-inscription-375")
    page.set_viewport_size({"width": 1000, "height": 800})
    button.click()
    assert page.get_by_role("heading", name="Vérifiez votre boîte de réception").is_visible()
    shot(page, "03-verifiez")

    wait_for(lambda: messages_to(app, ADDRESS), 10, "the confirmation email (sent by the queue's worker)")
    [confirmation] = messages_to(app, ADDRESS)
    assert confirmation["List-Unsubscribe"] is None
    text = confirmation.get_body(("plain",)).get_content()
    confirm_link = re.search(r"https?://\S+/confirm/\S+", text).group(0)
    page.goto(local(confirm_link, app, site))
    shot(page, "04-confirmer")
    page.get_by_role("button", name="Confirmer mon abonnement").click()
    assert page.get_by_role("heading", name="Votre abonnement est confirmé").is_visible()
    assert lifecycle.find_subscriber(app, ADDRESS).status == "active"
    shot(page, "05-confirme")

    page.get_by_role("link", name="Choisir mes thèmes").click()
    assert page.get_by_role("heading", name="Mes préférences").is_visible()
    assert page.get_by_label("apprentissage", exact=True).is_checked()
    page.get_by_label("bassin d'emploi").uncheck()
    page.get_by_label("travaux publics").check()
    page.get_by_role("button", name="Enregistrer mes préférences").click()
    assert page.get_by_text("Vos préférences sont enregistrées").is_visible()
    assert page.get_by_label("travaux publics").is_checked()
    assert not page.get_by_label("bassin d'emploi").is_checked()
    shot(page, "06-preferences")

    report = send.send_newsletter(app, "hebdo")
    assert report.sent >= 1
    [digest] = [message for message in messages_to(app, ADDRESS) if message["List-Unsubscribe"]]
    html = digest.get_body(("html",)).get_content()
    unsubscribe_link = re.search(r'href="(https?://[^"]+/unsubscribe/[^"]+)"', html).group(1)
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    page.goto(local(unsubscribe_link.replace("&amp;", "&"), app, site))
    shot(page, "07-desabonnement")
    assert page.get_by_role("button").count() == 1
    page.get_by_role("button", name="Me désabonner").click()
    assert page.get_by_role("heading", name="Vous êtes désabonné·e").is_visible()
    assert lifecycle.find_subscriber(app, ADDRESS).status == "unsubscribed"
    shot(page, "08-desabonne")

    page.goto(site + "/archive/")
    shot(page, "09-archives")
    edition = page.locator("ul.editions a").first
    edition.click()
    assert "__PUB_" not in page.content()
    shot(page, "10-edition")
    context.close()


def test_admin_dashboard_in_the_browser(browser, app, site):
    refused = browser.new_context(java_script_enabled=False)
    assert refused.request.get(site + "/admin/").status == 401
    refused.close()
    context = browser.new_context(
        java_script_enabled=False, http_credentials={"username": "admin", "password": ADMIN_PASSWORD}
    )
    page = context.new_page()
    assert page.goto(site + "/admin/").status == 200
    assert page.get_by_role("heading", name="Tableau de bord").is_visible()
    assert page.get_by_role("table", name="Segments").is_visible()
    assert page.get_by_role("table", name="Prochains envois et mises à jour").is_visible()
    shot(page, "11-admin")
    page.get_by_role("link", name="Aperçu de « La lettre hebdo »").click()
    assert page.url.endswith("/admin/preview/hebdo")
    shot(page, "12-apercu")
    context.close()
