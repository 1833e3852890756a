"""Settings files, flags, and the command line as a process (signals stop it cleanly)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import pytest

from alpaca_sony.camera.decode import ColourSpace
from alpaca_sony.config import Config, load, with_overrides
from alpaca_sony.errors import ConfigError
from alpaca_sony.runtime import Runtime

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


def test_camera_settings_become_the_capture_options_in_one_place(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "[camera]\nkeep_jpeg = true\nprefer_builtin_speeds = true\nsave_originals = false\n"
        "also_save_to_card = true\ndemosaic = 'DCB'\nrgb_primaries = 'srgb'\n"
        "save_dir = '~/frames'\nmin_free_mb = 3\n"
    )
    camera = load(path).camera
    options = camera.capture_options()
    assert (options.keep_jpeg, options.prefer_builtin_speeds, options.save_originals) == (
        True, True, False,
    )  # fmt: skip
    assert options.also_save_to_card
    assert (options.decode.colour_space, options.decode.algorithm) == (ColourSpace.SRGB, "DCB")
    folder = camera.originals_folder()
    assert folder.folder == Path("~/frames").expanduser() and folder.min_free_bytes == 3 << 20
    # The server's exposures run with exactly these options.
    runner = Runtime(load(path), backend=object())._runner()
    assert runner.options == options and runner.originals is None  # saving is off


def test_a_bad_colour_space_is_named_when_the_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[camera]\nrgb_primaries = 'adobe'\n")
    with pytest.raises(ConfigError, match=r"camera\.rgb_primaries must be 'camera' or 'srgb'"):
        load(path)


def test_the_demosaic_is_checked_when_the_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[camera]\ndemosaic = 'bilinear'\n")
    assert load(path).camera.capture_options().decode.algorithm == "BILINEAR"  # any case
    assert Config().camera.capture_options().decode.algorithm == "EA"  # the fast default
    path.write_text("[camera]\ndemosaic = 'AMAZE'\n")  # LibRaw's, but not in rawpy's build
    with pytest.raises(ConfigError, match=r"^camera\.demosaic must be one of EA, BILINEAR, .*AHD"):
        load(path)


def test_check_takes_one_exposure_the_way_the_server_does(tmp_path: Path) -> None:
    done = _run(
        "--simulator", "ILCE-7SM3", "check", "--exposure", "0.5", "--iso", "1600",
        "--save-dir", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "ILCE-7SM3: shutter" in done.stdout
    saved = sorted(p.name for p in tmp_path.iterdir())  # no hidden temporary file left either
    name = r"\d{8}T\d{6}Z_ILCE-7SM3_000001_0\.5s_ISO1600\.ARW"
    assert len(saved) == 1 and re.fullmatch(name, saved[0]), saved
    assert f"saved {tmp_path / saved[0]}" in done.stdout
    # The runner's own steps ran: the exposure went through its states.
    assert "exposure: exposing" in done.stderr and "exposure: download" in done.stderr


def test_an_unwritable_save_folder_stops_the_start_with_one_sentence(tmp_path: Path) -> None:
    # A path under a plain file cannot be made a folder, for root too (CI runs as root).
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    done = _run("--simulator", "--host", "127.0.0.1", "--port", "0", "--no-discovery",
                "--no-mdns", "--save-dir", str(blocker / "originals"))  # fmt: skip
    assert done.returncode == 2
    assert f"the save folder {blocker / 'originals'} cannot be written" in done.stderr
    assert "--save-dir" in done.stderr and "Traceback" not in done.stderr
    assert "Alpaca server on" not in done.stderr  # nothing was started


# -- HTTP Basic authentication settings ----------------------------------------------------------


def test_auth_settings_come_from_the_file_and_the_flags(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[server]\nauth_user = 'observer'\nauth_password_file = '/run/secret'\n")
    server = load(path).server
    assert (server.auth_user, server.auth_password_file) == ("observer", "/run/secret")
    flagged = with_overrides(load(path), server={"auth_user": "guide", "auth_password_file": None})
    assert (flagged.server.auth_user, flagged.server.auth_password_file) == ("guide", "/run/secret")
    assert (Config().server.auth_user, Config().server.auth_password_file) == ("", "")  # off


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "auth_user = 'observer'",
            r"server\.auth_user is set but server\.auth_password_file is not",
        ),
        ("auth_password_file = '/p'", r"server\.auth_password_file is set but server\.auth_user"),
        ("auth_user = 'a:b'\nauth_password_file = '/p'", r"without colons or control characters"),
        ('auth_user = "a\\tb"\nauth_password_file = "/p"', r"without colons or control characters"),
    ],
)
def test_an_unusable_auth_setting_is_one_sentence(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[server]\n{text}\n")
    with pytest.raises(ConfigError, match=message):
        load(path)


def _authed_config(tmp_path: Path, password_file: Path) -> Config:
    return with_overrides(
        Config(),
        server={"host": "127.0.0.1", "port": 0, "auth_user": "observer",
                "auth_password_file": str(password_file)},
        discovery={"enabled": False, "mdns": False},
        camera={"simulator": "ILCE-7M3", "save_dir": str(tmp_path / "saved")},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"cannot read the password file .*/password \(No such file or directory\)"),
        ("", r"the password file .*/password is empty: write the password into it"),
        ("\n", r"the password file .*/password is empty"),
        ("two\nlines\n", r"holds more than one line: keep only the password in it"),
        (b"\xff\xfe", r"is not UTF-8 text"),
    ],
)
def test_a_bad_password_file_stops_the_start_before_anything_runs(
    tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    """The thread guard also checks that no camera worker was left running."""
    password = tmp_path / "password"
    if isinstance(content, str):
        password.write_text(content)
    elif isinstance(content, bytes):
        password.write_bytes(content)
    runtime = Runtime(_authed_config(tmp_path, password))
    try:
        with pytest.raises(ConfigError, match=message):
            runtime.start()
        assert runtime.devices == []  # refused before any camera was opened
    finally:
        runtime.stop()  # only does something when the start was wrongly let through


def test_a_password_folder_is_refused_on_the_command_line_with_one_sentence(tmp_path: Path) -> None:
    done = _run("--simulator", "--host", "127.0.0.1", "--port", "0", "--no-discovery",
                "--no-mdns", "--save-dir", str(tmp_path / "saved"), "--auth-user", "observer",
                "--auth-password-file", str(tmp_path))  # fmt: skip
    assert done.returncode == 2
    assert f"cannot read the password file {tmp_path} (Is a directory)" in done.stderr
    assert "Traceback" not in done.stderr and "Alpaca server on" not in done.stderr


def test_a_password_on_the_command_line_is_refused_and_never_echoed(tmp_path: Path) -> None:
    """Not even taken as an abbreviation of --auth-password-file (which would print it as a
    file name that cannot be read)."""
    for flag in (["--auth-password", "hunter2"], ["--auth-password=hunter2"]):
        done = _run("--simulator", "--host", "127.0.0.1", "--port", "0", "--no-discovery",
                    "--no-mdns", "--save-dir", str(tmp_path), "--auth-user", "u",
                    *flag)  # fmt: skip
        assert done.returncode == 2
        assert "a password on the command line is visible in `ps`" in done.stderr
        assert "--auth-password-file FILE" in done.stderr
        assert "hunter2" not in done.stderr + done.stdout and "Traceback" not in done.stderr


def test_a_password_file_others_can_read_is_warned_about(
    serve: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    password = tmp_path / "password"
    password.write_text("s3cret\n")
    password.chmod(0o644)
    serve(auth_user="observer", auth_password_file=str(password))
    assert (
        f"the password file {password} can be read by other users of this machine: chmod 600 it"
        in caplog.messages
    )
    caplog.clear()
    password.chmod(0o600)
    serve(auth_user="observer", auth_password_file=str(password))
    assert not [m for m in caplog.messages if "password file" in m]
