"""French everywhere, correctly: every template and every French string of publisher/ follows
the typographic rules of publisher/french.py (typographic apostrophe, narrow no-break spaces
before « : ; ! ? » and inside « »), counts agree with their number, and the site's name is
elided after « de » where the reader sees it (emails' footer, consent box, confirmation emails,
feeds page)."""

from __future__ import annotations

import ast
import email
import html
import re
from email import policy
from pathlib import Path

import httpx
import pytest
from support.config import set_keys
from support.paths import ROOT
from support.serve import cli
from support.webserver import served, web_app

from publisher.config import load_config
from publisher.demo import load_demo
from publisher.errors import ConfigError
from publisher.feeds import build_feeds
from publisher.french import count_of, elides, of
from publisher.subscribers.subscription_mail import already_subscribed_message, confirmation_message

TEMPLATES = sorted([*ROOT.glob("publisher/**/*.j2"), *ROOT.glob("newsletters/**/*.j2")])
# Not the product's prose: the demo's made-up data; french_spacing, which keeps the words of
# articles' authors together with the no-break spaces they already typed; the column names as
# spreadsheets spell them (compared without punctuation anyway).
NOT_CHECKED = {Path("publisher/digests/formatting.py"), Path("publisher/subscribers/csv_headers.py")}
MODULES = sorted(
    path
    for path in ROOT.glob("publisher/**/*.py")
    if "demo_data" not in path.parts and path.relative_to(ROOT) not in NOT_CHECKED
)
# What is not the product's prose in a template: comments, style blocks, Jinja, HTML tags.
NOT_PROSE = re.compile(r"\{#.*?#\}|<style.*?</style>|<mj-style.*?</mj-style>|\{\{.*?\}\}|\{%.*?%\}|<[^>]*>", re.S)
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
DOUBLE_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
SINGLE_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
READ_ATTRIBUTE = re.compile(r'\b(?:alt|title|aria-label)="([^"]*)"')
FRENCH = re.compile(
    r"[àâçéèêëîïôûùüœ’«»]|\b(vous|votre|vos|nous|nos|lettre|lettres|aucun|aucune|envoi|envois)\b", re.IGNORECASE
)
RULES = {
    "straight apostrophe (write ’)": re.compile(r"[A-Za-zÀ-ÿ]'[A-Za-zÀ-ÿ]"),
    "space or no-break space before : ; ! ? » (write U+202F)": re.compile(r"[ \u00a0][:;!?»]"),
    "no space before ; ! ? (write U+202F)": re.compile(r"[A-Za-zÀ-ÿ0-9)][;!?](?=\s|$)"),
    "» not after U+202F": re.compile(r"(?<=[^\u202f\s])»"),
    "« not followed by U+202F": re.compile(r"«(?!\u202f|$)"),
}


def violations(text: str) -> list[str]:
    return [f"{rule}: …{text[max(0, m.start() - 20) : m.end() + 20]!r}…" for rule, pattern in RULES.items()
            for m in pattern.finditer(text)]  # fmt: skip


def template_prose(path: Path) -> list[tuple[int, str]]:
    """(line, text) of what readers read in a template: its text, and the French string
    literals of its Jinja expressions."""
    source = path.read_text(encoding="utf-8")
    prose = NOT_PROSE.sub(lambda match: "\n" * match.group().count("\n"), source)
    found = [(number, html.unescape(line)) for number, line in enumerate(prose.splitlines(), 1) if line.strip()]
    for attribute in READ_ATTRIBUTE.finditer(source):  # read aloud or shown in place of an image
        found.append((source.count("\n", 0, attribute.start()) + 1, html.unescape(JINJA.sub("", attribute[1]))))
    for expression in JINJA.finditer(source):
        line = source.count("\n", 0, expression.start()) + 1
        double_quoted = DOUBLE_QUOTED.findall(expression.group())
        single_quoted = SINGLE_QUOTED.findall(DOUBLE_QUOTED.sub("", expression.group()))
        found += [(line, literal) for literal in double_quoted + single_quoted if FRENCH.search(literal)]
    return found


def french_strings(path: Path) -> list[tuple[int, str]]:
    """(line, text) of the French string literals of a module (docstrings are for developers)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and FRENCH.search(node.value)
    ]


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_template_follows_french_typography(path):
    found = [f"{path.relative_to(ROOT)}:{line}: {problem}" for line, text in template_prose(path)
             for problem in violations(text)]  # fmt: skip
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_french_string_of_the_product_follows_french_typography(path):
    found = [f"{path.relative_to(ROOT)}:{line}: {problem}" for line, text in french_strings(path)
             for problem in violations(text)]  # fmt: skip
    assert not found, "\n".join(found)


def test_the_scanner_catches_each_mistake():
    for wrong in ("l'adresse", "Bonjour !", "ce lien :", "«\u00a0Mes sujets\u00a0»", "Merci!", "« Mes sujets »"):
        assert violations(wrong), wrong
    for right in (
        "l’adresse",
        "Bonjour\u202f!",
        "ce lien\u202f:",
        "«\u202fMes sujets\u202f»",
        "18:42",
        "https://x.org/a?b=c",
    ):
        assert not violations(right), right


@pytest.mark.parametrize(
    ("count", "french", "english"),
    [
        (0, "0 envoi", "0 editions"),
        (1, "1 envoi", "1 edition"),
        (2, "2 envois", "2 editions"),
        (305, "305 envois", "305 editions"),
    ],
)
def test_counts_agree_with_their_number(count, french, english):
    assert count_of(count, "envoi", "envois") == french
    assert count_of(count, "edition", "editions", "en") == english


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Horizons Emploi-Formation", "d’Horizons Emploi-Formation"),
        ("Emploi Centre", "d’Emploi Centre"),
        ("Île-de-France Emploi", "d’Île-de-France Emploi"),
        ("Yonne Formation", "d’Yonne Formation"),
        ("Tours Métropole", "de Tours Métropole"),
        ("La Région", "de La Région"),
    ],
)
def test_de_before_a_name(name, expected):
    assert of(name) == expected
    assert elides(name) == expected.startswith("d’")


def test_name_elides_overrides_the_first_letter(config_file):
    set_keys(config_file, "site", title="Hauts-de-France Emploi", name_elides=False)
    assert load_config(config_file).site.of_title == "de Hauts-de-France Emploi"
    set_keys(config_file, "site", title="Tours", name_elides=True)
    assert load_config(config_file).site.of_title == "d’Tours"
    set_keys(config_file, "site", name_elides="oui")
    with pytest.raises(ConfigError, match="name_elides"):
        load_config(config_file)


def test_the_already_subscribed_mail_says_nothing_false(config):
    url = "https://www.horizons-emploi.example.org/preferences/x"
    for locale in ("fr", "en"):
        already = already_subscribed_message(config, "camille@example.org", "Camille", locale, url)
        confirm = confirmation_message(config, "camille@example.org", "Camille", locale, url)
        for nothing in ("vous ne recevrez rien", "you will receive nothing"):
            assert nothing not in already.text and nothing not in (already.html or "")
        assert "rien" in confirm.text or "nothing" in confirm.text  # true for a new sign-up


def test_the_site_name_is_elided_where_readers_see_it(app, config_file):
    load_demo(app)
    url = "https://www.horizons-emploi.example.org/confirm/x"
    confirm = confirmation_message(app.config, "camille@example.org", "", "fr", url)
    assert "la lettre d’Horizons Emploi-Formation" in confirm.text
    assert "de Horizons" not in confirm.text + (confirm.html or "")
    build_feeds(app)
    page = (app.config.feeds.output_dir / "index.html").read_text(encoding="utf-8")
    assert "Flux d’actualité d’Horizons Emploi-Formation" in page and "de Horizons" not in page
    tag_feed = next((app.config.feeds.output_dir / "tags").glob("*.xml")).read_text(encoding="utf-8")
    assert "d’Horizons Emploi-Formation" in tag_feed and "de Horizons" not in tag_feed


def test_the_footer_and_the_consent_box_elide_the_site_name(app, config_file):
    load_demo(app)
    assert cli(config_file, "send", "hebdo").returncode == 0
    sent = next((config_file.parent / "outbox").glob("hebdo-*.eml")).read_bytes()
    body = email.message_from_bytes(sent, policy=policy.default).get_body(("html",)).get_content()
    assert "d’Horizons Emploi-Formation à l’adresse" in body and "de Horizons" not in body
    with served(web_app(app)) as url:
        form = html.unescape(httpx.get(url + "/subscribe").text)
    assert "lettres d’information d’Horizons Emploi-Formation par courriel" in form
