"""publisher newsletters list | preview | history."""

from __future__ import annotations

from support.cli import invoke_cli
from support.digests import add_subscriber, members, week_of_articles

from publisher.digests import plan_editions


def run(config_file, *args):
    result = invoke_cli(config_file, *args)
    return result


def test_list_shows_the_demo_newsletters(config_file):
    run(config_file, "init")  # the list checks the newsletters' tags against the store (test_typos.py)
    result = run(config_file, "newsletters", "list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["SLUG", "TITLE", "SEGMENT", "SCHEDULE", "SELECTION"]
    assert any(line.startswith("hebdo") and "La lettre hebdo" in line and line.endswith("all") for line in lines)
    assert any(line.startswith("mes-sujets") and line.endswith("interests") for line in lines)


def test_preview_writes_html_and_text_beside_it(app, config_file, tmp_path):
    week_of_articles(app.store, app.clock.now(), count=10)
    out = tmp_path / "out" / "hebdo.html"
    result = run(config_file, "newsletters", "preview", "hebdo", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "subject:   Horizons Emploi-Formation — l’essentiel de la semaine du" in result.output
    assert "articles:  10 articles" in result.output
    html, text = out.read_text(encoding="utf-8"), out.with_suffix(".txt").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "La lettre hebdo" in html
    assert "LA LETTRE HEBDO" in text and "__PUB_" not in html + text


def test_preview_defaults_to_previews_folder_beside_config(app, config_file, tmp_path):
    week_of_articles(app.store, app.clock.now(), count=2)
    assert run(config_file, "newsletters", "preview", "mes-sujets").exit_code == 0
    assert (tmp_path / "previews" / "mes-sujets.html").is_file()
    assert (tmp_path / "previews" / "mes-sujets.txt").is_file()


def test_preview_as_a_subscriber_uses_their_interests(app, config_file, tmp_path):
    week_of_articles(app.store, app.clock.now(), count=6)
    add_subscriber(app.store, "lea.martin@example.org", "Léa Martin", ("travaux-publics",))
    out = tmp_path / "lea.html"
    result = run(
        config_file, "newsletters", "preview", "mes-sujets", "--email", "Lea.Martin@example.org", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "articles:  2 articles" in result.output
    assert "lea.martin@example.org" in out.with_suffix(".txt").read_text(encoding="utf-8")


def test_preview_errors_are_one_line(app, config_file):
    week_of_articles(app.store, app.clock.now(), count=1)
    for args, message in [
        (("nope",), "Error: no newsletter 'nope'"),
        (("hebdo", "--segment", "nope"), "Error: --segment: no segment 'nope'"),
        (("hebdo", "--email", "nobody@example.org"), "Error: --email: no subscriber with address 'nobody@example.org'"),
    ]:
        result = run(config_file, "newsletters", "preview", *args)
        assert result.exit_code == 1
        assert result.output.startswith(message) and result.output.count("\n") == 1


def test_preview_falls_back_to_the_latest_articles_when_nothing_is_new(app, config_file):
    week_of_articles(app.store, app.clock.now(), count=3)
    with app.store.transaction():
        list(plan_editions(app, "hebdo", [members(1)]))
    result = run(config_file, "newsletters", "preview", "hebdo")
    assert "articles:  3 articles (nothing new for this edition: showing the latest articles)" in result.output
    history = run(config_file, "newsletters", "history", "hebdo")
    assert "hebdo → tous  planned: 3 new articles, 1 edition, 1 recipient" in history.output
