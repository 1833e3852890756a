"""A pytest plugin that fails any test, or any module's fixtures, leaving threads running after
teardown: a leaked worker, server or poller thread keeps touching state the next test owns, and
in the product it is a resource that grows with every reconnect.

Loaded from ``tests/conftest.py``; ``tests/test_thread_guard.py`` runs it on planted leaks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

# Threads that live for the whole process by design, so a test that first starts one has not
# leaked it: thread name -> why it may outlive a test. None is needed today (the suite's
# libraries, zeroconf and waitress included, stop their threads when closed); add one only with
# its reason, never a thread of ours.
PROCESS_WIDE_THREADS: dict[str, str] = {}

# Long enough for a thread that was told to stop in teardown (a joined worker's helpers, a server
# whose socket was closed) to finish; a thread that is still running after it has leaked.
THREAD_END_GRACE_S = 2.0


def _left_running(before: set[threading.Thread]) -> list[threading.Thread]:
    """The threads started since ``before`` that are still alive after a short grace period."""
    deadline = time.monotonic() + THREAD_END_GRACE_S
    leftover: list[threading.Thread] = []
    for thread in threading.enumerate():
        if thread in before or thread.name in PROCESS_WIDE_THREADS:
            continue
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            leftover.append(thread)
    return leftover


def _fail_on_leftover(before: set[threading.Thread], what: str) -> None:
    leftover = _left_running(before)
    if leftover:
        # A default thread name carries its target's name, e.g. "Thread-3 (poll)".
        names = ", ".join(repr(t.name) for t in leftover)
        pytest.fail(f"{what} left threads running after teardown: {names}", pytrace=False)


@pytest.fixture(scope="module", autouse=True)
def _no_threads_left_by_module_fixtures() -> Iterator[None]:
    """Module-scoped fixtures (servers shared by a file's tests) stop their threads too."""
    before = set(threading.enumerate())
    yield
    _fail_on_leftover(before, "this module's fixtures")


@pytest.fixture(autouse=True)
def _no_threads_left_by_the_test() -> Iterator[None]:
    """Autouse, so set up before every fixture a test asks for: it checks after their teardowns."""
    before = set(threading.enumerate())
    yield
    _fail_on_leftover(before, "this test")
