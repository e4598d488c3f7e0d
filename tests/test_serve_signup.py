"""The sign-up form and /admin/ of `publisher serve` (a subprocess, driven with httpx) as an attacker
uses them: probing which addresses are known, by content or by time; rotating X-Forwarded-For to
escape the per-IP limit; guessing the admin password."""

from __future__ import annotations

import re
import statistics
import time
from collections import defaultdict

import httpx
import pytest
from support.config import set_keys
from support.delivery import use_sendgrid
from support.sendgrid_fake import FakeSendgrid
from support.serve import ADMIN_PASSWORD, SECRET, cli, client_from, serving, start_serve
from support.waiting import wait_for

from publisher.app import App
from publisher.config import ConfigError, Secrets, load_config
from publisher.store.signup_mails import queue_counts
from publisher.subscribers import lifecycle
from publisher.subscribers.csv_import import import_csv

KINDS = ("new", "pending", "active", "unsubscribed", "bounced", "complained", "forgotten")
MAILED = ("new", "pending", "active", "unsubscribed")
ROUNDS = 12
SLOW_SENDGRID = 0.3  # seconds SendGrid takes to answer each message


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def without_csrf(page: str) -> str:
    return re.sub(r'name="csrf" value="[^"]+"', "", page)


def address(kind: str, number: int) -> str:
    return f"{kind}{number}@example.org"


def prepare_addresses(config_file) -> None:
    """ROUNDS stored addresses of every kind but "new" (imported with their status, or forgotten)."""
    rows = [f"{address(kind, n)},{kind}" for kind in KINDS[1:6] for n in range(ROUNDS)]
    csv = config_file.parent / "known.csv"
    csv.write_text("email,status\n" + "\n".join(rows) + "\n", encoding="utf-8")
    app = App(load_config(config_file), Secrets(signing_secret=SECRET))
    try:
        import_csv(app, csv)
        for n in range(ROUNDS):
            lifecycle.forget(app, address("forgotten", n))
    finally:
        app.close()


@pytest.fixture
def sendgrid():
    fake = FakeSendgrid(faults=lambda number: ("slow", SLOW_SENDGRID)).start()
    yield fake
    fake.stop()


def test_the_sign_up_answer_tells_nothing_about_the_address_and_the_mail_leaves_from_a_queue(config_file, sendgrid):
    use_sendgrid(config_file, sendgrid.url)
    set_keys(config_file, "service", subscribe_per_ip_per_hour=10_000)
    assert cli(config_file, "init").returncode == 0
    prepare_addresses(config_file)
    durations: dict[str, list[float]] = defaultdict(list)
    answers: dict[str, set[tuple[int, tuple, str]]] = defaultdict(set)
    with serving(config_file, SENDGRID_API_KEY="SG.test") as base, httpx.Client(base_url=base) as web:
        csrf = csrf_of(web.get("/subscribe").text)

        def sign_up(email: str) -> httpx.Response:
            return web.post("/subscribe", data={"email": email, "consent": "oui", "csrf": csrf})

        for n in range(3):  # warm-up: the first requests of a process are slower
            assert sign_up(f"warm{n}@example.org").status_code == 200
        for n in range(ROUNDS):
            for kind in KINDS:  # interleaved, so that load on the machine hits every kind alike
                started = time.perf_counter()
                response = sign_up(address(kind, n))
                durations[kind].append(time.perf_counter() - started)
                headers = tuple(sorted((name, value) for name, value in response.headers.items() if name != "date"))
                answers[kind].add((response.status_code, headers, without_csrf(response.text)))
        medians = {kind: statistics.median(values) for kind, values in durations.items()}
        # Each kind answers one and the same page, in status, headers and content…
        assert all(len(answer) == 1 for answer in answers.values()), answers.keys()
        assert len({answer for kind in KINDS for answer in answers[kind]}) == 1
        [(status, _, page)] = answers["new"]
        assert status == 200 and "Vérifiez votre boîte de réception" in page
        # …and in time: sending inline would add SLOW_SENDGRID to the kinds that get a mail.
        assert max(medians.values()) - min(medians.values()) < SLOW_SENDGRID / 3, medians

        sendgrid.faults = lambda number: None  # SendGrid fast again: the backlog drains
        expected = {address(kind, n) for kind in MAILED for n in range(ROUNDS)}
        expected |= {f"warm{n}@example.org" for n in range(3)}
        wait_for(lambda: set(sendgrid.recipients()) >= expected, 60, "the queued confirmations")
        started = time.monotonic()
        assert sign_up("last@example.org").status_code == 200
        wait_for(lambda: "last@example.org" in sendgrid.recipients(), 5, "a confirmation within seconds")
        arrived = time.monotonic() - started
    received = sendgrid.recipients()
    assert set(received) == expected | {"last@example.org"}  # nothing to who bounced, complained or was forgotten
    assert max(received.values()) == 1  # and nobody got one twice
    assert arrived < 2


def test_a_mail_on_the_wire_when_the_service_is_killed_is_never_sent_twice(config_file):
    held = FakeSendgrid(faults=lambda number: ("hold",) if number == 1 else None).start()
    try:
        use_sendgrid(config_file, held.url)
        assert cli(config_file, "init").returncode == 0
        server = start_serve(config_file, SENDGRID_API_KEY="SG.test")
        try:
            with httpx.Client(base_url=server.base) as web:
                csrf = csrf_of(web.get("/subscribe").text)
                web.post("/subscribe", data={"email": "first@example.org", "consent": "oui", "csrf": csrf})
                wait_for(lambda: held.held == 1, 10, "the mail on the wire")  # SendGrid has it, no answer yet
        finally:
            server.kill()  # kill -9
        held.release.set()
        with serving(config_file, SENDGRID_API_KEY="SG.test") as base, httpx.Client(base_url=base) as web:
            csrf = csrf_of(web.get("/subscribe").text)
            web.post("/subscribe", data={"email": "second@example.org", "consent": "oui", "csrf": csrf})
            wait_for(lambda: "second@example.org" in held.recipients(), 10, "the next sign-up's mail")
        assert held.recipients() == {"first@example.org": 1, "second@example.org": 1}
    finally:
        held.stop()
    app = App(load_config(config_file), Secrets(signing_secret=SECRET))
    try:
        assert queue_counts(app.store) == {"sent": 1, "unknown": 1}
    finally:
        app.close()


def sign_ups(web: httpx.Client, prefix: str, forwarded) -> list[int]:
    """The status of five sign-ups (five addresses), each claiming ``forwarded(n)`` as X-Forwarded-For."""
    csrf = csrf_of(web.get("/subscribe").text)
    return [
        web.post(
            "/subscribe",
            data={"email": f"{prefix}-{n}@example.org", "consent": "oui", "csrf": csrf},
            headers={"x-forwarded-for": forwarded(n)},
        ).status_code
        for n in range(5)
    ]


LIMITED = [200, 200, 200, 429, 429]


def test_forwarded_headers_are_not_trusted_by_default(config_file):
    set_keys(config_file, "service", subscribe_per_ip_per_hour=3)
    assert load_config(config_file).service.forwarded_allow_ips == ()
    assert cli(config_file, "init").returncode == 0
    with serving(config_file) as base, httpx.Client(base_url=base) as web:
        assert sign_ups(web, "rotation", lambda n: f"203.0.113.{n}") == LIMITED  # one client, whatever it claims
        outbox = config_file.parent / "outbox"
        wait_for(lambda: len(list(outbox.glob("*.eml"))) == 3, 5, "the 3 confirmations in the outbox, within seconds")
        https = web.get("/", headers={"x-forwarded-proto": "https"})
        assert "strict-transport-security" not in https.headers


def test_forwarded_headers_are_trusted_from_the_configured_proxies_only(config_file):
    set_keys(config_file, "service", subscribe_per_ip_per_hour=3, forwarded_allow_ips=["127.0.0.1"])
    assert cli(config_file, "init").returncode == 0
    with serving(config_file) as base:
        with client_from(base, "127.0.0.1") as proxy:
            assert sign_ups(proxy, "proxied", lambda n: f"203.0.113.{n}") == [200] * 5  # five clients behind it
            assert "strict-transport-security" in proxy.get("/", headers={"x-forwarded-proto": "https"}).headers
            # What a client writes before the proxy's own entry is not believed (nginx appends the real one)…
            assert sign_ups(proxy, "spoofed", lambda n: f"198.51.100.{n}, 203.0.113.50") == LIMITED
            # …and an IPv6 client is its /64, which it could otherwise walk through.
            assert sign_ups(proxy, "ipv6", lambda n: f"2001:db8::{n + 1:x}") == LIMITED
        with client_from(base, "127.0.0.2") as direct:  # not a listed proxy: its headers are ignored
            assert sign_ups(direct, "direct", lambda n: f"203.0.113.{n + 100}") == LIMITED
            assert "strict-transport-security" not in direct.get("/", headers={"x-forwarded-proto": "https"}).headers


@pytest.mark.parametrize(
    "value, message",
    [
        (["127.0.0.1", "proxy.example.org"], "service.forwarded_allow_ips: 'proxy.example.org' is not an IP address"),
        (["10.0.0.0/33"], "service.forwarded_allow_ips: '10.0.0.0/33' is not an IP address"),
        ("*", "service.forwarded_allow_ips"),
    ],
)
def test_forwarded_allow_ips_must_be_addresses_or_networks(config_file, value, message):
    set_keys(config_file, "service", forwarded_allow_ips=value)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(config_file)


def test_forwarded_allow_ips_accepts_networks_and_the_former_comma_separated_string(config_file):
    set_keys(config_file, "service", forwarded_allow_ips=["127.0.0.1", "10.0.0.0/8", "::1"])
    assert load_config(config_file).service.forwarded_allow_ips == ("127.0.0.1", "10.0.0.0/8", "::1")
    set_keys(config_file, "service", forwarded_allow_ips="127.0.0.1, 192.0.2.4")
    assert load_config(config_file).service.forwarded_allow_ips == ("127.0.0.1", "192.0.2.4")


def test_admin_password_guessing_is_throttled_per_client_ip(config_file):
    set_keys(config_file, "service", admin_failures_before_block=3, admin_block_seconds=1, admin_block_max_seconds=2)
    assert cli(config_file, "init").returncode == 0
    wrong, right = ("admin", "guess"), ("admin", ADMIN_PASSWORD)
    with serving(config_file) as base, client_from(base) as attacker, client_from(base, "127.0.0.2") as staff:
        for _ in range(5):  # a browser's first visit, without credentials, is not a failure
            assert attacker.get("/admin/").status_code == 401

        def guesses(count: int) -> list[int]:
            return [attacker.get("/admin/", auth=wrong).status_code for _ in range(count)]

        assert guesses(4) == [401, 401, 401, 429]
        blocked = attacker.get("/admin/", auth=right)  # during the block even the password is not checked
        assert blocked.status_code == 429 and blocked.headers["retry-after"] == "1"
        assert "Trop de tentatives" in blocked.text
        assert attacker.get("/admin/preview/hebdo", auth=right).status_code == 429
        assert staff.get("/admin/", auth=right).status_code == 200  # the real admin, elsewhere, is unaffected
        assert staff.get("/admin/", auth=wrong).status_code == 401

        time.sleep(1.1)
        assert guesses(4) == [401, 401, 401, 429]
        assert attacker.get("/admin/").headers["retry-after"] == "2"  # the next block is longer…
        time.sleep(2.1)
        assert guesses(4) == [401, 401, 401, 429]
        assert attacker.get("/admin/").headers["retry-after"] == "2"  # …up to admin_block_max_seconds
        time.sleep(2.1)
        assert attacker.get("/admin/", auth=right).status_code == 200  # the block is over
        assert guesses(3) == [401, 401, 401]  # a success starts the count again
