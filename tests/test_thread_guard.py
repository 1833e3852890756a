"""The thread guard (tests/thread_guard.py) on planted leaks, in a pytest of its own (a subprocess,
so the leaks planted here never meet this run's guard)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUARD = ("-p", "tests.thread_guard", "-p", "no:cacheprovider")


@pytest.fixture(autouse=True)
def _guard_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the subprocess runs in pytester's folder


LEAKY_TEST = """
import threading

stop = threading.Event()


def test_leaves_a_poller_running():
    threading.Thread(target=stop.wait, name="leaky-poller", daemon=True).start()


def test_a_thread_that_ends_in_its_teardown_is_fine():
    done = threading.Event()
    thread = threading.Thread(target=done.wait, args=(0.2,), name="ending")
    thread.start()
"""

LEAKY_MODULE_FIXTURE = """
import threading

import pytest

stop = threading.Event()


@pytest.fixture(scope="module")
def server():
    thread = threading.Thread(target=stop.wait, name="leaky-server", daemon=True)
    thread.start()
    yield thread  # no teardown: the thread outlives the module


def test_one(server):
    assert server.is_alive()


def test_two(server):
    assert server.is_alive()
"""


def test_a_test_that_leaves_a_thread_running_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_leak=LEAKY_TEST)
    result = pytester.runpytest_subprocess(*GUARD)
    # The leak fails its test, and the module again at its end (it is still running then).
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaves_a_poller_running*",
            "this test left threads running after teardown: 'leaky-poller'",
        ]
    )
    assert "'ending'" not in result.stdout.str()  # a thread still ending gets the grace period


def test_a_module_fixture_that_leaves_a_thread_running_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_module_leak=LEAKY_MODULE_FIXTURE)
    result = pytester.runpytest_subprocess(*GUARD)
    # Both tests pass; the module's teardown, after the last test, is where the leak shows.
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at teardown of test_two*", "*this module's fixtures left threads*leaky-server*"]
    )
