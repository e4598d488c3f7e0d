"""Hostile and careless article files, imported through the real CLI: each bad record is one
``FILE:LINE: field: reason`` line, exit status 1, and every good record is kept."""

import re
import shutil
from pathlib import Path

import pytest
from support.cli import invoke_cli
from support.paths import HOSTILE

REPORT_LINE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+): (?P<field>[a-z_]+): (?P<reason>.+)$")


@pytest.fixture
def run(config_file):
    def invoke(*args):
        return invoke_cli(config_file, *args)

    assert invoke("init").exit_code == 0
    return invoke


def reported(result, path: Path) -> dict[int, tuple[str, str]]:
    """{line: (field, reason)} from stderr, checking that every line is a well-formed report."""
    found = {}
    for text in result.stderr.splitlines():
        match = REPORT_LINE.match(text)
        assert match, f"not a FILE:LINE: field: reason line: {text!r}"
        assert match["file"] == str(path)
        found[int(match["line"])] = (match["field"], match["reason"])
    return found


def stored_urls(run) -> list[str]:
    listed = run("articles", "list", "--json", "--limit", "100")
    return sorted(re.findall(r'"url": "([^"]+)"', listed.stdout))


def url(n: int) -> str:
    return f"https://www.horizons-emploi.example.org/actualites/{n}"


def test_hostile_jsonl_lines_are_one_line_each_and_good_lines_are_kept(run, tmp_path):
    path = tmp_path / "articles.jsonl"
    shutil.copy(HOSTILE / "inputs_articles.jsonl", path)
    result = run("articles", "import", str(path))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    errors = reported(result, path)
    assert {line: field for line, (field, _) in errors.items()} == {
        2: "published_at",
        3: "published_at",
        4: "updated_at",
        5: "json",
        6: "json",
        7: "published_at",
        8: "published_at",
        9: "published_at",
        10: "json",
        11: "title",
        12: "title",
        13: "record",
        14: "encoding",
        16: "published_at",
        17: "title",
    }
    assert "between 1900 and 2999" in errors[2][1]
    assert "between 1900 and 2999" in errors[4][1]
    assert "nested too deeply" in errors[5][1]
    assert "number" in errors[6][1]
    assert "out of range" in errors[7][1] or "not an ISO 8601" in errors[7][1]
    assert "UTC offset" in errors[9][1]
    assert "control character" in errors[11][1]
    assert "not valid UTF-8" in errors[14][1]
    assert "3 inserted, 0 updated, 0 unchanged, 15 rejected" in result.stdout
    assert stored_urls(run) == sorted([url(1), url(15), url(18)])


def test_a_300_character_tag_is_kept_with_a_capped_slug(run, tmp_path):
    path = tmp_path / "articles.jsonl"
    shutil.copy(HOSTILE / "inputs_articles.jsonl", path)
    run("articles", "import", str(path))
    listed = run("articles", "list", "--json", "--limit", "100")
    assert "t" * 300 in listed.stdout


def test_bom_and_crlf_are_read_as_usual(run):
    path = HOSTILE / "inputs_bom_crlf.jsonl"
    result = run("articles", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "2 inserted" in result.stdout
    assert stored_urls(run) == [url(1), url(2)]


def test_utf16_file_is_one_clear_line(run):
    path = HOSTILE / "inputs_utf16.jsonl"
    result = run("articles", "import", str(path))
    assert result.exit_code == 1
    assert reported(result, path) == {1: ("encoding", "UTF-16 text: save the file as UTF-8 and import it again")}


def test_a_huge_line_is_refused_and_the_lines_around_it_kept(run, tmp_path):
    good = (HOSTILE / "inputs_bom_crlf.jsonl").read_bytes().removeprefix(b"\xef\xbb\xbf").split(b"\r\n")
    path = tmp_path / "huge.jsonl"
    huge = b'{"url": "https://x.example.org/", "title": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    path.write_bytes(good[0] + b"\n" + huge + b"\n" + good[1] + b"\n")
    result = run("articles", "import", str(path))
    assert result.exit_code == 1
    ((line, (field, reason)),) = reported(result, path).items()
    assert (line, field) == (2, "record")
    assert "longer than" in reason
    assert stored_urls(run) == [url(1), url(2)]


@pytest.mark.parametrize("name", ["inputs_dates.rss", "inputs_dates.atom"])
def test_hostile_feed_entries_are_one_line_each_and_good_entries_kept(run, tmp_path, name):
    path = tmp_path / name
    shutil.copy(HOSTILE / name, path)
    result = run("articles", "import", str(path))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    errors = reported(result, path)
    assert sorted(field for field, _ in errors.values()) == ["published"] * 4
    assert any("between 1900 and 2999" in reason for _, reason in errors.values())
    assert "4 inserted" in result.stdout
    stored = stored_urls(run)
    assert len(stored) == 4
    assert not any(link.endswith(("/2", "/3", "/4", "/5")) for link in stored)


def test_a_feed_with_a_bad_byte_keeps_its_good_entries(run, tmp_path):
    path = tmp_path / "latin1.rss"
    path.write_bytes((HOSTILE / "inputs_dates.rss").read_bytes().replace(b"Article 8", b"Article \xe9 8"))
    result = run("articles", "import", str(path))
    assert "Traceback" not in result.output
    assert result.exit_code == 1
    assert "inserted" in result.stdout


def test_a_consent_date_out_of_range_is_one_line_and_the_other_rows_are_kept(run, tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLISHER_SECRET", "x" * 40)
    path = tmp_path / "contacts.csv"
    path.write_text(
        "email,consent_at\n"
        "a@example.org,0001-01-01T00:00:00+05:00\n"
        "b@example.org,2026-01-01T00:00:00+00:00\n"
        "c@example.org,01/01/0001 00:00\n",
        encoding="utf-8",
    )
    result = run("subscribers", "import", str(path))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert sorted(reported(result, path)) == [2, 4]
    assert "1 inserted" in result.stdout


def test_a_nul_byte_in_a_feed_is_one_line_and_a_utf16_feed_is_read(run, tmp_path):
    nul = tmp_path / "nul.rss"
    nul.write_bytes((HOSTILE / "inputs_dates.rss").read_bytes().replace(b"Article 8", b"Article \x00 8"))
    result = run("articles", "import", str(nul))
    assert result.exit_code == 1 and "Traceback" not in result.output
    utf16 = tmp_path / "utf16.rss"
    utf16.write_bytes(
        (HOSTILE / "inputs_dates.rss").read_text(encoding="utf-8").replace('"UTF-8"', '"UTF-16"').encode("utf-16")
    )
    result = run("articles", "import", str(utf16))
    assert "Traceback" not in result.output
    assert "1 inserted, 0 updated, 3 unchanged, 4 rejected" in result.stdout  # Article 8 was refused above
    assert sorted(reported(result, utf16)) == [12, 17, 22, 27]
