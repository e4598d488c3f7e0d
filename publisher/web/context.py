"""What every request handler needs: per-thread Apps, pages, limits, the scheduler it reports on;
and bounded form reading."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request

from publisher.app import App
from publisher.web.apps import ThreadApps
from publisher.web.feeds import FeedFiles
from publisher.web.mailer import SignupMailer
from publisher.web.pages import Pages
from publisher.web.security import FailureThrottle, SignupLimiter

T = TypeVar("T")
MAX_FIELDS = 300
MAX_FIELD_BYTES = 4096


class Schedule(Protocol):
    """The scheduler of ``publisher serve`` as /admin/ and /healthz show it (the jobs' next
    times come from publisher.jobs.next_runs).

    publisher.service implements it and hands it to ``create_app``: the web app does not
    import the service, which imports the web app.
    """

    @property
    def live(self) -> bool:
        """True for a running scheduler's state; False for the web app served without it."""
        ...

    @property
    def running(self) -> bool: ...


@dataclass
class WebContext:
    apps: ThreadApps
    pages: Pages
    feeds: FeedFiles
    signup_per_address: SignupLimiter
    signup_per_ip: SignupLimiter
    # Sends the emails the sign-ups queue (started and stopped with the app).
    mailer: SignupMailer
    admin_throttle: FailureThrottle
    schedule: Schedule

    @staticmethod
    def of(request: Request) -> WebContext:
        return request.app.state.context

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(app, *args)`` in a worker thread, with that thread's own App."""
        apps = self.apps

        def work() -> T:
            app: App = apps.get()
            return function(app, *args)

        return await run_in_threadpool(work)


async def read_form(request: Request) -> FormData:
    """The form of a POST: urlencoded or multipart, no files, bounded field count and size.

    The body size itself is limited before this by publisher.web.security.BodyLimit.
    """
    return await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES)
