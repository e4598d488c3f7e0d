"""Compiling one digest: HTML and text parts, dates, links, placeholders, size, template errors."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta

import pytest
from support.articles import store_articles
from support.config import replace_once
from support.digests import LONG_SUMMARY, add_subscriber, app_with, digest_article, week_of_articles

from publisher.digests import render_preview
from publisher.digests.compiler import DigestCompiler
from publisher.digests.content import Selection
from publisher.errors import TemplateError
from publisher.placeholders import Placeholders
from publisher.store.articles import list_articles

GMAIL_CLIP = 102 * 1024
PH = Placeholders("TESTTAG234567ABC")


def compile_digest(app, slug="hebdo", count=10):
    articles = tuple(list_articles(app.store, limit=count))
    return DigestCompiler(app.config, slug).compile(Selection(articles), app.clock.now(), PH)


def test_ten_article_digest_is_complete_and_under_gmail_clip_size(app, clock):
    week_of_articles(app.store, clock.now(), count=10)
    digest = compile_digest(app)

    assert len(digest.html.encode()) < GMAIL_CLIP
    assert digest.subject == "Horizons Emploi-Formation — l’essentiel de la semaine du 26 novembre 2026"
    assert digest.preheader == "Les actualités emploi-formation de la semaine en Centre-Val de Loire"
    assert len(digest.article_ids) == 10
    html = digest.html
    assert '<html lang="fr"' in html
    assert "Les actualités emploi-formation de la semaine" in html  # the hidden preheader
    assert html.count(">Lire la suite") == 10
    assert "<h1" in html and "La lettre hebdo" in html
    # French dates in the site time zone, group headings by day
    assert "25 novembre 2026" in html and "Mercredi 25 novembre" in html
    # the postal address and the per-recipient links are in the footer, as placeholders
    assert "10 rue de l’Observatoire" in html
    assert f'href="{PH.unsubscribe_url}"' in html
    assert f'href="{PH.preferences_url}"' in html
    assert f'href="{PH.view_online_url}"' in html
    assert PH.email in html
    # no Google Fonts or other third-party stylesheet
    assert "<link" not in html


def test_every_link_and_image_is_absolute_and_only_article_links_carry_utm(app, clock):
    week_of_articles(app.store, clock.now(), count=4)
    html = compile_digest(app).html
    urls = re.findall(r'(?:href|src)="([^"]+)"', html)
    assert urls
    for url in urls:
        assert url.startswith("https://") or url in PH.all, url
    article_links = [url for url in urls if "/actualites/" in url]
    assert article_links and all(
        "utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=hebdo" in url for url in article_links
    )
    other = [url for url in urls if "/actualites/" not in url]
    assert other and not any("utm_" in url for url in other)


def test_utm_can_be_switched_off_and_the_campaign_renamed(config_file, clock):
    replace_once(config_file, "utm = true", "utm = false")
    replace_once(config_file, 'utm_campaign = "mes-sujets"', 'utm_campaign = "sujets-2026"')
    with app_with(config_file, clock) as app:
        week_of_articles(app.store, clock.now(), count=2)
        assert "utm_" not in compile_digest(app).html
        assert "utm_campaign=sujets-2026" in compile_digest(app, "mes-sujets").html


def test_pills_are_styled_inline_and_media_queries_stay_in_the_head(app, clock):
    week_of_articles(app.store, clock.now(), count=3)
    html = compile_digest(app).html
    pills = re.findall(r'<span class="pill" style="([^"]+)"', html)
    assert pills
    for style in pills:
        assert "background-color: #e3ecf7" in style and "border-radius: 14px" in style and "padding: 3px 11px" in style
    assert "@media only screen and (max-width: 479px)" in html
    assert "span.pill" not in html  # inlined rules are not repeated in <style>


def test_text_part_is_readable_text_with_links_and_footer(app, clock):
    week_of_articles(app.store, clock.now(), count=3)
    text = compile_digest(app).text
    assert "<" not in text.replace("«", "")  # no markup
    assert "LA LETTRE HEBDO · Horizons Emploi-Formation" in text
    assert "Article 1\u00a0: l'apprentissage «\u00a0en tension\u00a0» à Orléans" in text
    assert "25 novembre 2026 · bassin d'emploi" in text
    assert "Lire la suite\u202f: https://www.horizons-emploi.example.org/actualites/1?utm_source=newsletter" in text
    assert f"Se désabonner\u202f: {PH.unsubscribe_url}" in text
    assert f"Gérer mes préférences\u202f: {PH.preferences_url}" in text
    assert "45000 Orléans" in text
    assert all(len(line) <= 72 or "http" in line or "__PUB_" in line for line in text.splitlines())
    assert "des profils qualifiés, notamment en maintenance industrielle." in " ".join(
        text.split()
    )  # summaries in full


def test_group_by_tag_puts_articles_under_their_first_tag(app, clock):
    week_of_articles(app.store, clock.now(), count=6)
    digest = compile_digest(app, "mes-sujets")
    text = digest.text
    for heading in ("Apprentissage\n=============", "Bassin d'emploi\n===============", "Travaux publics"):
        assert heading in text
    assert digest.subject == "Vos sujets suivis\u202f: 6 nouveautés"


def test_preview_fills_placeholders_with_the_subscribers_links(app, clock):
    week_of_articles(app.store, clock.now(), count=3)
    recipient = add_subscriber(app.store, "lea.martin@example.org", "Léa Martin", ("bassin-d-emploi",))
    digest = render_preview(app, "mes-sujets", recipient)
    assert "__PUB_" not in digest.html + digest.text
    assert "https://www.horizons-emploi.example.org/unsubscribe/" in digest.text
    assert "lea.martin@example.org" in digest.text
    # interest-based: only the bassin d'emploi article
    assert len(digest.article_ids) == 1 and "Bassin d'emploi" in digest.text


def test_dates_are_written_in_french_in_the_site_time_zone(app, clock):
    late_evening = clock.now().replace(year=2020, month=2, day=4, hour=23, minute=30)  # 5 February in Paris
    store_articles(app.store, digest_article(1, late_evening, summary=LONG_SUMMARY))
    html = compile_digest(app, count=1).html
    assert "5 février 2020" in html and "Mercredi 5 février" in html


# --- template errors -------------------------------------------------------------------------


@pytest.fixture
def broken(app, clock, tmp_path):
    """Write a newsletter template for hebdo, returning a compile function."""
    week_of_articles(app.store, clock.now(), count=2)
    folder = tmp_path / "newsletters" / "hebdo"

    def write(name: str, text: str):
        (folder / name).write_text(text, encoding="utf-8")
        return lambda: compile_digest(app)

    return write


def test_jinja_syntax_error_names_file_and_line(broken):
    run = broken(
        "digest.mjml.j2", '{% extends "_shared/digest.mjml.j2" %}\n{% block intro %}\n{% for x in %}\n{% endblock %}\n'
    )
    with pytest.raises(TemplateError, match=r"^newsletters/hebdo/digest\.mjml\.j2:3: "):
        run()


def test_undefined_variable_names_file_and_line(broken):
    run = broken(
        "digest.mjml.j2",
        '{% extends "_shared/digest.mjml.j2" %}\n{% block intro %}\n\n<p>{{ artcle_count }}</p>\n{% endblock %}\n',
    )
    with pytest.raises(
        TemplateError, match=r"^newsletters/hebdo/digest\.mjml\.j2:4: undefined variable: 'artcle_count'"
    ):
        run()


def test_undefined_attribute_in_a_shared_partial_names_the_partial(app, clock, tmp_path, broken):
    partial = tmp_path / "newsletters" / "_shared" / "article.mjml.j2"
    partial.write_text(partial.read_text(encoding="utf-8").replace("article.summary }}", "article.sumary }}"))
    with pytest.raises(TemplateError, match=r"^newsletters/_shared/article\.mjml\.j2:\d+: undefined variable"):
        compile_digest(app)


def test_invalid_mjml_names_the_template_line_of_the_bad_tag(broken):
    run = broken(
        "digest.mjml.j2",
        '{% extends "_shared/digest.mjml.j2" %}\n{% block intro %}\n</mj-text></mj-column></mj-section>\n'
        "<mj-section>\n  <mj-colum><mj-text>\n{% endblock %}\n",
    )
    with pytest.raises(
        TemplateError, match=r"^newsletters/hebdo/digest\.mjml\.j2:5: invalid MJML: <mj-colum> is not an MJML"
    ):
        run()


def test_mjml_in_the_wrong_parent_is_an_error(broken):
    run = broken(
        "digest.mjml.j2",
        '{% extends "_shared/digest.mjml.j2" %}\n{% block intro %}\n</mj-text></mj-column>\n'
        "<mj-text>orphan</mj-text>\n<mj-column><mj-text>\n{% endblock %}\n",
    )
    with pytest.raises(TemplateError, match=r"invalid MJML: <mj-text> is not allowed inside <mj-section>"):
        run()


def test_missing_template_is_named(app, clock, config_file):
    replace_once(config_file, 'template = "digest.mjml.j2"', 'template = "hebdo.mjml.j2"')
    with app_with(config_file, clock) as other:
        week_of_articles(other.store, clock.now(), count=1)
        with pytest.raises(TemplateError, match=r"template 'hebdo\.mjml\.j2' not found \(looked in newsletters/hebdo"):
            compile_digest(other)


def test_subject_error_names_the_config_key_and_line(app, clock, config_file):
    replace_once(config_file, "semaine du {{ edition_date }}", "semaine du {{ edition_day }}")
    with app_with(config_file, clock) as other:
        week_of_articles(other.store, clock.now(), count=1)
        with pytest.raises(
            TemplateError, match=r"config\.toml:\d+: newsletters\.hebdo\.subject: undefined variable: 'edition_day'"
        ):
            compile_digest(other)


def test_templates_of_a_clone_without_newsletter_folder_fall_back_to_shared(app, clock, tmp_path):
    shutil.rmtree(tmp_path / "newsletters" / "hebdo")
    week_of_articles(app.store, clock.now(), count=2)
    digest = compile_digest(app)
    assert "2 nouveaux articles depuis la dernière lettre." in digest.text


def test_first_of_month_is_premier(app, clock):
    store_articles(app.store, digest_article(1, clock.now().replace(day=1)))
    assert "1er novembre 2026" in compile_digest(app, count=1).html


def test_mrml_parse_error_is_located_in_the_overriding_file(broken):
    run = broken("responsive.css", "/* a newsletter may override any shared file */\n/* but not write <head> here */\n")
    with pytest.raises(
        TemplateError, match=r"^newsletters/hebdo/responsive\.css:2: invalid MJML: unexpected token .*'<head'"
    ):
        run()


def test_article_text_cannot_inject_markup(app, clock):
    title = 'Salaires & « primes » </mj-text></mj-column><mj-raw><script>alert("x")</script></mj-raw>'
    store_articles(
        app.store, digest_article(1, clock.now() - timedelta(hours=1), title=title, summary="<b>gras</b> & co")
    )
    digest = compile_digest(app, count=1)
    assert "<script" not in re.sub(r'"[^"]*"', '""', digest.html)  # only inside (quoted) attribute values
    assert "<b>gras</b>" not in digest.html
    assert "Salaires &amp; «&nbsp;primes&nbsp;» &lt;/mj-text&gt;" in digest.html
    assert "<b>gras</b> & co" in digest.text  # the text part is not HTML: nothing to escape


def test_no_break_spaces_in_attributes_stay_readable(app, clock):
    store_articles(app.store, digest_article(1, clock.now() - timedelta(hours=1), title="Emploi : « oui »"))
    html = compile_digest(app, count=1).html
    assert 'alt="Emploi&nbsp;: «&nbsp;oui&nbsp;»"' in html
    assert 'aria-label="Lire la suite\u202f: Emploi&nbsp;: «&nbsp;oui&nbsp;»"' in html
    assert "\\u{" not in html
