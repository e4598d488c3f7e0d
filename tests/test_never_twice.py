"""Never twice: an article reaches a reader at most once per newsletter, whatever the segment
sent to, a crash, downtime or a change of interests. Each reader's watermark per newsletter
(publisher.store.watermarks) says up to which publication time this newsletter has served them.

The outbox's .eml files are read back to see which articles each reader got."""

from __future__ import annotations

import email
import re
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from support.apps import app_for
from support.articles import store_articles
from support.cli import invoke_cli
from support.config import set_keys
from support.delivery import add_subscribers
from support.digests import digest_article, tag_id
from support.paths import ROOT
from support.subscribers import write_csv
from support.waiting import wait_for
from test_delivery_kill import SEND_ENV, publisher_send

from publisher.delivery.send import send_newsletter
from publisher.store.subscribers import add_interests, remove_interests

ARTICLE = re.compile(r"/actualites/(\d+)")
CONSENT = "formulaire site,2026-06-10T09:46:21+02:00"


@pytest.fixture(autouse=True)
def articles_own_links(config_file: Path) -> None:
    """These tests read which articles each reader got from the articles' own URLs in the
    messages: no click links (track_clicks) in the way."""
    for slug in ("hebdo", "mes-sujets"):
        set_keys(config_file, f"newsletters.{slug}", track_clicks=False)


def received(outbox: Path, newsletter: str = "hebdo") -> dict[str, Counter]:
    """address → how many times each article number reached it, from the outbox files."""
    got: dict[str, Counter] = {}
    for path in outbox.glob(f"{newsletter}-e*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        text = message.get_body(preferencelist=("plain",)).get_content()
        numbers = {int(number) for number in ARTICLE.findall(text)}
        got.setdefault(str(message["To"].addresses[0].addr_spec), Counter()).update(numbers)
    return got


def articles_of(outbox: Path, newsletter: str = "hebdo") -> dict[str, set[int]]:
    """address → the article numbers it got; fails if any article reached anyone twice."""
    got = received(outbox, newsletter)
    twice = {address: [n for n, times in counter.items() if times > 1] for address, counter in got.items()}
    assert not any(twice.values()), f"articles received twice: {twice}"
    return {address: set(counter) for address, counter in got.items()}


def import_readers(config_file: Path, tmp_path: Path, *rows: str) -> None:
    """Readers through `publisher subscribers import`: (address, bassin, interests) rows."""
    lines = [f"{address},,fr,{interests},active,{CONSENT},{bassin},salarié" for address, bassin, interests in rows]
    path = write_csv(tmp_path / f"readers-{len(list(tmp_path.glob('readers-*')))}.csv", *lines)
    result = invoke_cli(config_file, "subscribers", "import", str(path))
    assert result.exit_code == 0, result.output


def publish(store, numbers: range, at: datetime, tags=("apprentissage",)) -> None:
    store_articles(store, *(digest_article(n, at - timedelta(minutes=n), tags) for n in numbers))


def cli(config_file: Path, *args: str) -> str:
    result = invoke_cli(config_file, *args)
    assert result.exit_code == 0, result.output
    return result.output


def test_an_ad_hoc_segment_after_an_ordinary_send_plans_nothing_for_readers_already_served(
    app, config_file, tmp_path, monkeypatch
):
    monkeypatch.setenv("PUBLISHER_SECRET", "test-secret")
    outbox = app.config.delivery.outbox.path
    now = datetime.now(UTC)
    publish(app.store, range(1, 5), now - timedelta(days=2))
    import_readers(
        config_file,
        tmp_path,
        ("alice@example.org", "Tours", "apprentissage"),
        ("claude@example.org", "Orléans", "apprentissage"),
    )
    cli(config_file, "send", "hebdo")
    assert articles_of(outbox) == {"alice@example.org": {1, 2, 3, 4}, "claude@example.org": {1, 2, 3, 4}}

    # Alice already had every article through `tous`: the ad-hoc segment plans nothing for her.
    dry = cli(config_file, "send", "hebdo", "--segment", "apprentissage-tours", "--dry-run")
    assert "0 editions, 0 recipients (dry run)" in dry
    assert "nothing new" in cli(config_file, "newsletters", "preview", "hebdo", "--email", "alice@example.org")

    # Bruno joins later: he gets the newsletter-level window of this segment, Alice still nothing.
    import_readers(config_file, tmp_path, ("bruno@example.org", "Tours", "apprentissage"))
    dry = cli(config_file, "send", "hebdo", "--segment", "apprentissage-tours", "--dry-run")
    assert "1 edition, 1 recipient (dry run)" in dry and "bruno@example.org" in dry
    assert "alice@example.org" not in dry
    cli(config_file, "send", "hebdo", "--segment", "apprentissage-tours")
    assert articles_of(outbox)["bruno@example.org"] == {1, 2, 3, 4}

    # New articles: the ordinary send gives them once to everyone, Bruno included.
    publish(app.store, range(5, 7), now - timedelta(hours=1))
    preview = cli(config_file, "newsletters", "preview", "hebdo", "--email", "bruno@example.org")
    assert "nothing new" not in preview and "2 article" in preview
    dry = cli(config_file, "send", "hebdo", "--dry-run")
    assert "1 edition, 3 recipients (dry run)" in dry  # one shared watermark: one edition
    cli(config_file, "send", "hebdo")
    readers = ("alice@example.org", "bruno@example.org", "claude@example.org")
    assert articles_of(outbox) == {reader: {1, 2, 3, 4, 5, 6} for reader in readers}
    assert "0 editions" in cli(config_file, "send", "hebdo", "--segment", "apprentissage-tours", "--dry-run")


def test_kill_9_mid_send_then_resume_then_next_edition_sends_each_article_once(app, config_file):
    set_keys(config_file, "delivery", batch_size=100, concurrency=4)
    outbox = app.config.delivery.outbox.path
    now = datetime.now(UTC)
    add_subscribers(app.store, 2000)
    publish(app.store, range(1, 4), now - timedelta(days=1))

    first = subprocess.Popen(publisher_send(config_file), env=SEND_ENV, cwd=ROOT, stdout=subprocess.DEVNULL)
    wait_for(lambda: outbox.exists() and len(list(outbox.glob("*.eml"))) >= 500, 60, "500 messages in the outbox")
    first.kill()
    first.wait(timeout=10)
    resumed = subprocess.run(publisher_send(config_file), env=SEND_ENV, cwd=ROOT, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed, 1 edition, 2000 sent" in resumed.stdout

    publish(app.store, range(4, 6), now - timedelta(minutes=30))
    after = subprocess.run(publisher_send(config_file), env=SEND_ENV, cwd=ROOT, capture_output=True, text=True)
    assert after.returncode == 0, after.stderr
    assert "1 edition, 2000 sent" in after.stdout
    got = articles_of(outbox)
    assert len(got) == 2000 and set(map(frozenset, got.values())) == {frozenset({1, 2, 3, 4, 5})}
    again = subprocess.run(publisher_send(config_file), env=SEND_ENV, cwd=ROOT, capture_output=True, text=True)
    assert "nothing new to send" in again.stdout


def watermark_rows(store) -> tuple[int, int]:
    """(reader rows, watermark groups)"""
    tables = ("reader_watermarks", "watermark_groups")
    return tuple(store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables)


def test_downtime_catch_up_and_twenty_weekly_sends_keep_one_watermark_per_reader(app, config_file, clock):
    sender = app_for(config_file, clock)
    outbox = app.config.delivery.outbox.path
    add_subscribers(app.store, 5)
    number = 0
    for week in range(20):
        if week in (5, 6, 7):  # three weeks of downtime: articles keep coming, nothing is sent
            publish(app.store, range(number + 1, number + 3), clock.now())
            number += 2
            clock.advance(days=7)
            continue
        publish(app.store, range(number + 1, number + 3), clock.now() - timedelta(hours=1))
        number += 2
        report = send_newsletter(sender, "hebdo")
        assert len(report.editions) == 1  # every reader shares one watermark: one edition
        clock.advance(days=7)
    got = articles_of(outbox)
    assert set(map(frozenset, got.values())) == {frozenset(range(1, number + 1))}
    assert watermark_rows(app.store) == (5, 1)  # readers × newsletters, not readers × articles
    sender.close()


def test_a_reader_who_changes_interests_gets_no_article_again(app, config_file, clock):
    sender = app_for(config_file, clock)
    outbox = app.config.delivery.outbox.path
    [reader] = add_subscribers(app.store, 1)
    publish(app.store, range(1, 3), clock.now() - timedelta(days=1), tags=("apprentissage",))
    publish(app.store, range(3, 5), clock.now() - timedelta(days=1), tags=("jeunes",))
    with app.store.transaction():
        add_interests(app.store, [(reader.subscriber_id, tag_id(app.store, "apprentissage"))])
    send_newsletter(sender, "mes-sujets")
    assert articles_of(outbox, "mes-sujets") == {reader.email: {1, 2}}

    clock.advance(days=7)
    with app.store.transaction():
        remove_interests(app.store, [(reader.subscriber_id, tag_id(app.store, "apprentissage"))])
        add_interests(app.store, [(reader.subscriber_id, tag_id(app.store, "jeunes"))])
    publish(app.store, range(5, 7), clock.now() - timedelta(hours=1), tags=("apprentissage", "jeunes"))
    send_newsletter(sender, "mes-sujets")
    # 5 and 6 carry both topics and come once; 3 and 4 (« jeunes ») were published before her
    # last edition, which served her past them
    assert articles_of(outbox, "mes-sujets") == {reader.email: {1, 2, 5, 6}}
    sender.close()


def test_a_reader_moving_between_segments_like_cadences_neither_repeats_nor_skips(app, config_file, clock):
    """Frequencies, when they land, are audiences of one newsletter planned at different times:
    a reader sent daily, then weekly, then daily again gets every article exactly once."""
    config_file.write_text(
        config_file.read_text(encoding="utf-8") + '\n[segments.chaque-semaine]\nstatus = "active"\n', encoding="utf-8"
    )
    sender = app_for(config_file, clock)
    outbox = app.config.delivery.outbox.path
    [reader] = add_subscribers(app.store, 1)
    for day in range(1, 22):
        publish(app.store, range(day, day + 1), clock.now() - timedelta(hours=1))
        if not 8 <= day <= 14:
            send_newsletter(sender, "hebdo", "tous")  # daily
        elif day == 14:
            send_newsletter(sender, "hebdo", "chaque-semaine")  # weekly: the week's seven articles
        clock.advance(days=1)
    assert articles_of(outbox) == {reader.email: set(range(1, 22))}
    assert watermark_rows(app.store)[0] == 1
    sender.close()
