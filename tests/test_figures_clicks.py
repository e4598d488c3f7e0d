"""Clicks per article through `publisher serve`: the demo's hebdo sent to the outbox carries
signed /r/… links (no subscriber in them); following one counts a click and answers a 302 to
that article's own link only; HEAD requests and scanners are counted apart; forged, altered or
foreign links are 404s that count nothing; with track_clicks = false the message carries the
articles' own links; SendGrid's click tracking is turned off for messages with our links."""

from __future__ import annotations

import email
import re
import shutil
import sqlite3
from collections.abc import Iterator
from email import policy
from pathlib import Path

import httpx
import pytest
from support.config import set_keys
from support.paths import HOSTILE, ROOT
from support.serve import Serving, cli, start_serve

CLICK = re.compile(r"https?://[^\s\"'<>]+/r/(\d+)/(\d+)/([A-Za-z0-9_-]+)")
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def sent_folder(folder: Path, **hebdo: object) -> Path:
    config = folder / "config.toml"
    shutil.copy(ROOT / "config.toml", config)
    shutil.copytree(ROOT / "newsletters", folder / "newsletters")
    if hebdo:
        set_keys(config, "newsletters.hebdo", **hebdo)
    for step in (["init"], ["demo", "load"], ["send", "hebdo"]):
        done = cli(config, *step)
        assert done.returncode == 0, done.stderr
    return config


def messages(config: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted((config.parent / "outbox").rglob("*.eml"))
    ]


def parts(message) -> tuple[str, str]:
    return message.get_body(("html",)).get_content(), message.get_body(("plain",)).get_content()


def figures(config: Path) -> dict[tuple[int, str, int], int]:
    with sqlite3.connect(config.parent / "publisher.db") as conn:
        rows = conn.execute("SELECT edition_id, measure, article_id, count FROM edition_figures")
        return {(e, m, a): n for e, m, a, n in rows}


def article_urls(config: Path) -> dict[int, str]:
    with sqlite3.connect(config.parent / "publisher.db") as conn:
        return dict(conn.execute("SELECT id, url FROM articles"))


@pytest.fixture(scope="module")
def tracked(tmp_path_factory) -> Iterator[tuple[Path, Serving]]:
    config = sent_folder(tmp_path_factory.mktemp("clicks"))
    server = start_serve(config)
    yield config, server
    output = server.stop()
    assert "Traceback" not in output, output
    assert not re.search(r"/r/\d+/\d+/[A-Za-z0-9_-]{5}", output), "the log keeps no link signature"


def test_article_links_are_signed_click_links_naming_no_one(tracked):
    config, _ = tracked
    sent = messages(config)
    assert sent
    for message in sent:
        html, text = parts(message)
        links = CLICK.findall(html)
        assert links and set(links) == set(CLICK.findall(text))
        assert all(len(signature) == 22 for _, _, signature in links)
        recipient = message["To"].addresses[0]
        assert recipient.addr_spec not in " ".join("/".join(link) for link in links)
        assert "__PUB_" not in html + text


def test_a_click_counts_once_and_redirects_to_that_article_only(tracked):
    config, server = tracked
    html, _ = parts(messages(config)[0])
    url = CLICK.search(html).group(0).replace(CLICK.search(html).group(0).split("/r/")[0], server.base)
    edition, article = (int(part) for part in CLICK.search(html).groups()[:2])
    before = figures(config).get((edition, "clicks", article), 0)

    answer = httpx.get(url, headers={"user-agent": BROWSER})

    assert answer.status_code == 302
    target = answer.headers["location"]
    assert target.startswith(article_urls(config)[article].split("?")[0])
    assert "utm_source=newsletter" in target and "utm_campaign=hebdo" in target
    assert answer.headers["cache-control"] == "no-store" and "set-cookie" not in answer.headers
    assert figures(config)[edition, "clicks", article] == before + 1


def test_head_and_scanners_are_counted_apart(tracked):
    config, server = tracked
    edition, article, signature = CLICK.search(parts(messages(config)[0])[0]).groups()
    url = f"{server.base}/r/{edition}/{article}/{signature}"
    key = int(edition), "clicks", int(article)
    clicks = figures(config).get(key, 0)

    answers = [
        httpx.head(url, headers={"user-agent": BROWSER}),
        httpx.get(url, headers={"user-agent": "Mozilla/5.0 (compatible; Barracuda Sentinel)"}),
        httpx.get(url, headers={"user-agent": ""}),
        httpx.get(url, headers={"user-agent": BROWSER, "sec-purpose": "prefetch"}),
    ]

    assert [answer.status_code for answer in answers] == [302] * 4
    assert figures(config).get(key, 0) == clicks
    assert figures(config)[int(edition), "prefetches", int(article)] >= 4


def test_forged_altered_or_foreign_links_are_404s_that_count_nothing(tracked):
    config, server = tracked
    edition, article, signature = CLICK.search(parts(messages(config)[0])[0]).groups()
    other = next(a for a in article_urls(config) if a != int(article))
    before = figures(config)
    forged = [
        f"/r/{edition}/{other}/{signature}",  # another article, same signature
        f"/r/{int(edition) + 1}/{article}/{signature}",  # another edition
        f"/r/{edition}/{article}/{signature[:-1]}A"
        if signature[-1] != "A"
        else f"/r/{edition}/{article}/{signature[:-1]}B",
        f"/r/{edition}/{article}/",
        f"/r/0{edition}/{article}/{signature}",
        f"/r/{edition}/{article}/{signature}/../../../evil.example",
        f"/r/{edition}/{article}/{'A' * 5000}",
        *(line.strip() for line in (HOSTILE / "click_links.txt").read_text(encoding="utf-8").splitlines()),
    ]
    for path in forged:
        answer = httpx.get(server.base + path, headers={"user-agent": BROWSER})
        assert answer.status_code == 404, path
        assert "location" not in answer.headers
    assert figures(config) == before


def test_track_clicks_false_sends_the_articles_own_links(tmp_path):
    config = sent_folder(tmp_path, track_clicks=False)
    own = set(article_urls(config).values())
    for message in messages(config):
        html, text = parts(message)
        assert not CLICK.search(html) and not CLICK.search(text)
        assert any(url.split("?")[0] in html for url in own)
