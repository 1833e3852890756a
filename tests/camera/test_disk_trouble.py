"""Disk trouble never loses an original silently (issue 9 point 7).

A save folder that fills up, turns read-only or disappears: the exposure still completes and the
client gets its image, the original waits in memory (bounded) until the folder takes it, the
snapshot and the log say so, nothing already saved is touched, and saving resumes on its own.
Beyond the memory bound, and when the server stops, originals go to the fallback folder and move
into the save folder once it takes files again; only what the fallback refuses too is lost, loudly.

How the faults are made: tests run as root in CI, where chmod does not stop a write. In process,
:class:`FolderFault` makes the OS calls OriginalsFolder uses (os.open with O_CREAT, os.link,
os.rename) raise the OSError a full or read-only filesystem raises, for paths inside the folder
only; everything else, including reads, runs for real. The last test fills a real tmpfs, mounted
in a mount namespace of the server's own (``unshare -m``). A vanishing folder is a
real ``shutil.rmtree``; a read-only or gone folder over HTTP is a real one replaced by a file
(mkdir and every create in it fail for root too).
"""

from __future__ import annotations

import errno
import html
import http.client
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from alpaca_sony.camera.decode import DecodeOptions, ReadoutMode, Subframe, decode
from alpaca_sony.camera.exposure import CaptureOptions, ExposureRequest, ExposureRunner
from alpaca_sony.camera.held_originals import FallbackFolder, default_fallback_folder
from alpaca_sony.camera.originals import OriginalsFolder
from alpaca_sony.camera.state import CameraSnapshot
from alpaca_sony.camera.worker import DeviceWorker, WorkerTiming
from alpaca_sony.clock import FakeClock
from alpaca_sony.config import Config, load, with_overrides
from alpaca_sony.devices import open_camera
from alpaca_sony.errors import ConfigError
from alpaca_sony.runtime import Runtime
from alpaca_sony.simulator.arw import read_sequence
from alpaca_sony.simulator.body import BodySettings
from alpaca_sony.simulator.camera import SimulatedCamera
from alpaca_sony.simulator.pyusb_backend import SimulatorBackend
from alpaca_sony.simulator.shots import CapturedFile
from tests.camera.conftest import GatedClock, WorkerRig
from tests.camera.test_decode_honesty import BODY, _truncated_arw
from tests.camera.test_originals import ARW, downloaded, runner, visible

ROOT = Path(__file__).resolve().parents[2]


class FolderFault:
    """Makes writes inside one folder fail with ``error`` while ``on``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, folder: Path, error: int):
        self.folder = str(folder)
        self.error = error
        self.on = True
        real_open, real_link, real_rename = os.open, os.link, os.rename

        def refusing_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if flags & os.O_CREAT:
                self._check(path)
            return real_open(path, flags, *args, **kwargs)

        def refusing_link(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            self._check(dst)
            real_link(src, dst, *args, **kwargs)

        def refusing_rename(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            self._check(dst)
            real_rename(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, "open", refusing_open)
        monkeypatch.setattr(os, "link", refusing_link)
        monkeypatch.setattr(os, "rename", refusing_rename)

    def _check(self, path: Any) -> None:
        if self.on and os.fspath(path).startswith(self.folder):
            raise OSError(self.error, os.strerror(self.error), os.fspath(path))


@pytest.fixture
def fault(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path, int], FolderFault]:
    return lambda folder, error: FolderFault(monkeypatch, folder, error)


def limited_runner(folder: Path, limit_bytes: int, fallback: Path) -> ExposureRunner:
    options = CaptureOptions(pending_limit_bytes=limit_bytes)
    return ExposureRunner(
        FakeClock(), options, OriginalsFolder(folder, 0), FallbackFolder(fallback)
    )


@pytest.fixture
def fallback_rig(tmp_path: Path) -> Iterator[Callable[..., WorkerRig]]:
    """A device worker as runtime.py builds it (save folder and fallback folder), on a fake
    clock; every rig of one test shares the two folders, as a restarted server does."""
    rigs: list[WorkerRig] = []

    def factory(
        limit_bytes: int = 1 << 30, render: Callable[[CapturedFile], bytes] | None = None
    ) -> WorkerRig:
        clock = GatedClock()
        settings = BodySettings(model=BODY if render else "ILCE-7M3", post_connect_settle_s=0.0)
        camera = SimulatedCamera(clock, settings, render=render)
        backend = SimulatorBackend([camera], clock, poll_interval_s=0.5)
        folder = tmp_path / "originals"
        runner = ExposureRunner(
            clock,
            CaptureOptions(pending_limit_bytes=limit_bytes),
            OriginalsFolder(folder, 0),
            FallbackFolder(tmp_path / "held"),
        )
        timing = WorkerTiming(idle_poll_s=0.05, reconnect_interval_s=0.01, command_timeout_s=20)
        worker = DeviceWorker(lambda: open_camera(backend, clock), clock, runner, timing)
        worker.start()
        rigs.append(WorkerRig(clock, camera, worker, folder))
        return rigs[-1]

    yield factory
    for rig in rigs:
        rig.worker.stop()
        assert not rig.worker.alive
    assert [r.camera.body.protocol_violations for r in rigs] == [[] for _ in rigs]


def _expose(rig: WorkerRig, seconds: float) -> CameraSnapshot:
    rig.worker.start_exposure(ExposureRequest(seconds))
    return rig.wait_idle()


def _sequence_in(path: Path) -> int | None:
    frame = decode(path, ReadoutMode.RAW, Subframe(), 16383, DecodeOptions(), "ILCE-7M3")
    return read_sequence(frame.pixels.T)


def test_a_full_disk_keeps_the_image_says_so_and_saves_when_space_returns(
    worker_factory: Callable[..., WorkerRig],
    fault: Callable[[Path, int], FolderFault],
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = worker_factory()
    rig.worker.connect()
    _expose(rig, 1.0)
    (first,) = rig.files()
    first_bytes = (rig.folder / first).read_bytes()

    disk = fault(rig.folder, errno.ENOSPC)
    snap = _expose(rig, 2.0)
    assert snap.image_ready and rig.frame() is not None  # the client still gets its image
    assert read_sequence(rig.frame().pixels.T) == rig.camera.body.shots[-1].number  # type: ignore[union-attr]
    snap = rig.wait_for(lambda s: "held in memory" in s.disk_trouble)
    assert "No space left on device" in snap.disk_trouble
    assert snap.message == snap.disk_trouble  # where the API already shows the camera's state
    assert any("holding it in memory" in r.message for r in caplog.records)
    assert rig.files() == [first]
    assert (rig.folder / first).read_bytes() == first_bytes  # nothing saved is touched

    disk.on = False  # space returns: the idle loop writes the held original
    snap = rig.wait_for(lambda s: s.disk_trouble == "")
    assert snap.message == ""
    (held,) = set(rig.files()) - {first}
    assert _sequence_in(rig.folder / held) == rig.camera.body.shots[-1].number
    assert str(rig.folder / held) in snap.saved_files
    assert (rig.folder / first).read_bytes() == first_bytes


def test_a_folder_turned_read_only_between_stage_and_commit_keeps_the_exact_bytes(
    tmp_path: Path, fault: Callable[[Path, int], FolderFault]
) -> None:
    run = runner(tmp_path)
    staged = run.stage("ILCE-7M3", [downloaded("DSC1.ARW", ARW)], 1.0, None)
    disk = fault(tmp_path, errno.EROFS)
    assert run.commit(staged) == []
    assert [item.data for item in run.pending.items] == [ARW]
    assert "Read-only file system" in run.disk_trouble()
    assert run.flush_pending() == []  # still refused: still held, nothing half-written left
    assert list(tmp_path.iterdir()) == [] and len(run.pending.items) == 1

    disk.on = False
    (saved,) = run.flush_pending()
    assert saved.read_bytes() == ARW and visible(tmp_path) == [saved.name]
    assert run.disk_trouble() == "" and run.pending.items == []


def test_held_originals_are_written_oldest_first_and_keep_their_names(
    tmp_path: Path, fault: Callable[[Path, int], FolderFault]
) -> None:
    run = runner(tmp_path)
    disk = fault(tmp_path, errno.ENOSPC)
    for n in (1, 2):
        run.stage("ILCE-7M3", [downloaded(f"DSC{n}.ARW", ARW + bytes([n]), n)], 1.0, None)
    disk.on = False
    saved = run.flush_pending()
    assert [p.read_bytes()[-1] for p in saved] == [1, 2]
    assert ["_000001_" in saved[0].name, "_000002_" in saved[1].name] == [True, True]


def test_a_folder_that_disappears_after_staging_is_a_loud_loss_not_a_silent_one(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "originals"
    run = runner(folder)
    staged = run.stage("ILCE-7M3", [downloaded("DSC1.ARW", ARW)], 1.0, None)
    shutil.rmtree(folder)  # unplugged with the staged file in it
    assert run.commit(staged) == []
    assert "are lost" in run.disk_trouble()


def test_a_folder_that_disappears_between_shots_is_made_again(tmp_path: Path) -> None:
    folder = tmp_path / "originals"
    run = runner(folder)
    run.save("ILCE-7M3", [downloaded("DSC1.ARW", ARW, 1)], 1.0, None)
    shutil.rmtree(folder)
    (saved,) = run.save("ILCE-7M3", [downloaded("DSC2.ARW", ARW, 2)], 1.0, None)
    assert saved.read_bytes() == ARW and run.disk_trouble() == ""


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


# -- beyond memory: the fallback folder -----------------------------------------------------------


def test_beyond_the_memory_bound_originals_go_to_the_fallback_and_move_back_exactly_once(
    tmp_path: Path, fault: Callable[[Path, int], FolderFault], caplog: pytest.LogCaptureFixture
) -> None:
    save, held = tmp_path / "originals", tmp_path / "held"
    run = limited_runner(save, len(ARW) + 10, held)
    run.save("ILCE-7M3", [downloaded("DSC0.ARW", ARW + b"0", 10)], 1.0, None)
    (before,) = _names(save)
    disk = fault(save, errno.ENOSPC)
    for n in (1, 2, 3):
        run.stage("ILCE-7M3", [downloaded(f"DSC{n}.ARW", ARW + bytes([n]), n)], 1.0, None)
    assert [item.data[-1] for item in run.pending.items] == [1]  # the bound: one in memory
    assert [(held / name).read_bytes()[-1] for name in _names(held)] == [2, 3]
    trouble = run.disk_trouble()
    assert f"2 original(s) could not be saved in {save} and were written to the fallback " \
        f"folder {held}" in trouble  # fmt: skip
    assert "are lost" not in trouble and "1 original(s)" in trouble  # the one in memory
    assert sum("wrote" in r.message and str(held) in r.message for r in caplog.records) == 2
    assert run.flush_pending() == [] and len(_names(held)) == 2  # refused: all stay

    disk.on = False  # space returns: memory first, then one file from the fallback per call
    moved = run.flush_pending() + run.flush_pending() + run.flush_pending()
    assert run.flush_pending() == []  # three calls moved everything, and nothing twice
    assert sorted(p.read_bytes()[-1] for p in moved) == [1, 2, 3]
    assert sorted(p.name for p in moved) == sorted(set(_names(save)) - {before})
    assert len(_names(save)) == 4 and (save / before).read_bytes() == ARW + b"0"
    assert _names(held) == [] and run.disk_trouble() == ""


def test_a_fallback_that_refuses_too_makes_the_loss_loud_and_it_stays_in_the_message(
    tmp_path: Path, fault: Callable[[Path, int], FolderFault], caplog: pytest.LogCaptureFixture
) -> None:
    save, held = tmp_path / "originals", tmp_path / "held"
    run = limited_runner(save, len(ARW) + 10, held)
    fault(save, errno.ENOSPC)
    fault(held, errno.EROFS)
    run.stage("ILCE-7M3", [downloaded("DSC1.ARW", ARW, 1)], 1.0, None)
    run.stage("ILCE-7M3", [downloaded("DSC2.ARW", ARW, 2)], 1.0, None)
    assert len(run.pending.items) == 1
    trouble = run.disk_trouble()
    assert "1 original(s) could not be saved or held and are lost" in trouble
    assert "_000002_" in trouble  # which one, so the user can still take it off the card
    (lost,) = [r for r in caplog.records if r.message.startswith("LOST original")]
    assert lost.levelno == logging.ERROR and "_000002_" in lost.message
    assert f"the fallback folder {held} refused it too (Read-only file system)" in lost.message


def test_a_move_cut_short_is_not_copied_twice_and_a_namesake_in_the_folder_is_untouched(
    tmp_path: Path,
) -> None:
    save, held = tmp_path / "originals", tmp_path / "held"
    run = limited_runner(save, 0, held)
    fallback = FallbackFolder(held)
    done = fallback.put("20261121T221530Z_ILCE-7M3_000001_1s_ISOauto", "ARW", ARW + b"1")
    namesake = fallback.put("20261121T221530Z_ILCE-7M3_000002_1s_ISOauto", "ARW", ARW + b"2")
    save.mkdir()
    shutil.copyfile(done, save / done.name)  # copied, then the process died before the removal
    (save / namesake.name).write_bytes(b"the user's own file under that name")

    moved = [run.flush_pending(), run.flush_pending(), run.flush_pending()]
    assert moved[2] == [] and _names(held) == []
    assert sorted(_names(save)) == sorted(
        [done.name, namesake.name, namesake.name.replace(".ARW", ".1.ARW")]
    )
    assert (save / done.name).read_bytes() == ARW + b"1"
    assert (save / namesake.name).read_bytes() == b"the user's own file under that name"
    assert (save / namesake.name.replace(".ARW", ".1.ARW")).read_bytes() == ARW + b"2"


def test_only_our_originals_leave_the_fallback_folder(tmp_path: Path) -> None:
    save, held = tmp_path / "originals", tmp_path / "held"
    held.mkdir()
    (held / "notes.txt").write_text("the user's own file")
    run = limited_runner(save, 0, held)
    assert run.flush_pending() == [] and run.disk_trouble() == ""
    assert _names(held) == ["notes.txt"]


def test_the_default_fallback_is_xdg_state_or_var_tmp_when_only_that_is_on_another_disk(
    tmp_path: Path,
) -> None:
    save, state = tmp_path / "originals", tmp_path / "state"
    environ = {"XDG_STATE_HOME": str(state)}
    xdg = state / "alpaca-sony" / "held-originals"

    def disks(*apart: Path) -> Callable[[Path], int]:
        return lambda path: 2 if any(path.is_relative_to(p) for p in apart) else 1

    assert default_fallback_folder(save, environ, disks(state)).folder == xdg
    var_tmp = default_fallback_folder(save, environ, disks(Path("/var/tmp")))
    assert var_tmp.folder == Path(f"/var/tmp/alpaca-sony-{os.getuid()}") and var_tmp.private
    assert default_fallback_folder(save, environ, disks()).folder == xdg  # one disk: still XDG


def test_a_planted_var_tmp_folder_is_refused_not_used(tmp_path: Path) -> None:
    planted = tmp_path / "alpaca-sony-planted"
    planted.symlink_to(tmp_path / "somewhere-else", target_is_directory=True)
    (tmp_path / "somewhere-else").mkdir()
    with pytest.raises(PermissionError, match="not this user's own folder"):
        FallbackFolder(planted, private=True).put("20261121T221530Z_x", "ARW", ARW)
    assert list((tmp_path / "somewhere-else").iterdir()) == []


def test_the_fallback_folder_and_memory_bound_come_from_the_camera_settings(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        f"[camera]\nsave_dir = '{tmp_path}/a'\nfallback_dir = '{tmp_path}/b'\n"
        "hold_in_memory_mb = 3\n"
    )
    camera = load(path).camera
    assert camera.fallback_folder().folder == tmp_path / "b"
    runner = Runtime(load(path), backend=object())._runner()
    assert runner.pending.limit_bytes == 3 << 20
    assert runner.pending.fallback is not None and runner.pending.fallback.folder == tmp_path / "b"
    same = with_overrides(
        Config(), camera={"save_dir": str(tmp_path), "fallback_dir": str(tmp_path)}
    )
    with pytest.raises(ConfigError, match="fallback_dir must be another folder than"):
        same.camera.fallback_folder()


# -- a worker with held originals -----------------------------------------------------------------


def test_originals_held_when_the_worker_stops_end_in_the_fallback_and_move_back_after_a_restart(
    fallback_rig: Callable[..., WorkerRig],
    fault: Callable[[Path, int], FolderFault],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    rig = fallback_rig()
    rig.worker.connect()
    disk = fault(rig.folder, errno.ENOSPC)
    _expose(rig, 1.0)
    _expose(rig, 2.0)
    rig.wait_for(lambda s: "2 original(s)" in s.disk_trouble and "held in memory" in s.disk_trouble)
    taken = [shot.number for shot in rig.camera.body.shots]
    rig.worker.stop()
    held = tmp_path / "held"
    assert [f"_{n:06d}_" in name for n, name in zip(taken, _names(held), strict=True)] == [True] * 2
    assert not [r for r in caplog.records if r.message.startswith("LOST")]
    wrote = [r.message for r in caplog.records if r.message.startswith("wrote")]
    assert len(wrote) == 2 and all(str(held) in m and "server stopped" in m for m in wrote)

    disk.on = False  # the folder takes files again; the server starts again
    again = fallback_rig()
    snap = again.wait_for(lambda s: len(s.saved_files) == 2 and s.disk_trouble == "")
    assert _names(held) == [] and [Path(p).name for p in snap.saved_files] == _names(rig.folder)
    assert [_sequence_in(rig.folder / name) for name in _names(rig.folder)] == taken


def test_originals_that_neither_folder_takes_at_the_stop_are_logged_as_lost(
    fallback_rig: Callable[..., WorkerRig],
    fault: Callable[[Path, int], FolderFault],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    rig = fallback_rig()
    rig.worker.connect()
    fault(rig.folder, errno.ENOSPC)
    fault(tmp_path / "held", errno.ENOSPC)
    _expose(rig, 1.0)
    rig.wait_for(lambda s: "held in memory" in s.disk_trouble)
    rig.worker.stop()
    lost = [r for r in caplog.records if r.message.startswith("LOST original")]
    assert len(lost) == 1 and lost[0].levelno == logging.ERROR
    assert "the server stopped" in lost[0].message and "refused it too" in lost[0].message


@pytest.mark.parametrize(
    ("limit_bytes", "where"),
    [(1 << 30, "is not saved yet: {save} refused it (No space left on device), so it is held in "
      "memory until the folder takes it"),
     (0, "is not saved in {save} yet: it was written to {held}/")],
    ids=["in-memory", "in-the-fallback"],
)  # fmt: skip
def test_an_unusable_raw_says_its_original_is_held_not_saved(
    fallback_rig: Callable[..., WorkerRig],
    fault: Callable[[Path, int], FolderFault],
    tmp_path: Path,
    limit_bytes: int,
    where: str,
) -> None:
    arw = _truncated_arw()
    rig = fallback_rig(limit_bytes, render=lambda _file: arw)
    rig.worker.connect()
    disk = fault(rig.folder, errno.ENOSPC)
    snap = _expose(rig, 1.0)
    assert "could not decode" in snap.message  # the decoder's part, then where the original is
    assert where.format(save=rig.folder, held=tmp_path / "held") in snap.message
    assert "is saved as" not in snap.message
    disk.on = False
    rig.wait_for(lambda s: len(s.saved_files) == 1)
    assert [(rig.folder / name).read_bytes() for name in _names(rig.folder)] == [arw]


# -- over HTTP: a real server on loopback ---------------------------------------------------------


class Client:
    """An Alpaca client on loopback, as NINA would ask (form PUTs, JSON replies)."""

    def __init__(self, port: int):
        self.port = port
        self.transaction = 0

    def _request(self, method: str, path: str, body: str = "", accept: str = "") -> bytes:
        self.transaction += 1
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        ids = f"ClientID=7&ClientTransactionID={self.transaction}"
        try:
            if method == "PUT":
                headers = {"Content-Type": "application/x-www-form-urlencoded"}
                conn.request(method, path, f"{ids}&{body}", headers)
            else:
                conn.request(method, f"{path}?{ids}", headers={"Accept": accept} if accept else {})
            reply = conn.getresponse()
            assert reply.status == 200, (path, reply.status)
            return reply.read()
        finally:
            conn.close()

    def put(self, member: str, body: str = "") -> None:
        reply = orjson.loads(self._request("PUT", f"/api/v1/camera/0/{member}", body))
        assert reply["ErrorNumber"] == 0, reply

    def value(self, member: str) -> Any:
        reply = orjson.loads(self._request("GET", f"/api/v1/camera/0/{member}"))
        assert reply["ErrorNumber"] == 0, reply
        return reply["Value"]

    def info(self) -> dict[str, Any]:
        """The status action any client can call: the camera's message and the disk trouble."""
        reply = orjson.loads(
            self._request("PUT", "/api/v1/camera/0/action", "Action=camerainfo&Parameters=")
        )
        assert reply["ErrorNumber"] == 0, reply
        info: dict[str, Any] = orjson.loads(reply["Value"])
        return info

    def setup_page(self) -> str:
        return self._request("GET", "/setup/v1/camera/0/setup").decode()

    def image_bytes(self) -> bytes:
        return self._request("GET", "/api/v1/camera/0/imagearray", accept="application/imagebytes")

    def expose(self, seconds: float) -> None:
        self.put("startexposure", f"Duration={seconds}&Light=True")
        deadline = time.monotonic() + 60
        while not self.value("imageready"):
            assert self.value("camerastate") != 5, self.info()["message"]
            assert time.monotonic() < deadline, "no image"
            time.sleep(0.01)

    def wait_info(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while not predicate(info := self.info()):
            assert time.monotonic() < deadline, info
            time.sleep(0.01)
        return info


@dataclass
class Served:
    client: Client
    camera: SimulatedCamera
    runtime: Runtime


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Starts a real Runtime on loopback over a simulated ILCE-7M3, saving to tmp/originals
    with the fallback tmp/held, and connects; all are stopped at the end (again is harmless)."""
    runtimes: list[Runtime] = []

    def start(**camera: Any) -> Served:
        clock = GatedClock()
        body = SimulatedCamera(clock, BodySettings(post_connect_settle_s=0.0))
        config = with_overrides(
            Config(),
            server={"host": "127.0.0.1", "port": 0},
            discovery={"enabled": False, "mdns": False},
            camera={
                "save_dir": str(tmp_path / "originals"),
                "fallback_dir": str(tmp_path / "held"),
                "min_free_mb": 0,
                **camera,
            },
        )
        runtime = Runtime(config, clock, SimulatorBackend([body], clock, poll_interval_s=0.5))
        runtimes.append(runtime)
        client = Client(runtime.start())
        client.put("connected", "Connected=True")
        return Served(client, body, runtime)

    yield start
    for runtime in runtimes:
        runtime.stop()


def _sequences(folder: Path) -> Counter[int]:
    """Sequence number -> how many ARWs in ``folder`` carry it (names: <time>_<model>_<seq>_...)."""
    return Counter(int(p.name.split("_")[2]) for p in folder.glob("*.ARW"))


class GoneFolder:
    """The save folder unmounted: its files elsewhere, a plain file at its path (every mkdir and
    create under it fails, for root too). ``back()`` mounts it again."""

    def __init__(self, folder: Path):
        self.folder, self.aside = folder, folder.with_name(folder.name + "-unmounted")
        folder.rename(self.aside)
        folder.write_bytes(b"")

    def back(self) -> None:
        self.folder.unlink()
        self.aside.rename(self.folder)


def test_a_full_then_gone_save_folder_during_a_run_over_http_loses_no_original_and_says_so(
    server: Callable[..., Served],
    fault: Callable[[Path, int], FolderFault],
    tmp_path: Path,
) -> None:
    """Acceptance (issue 9): every image reaches the client, every original is on disk once
    space returns, nothing saved before is touched, and the client is told meanwhile."""
    save, held = tmp_path / "originals", tmp_path / "held"
    served = server(hold_in_memory_mb=70)  # one ILCE-7M3 ARW (~49 MB) fits, two do not
    client = served.client
    client.expose(1.0)
    client.wait_info(lambda i: len(_sequences(save)) == 1)
    (first,) = save.glob("*.ARW")
    first_bytes = first.read_bytes()

    disk = fault(save, errno.ENOSPC)  # full
    for seconds in (1.0, 2.0):
        client.expose(seconds)
        assert len(client.image_bytes()) > 1_000_000  # the client still gets its image
    info = client.wait_info(lambda i: "held in memory" in i["disk_trouble"])
    assert "No space left on device" in info["disk_trouble"]
    assert f"written to the fallback folder {held}" in info["disk_trouble"]
    assert info["message"] == info["disk_trouble"]
    assert "held in memory" in html.unescape(client.setup_page())

    disk.on = False
    gone = GoneFolder(save)  # then unmounted
    client.expose(3.0)
    assert len(client.image_bytes()) > 1_000_000
    info = client.wait_info(lambda i: "2 original(s) could not be saved in" in i["disk_trouble"])
    assert "1 original(s) (" in info["disk_trouble"]  # one in memory, two in the fallback

    gone.back()  # space returns: memory first, then the fallback, one file per idle tick
    info = client.wait_info(lambda i: i["disk_trouble"] == "" and not list(held.glob("*.ARW")))
    assert info["message"] == ""
    taken = Counter(shot.number for shot in served.camera.body.shots)
    assert len(taken) == 4 and _sequences(save) == taken  # each original on disk exactly once
    assert first.read_bytes() == first_bytes  # nothing saved before is touched
    assert not [p for p in save.iterdir() if p.name.startswith(".")]  # no temporary left


def test_runtime_stop_puts_held_originals_in_the_fallback_and_the_next_start_moves_them_in(
    server: Callable[..., Served], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    save, held = tmp_path / "originals", tmp_path / "held"
    served = server()
    gone = GoneFolder(save)
    served.client.expose(1.0)
    served.client.wait_info(lambda i: "held in memory" in i["disk_trouble"])
    served.runtime.stop()  # what the CLI does on SIGTERM
    (kept,) = held.glob("*.ARW")
    assert f"_{served.camera.body.shots[-1].number:06d}_" in kept.name
    assert any(str(kept) in r.message for r in caplog.records)  # the log says where it went
    kept_bytes = kept.read_bytes()

    gone.back()
    again = server()
    again.client.wait_info(lambda i: i["disk_trouble"] == "" and not list(held.glob("*.ARW")))
    assert (save / kept.name).read_bytes() == kept_bytes


def _start_logged(command: list[str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start the server command logging to ``log`` (a file: a pipe nobody reads would fill and
    stall the server); its process and HTTP port, or AssertionError with its log."""
    with log.open("wb") as sink:
        server = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stderr=sink)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        if match := re.search(r"Alpaca server on http://127\.0\.0\.1:(\d+)/", log.read_text()):
            return server, int(match.group(1))
        time.sleep(0.05)
    server.kill()
    server.wait(10)
    raise AssertionError(f"the server never said its port:\n{log.read_text()}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as systemd stops the service; it must exit cleanly."""
    try:
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)


def test_sigterm_with_held_originals_leaves_them_in_the_fallback_folder(tmp_path: Path) -> None:
    """The command line as a process: SIGTERM (systemd's stop) while an original is held."""
    save, held, log = tmp_path / "originals", tmp_path / "held", tmp_path / "server.log"
    config = tmp_path / "config.toml"
    config.write_text(
        f"[camera]\nsave_dir = '{save}'\nfallback_dir = '{held}'\nmin_free_mb = 0\n"
        "[discovery]\nenabled = false\nmdns = false\n"
    )
    server, port = _start_logged(
        [sys.executable, "-m", "alpaca_sony", "--simulator", "--host", "127.0.0.1", "--port", "0",
         "--config", str(config)], log,
    )  # fmt: skip
    try:
        client = Client(port)
        client.put("connected", "Connected=True")
        gone = GoneFolder(save)
        client.expose(0.1)
        client.wait_info(lambda i: "held in memory" in i["disk_trouble"])
    finally:
        _stop(server)
    log_lines = log.read_text().splitlines()
    (kept,) = held.glob("*.ARW")
    assert any(f"wrote {kept} to the fallback folder" in line for line in log_lines), log_lines
    assert not any("LOST" in line for line in log_lines)
    gone.back()
    frame = decode(kept, ReadoutMode.RAW, Subframe(), 16383, DecodeOptions(), "ILCE-7M3")
    assert f"_{read_sequence(frame.pixels.T):06d}_" in kept.name  # the shot's own bytes


def test_an_unwritable_fallback_folder_is_said_once_at_start_and_serving_goes_on(
    server: Callable[..., Served], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "held").write_bytes(b"")  # a file where the folder should be
    served = server()
    said = [r for r in caplog.records if r.message.startswith("the fallback folder")]
    assert len(said) == 1 and said[0].levelno == logging.ERROR
    assert "would be lost; set fallback_dir in the [camera] section" in said[0].message
    served.client.expose(1.0)  # the save folder works: so does the camera
    served.client.wait_info(lambda i: len(_sequences(tmp_path / "originals")) == 1)


def test_a_really_full_filesystem_over_http_loses_no_original_once_space_returns(
    tmp_path: Path,
) -> None:
    """Acceptance on a real full disk: the server runs in its own mount namespace whose save
    folder is a 120 MB tmpfs (two ILCE-7M3 ARWs of ~49 MB fit, a third does not); the test sees
    that folder through /proc/<pid>/root and frees space the way a user does, by moving frames
    off. Needs root (or CAP_SYS_ADMIN) for ``unshare -m``, as the discovery tests need it for
    ``unshare -n``: without it this test fails, it does not skip."""
    unshare = shutil.which("unshare")
    assert unshare, "`unshare` (util-linux) not found: this test needs `unshare -m` and a tmpfs"
    save, held, archive = tmp_path / "originals", tmp_path / "held", tmp_path / "archive"
    save.mkdir()
    archive.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(
        f"[camera]\nsave_dir = '{save}'\nfallback_dir = '{held}'\nmin_free_mb = 0\n"
        "hold_in_memory_mb = 70\n[discovery]\nenabled = false\nmdns = false\n"
    )
    mount_then_serve = 'mount -t tmpfs -o size=120m alpaca-sony-test "$1" && shift && exec "$@"'
    server, port = _start_logged(
        [unshare, "-m", "--propagation", "private", "sh", "-c", mount_then_serve, "sh", str(save),
         sys.executable, "-m", "alpaca_sony", "--simulator", "--host", "127.0.0.1", "--port", "0",
         "--config", str(config)], tmp_path / "server.log",
    )  # fmt: skip
    inside = Path(f"/proc/{server.pid}/root") / save.relative_to(save.anchor)
    try:
        client = Client(port)
        client.put("connected", "Connected=True")
        for _ in range(2):
            client.expose(0.1)
        client.wait_info(lambda i: len(_sequences(inside)) == 2)
        for _ in range(2):  # the disk is full: one waits in memory, one in the fallback
            client.expose(0.1)
            assert len(client.image_bytes()) > 1_000_000  # the client still gets its image
        info = client.wait_info(lambda i: "held in memory" in i["disk_trouble"])
        assert "No space left on device" in info["disk_trouble"]
        assert f"written to the fallback folder {held}" in info["disk_trouble"]
        assert len(_sequences(inside)) == 2 and not list(inside.glob(".incoming-*"))

        for frame in inside.glob("*.ARW"):  # space returns: the user moves frames off
            shutil.copyfile(frame, archive / frame.name)
            frame.unlink()
        client.wait_info(lambda i: i["disk_trouble"] == "" and not list(held.glob("*.ARW")))
        on_disk = _sequences(archive) + _sequences(inside)
        assert len(on_disk) == 4 and set(on_disk.values()) == {1}  # all four, each once
        sizes = {p.stat().st_size for p in (*archive.glob("*.ARW"), *inside.glob("*.ARW"))}
        assert len(sizes) == 1  # none cut short by the full disk
    finally:
        _stop(server)
