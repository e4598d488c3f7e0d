"""The archive of `publisher serve`, attacked over real HTTP after a real send of the demo.

Editions of newsletters without a public archive (interest-grouped ones by default, or
``archive = false``) answer 404 to anyone counting ids, are listed nowhere, and open only
through the view-online link of their email, whose token is signed for that edition alone.
Odd ids are 404s, never 500s; tokens never reach the access log."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from pathlib import Path

import httpx
import pytest
from support.config import new_test_folder
from support.paths import HOSTILE
from support.serve import ADMIN_PASSWORD, Serving, cli, start_serve

SECRET = "archive-test-secret-long-enough-for-serve"
ADMIN = ("admin", ADMIN_PASSWORD)
BASE_URL = "https://www.horizons-emploi.example.org"
# A copy of hebdo (the same content for the whole segment) whose archive staff turned off.
STAFF_ONLY = """
[newsletters.equipe]
title = "La lettre de l'équipe"
subject = "Pour l'équipe"
segment = "tous"
schedule = "0 8 * * 1"
first_edition_since = 2026-08-24
archive = false
"""


@dataclass
class Served:
    folder: Path
    server: Serving
    # edition id → newsletter, from the outbox file names (<newsletter>-e<edition>-s<subscriber>.eml)
    editions: dict[int, str]

    @property
    def base(self) -> str:
        return self.server.base

    def get(self, path: str, **kwargs) -> httpx.Response:
        return httpx.get(self.base + path, **{"timeout": 10, **kwargs})

    def view_online_path(self, edition_id: int) -> str:
        """The view-online link of the first email of this edition, without the site's base URL."""
        text = self.messages(edition_id)[0].get_body(("plain",)).get_content()
        return re.search(re.escape(BASE_URL) + r"(/archive/\S+)", text).group(1)

    def messages(self, edition_id: int) -> list[email.message.EmailMessage]:
        paths = sorted((self.folder / "outbox").glob(f"*-e{edition_id}-s*.eml"))
        return [email.message_from_bytes(path.read_bytes(), policy=policy.default) for path in paths]

    def unsubscribe_token(self, edition_id: int) -> str:
        header = str(self.messages(edition_id)[0]["List-Unsubscribe"])
        return re.search(r"/unsubscribe/([^>]+)>", header).group(1)

    def recipients(self, edition_id: int) -> set[str]:
        return {message["To"].addresses[0].addr_spec for message in self.messages(edition_id)}

    def of(self, newsletter: str) -> list[int]:
        return sorted(edition for edition, name in self.editions.items() if name == newsletter)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("archive")
    new_test_folder(folder, STAFF_ONLY)
    for command in (["init"], ["demo", "load"], ["send", "hebdo"], ["send", "equipe"], ["send", "mes-sujets"]):
        done = cli(folder / "config.toml", *command, PUBLISHER_SECRET=SECRET)
        assert done.returncode == 0, done.stderr
    editions = {
        int(match.group(2)): match.group(1)
        for path in (folder / "outbox").glob("*.eml")
        if (match := re.fullmatch(r"(.+)-e(\d+)-s\d+\.eml", path.name))
    }
    running = Served(folder, start_serve(folder / "config.toml", "-v", PUBLISHER_SECRET=SECRET), editions)
    try:
        yield running
    finally:
        running.server.stop()


def test_the_demo_sent_public_and_private_editions(served):
    assert len(served.of("hebdo")) == 1 and len(served.of("equipe")) == 1
    assert len(served.of("mes-sujets")) > 100  # one per distinct set of interests, some for one reader


def test_counting_ids_finds_only_the_public_editions(served):
    public = set(served.of("hebdo"))
    found = {
        edition
        for edition in range(0, max(served.editions) + 20)
        if served.get(f"/archive/{edition}").status_code == 200
    }
    assert found == public
    for edition, newsletter in served.editions.items():
        if newsletter != "hebdo":
            response = served.get(f"/archive/{edition}")
            assert response.status_code == 404
            assert "Lettre introuvable" in response.text


def test_private_editions_are_listed_nowhere(served):
    [public] = served.of("hebdo")
    private = [edition for edition in served.editions if edition != public]
    for path in ("/archive/", "/archive/hebdo", "/archive/mes-sujets", "/archive/equipe", "/"):
        page = served.get(path)
        assert page.status_code == 200, path
        linked = {int(found) for found in re.findall(r'href="/archive/(\d+)', page.text)}
        assert not linked & set(private), path
    assert f'href="/archive/{public}"' in served.get("/archive/").text
    assert "pas d’archive publique" in served.get("/archive/equipe").text
    assert "pas d’archive publique" in served.get("/archive/mes-sujets").text
    home = served.get("/").text
    assert 'href="/archive/hebdo"' in home
    assert 'href="/archive/mes-sujets"' not in home and 'href="/archive/equipe"' not in home


def test_the_view_online_link_of_a_private_edition_opens_that_edition_only(served):
    [public] = served.of("hebdo")
    assert served.view_online_path(public) == f"/archive/{public}"  # a public edition needs no token
    for newsletter in ("mes-sujets", "equipe"):
        edition = served.of(newsletter)[len(served.of(newsletter)) // 2]
        path = served.view_online_path(edition)
        prefix, token = path.rsplit("/", 1)
        assert prefix == f"/archive/{edition}"
        page = served.get(path)
        assert page.status_code == 200
        assert "__PUB_" not in page.text
        assert not served.recipients(edition) & set(re.findall(r"[\w.+-]+@[\w.-]+", page.text))
        assert BASE_URL + path in page.text  # its own view-online link keeps the token
        assert "private" in page.headers["cache-control"]
        assert page.headers["x-robots-tag"] == "noindex"
        assert page.headers["referrer-policy"] == "no-referrer"  # the token never leaks to linked sites
        for other in (edition - 1, edition + 1, public, 0, 10**11):
            assert served.get(f"/archive/{other}/{token}").status_code == 404, other


def test_wrong_tampered_and_other_purpose_tokens_are_404(served):
    edition = served.of("mes-sujets")[3]
    token = served.view_online_path(edition).rsplit("/", 1)[1]
    payload, timestamp, signature = token.split(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    unsubscribe = served.unsubscribe_token(edition)
    other_secret = "eyJ.x.y"
    for bad in (
        flipped,
        token[:-4],
        token + "A",
        f"{payload}.{timestamp}",
        f"{payload}..{signature}",
        f"MTA.{timestamp}.{signature}",  # another id under the same signature
        unsubscribe,  # signed with the same secret, for another purpose
        other_secret,
        "%00",
        "x" * 5000,
    ):
        response = served.get(f"/archive/{edition}/{bad}")
        assert response.status_code == 404, bad
        assert "Lettre introuvable" in response.text
    assert served.get(f"/archive/{edition}", params={"t": token}).status_code == 404  # only the link's own form


@pytest.mark.parametrize(
    "path",
    [line for line in (HOSTILE / "archive_ids.txt").read_text(encoding="utf-8").splitlines() if line[:1] == "/"],
)
def test_odd_ids_are_404_never_500(served, path):
    response = httpx.get(served.base + path, timeout=10)  # httpx keeps the percent-encoding as written
    assert response.status_code == 404, path


def test_the_admin_links_every_sent_edition_the_way_that_opens_it(served):
    page = served.get("/admin/", auth=ADMIN)
    assert page.status_code == 200
    links = re.findall(r'href="(/archive/(\d+)(?:/[^"]+)?)"', page.text)
    assert links
    for path, edition in links:
        newsletter = served.editions[int(edition)]
        assert (path == f"/archive/{edition}") == (newsletter == "hebdo"), path
        assert served.get(path).status_code == 200, path


def test_the_admin_speaks_french_about_counts_and_jobs(served):
    page = served.get("/admin/", auth=ADMIN).text
    assert re.search(r"\u202f: 1 envoyé</li>", page)  # a mes-sujets edition sent to one reader
    assert not re.search(r"\b1 envoyés", page)
    next_runs = page.split("Prochains envois", 1)[1].split("</table>", 1)[0]
    assert "purge-pending" not in next_runs and "prune-webhook-events" not in next_runs
    assert "Suppression des inscriptions non confirmées" in next_runs


def test_tokens_never_reach_the_access_log(served):
    edition = served.of("equipe")[0]
    path = served.view_online_path(edition)
    assert served.get(path).status_code == 200
    output = served.server.stop()
    assert f"/archive/{edition}/" in output  # the request was logged…
    assert path.rsplit("/", 1)[1] not in output  # …without its token
    assert "Traceback" not in output
