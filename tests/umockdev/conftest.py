"""The umockdev suite runs the simulator behind the real libusb and pyusb.

Every scenario runs in its own ``umockdev-wrapper`` process (the preload library must be there
from process start). A machine without umockdev fails these tests with the install command:
CI installs the packages, so a silent skip would hide a broken setup.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testing.umockdev.environment import DEBIAN_PACKAGES, WRAPPER

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def umockdev_environment() -> None:
    """Fail (not skip) with a clear message when umockdev or PyGObject is missing."""
    if shutil.which(WRAPPER) is None:
        pytest.fail(
            f"{WRAPPER} is not on PATH: install the Debian packages "
            f"`apt-get install {DEBIAN_PACKAGES}` to run the umockdev tests",
            pytrace=False,
        )
    check = subprocess.run(
        [sys.executable, "-m", "testing.umockdev", "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    if check.returncode != 0:
        pytest.fail(
            f"the umockdev environment is incomplete:\n{check.stdout}{check.stderr}",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def _require_umockdev(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("umockdev") is not None:
        request.getfixturevalue("umockdev_environment")
