"""Settings files, flags, and the command line as a process (signals stop it cleanly)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import orjson
import pytest

from alpaca_sony.config import Config, load, with_overrides
from alpaca_sony.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_the_example_config_loads() -> None:
    config = load(ROOT / "device" / "config.example.toml")
    assert config.server.port == 11111 and config.discovery.port == 32227
    assert config.camera.save_originals and not config.camera.keep_jpeg


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nprot = 1\n", r"unknown setting server\.prot"),
        ("[severs]\n", r"unknown section \[severs\]"),
        ("[server]\nport = 'x'\n", r"server\.port must be a int"),
        ("[discovery]\nenabled = 1\n", r"discovery\.enabled must be true or false"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load(path)


def test_flags_win_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[server]\nport = 1234\nhost = '127.0.0.1'\n")
    config = with_overrides(load(path), server={"port": 5555, "host": None})
    assert (config.server.port, config.server.host) == (5555, "127.0.0.1")
    assert with_overrides(Config(), camera={"simulator": "ILCE-7M4"}).camera.simulator == "ILCE-7M4"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alpaca_sony", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )  # fmt: skip


def test_list_with_the_simulator() -> None:
    done = _run("--simulator", "ILCE-7RM4", "list")
    assert done.returncode == 0, done.stderr
    assert "054c:0ccc  ILCE-7RM4" in done.stdout and "mode: PC Remote" in done.stdout


def test_unknown_simulator_model_is_a_clear_error() -> None:
    done = _run("--simulator", "ILCE-9999", "list")
    assert done.returncode == 2 and "unknown model" in done.stderr


def test_serve_on_port_zero_logs_the_port_and_stops_on_sigterm(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "alpaca_sony", "--simulator", "--host", "127.0.0.1", "--port", "0",
         "--no-discovery", "--no-mdns", "--save-dir", str(tmp_path)],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        port = None
        assert server.stderr is not None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = server.stderr.readline()
            match = re.search(r"Alpaca server on http://127\.0\.0\.1:(\d+)/", line)
            port = int(match.group(1)) if match else None
        assert port, "the server never said its port"
        url = f"http://127.0.0.1:{port}/management/v1/configureddevices"
        with urllib.request.urlopen(url, timeout=30) as reply:
            devices = orjson.loads(reply.read())["Value"]
        assert devices[0]["DeviceType"] == "Camera" and devices[0]["DeviceNumber"] == 0
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
        if server.stderr is not None:
            server.stderr.close()
