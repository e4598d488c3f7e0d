"""The Jinja2 side of digests: template lookup, filters, and errors that name file and line.

Templates of newsletter SLUG are looked up in ``<templates_dir>/SLUG/``, then
``<templates_dir>/_shared/``, then ``<templates_dir>/`` itself, so a newsletter folder may
override any shared file, or extend the shared one by its full name
(``{% extends "_shared/digest.mjml.j2" %}``). ``*.txt.j2`` templates (the text/plain part)
are not HTML-escaped; every other template is. Undefined variables are errors.
"""

from __future__ import annotations

import os
import re
import traceback
from collections.abc import Iterator, Mapping
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import jinja2

from publisher.config import SiteConfig
from publisher.digests.formatting import capitalize_first, format_date, underline, wrap
from publisher.errors import TemplateError
from publisher.french import plural

SHARED = "_shared"
TEXT_SUFFIX = ".txt.j2"


def _is_html(name: str | None) -> bool:
    return name is not None and not name.endswith(TEXT_SUFFIX)


class NewsletterTemplates:
    """The templates of one newsletter, with the site's date filter."""

    def __init__(self, templates_dir: Path, slug: str, site: SiteConfig, shown_from: Path) -> None:
        self.templates_dir = templates_dir
        self.slug = slug
        self.shown_from = shown_from
        self.search_path = [templates_dir / slug, templates_dir / SHARED, templates_dir]
        options: dict[str, Any] = {
            "undefined": jinja2.StrictUndefined,
            "trim_blocks": True,
            "lstrip_blocks": True,
            "keep_trailing_newline": True,
        }
        self.files = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(path) for path in self.search_path]), autoescape=_is_html, **options
        )
        # Subject and preheader come from config.toml: plain text, escaped where the templates use them.
        self.strings = jinja2.Environment(autoescape=False, **options)
        filters = {
            "date": partial(_date_filter, site),
            "capfirst": capitalize_first,
            "plural": partial(_plural_filter, site),
            "wrap": wrap,
            "underline": underline,
        }
        for environment in (self.files, self.strings):
            environment.filters.update(filters)

    # --- rendering --------------------------------------------------------------------

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """Render the template file ``name``; any failure is a TemplateError naming file:line."""
        try:
            return self.files.get_template(name).render(context)
        except jinja2.TemplateNotFound as error:
            missing = error.name or name
            where = ", ".join(self.show(path) for path in self.search_path)
            raise TemplateError(f"template {missing!r} not found (looked in {where})") from None
        except jinja2.TemplateSyntaxError as error:
            raise TemplateError(f"{self._located(error.filename, error.lineno)}: {error.message}") from None
        except Exception as error:
            filename, line = self._template_frame(error)
            where = self._located(filename, line) if filename else self.show(self.search_path[0] / name)
            raise TemplateError(f"{where}: {_describe(error)}") from None

    def render_string(self, source: str, context: Mapping[str, Any], where: str) -> str:
        """Render a template string from config.toml (``where`` names its key)."""
        try:
            return self._compiled_string(source).render(context)
        except jinja2.TemplateSyntaxError as error:
            raise TemplateError(f"{where}: {error.message}") from None
        except Exception as error:
            raise TemplateError(f"{where}: {_describe(error)}") from None

    @lru_cache(maxsize=16)  # noqa: B019 -- one small cache per newsletter, kept as long as it is
    def _compiled_string(self, source: str) -> jinja2.Template:
        return self.strings.from_string(source)

    # --- locating ---------------------------------------------------------------------

    def show(self, path: str | Path) -> str:
        """A path as users know it: relative to config.toml when it is below it."""
        relative = os.path.relpath(path, self.shown_from)
        return str(path) if relative.startswith("..") else relative

    def _located(self, filename: str | None, line: int | None) -> str:
        shown = self.show(filename) if filename else "template"
        return f"{shown}:{line}" if line else shown

    def _template_frame(self, error: BaseException) -> tuple[str | None, int | None]:
        """The innermost traceback frame inside a template file (Jinja rewrites frames so)."""
        roots = tuple(str(path) for path in self.search_path)
        found: tuple[str | None, int | None] = (None, None)
        for frame in traceback.extract_tb(error.__traceback__):
            if frame.filename.startswith(roots) and frame.filename.endswith(".j2"):
                found = (frame.filename, frame.lineno)
        return found

    def locate(self, tag: str) -> str | None:
        """``file:line`` of the first template file of this newsletter with this tag (``<mj-colum``)."""
        pattern = re.compile(re.escape(tag) + r"(?![\w-])")
        for path in self._template_files():
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if match := pattern.search(text):
                return f"{self.show(path)}:{text.count(chr(10), 0, match.start()) + 1}"
        return None

    def _template_files(self) -> Iterator[Path]:
        seen: set[Path] = set()
        for folder in self.search_path:
            if folder.is_dir():
                for path in sorted(folder.rglob("*")):
                    if path.is_file() and path not in seen:
                        seen.add(path)
                        yield path


def _plural_filter(site: SiteConfig, count: int, one: str, other: str) -> str:
    """``n | plural("nouveauté", "nouveautés")``: by the plural rule of the site's language."""
    return plural(count, one, other, site.language)


def _date_filter(site: SiteConfig, value: Any, pattern: str = "d MMMM y") -> str:
    return format_date(value, pattern, site.language, site.tz)


def _describe(error: BaseException) -> str:
    if isinstance(error, jinja2.UndefinedError):
        return f"undefined variable: {error.message}"
    message = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


@lru_cache(maxsize=32)
def newsletter_templates(templates_dir: Path, slug: str, site: SiteConfig, shown_from: Path) -> NewsletterTemplates:
    """One NewsletterTemplates per newsletter, so Jinja's compiled-template cache is reused.

    Jinja reloads a template whose file changed, so edits show up without a restart.
    """
    return NewsletterTemplates(templates_dir, slug, site, shown_from)
