"""Long tag names and feeds that cannot be written: the slug stays short and unique, every other
feed is still written, run-once goes on to the newsletters and records its run as failed."""

import json
import re
from dataclasses import replace

import pytest
from support.cli import invoke_cli
from support.delivery import due_now

from publisher import cycle as cycle_module
from publisher import store as store_module
from publisher.cycle import run_once
from publisher.jobs import build_jobs
from publisher.slugs import MAX_SLUG_LENGTH, slugify
from publisher.store import Store
from publisher.store.runs import recent_runs

LONG = "t" * 300


@pytest.mark.parametrize(
    "name", [LONG, "é" * 400, "bassin d'emploi " * 40, "a-" * 200 + "b", "x" * MAX_SLUG_LENGTH + "y"]
)
def test_a_long_name_gets_a_short_stable_slug(name):
    slug = slugify(name)
    assert len(slug) <= MAX_SLUG_LENGTH
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug)
    assert slugify(slug) == slug
    assert slugify(name.upper()) == slug  # names that slug alike are still one tag


def test_long_names_that_differ_only_at_the_end_keep_different_slugs():
    slugs = {slugify(LONG + suffix) for suffix in ("", "a", "b", " c", "-d")}
    assert len(slugs) == 5
    assert slugify("x" * MAX_SLUG_LENGTH) == "x" * MAX_SLUG_LENGTH  # short enough: unchanged


def article(n: int, tags: list[str]) -> str:
    return json.dumps(
        {
            "url": f"https://www.horizons-emploi.example.org/actualites/{n}",
            "title": f"Article {n}",
            "published_at": "2026-09-01T09:30:00+02:00",
            "tags": tags,
        }
    )


@pytest.fixture
def run(config_file, monkeypatch):
    monkeypatch.setenv("PUBLISHER_SECRET", "x" * 40)

    def invoke(*args):
        return invoke_cli(config_file, *args)

    assert invoke("init").exit_code == 0
    return invoke


def import_articles(run, tmp_path, *lines):
    path = tmp_path / "articles.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("articles", "import", str(path))
    assert result.exit_code == 0, result.output


def test_a_300_character_tag_gets_its_feed(run, config, tmp_path):
    import_articles(run, tmp_path, article(1, [LONG, "apprentissage"]))
    built = run("feeds", "build")
    assert built.exit_code == 0, built.output
    assert (config.feeds.output_dir / "tags" / f"{slugify(LONG)}.rss.xml").is_file()
    assert (config.feeds.output_dir / "tags" / "apprentissage.rss.xml").is_file()
    assert run("feeds", "build").exit_code == 0


def test_migration_caps_the_slugs_already_stored(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    long_slug = "t" * 300
    monkeypatch.setattr(store_module, "MIGRATIONS", [m for m in store_module.MIGRATIONS if m[0] <= 7])
    with Store(path) as old:
        old.migrate()
        with old.transaction() as conn:
            conn.execute("INSERT INTO tags (id, slug, name) VALUES (1, ?, ?), (2, 'vae', 'VAE')", (long_slug, LONG))
            conn.execute(
                "INSERT INTO feeds (name, tag_id, label, digest, items, updated_at) VALUES "
                "(?, 1, 'x', 'd', 1, 'x'), ('tags/vae', 2, 'VAE', 'd', 1, 'x')",
                (f"tags/{long_slug}",),
            )
    monkeypatch.undo()

    with Store(path) as upgraded:
        assert "0009_inputs" in upgraded.migrate()
        conn = upgraded.conn
        assert conn.execute("SELECT id, slug FROM tags ORDER BY id").fetchall() == [(1, slugify(LONG)), (2, "vae")]
        assert conn.execute("SELECT name FROM feeds").fetchall() == [("tags/vae",)]
        assert conn.execute("SELECT value FROM feed_state WHERE key = 'full_build_needed'").fetchone() is not None


def block_feed_file(config, slug: str) -> None:
    """A folder where the tag's RSS file goes: that one file cannot be written."""
    (config.feeds.output_dir / "tags" / f"{slug}.rss.xml").mkdir(parents=True)


def test_a_feed_that_cannot_be_written_is_reported_and_the_others_are_written(run, config, tmp_path):
    import_articles(run, tmp_path, article(1, ["apprentissage"]), article(2, ["VAE"]))
    block_feed_file(config, "vae")
    built = run("feeds", "build")
    assert built.exit_code == 1
    assert "Traceback" not in built.output
    (line,) = built.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "tags/vae.rss.xml" in line
    output = config.feeds.output_dir
    for file in ("all.rss.xml", "tags/apprentissage.rss.xml", "tags/apprentissage.json", "index.html"):
        assert (output / file).is_file(), file

    (output / "tags" / "vae.rss.xml").rmdir()
    again = run("feeds", "build")
    assert again.exit_code == 0, again.output
    assert (output / "tags" / "vae.rss.xml").is_file()


def test_run_once_goes_on_to_the_newsletters_and_records_the_failure(run, config, tmp_path):
    assert run("demo", "load").exit_code == 0
    due_now(config.source, "hebdo")
    block_feed_file(config, "apprentissage")
    cycle = run("run-once")
    assert cycle.exit_code == 1
    assert "newsletter:hebdo: 1 edition" in cycle.stdout
    assert "tags/apprentissage.rss.xml" in cycle.stderr
    assert "Traceback" not in cycle.output
    assert any(config.feeds.output_dir.glob("tags/*.rss.xml"))
    status = run("status").stdout
    (line,) = [text for text in status.splitlines() if " run-once " in text]
    assert " failed " in line and "tags/apprentissage.rss.xml" in line


def test_any_step_that_stops_the_run_closes_its_row_as_failed(app, monkeypatch):
    def crash(app):
        raise RuntimeError("renderer crashed")

    [feeds] = [job for job in build_jobs(app.config) if job.id == "feeds"]
    monkeypatch.setattr(cycle_module, "build_jobs", lambda config: [replace(feeds, action=crash)])
    with pytest.raises(RuntimeError):
        run_once(app)
    (run,) = recent_runs(app.store)
    assert run.status == "failed" and run.finished_at is not None
    assert "renderer crashed" in run.error
