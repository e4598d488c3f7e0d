"""French HTML pages: the Jinja2 environment, common context and the CSRF cookie of forms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from babel.dates import format_datetime
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from publisher.config import Config
from publisher.digests.formatting import DEFAULT_DATE, format_date
from publisher.web.security import CSRF_COOKIE, CSRF_FIELD, Csrf


class Pages:
    def __init__(self, config: Config, csrf: Csrf, prefix_feeds: str) -> None:
        self.config = config
        self.csrf = csrf
        self.env = Environment(
            loader=PackageLoader("publisher.web", "templates"),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # package files: no stat() per page
        )
        self.env.filters["date_fr"] = self.date_fr
        self.env.filters["datetime_fr"] = self.datetime_fr
        self.env.globals.update(site=config.site, feeds_path=prefix_feeds, csrf_field=CSRF_FIELD)

    def date_fr(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        return format_date(moment, DEFAULT_DATE, "fr", self.config.site.tz)

    def datetime_fr(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        return format_datetime(moment, "EEE d MMM y, HH:mm", tzinfo=self.config.site.tz, locale="fr_FR")

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})

    def form(self, request: Request, name: str, purpose: str, status: int = 200, **context: Any) -> HTMLResponse:
        """A page with a form: its CSRF token, and the cookie it is checked against."""
        cookie = request.cookies.get(CSRF_COOKIE)
        fresh = not cookie or len(cookie) > 64
        if fresh:
            cookie = Csrf.new_cookie_value()
        response = self.render(name, status, csrf_token=self.csrf.token(cookie, purpose), **context)
        if fresh:
            response.set_cookie(
                CSRF_COOKIE,
                cookie,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/",
            )
        return response

    def csrf_ok(self, request: Request, token: object, purpose: str) -> bool:
        return isinstance(token, str) and self.csrf.valid(token, request.cookies.get(CSRF_COOKIE), purpose)

    def message(
        self, title: str, *paragraphs: str, status: int = 200, links: tuple[tuple[str, str], ...] = ()
    ) -> HTMLResponse:
        """A simple page: a title, a few paragraphs and optional (label, href) links."""
        return self.render("message.html.j2", status, title=title, paragraphs=paragraphs, links=links)
