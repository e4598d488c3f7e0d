"""The demo data shipped with the package: French articles and subscribers."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from publisher.app import App
from publisher.article_import import ImportReport, import_files
from publisher.errors import PublisherError
from publisher.store.articles import count_articles_not_among
from publisher.store.subscribers import count_subscribers_not_among
from publisher.subscribers.csv_import import SubscriberImportReport, import_csv


def demo_file(name: str) -> Path:
    return Path(str(resources.files("publisher.demo_data").joinpath(name)))


@dataclass(frozen=True)
class DemoReport:
    articles: ImportReport
    subscribers: SubscriberImportReport


def load_demo(app: App) -> DemoReport:
    """Import the demo articles, then the demo subscribers, whose interests are the articles'
    tags (idempotent: loading twice changes nothing). Refused on a store with other data."""
    _refuse_real_data(app)
    articles = import_files(app.store, [demo_file("articles.jsonl")], app.config.site.language)
    subscribers = import_csv(app, demo_file("subscribers.csv"))
    return DemoReport(articles, subscribers)


def _refuse_real_data(app: App) -> None:
    """PublisherError when the store holds subscribers or articles of its own (the production
    folder, by mistake): the demo's would go out with the next send and into the feeds."""
    with demo_file("subscribers.csv").open(encoding="utf-8", newline="") as handle:
        emails = [row["email"] for row in csv.DictReader(handle)]
    with demo_file("articles.jsonl").open(encoding="utf-8") as handle:
        urls = [json.loads(line)["url"] for line in handle if line.strip()]
    subscribers = count_subscribers_not_among(app.store, emails)
    articles = count_articles_not_among(app.store, urls)
    if subscribers or articles:
        raise PublisherError(
            f"demo load: the store already holds {subscribers} subscribers and {articles} articles that are "
            "not the demo's; load the demo into a new folder (copy config.toml there, then publisher init)"
        )
