"""Syndication: RSS 2.0, Atom 1.0 and JSON Feed 1.1 for the site and every tag.

``build_feeds`` brings ``[feeds] output_dir`` up to date (see publisher.feeds.build);
``feeds_step`` is the feeds step of ``publisher run-once``.
"""

from publisher.feeds.build import BuildReport, build_feeds, feeds_step

__all__ = ["BuildReport", "build_feeds", "feeds_step"]
