"""The capture of the issue-2 acceptance, through the real libusb under umockdev."""

from __future__ import annotations

import pytest

from testing.umockdev.runner import run_under_harness
from tests.umockdev.conftest import ROOT

SCENARIOS = "tests/umockdev/capture_scenario.py"

pytestmark = pytest.mark.umockdev


def _run(factory: str, target: str) -> str:
    done = run_under_harness(
        f"{SCENARIOS}:{factory}", f"{SCENARIOS}:{target}", timeout=240, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("factory", ["a7m3", "a7sm3"])
def test_full_capture_through_libusb(factory: str) -> None:
    assert "ok:" in _run(factory, "full_capture")


def test_disconnect_mid_download_through_libusb() -> None:
    assert "disconnected" in _run("a7m3", "disconnect_mid_download")
