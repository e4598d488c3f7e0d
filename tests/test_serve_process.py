"""`publisher serve` as a real process with the demo config: it catches up a missed send at start;
its feeds answer 304 to a conditional GET; the one-click POST of a delivered message unsubscribes
its recipient; /admin/ refuses a request without credentials; on SIGTERM it finishes the batch on
the wire, records it and exits; the next run resumes the send and nobody gets it twice."""

from __future__ import annotations

import email
import re
import shutil
import time
from email import policy
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from support.config import TEST_CONFIG, set_keys
from support.paths import ROOT
from support.serve import SECRET, cli, start_serve
from support.waiting import wait_for

from publisher.app import App
from publisher.config import Secrets, load_config
from publisher.store import deliveries as ledger
from publisher.store.runs import recent_runs
from publisher.subscribers.lifecycle import get_subscriber


def configure(folder: Path, rate: int, batch: int) -> Path:
    """The tests' config with one newsletter due every minute, sent slowly enough to be interrupted."""
    text = TEST_CONFIG.read_text(encoding="utf-8")
    path = folder / "config.toml"
    path.write_text(text[: text.index("[newsletters.mes-sujets]")], encoding="utf-8")
    set_keys(path, "newsletters.hebdo", schedule="* * * * *")
    set_keys(path, "delivery", rate_per_second=rate, batch_size=batch, concurrency=1)
    if (ROOT / "newsletters").is_dir() and not (folder / "newsletters").exists():
        shutil.copytree(ROOT / "newsletters", folder / "newsletters")
    return path


def sent_files(folder: Path) -> list[Path]:
    return sorted((folder / "outbox").glob("hebdo-*.eml"))


def test_sigterm_stops_after_the_batch_on_the_wire_and_the_send_resumes(tmp_path):
    configure(tmp_path, rate=40, batch=10)
    assert cli(tmp_path / "config.toml", "init").returncode == 0
    assert cli(tmp_path / "config.toml", "demo", "load").returncode == 0
    server = start_serve(tmp_path / "config.toml", "-v")
    try:
        base = server.base
        assert httpx.get(base + "/admin/").status_code == 401
        feed = httpx.get(base + "/feeds/all.rss.xml")
        assert feed.status_code == 200
        assert (
            httpx.get(base + "/feeds/all.rss.xml", headers={"if-none-match": feed.headers["etag"]}).status_code == 304
        )
        # Just added: it waits for the next minute's fire time (never sent at start), then goes out.
        wait_for(lambda: len(sent_files(tmp_path)) >= 20, 90, "the first batches")
        # The one-click unsubscribe of a delivered message, as a mail provider would POST it.
        delivered = email.message_from_bytes(sent_files(tmp_path)[0].read_bytes(), policy=policy.default)
        link = re.search(r"<(https://[^>]+/unsubscribe/[^>]+)>", str(delivered["List-Unsubscribe"])).group(1)
        one_click = httpx.post(base + urlsplit(link).path, data={"List-Unsubscribe": "One-Click"})
        assert one_click.status_code == 200
        leaver = int(re.search(r"-s(\d+)\.eml$", sent_files(tmp_path)[0].name).group(1))
        started = time.monotonic()
        output = server.stop()
    finally:
        server.kill()
    assert server.process.returncode == 0, output
    assert time.monotonic() - started < 10
    assert "Traceback" not in output
    assert SECRET not in output and "@" not in output.replace("@example", "")

    config = load_config(tmp_path / "config.toml")
    app = App(config, Secrets(signing_secret=SECRET))
    try:
        [edition_id] = ledger.unfinished_editions(app.store, "hebdo")
        counts = ledger.delivery_counts(app.store, edition_id)
        assert counts.get("in_flight", 0) == 0 and counts["unknown"] == 0  # the batch on the wire was recorded
        assert counts["sent"] == len(sent_files(tmp_path))
        assert counts["pending"] > 0  # it stopped before the end
        assert ledger.edition_statuses(app.store, [edition_id]) == {edition_id: "sending"}  # resumable, not paused
        recipients = counts["sent"] + counts["pending"]
        assert any(run.kind == "newsletter:hebdo" and run.status == "ok" for run in recent_runs(app.store))
        assert get_subscriber(app, leaver).status == "unsubscribed"
    finally:
        app.close()

    configure(tmp_path, rate=10_000, batch=100)
    resumed = cli(tmp_path / "config.toml", "run-once")
    assert resumed.returncode == 0, resumed.stderr
    app = App(load_config(tmp_path / "config.toml"), Secrets(signing_secret=SECRET))
    try:
        counts = ledger.delivery_counts(app.store, edition_id)
        assert ledger.unfinished_editions(app.store, "hebdo") == []
    finally:
        app.close()
    assert counts["pending"] == 0 and counts["unknown"] == 0
    assert counts["sent"] == recipients == len(sent_files(tmp_path))
    subscribers = [re.search(r"-s(\d+)\.eml$", path.name).group(1) for path in sent_files(tmp_path)]
    assert len(subscribers) == len(set(subscribers))  # one message per subscriber
