"""What every request handler needs: per-thread Apps, pages, limits; and bounded form reading."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request

from publisher.app import App
from publisher.web.apps import ThreadApps
from publisher.web.feeds import FeedFiles
from publisher.web.mailer import SignupMailer
from publisher.web.pages import Pages
from publisher.web.security import FailureThrottle, SignupLimiter

if TYPE_CHECKING:
    from publisher.service.scheduler import ServiceScheduler

T = TypeVar("T")
MAX_FIELDS = 300
MAX_FIELD_BYTES = 4096


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
    # The running scheduler of `publisher serve` (None when the app is served alone).
    scheduler: ServiceScheduler | None = None

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
