"""items_from_child: a generator run in another process, its items and errors handed back."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from support.waiting import wait_for

from publisher.child_process import ChildStopped, items_from_child, worker_pool
from publisher.errors import PublisherError


def squares(count: int):
    for number in range(count):
        yield number, number * number, os.getpid()


def fails_after(count: int):
    yield from range(count)
    raise PublisherError("contacts.csv:1: header: no email column")


def dies_after(count: int):
    yield from range(count)
    os._exit(3)  # as if killed: no error, no end marker


def test_items_arrive_in_order_from_another_process():
    items = list(items_from_child(squares, 50, buffered=2))
    assert [(number, square) for number, square, _ in items] == [(n, n * n) for n in range(50)]
    assert {pid for _, _, pid in items} != {os.getpid()}


def test_an_error_in_the_child_is_raised_here_after_the_items_before_it():
    received = []
    with pytest.raises(PublisherError, match=r"contacts\.csv:1: header: no email column"):
        for item in items_from_child(fails_after, 3):
            received.append(item)
    assert received == [0, 1, 2]


def test_a_child_that_dies_is_reported_instead_of_waited_for():
    received = []
    with pytest.raises(ChildStopped, match=r"dies_after stopped \(exit code 3\)"):
        for item in items_from_child(dies_after, 2):
            received.append(item)
    assert received == [0, 1][: len(received)]  # what the dead child had not flushed is lost


def endless():
    while True:
        yield os.getpid()


PARENT = """
import sys, time
sys.path.insert(0, {tests!r})
from publisher.child_process import items_from_child
from test_child_process import endless
for child in items_from_child(endless, buffered=1):
    print(child, flush=True)
    time.sleep(3600)  # stops reading: the child waits on a full pipe
"""


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_the_child_exits_when_its_parent_is_killed(tmp_path):
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT.format(tests=str(Path(__file__).parent))], stdout=subprocess.PIPE, text=True
    )
    child = int(parent.stdout.readline())
    assert running(child)
    parent.kill()
    parent.wait()
    wait_for(lambda: not running(child), 10, "the child to exit")


# --- worker_pool: the processes that share out CPU work (feeds entries, SendGrid requests) ---

HELD = threading.Lock()  # held by a thread of the parent while its workers start


def lock_is_free() -> bool:
    """In a forked worker the lock is a copy of the parent's, held by a thread that does not
    exist there: it never comes free. A spawned worker imports this module afresh."""
    if HELD.acquire(timeout=2):
        HELD.release()
        return True
    return False


def remember(value: str) -> None:
    global REMEMBERED
    REMEMBERED = value


REMEMBERED = ""


def remembered() -> tuple[str, int]:
    return REMEMBERED, os.getpid()


def test_workers_start_in_a_fresh_interpreter_whatever_threads_the_parent_runs():
    HELD.acquire()
    try:
        with worker_pool(2, remember, "initialised") as pool:
            assert pool.submit(lock_is_free).result(timeout=60)
            value, pid = pool.submit(remembered).result(timeout=60)
    finally:
        HELD.release()
    assert value == "initialised" and pid != os.getpid()


POOL_PARENT = """
import sys, time
sys.path.insert(0, {tests!r})
from publisher.child_process import worker_pool
from test_child_process import remember, remembered
if __name__ == "__main__":
    pool = worker_pool(1, remember, "x")
    print(pool.submit(remembered).result()[1], flush=True)
    time.sleep(3600)
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_workers_exit_when_their_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(POOL_PARENT.format(tests=str(Path(__file__).parent)))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    assert running(worker)
    parent.kill()
    parent.wait()
    wait_for(lambda: not running(worker), 10, "the worker to exit")
