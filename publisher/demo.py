"""The demo data shipped with the package: French articles and subscribers."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from publisher.app import App
from publisher.articles import ImportReport, import_files


def demo_file(name: str) -> Path:
    return Path(str(resources.files("publisher.demo_data").joinpath(name)))


def load_demo(app: App) -> ImportReport:
    """Import the demo articles (idempotent: loading twice changes nothing)."""
    return import_files(app.store, [demo_file("articles.jsonl")], app.config.site.language)
