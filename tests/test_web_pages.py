"""Pages over real HTTP: French and accessible, security headers, limits, CSRF, archive, admin refusal, healthz."""

import base64
import re
from datetime import datetime

import httpx
import pytest
from support.webserver import served, web_app

from publisher.app import App
from publisher.config import Secrets
from publisher.models import Edition
from publisher.placeholders import edition_placeholders
from publisher.store.editions import insert_edition, set_edition_status
from publisher.store.signup_mails import claim_due, finish
from publisher.subscribers import lifecycle


def serve_app(app, admin_password=None):
    secrets = Secrets(signing_secret="test-secret", admin_password=admin_password)
    return served(web_app(App(app.config, secrets, app.clock)))


@pytest.fixture
def web(app):
    with serve_app(app) as url, httpx.Client(base_url=url) as client:
        yield client


def test_pages_are_french_and_send_security_headers(web):
    for path in ("/", "/subscribe", "/archive/", "/unsubscribe/", "/preferences/", "/nulle-part"):
        response = web.get(path)
        assert response.status_code == (404 if path == "/nulle-part" else 200), path
        assert '<html lang="fr">' in response.text
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "<script" not in response.text
    assert "Page introuvable" in web.get("/nulle-part").text


def test_form_fields_have_labels(web):
    page = web.get("/subscribe").text
    for field_id in re.findall(r'<input type="(?:email|text|checkbox)" id="([^"]+)"', page):
        assert f'<label for="{field_id}"' in page, field_id
    assert 'name="website"' in page and 'tabindex="-1"' in page  # the honeypot stays out of keyboard order
    assert 'name="csrf"' in page


def test_post_without_csrf_token_is_refused(web):
    response = web.post("/subscribe", data={"email": "camille@example.org", "consent": "oui"})
    assert response.status_code == 400
    assert "Le formulaire a expiré" in response.text


def test_oversized_bodies_are_refused_before_being_read(web):
    response = web.post(
        "/subscribe", content=b"email=" + b"a" * 20_000, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413

    def chunks():
        for _ in range(40):
            yield b"a" * 1000

    streamed = web.post("/subscribe", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert streamed.status_code == 413


def test_invalid_links_say_so_in_french(web):
    for path in ("/unsubscribe/abc.def.ghijklmnop", "/preferences/abc.def.ghijklmnop", "/confirm/abc.def.ghijklmnop"):
        response = web.get(path)
        assert response.status_code == 400
        assert "Lien non valide" in response.text


def test_admin_is_refused_without_credentials(app):
    with serve_app(app, admin_password="s3cret pass") as url, httpx.Client(base_url=url) as client:
        refused = client.get("/admin/")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic realm=")
        assert client.get("/admin/", auth=("admin", "wrong")).status_code == 401
        assert client.get("/admin/", auth=("someone", "s3cret pass")).status_code == 401
        garbage = {"authorization": "Basic " + base64.b64encode(b"no colon").decode()}
        assert client.get("/admin/", headers=garbage).status_code == 401
        assert client.get("/admin/preview/hebdo").status_code == 401


def test_admin_is_closed_when_no_password_is_configured(web):
    assert web.get("/admin/").status_code == 403
    assert web.get("/admin/", auth=("admin", "")).status_code == 403


def test_healthz(web):
    response = web.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "store": "ok"}


def _sent_edition(store, newsletter="hebdo"):
    ph = edition_placeholders(Secrets(signing_secret="test-secret"), newsletter, "tous", "key-1")
    html = (
        f"<html><body><p>Bonjour {ph.name} ({ph.email})</p><a href='{ph.view_online_url}'>en ligne</a>"
        f"<a href='{ph.unsubscribe_url}'>désinscription</a><a href='{ph.preferences_url}'>préférences</a></body></html>"
    )
    edition = insert_edition(
        store,
        Edition(newsletter, "tous", "key-1", "La lettre du 23 novembre", "", html, "texte", (1, 2)),
    )
    set_edition_status(store, edition.id, "sent")
    return edition


def test_the_archive_writes_the_first_day_of_a_month_the_french_way(app, web, clock):
    clock.set(datetime.fromisoformat("2026-11-01T09:00:00+01:00"))
    _sent_edition(app.store)
    assert "La lettre hebdo, 1er novembre 2026" in web.get("/archive/").text


def test_archive_lists_sent_editions_and_shows_them_without_personal_data(app, web):
    edition = _sent_edition(app.store)
    draft = insert_edition(app.store, Edition("hebdo", "tous", "key-2", "Brouillon", "", "<p>x</p>", "x", ()))
    index = web.get("/archive/")
    assert "La lettre du 23 novembre" in index.text
    assert f'href="/archive/{edition.id}"' in index.text
    assert "Brouillon" not in index.text
    assert "La lettre du 23 novembre" in web.get("/archive/hebdo").text
    page = web.get(f"/archive/{edition.id}")
    assert page.status_code == 200
    assert "__PUB_" not in page.text
    assert "Bonjour  (votre adresse)" in page.text
    base = app.config.site.base_url
    assert f"href='{base}/archive/{edition.id}'" in page.text
    assert f"href='{base}/unsubscribe/'" in page.text
    assert "unsafe-inline" in page.headers["content-security-policy"]
    assert web.get(f"/archive/{draft.id}").status_code == 404
    assert web.get("/archive/999999").status_code == 404
    assert web.get("/archive/inconnue").status_code == 404
    assert "pas d’archive publique" in web.get("/archive/mes-sujets").text
    gone = _sent_edition(app.store, newsletter="ancienne")  # a newsletter since removed from config.toml
    assert web.get(f"/archive/{gone.id}").status_code == 404


def test_admin_dashboard_with_credentials(app):
    from publisher.store.runs import finish_run, start_run

    edition = insert_edition(app.store, Edition("hebdo", "tous", "key-9", "Lettre en pause", "", "<p>x</p>", "x", ()))
    set_edition_status(app.store, edition.id, "paused", "SendGrid a répondu 500 cinq fois")
    finish_run(app.store, start_run(app.store, "newsletter:hebdo"), "", error="transport injoignable")
    lifecycle.subscribe(app, "refuse@example.org")
    mail = claim_due(app.store, app.clock.now())
    finish(app.store, mail.id, "failed", app.clock.now(), "550 mailbox unavailable")
    with serve_app(app, admin_password="s3cret") as url, httpx.Client(base_url=url) as client:
        page = client.get("/admin/", auth=("admin", "s3cret"))
        preview = client.get("/admin/preview/inconnue", auth=("admin", "s3cret"))
    assert page.status_code == 200
    text = page.text
    assert "Tableau de bord" in text and "À traiter" in text
    assert "SendGrid a répondu 500 cinq fois" in text and "transport injoignable" in text
    assert "1 en échec après plusieurs essais, 0 d’issue inconnue" in text
    assert "Envoi de «\u202fLa lettre hebdo\u202f» (0 8 * * 1)" in text
    assert "Mise à jour des flux (toutes les 10 min)" in text
    assert "apprentissage-tours" in text  # segment sizes
    assert 'href="/admin/preview/hebdo"' in text
    assert page.headers["cache-control"] == "no-store"
    assert preview.status_code == 404


def test_an_unexpected_error_is_a_french_500_page(app, monkeypatch):
    def broken(app, scheduler):
        raise RuntimeError("a bug")

    monkeypatch.setattr("publisher.web.admin._dashboard", broken)
    with serve_app(app, admin_password="s3cret") as url, httpx.Client(base_url=url) as client:
        response = client.get("/admin/", auth=("admin", "s3cret"))
        assert client.get("/healthz").status_code == 200  # the server goes on
    assert response.status_code == 500
    assert '<html lang="fr">' in response.text and "a bug" not in response.text
    assert response.headers["x-frame-options"] == "DENY"
