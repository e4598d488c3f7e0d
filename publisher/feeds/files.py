"""The output folder: atomic, write-only-if-changed files and one build at a time.

Every file is written to a temporary file in the same folder and renamed over the old one
(``os.replace`` is atomic on POSIX), so a web server or a reader never sees half a feed, and
a build that stops midway leaves the previous files whole. A file whose bytes would not
change is not touched at all, so its modification time, ETag and inode stay as they were.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from publisher.errors import PublisherError

log = logging.getLogger(__name__)

LOCK_FILE = ".build.lock"
TEMP_SUFFIX = ".tmp"


class OutputFolder:
    """The feeds folder ([feeds] output_dir)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._folders: set[Path] = set()  # folders known to exist

    def path(self, relative: str) -> Path:
        return self.root / relative

    def exists(self, relative: str) -> bool:
        return self.path(relative).is_file()

    def listing(self) -> set[str]:
        """Relative paths of every file in the folder and its subfolders (one directory read each)."""
        found = set()
        for folder, _, files in os.walk(self.root):
            prefix = os.path.relpath(folder, self.root)
            found.update(name if prefix == "." else f"{prefix}/{name}" for name in files)
        return found

    def write_if_changed(self, relative: str, data: bytes, exists: bool = True) -> bool:
        """Write ``data`` unless the file already holds exactly it; True if written.

        ``exists=False`` (the caller listed the folder) skips looking at the file first.
        """
        path = self.path(relative)
        if exists:
            try:
                if path.stat().st_size == len(data) and path.read_bytes() == data:
                    return False
            except FileNotFoundError:
                pass
        if path.parent not in self._folders:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise PublisherError(f"{path.parent}: cannot create the folder: {error.strerror}") from None
            self._folders.add(path.parent)
        write_atomically(path, data)
        return True

    def remove(self, relative: str) -> bool:
        try:
            self.path(relative).unlink()
        except FileNotFoundError:
            return False
        return True

    def files(self, pattern: str) -> list[str]:
        """Relative paths of the files matching a glob pattern, sorted."""
        return sorted(str(path.relative_to(self.root)) for path in self.root.glob(pattern) if path.is_file())

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder's build lock (waiting for another build to finish), after removing
        the temporary files a killed build may have left."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = (self.root / LOCK_FILE).open("a")
        except OSError as error:
            raise PublisherError(f"{self.root}: cannot use the feeds folder: {error.strerror}") from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                self._remove_leftovers()
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _remove_leftovers(self) -> None:
        for path in self.root.rglob(f".*{TEMP_SUFFIX}"):
            log.warning("removing %s, left by an interrupted build", path)
            path.unlink(missing_ok=True)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step: a temporary file renamed over it."""
    # One build at a time holds the folder lock, so the process id makes the name unique.
    temporary = path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EDQUOT):
            raise PublisherError(f"{path}: cannot write: {error.strerror}") from None
        raise
