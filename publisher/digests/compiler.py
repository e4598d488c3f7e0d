"""One digest, compiled: subject, preheader, HTML (Jinja → MJML → MRML → inlined CSS) and text.

The output keeps the edition's per-recipient placeholders (publisher.placeholders); nothing
in it depends on who receives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from publisher.config import Config, NewsletterConfig, key_location
from publisher.digests.content import DigestArticle, Selection, personal_context, template_context
from publisher.digests.formatting import one_line, tidy_text
from publisher.digests.renderer import InvalidMjml, mjml_to_html
from publisher.digests.templates import newsletter_templates
from publisher.errors import NotFoundError, TemplateError
from publisher.models import Article
from publisher.placeholders import Placeholders

PREHEADER_LENGTH = 140


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    preheader: str
    html: str
    text: str
    article_ids: tuple[int, ...] = ()
    # False for a preview that fell back to already-sent articles because nothing was new.
    fresh: bool = True
    # For a preview of an audience's first edition: the start of what it covers.
    first_edition_since: datetime | None = None


def newsletter_config(config: Config, slug: str) -> NewsletterConfig:
    try:
        return config.newsletters[slug]
    except KeyError:
        known = ", ".join(sorted(config.newsletters)) or "none defined"
        raise NotFoundError(f"no newsletter {slug!r} in {config.source} (newsletters: {known})") from None


class DigestCompiler:
    """Compiles the editions of one newsletter (templates are loaded once and reused)."""

    def __init__(self, config: Config, slug: str) -> None:
        self.config = config
        self.slug = slug
        self.newsletter = newsletter_config(config, slug)
        self.templates = newsletter_templates(config.digests.templates_dir, slug, config.site, config.base_dir)
        self._where = {key: self._key(key) for key in ("subject", "preheader")}
        self._articles: dict[Article, DigestArticle] = {}

    def compile(
        self,
        selection: Selection,
        edition_at: datetime,
        placeholders: Placeholders,
        *,
        first_edition: bool = False,
        track_clicks: bool = False,
    ) -> RenderedDigest:
        """Render one edition with its ``placeholders`` (``first_edition``: the audience's first);
        a TemplateError (naming file and line) if any template fails. ``track_clicks`` puts the
        placeholders' click markers where the articles' links go."""
        link = placeholders.click if track_clicks else None
        context = template_context(self.config, self.slug, selection, edition_at, self._articles, link)
        context["first_edition"] = first_edition
        subject = one_line(self._render_setting("subject", context))
        if not subject:
            raise TemplateError(f"{self._where['subject']}: the subject is empty once rendered")
        preheader = one_line(self._render_setting("preheader", context)) or _default_preheader(selection)
        context |= {"subject": subject, "preheader": preheader} | personal_context(self.config, placeholders)
        html = self._html(context)
        text = tidy_text(self.templates.render(self.newsletter.text_template_name, context))
        return RenderedDigest(subject, preheader, html, text, selection.article_ids)

    def _html(self, context: dict) -> str:
        name = self.newsletter.template
        source = self.templates.render(name, context)
        try:
            return mjml_to_html(source)
        except InvalidMjml as error:
            where = (error.snippet and self.templates.locate(error.snippet)) or self.templates.show(
                self.config.digests.templates_dir / self.slug / name
            )
            rendered = f" (line {error.line} of the MJML rendered from {name})" if error.line else ""
            raise TemplateError(f"{where}: invalid MJML: {error.reason}{rendered}") from None

    def _render_setting(self, key: str, context: dict) -> str:
        return self.templates.render_string(getattr(self.newsletter, key), context, self._where[key])

    def _key(self, key: str) -> str:
        return f"{key_location(self.config, ('newsletters', self.slug, key))}: newsletters.{self.slug}.{key}"


def _default_preheader(selection: Selection) -> str:
    """Without a configured preheader: the first titles, cut at a word."""
    text = " · ".join(article.title for article in selection.articles[:3])
    if len(text) <= PREHEADER_LENGTH:
        return text
    return text[:PREHEADER_LENGTH].rsplit(" ", 1)[0] + "…"
