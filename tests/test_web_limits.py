"""The keys and clocks of the web limits: which spellings share a sign-up limit, which clients
share an IP limit, and how the /admin/ throttle grows and forgets (an injected clock)."""

import pytest
from support.paths import HOSTILE

from publisher.web.security import FailureThrottle, client_key
from publisher.web.subscriptions import signup_limit_key


def test_every_look_alike_spelling_of_one_inbox_has_one_key():
    spellings = (HOSTILE / "signup_lookalike_addresses.txt").read_text(encoding="utf-8").splitlines()
    assert {signup_limit_key(spelling, False) for spelling in spellings} == {"camillemartin@example.org"}


@pytest.mark.parametrize("other", ["camille.martin@example.com", "dominique.martin@example.org", "camille@example.org"])
def test_other_inboxes_keep_their_own_key(other):
    assert signup_limit_key(other, False) != signup_limit_key("camille.martin@example.org", False)


def test_an_ipv6_client_is_its_64_and_an_ipv4_mapped_one_its_ipv4():
    assert client_key("2001:db8::1") == client_key("2001:db8::ffff:1") == "2001:db8::/64"
    assert client_key("2001:db8:0:1::1") != client_key("2001:db8::1")
    assert client_key("::ffff:203.0.113.7") == client_key("203.0.113.7") == "203.0.113.7"
    assert client_key(None) == "unknown"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_admin_throttle_blocks_grows_caps_and_forgets():
    clock = Clock()
    throttle = FailureThrottle(3, block=30, max_block=300, now=clock)
    for expected in (30, 60, 120, 240, 300, 300):
        for _ in range(3):
            assert throttle.retry_after("203.0.113.7") is None
            throttle.failed("203.0.113.7")
        assert throttle.retry_after("203.0.113.7") == expected
        assert throttle.retry_after("203.0.113.8") is None  # another client is never affected
        clock.now += expected
    clock.now += 301  # a quiet max_block after a block: the next one is short again
    for _ in range(3):
        throttle.failed("203.0.113.7")
    assert throttle.retry_after("203.0.113.7") == 30


def test_failures_spread_over_more_than_the_window_do_not_block():
    clock = Clock()
    throttle = FailureThrottle(3, block=30, max_block=300, now=clock)
    for _ in range(10):
        throttle.failed("203.0.113.7")
        clock.now += FailureThrottle.FAILURE_WINDOW + 1
    assert throttle.retry_after("203.0.113.7") is None


def test_a_success_forgets_the_client_and_the_number_of_clients_is_bounded():
    clock = Clock()
    throttle = FailureThrottle(2, block=30, max_block=300, max_keys=10, now=clock)
    throttle.failed("a")
    throttle.succeeded("a")
    throttle.failed("a")
    assert throttle.retry_after("a") is None
    for number in range(100):
        throttle.failed(f"10.0.0.{number}")
    assert len(throttle._clients) == 10
