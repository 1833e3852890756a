"""Runs a scenario of ``ns_scenarios.py`` in a private network namespace (``unshare -n``).

The namespace must exist before any socket is made, hence a child process. Without ``unshare``
(or the right to use it) the calling test fails with the reason: CI runs as root, so a skip
would hide lost coverage.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("ns_scenarios.py")


def run_in_netns(scenario: str, timeout_s: float = 30.0) -> dict[str, Any]:
    """The observations ``scenario`` printed, after checking it ran cleanly."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail(
            "`unshare` (util-linux) not found: the discovery tests need `unshare -n` to make a "
            "private network namespace (run as root)",
            pytrace=False,
        )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [unshare, "-n", sys.executable, "-W", "error", str(SCRIPT), scenario],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0 and done.stderr.startswith("unshare:"):
        pytest.fail(
            f"`unshare -n` failed ({done.stderr.strip()}): the discovery tests need root (or "
            "CAP_SYS_ADMIN) for a private network namespace",
            pytrace=False,
        )
    assert done.returncode == 0, f"scenario {scenario} failed:\n{done.stdout}\n{done.stderr}"
    facts: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return facts
