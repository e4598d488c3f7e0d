"""`publisher serve` writes an access log by default, one line per request in the combined log
format, and no signed token ever reaches it: real tokens of real links, sent by a careless
reader or forged by an attacker (other spellings of the path, a query string, a Referer),
against a real `publisher serve`."""

from __future__ import annotations

import re
import shutil
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from support.config import set_keys
from support.paths import ROOT
from support.serve import SECRET, cli, start_serve

from publisher.app import App
from publisher.config import Secrets, load_config
from publisher.tokens import EDITION, confirm_url, links_for, sign

COMBINED = re.compile(
    r"- - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "
    r'"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/1\.1" (?P<status>\d{3}) (?P<size>\d+|-) '
    r'"(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)"'
)


@pytest.fixture
def folder(tmp_path) -> Path:
    """The demo store after a send of hebdo to the outbox: real links in real messages."""
    shutil.copy(ROOT / "config.toml", tmp_path / "config.toml")
    shutil.copytree(ROOT / "newsletters", tmp_path / "newsletters")
    for command in (["init"], ["demo", "load"], ["send", "hebdo"]):
        result = cli(tmp_path / "config.toml", *command)
        assert result.returncode == 0, result.stderr
    return tmp_path


def signed_paths(folder: Path) -> dict[str, str]:
    """Paths of signed links, each with its token: from a delivered message and freshly signed."""
    message = message_from_bytes(next((folder / "outbox").glob("hebdo-*.eml")).read_bytes(), policy=policy.default)
    delivered = re.search(r"<(https://[^>]+/unsubscribe/[^>]+)>", str(message["List-Unsubscribe"])).group(1)
    app = App(load_config(folder / "config.toml"), Secrets(signing_secret=SECRET))
    try:
        subscriber_id, edition_id = app.store.conn.execute(
            "SELECT subscriber_id, edition_id FROM deliveries"
        ).fetchone()
        links = links_for(app, subscriber_id)
        return {
            "delivered unsubscribe": urlsplit(delivered).path,
            "unsubscribe": urlsplit(links.unsubscribe_url).path,
            "preferences": urlsplit(links.preferences_url).path,
            "confirm": urlsplit(confirm_url(app, subscriber_id)).path,
            "view online": f"/archive/{edition_id}/{sign(SECRET, EDITION, edition_id)}",
        }
    finally:
        app.close()


def token_of(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[1]


def test_every_request_is_one_combined_line_and_no_token_reaches_the_log(folder):
    paths = signed_paths(folder)
    tokens = [token_of(path) for path in paths.values()]
    server = start_serve(folder / "config.toml")
    requests = []
    try:
        with httpx.Client(base_url=server.base) as web:

            def ask(method: str, target: str, **options) -> None:
                web.request(method, target, **options)
                requests.append(method)

            ask("GET", "/feeds/all.rss.xml")
            for path in paths.values():
                ask("GET", path)
                ask("GET", path + "?utm_source=newsletter")
            ask("POST", paths["delivered unsubscribe"], data={"List-Unsubscribe": "One-Click"})
            unsubscribe = paths["unsubscribe"]
            # Careless or hostile spellings of the same links: each must still be redacted.
            for target in (
                "/" + unsubscribe,
                unsubscribe.upper(),
                unsubscribe + "/extra",
                unsubscribe.replace("/unsubscribe/", "/unsub%73cribe/"),
                "/nowhere/" + token_of(unsubscribe),
                paths["preferences"] + "?email=camille.martin@example.org",
            ):
                ask("GET", target)
            ask(
                "GET",
                "/",
                headers={
                    "referer": "https://webmail.example.org" + paths["preferences"] + "?u=camille@example.org",
                    "user-agent": 'Evil "agent" \\ with \xe9 and a fake line - - - [01/Jan/2026:00:00:00 +0000]'.encode(
                        "latin-1"
                    ),
                },
            )
    finally:
        output = server.stop()
    lines = [line for line in output.splitlines() if line.startswith("- - - [")]
    parsed = [COMBINED.fullmatch(line) for line in lines]
    assert all(parsed), [line for line, match in zip(lines, parsed, strict=True) if not match]
    ours = [match for match in parsed if match["target"] != "/healthz"]  # start_serve waits on /healthz
    assert [match["method"] for match in ours] == requests  # one line per request, in order
    feed = ours[0]
    assert feed["target"] == "/feeds/all.rss.xml" and feed["status"] == "200" and int(feed["size"]) > 1000
    assert any(match["target"].startswith("/unsubscribe/[redacted]") for match in ours)
    assert '\\"agent\\"' in ours[-1]["agent"] and ours[-1]["referer"] == (
        "https://webmail.example.org/preferences/[redacted]?[redacted]"
    )
    for token in tokens:
        assert token not in output
        for part in token.split("."):
            if len(part) >= 10:
                assert part not in output, f"part of a token in the log: {part}"
    assert "@" not in "\n".join(lines)  # nor an address from a query string or a Referer


def test_the_access_log_can_be_turned_off(folder):
    set_keys(folder / "config.toml", "service", access_log=False)
    server = start_serve(folder / "config.toml")
    try:
        httpx.get(server.base + "/feeds/all.rss.xml")
    finally:
        output = server.stop()
    assert "- - - [" not in output
