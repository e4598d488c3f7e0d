"""Email digests: MJML newsletters compiled once per distinct content, with a text/plain part.

Public interface:

- ``plan_editions(app, slug, members, segment=None)`` — the editions of the newsletter's next plan and
  who gets each (see publisher.digests.planner for the transaction and watermark rules);
- ``needs_interests(app, slug)`` — whether members must be streamed with their interests;
- ``render_preview(app, slug, recipient, segment=None)`` and ``write_preview(...)``.

Modules: content (the data the templates see), selection (who gets which articles),
templates (Jinja2), renderer (MJML and CSS inlining), compiler (one digest), windows (each
reader's new articles: never twice per newsletter), planner, preview.
"""

from publisher.digests.compiler import RenderedDigest
from publisher.digests.planner import needs_interests, plan_editions
from publisher.digests.preview import PreviewFiles, render_preview, write_preview

__all__ = ["PreviewFiles", "RenderedDigest", "needs_interests", "plan_editions", "render_preview", "write_preview"]
