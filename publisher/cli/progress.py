"""Progress bars for long work (imports, feeds builds, sends): the one module that draws them.

On an interactive terminal, click's progress bar with the count, the rate and
the time left, redrawn at most ten times a second; on anything else (a pipe, a log file, CI
with ``CI`` set) nothing at all, so logs stay quiet.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click

REDRAW_SECONDS = 0.1


def on_terminal() -> bool:
    """Whether progress is shown: stderr is an interactive terminal and this is not CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")


class Bar:
    """Counts done items; draws them against ``total`` once it is known (``expect``)."""

    def __init__(self, label: str, unit: str) -> None:
        self.label, self.unit = label, unit
        self.done = 0
        self.total: int | None = None
        self._drawn = 0
        self._last_draw = 0.0
        self._started = time.monotonic()
        self._bar = None

    def expect(self, total: int) -> None:
        """Set how many items there are in all (once known)."""
        self.total = max(total, 1)
        if self._bar is None and on_terminal():
            self._bar = click.progressbar(
                length=self.total,
                label=self.label,
                show_pos=True,
                show_eta=False,
                item_show_func=lambda _item: self._rate_and_time_left(),
                file=sys.stderr,
                width=24,
            )
            self._bar.render_progress()
        elif self._bar is not None:
            self._bar.length = self.total

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self._bar is not None and time.monotonic() - self._last_draw >= REDRAW_SECONDS:
            self._draw()

    def progress(self, done: int, total: int) -> None:
        """Absolute counts, for work that reports them so (the feeds build)."""
        if self.total != max(total, 1):
            self.expect(total)
        self.advance(done - self.done)

    def close(self) -> None:
        if self._bar is not None:
            self._draw()
            self._bar.render_finish()

    def _draw(self) -> None:
        self._bar.update(self.done - self._drawn)
        self._drawn = self.done
        self._last_draw = time.monotonic()

    def _rate_and_time_left(self) -> str:
        elapsed = time.monotonic() - self._started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        text = f"{rate:,.0f} {self.unit}/s"
        if rate and self.total and self.done < self.total:
            left = int((self.total - self.done) / rate)
            text += f", {left // 60}:{left % 60:02d} left"
        return text


@contextmanager
def progress_bar(label: str, unit: str, total: int | None = None) -> Iterator[Bar]:
    """A Bar for the block (drawn on a terminal only); ``total`` when already known."""
    bar = Bar(label, unit)
    if total is not None:
        bar.expect(total)
    try:
        yield bar
    finally:
        bar.close()


def lines_in(*paths: os.PathLike) -> int:
    """How many lines the files hold: the expected count of records or rows of an import."""
    count = 0
    for path in paths:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                count += chunk.count(b"\n")
    return count
