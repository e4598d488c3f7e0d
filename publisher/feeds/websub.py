"""WebSub publishing: tell the hub which feeds changed, so subscribers hear of it in seconds.

Feeds declare the hub (``[feeds] websub_hub``) with ``rel="hub"`` links; after a build, the
public URLs of the changed feed files are queued in the store and POSTed to the hub as
``hub.mode=publish`` with one ``hub.url`` per topic (several per request, as hubs accept). A
hub that is down or refuses is logged, and the queued URLs are sent again after the next build:
a hub never fails a build, and no change goes unannounced.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode

from publisher import __version__
from publisher.errors import PublisherError
from publisher.store import Store, chunks
from publisher.store.feeds import pending_pings, pings_failed, pings_sent

log = logging.getLogger(__name__)

TOPICS_PER_REQUEST = 100
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class PingReport:
    sent: int
    pending: int
    error: str | None = None


class HubError(PublisherError):
    """The hub did not accept a ping (refused, or unreachable): the topics wait for the next build."""


def notify_hub(store: Store, hub: str) -> PingReport:
    """POST every queued topic URL to the hub; keep what could not be sent for the next build."""
    topics = pending_pings(store)
    sent = 0
    for batch in chunks(topics, TOPICS_PER_REQUEST):
        try:
            publish(hub, batch)
        except HubError as error:
            unsent = topics[sent:]
            pings_failed(store, unsent, str(error))
            log.warning("WebSub hub %s: %s; %d feed URL(s) queued for the next build", hub, error, len(unsent))
            return PingReport(sent, len(unsent), str(error))
        pings_sent(store, batch)
        sent += len(batch)
    if sent:
        log.info("WebSub hub %s: announced %d changed feed URL(s)", hub, sent)
    return PingReport(sent, 0)


def publish(hub: str, topic_urls: list[str]) -> None:
    """One publish notification (hub.mode=publish) for these topics; HubError if not accepted."""
    body = urlencode([("hub.mode", "publish"), *(("hub.url", url) for url in topic_urls)]).encode()
    request = urllib.request.Request(
        hub,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": f"publisher/{__version__} (WebSub publisher)",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        raise HubError(f"HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise HubError(f"unreachable ({reason})") from None
    if not 200 <= status < 300:
        raise HubError(f"HTTP {status}")
