"""The demo data shipped with the package: French articles and subscribers."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from publisher.app import App
from publisher.articles import ImportReport, import_files
from publisher.subscriber_import import SubscriberImportReport, import_csv


def demo_file(name: str) -> Path:
    return Path(str(resources.files("publisher.demo_data").joinpath(name)))


@dataclass(frozen=True)
class DemoReport:
    articles: ImportReport
    subscribers: SubscriberImportReport


def load_demo(app: App) -> DemoReport:
    """Import the demo articles, then the demo subscribers, whose interests are the articles'
    tags (idempotent: loading twice changes nothing)."""
    articles = import_files(app.store, [demo_file("articles.jsonl")], app.config.site.language)
    subscribers = import_csv(app, demo_file("subscribers.csv"))
    return DemoReport(articles, subscribers)
