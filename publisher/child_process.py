"""Work in other processes, always started with ``spawn``: the one way the product runs code
in another process.

- ``items_from_child``: run a generator in a child process and consume its items here, while
  it makes the next ones.
- ``worker_pool``: a pool of worker processes that share out CPU work (rendering feed entries,
  building SendGrid requests) while this process does the I/O.

Python threads share one interpreter lock, so two pure-Python stages in one process take turns;
two processes use two cores. ``items_from_child`` is for a producer whose work is pure Python
(reading and validating a large CSV file) feeding a consumer that does something else (writing
to SQLite): the total time becomes the longer of the two instead of their sum.

Children are started with ``spawn``, a fresh interpreter: safe whatever threads the parent runs
(``publisher serve`` runs the scheduler's and the web server's; a forked child would inherit
their locks as they were, possibly held by a thread that does not exist in it, and hang). It
costs about 0.8 s a process (importing what it needs), so callers use one only for work large
enough to repay that, and a script that calls them must start from an
``if __name__ == "__main__":`` block (multiprocessing's rule). Every child exits when its parent
dies (``exit_with_parent``).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from publisher.errors import ChildStopped

T = TypeVar("T")

_ITEM, _ERROR, _DONE = "item", "error", "done"


def items_from_child(produce: Callable[..., Iterable[T]], *args: Any, buffered: int = 4) -> Iterator[T]:
    """The items of ``produce(*args)``, made in a child process. ``produce`` and its arguments
    and items must be picklable (a module-level function; plain tuples as items are cheapest).
    At most ``buffered`` items wait to be sent, so memory stays bounded when the consumer is
    slower. An exception raised by ``produce`` is raised here; leaving the loop early stops the
    child."""
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_produce, args=(sending, produce, args, buffered), daemon=True)
    child.start()
    sending.close()  # the child's end: only the child holds it now, so its death reads as EOF here
    try:
        while True:
            try:
                kind, value = pickle.loads(receiving.recv_bytes())
            except EOFError:
                child.join()
                raise ChildStopped(
                    f"the child process running {produce.__name__} stopped (exit code {child.exitcode})"
                ) from None
            if kind == _DONE:
                break
            if kind == _ERROR:
                raise value
            yield value
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
        receiving.close()


def worker_pool(workers: int, initializer: Callable[..., None], *initargs: Any) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes, each running ``initializer(*initargs)`` (a
    module-level function, picklable arguments) before its first task. Workers exit with their
    parent and ignore Ctrl-C and SIGTERM, which reach the whole process group: the parent
    decides when to stop (after recording what it must) and then shuts the pool down."""
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(initializer, initargs),
    )


def _start_worker(initializer: Callable[..., None], initargs: tuple) -> None:
    exit_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    initializer(*initargs)


def exit_with_parent() -> None:
    """Make this child process exit when its parent dies: a parent killed by a signal (kill -9,
    or SIGTERM to a CLI command) leaves no time to stop its children, which would otherwise
    wait forever on a pipe nobody reads."""
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _produce(sending: Connection, produce: Callable[..., Iterable[Any]], args: tuple, buffered: int) -> None:
    """The child's side. Items are pickled here, in the thread that makes them; a second thread
    only writes them to the pipe (which releases the interpreter lock). Pickling in that thread,
    as multiprocessing.Queue does, made the two threads fight over the lock: a third more CPU."""
    exit_with_parent()
    pickled: queue.Queue[bytes | None] = queue.Queue(maxsize=buffered)
    sender = threading.Thread(target=_send_all, args=(pickled, sending), daemon=True)
    sender.start()
    try:
        for item in produce(*args):
            pickled.put(_pipe_message(_ITEM, item))
    except Exception as error:  # handed to the parent, which raises it
        pickled.put(_pipe_message(_ERROR, error))
    else:
        pickled.put(_pipe_message(_DONE, None))
    pickled.put(None)
    sender.join()


def _pipe_message(kind: str, value: object) -> bytes:
    return pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL)


def _send_all(pickled: queue.Queue[bytes | None], sending: Connection) -> None:
    while (message := pickled.get()) is not None:
        sending.send_bytes(message)
    sending.close()
