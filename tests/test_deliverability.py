"""Deliverability: SpamAssassin (Debian's rules, `spamassassin -t`) scores every kind of demo
message at most 1.0: a sample of each newsletter's messages from `make demo`'s outbox, and the
sign-up mails (confirmation and "already subscribed", in French and English). `.ci/run` installs
spamassassin; without it the test fails in CI and is skipped elsewhere."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.apps import app_for
from support.config import new_test_folder
from support.serve import cli

from publisher.clock import FixedClock
from publisher.delivery.content import sender_for
from publisher.delivery.mime import transactional_message
from publisher.subscribers.subscription_mail import already_subscribed_message, confirmation_message

MAX_SCORE = 1.0
PER_NEWSLETTER = 3
SPAMASSASSIN = shutil.which("spamassassin")
SCORE = re.compile(r"Content analysis details:\s+\((-?[\d.]+) points")
RULE = re.compile(r"^\s*(-?[\d.]+)\s+([A-Z0-9_]+)\s", re.MULTILINE)


def score(message: bytes) -> tuple[float, list[str]]:
    """SpamAssassin's score of one message, and the rules that counted (name and points)."""
    report = subprocess.run([SPAMASSASSIN, "-t", "-L"], input=message, capture_output=True, timeout=120).stdout
    text = report.decode("utf-8", "replace")
    found = SCORE.search(text)
    assert found, text[-2000:]
    details = text[found.end() :]
    return float(found.group(1)), [f"{name} {points}" for points, name in RULE.findall(details) if float(points)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """`make demo`'s messages: the demo config (the tests' copy), its data, each newsletter sent to the outbox."""
    if SPAMASSASSIN is None:
        if os.environ.get("CI") == "true":
            pytest.fail("spamassassin is not installed: .ci/run must install it", pytrace=False)
        pytest.skip("spamassassin is not installed (apt-get install spamassassin)")
    folder = tmp_path_factory.mktemp("demo")
    config = new_test_folder(folder)  # the tests' copy of the demo config
    for command in (["init"], ["demo", "load"], ["send", "hebdo"], ["send", "mes-sujets"]):
        result = cli(config, *command)
        assert result.returncode == 0, (command, result.stderr)
    return folder


def demo_samples(folder: Path) -> dict[str, bytes]:
    """A few messages of each newsletter of the demo's outbox."""
    samples = {}
    for slug in ("hebdo", "mes-sujets"):
        files = sorted((folder / "outbox").glob(f"{slug}-e*.eml"))
        assert files, f"no {slug} message in the outbox"
        step = max(1, len(files) // PER_NEWSLETTER)
        samples.update({path.name: path.read_bytes() for path in files[::step][:PER_NEWSLETTER]})
    return samples


def signup_samples(folder: Path) -> dict[str, bytes]:
    app = app_for(folder / "config.toml", FixedClock(datetime(2026, 12, 4, 9, 0, tzinfo=UTC)))
    sender = sender_for(app, "")
    url = "https://www.horizons-emploi.example.org/confirm/MQ.axL6fg.jfQUh5bKMK8zJ9PQzVSbSc-M5U8"
    samples = {}
    for locale in ("fr", "en"):
        for kind, build in (("confirmation", confirmation_message), ("already", already_subscribed_message)):
            message = build(app.config, "marie-helene.berger@example.org", "Marie-Hélène Berger", locale, url)
            mime = transactional_message(sender, message, app.local_now(), f"<{kind}-{locale}@example.org>")
            samples[f"{kind} ({locale})"] = bytes(mime)
    return samples


def test_every_kind_of_demo_message_scores_at_most_1(demo):
    samples = demo_samples(demo) | signup_samples(demo)
    with ThreadPoolExecutor(max_workers=2) as pool:
        scores = dict(zip(samples, pool.map(score, samples.values()), strict=True))
    too_high = {name: result for name, result in scores.items() if result[0] > MAX_SCORE}
    assert not too_high, too_high


def test_no_quoted_printable_line_is_longer_than_76_characters(demo):
    """RFC 2045: a longer line is a spam sign (MIME_QP_LONG_LINE) and some servers break it."""
    for name, message in (demo_samples(demo) | signup_samples(demo)).items():
        longest = max(len(line) for line in message.split(b"\r\n\r\n", 1)[1].splitlines())
        assert longest <= 76, (name, longest)
