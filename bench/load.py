"""Load (issue 9 point 5): status pollers against a real server while 61 MP frames download.

One run, side by side (the machine is shared: only ratios within a run mean anything):
  idle     16 clients poll CameraState / ImageReady / PercentCompleted as fast as they can, each
           on one keep-alive connection, nothing else happening;
  raw      the same pollers while exposures run back to back in raw mode and another client
           downloads every frame as ImageBytes;
  rgb      the same in RGB mode (a demosaic per frame, 3x the bytes);
  slow-N   the same pollers while N clients download the last image at WiFi speed.
Printed per phase: p50 / p99 / max status latency, 5xx, timeouts and failed requests, and loaded
p99 / idle p99 (target <= 3x). Then whether rawpy and numpy let other threads run during our
decode (a pure-Python counter thread's progress while each step runs).

The server runs in its own process and the simulated camera in another (testing/remote.py), so
the clients' and the simulator's CPU time are not the server's GIL time.

  python -m bench.load [--seconds 10] [--frames 3] [--slow 1,8,16] [--model ILCE-7RM5]
  python -m bench.load --seconds 3 --frames 1 --slow 8        (the short run)
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import rawpy

from alpaca_sony.alpaca.json_array import JsonArrayText
from alpaca_sony.camera.decode import ReadoutMode, Subframe, decode
from alpaca_sony.camera.demosaic import to_x_major

TARGET_RATIO = 3.0
MEMBERS = ("camerastate", "imageready", "percentcompleted")
CLIENT_TIMEOUT_S = 60.0  # generous: a request that needs longer is counted as a timeout
IMAGEBYTES = {"Accept": "application/imagebytes"}
IMAGEBYTES_HEADER = struct.Struct("<iiIIiiiiiii")  # Alpaca ImageBytes metadata version 1
ELEMENT_BYTES = {1: 2, 2: 4, 6: 1, 8: 2}  # transmission type: Int16, Int32, Byte, UInt16
RAW, RGB = 0, 1  # ReadoutMode indices (alpaca/camera_device.py READOUT_MODES)
FRAME_WAIT_S = 300.0


# -- the server, in a child process ----------------------------------------------------------------


def _serve(conn: Connection, model: str, save_dir: str, threads: int) -> None:
    """The child: a Runtime on loopback over a body simulated in a grandchild process."""
    import logging

    from alpaca_sony.clock import SystemClock
    from alpaca_sony.config import Config, with_overrides
    from alpaca_sony.runtime import Runtime
    from alpaca_sony.simulator.body import BodySettings
    from alpaca_sony.simulator.pyusb_backend import SimulatorBackend
    from testing.remote import RemoteCamera

    logging.basicConfig(level=logging.ERROR, format="server: %(message)s")
    clock = SystemClock()
    camera = RemoteCamera(BodySettings(model=model, post_connect_settle_s=0.0, reports_dir=""))
    config = with_overrides(
        Config(),
        server={
            "host": "127.0.0.1",
            "port": 0,
            "threads": threads,
            "connections_per_client": 99,  # every bench client comes from 127.0.0.1
        },
        discovery={"enabled": False, "mdns": False},
        camera={"save_dir": save_dir, "min_free_mb": 0},
    )
    runtime = Runtime(config, clock, SimulatorBackend([camera], clock))
    try:
        conn.send(runtime.start())
        conn.recv()  # until the bench says stop (or goes away)
    except EOFError:
        pass
    finally:
        runtime.stop()
        camera.close()


@contextmanager
def server(model: str, save_dir: Path, threads: int = 8) -> Iterator[int]:
    """A server process for the duration of the block; its HTTP port."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(
        target=_serve, args=(theirs, model, str(save_dir), threads), name="load-server"
    )
    process.start()
    try:
        if not ours.poll(120):
            raise RuntimeError("the server did not start within 120 s")
        yield int(ours.recv())
    finally:
        ours.send("stop")
        process.join(30)
        if process.is_alive():
            process.kill()


# -- clients ---------------------------------------------------------------------------------------


class AlpacaClient:
    """One keep-alive HTTP connection to camera 0 (reopened after a failure)."""

    def __init__(self, port: int, timeout_s: float = CLIENT_TIMEOUT_S):
        self.port = port
        self.timeout_s = timeout_s
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
        self._transaction = 0

    def request(
        self, method: str, member: str, form: str = "", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """(HTTP status, body). Raises OSError or HTTPException (the connection is then renewed)."""
        self._transaction += 1
        ids = f"ClientID=7&ClientTransactionID={self._transaction}"
        path = f"/api/v1/camera/0/{member}"
        try:
            if method == "GET":
                self._conn.request("GET", f"{path}?{ids}", headers=headers or {})
            else:
                body = f"{form}&{ids}" if form else ids
                kind = {"Content-Type": "application/x-www-form-urlencoded"}
                self._conn.request("PUT", path, body=body, headers=kind)
            reply = self._conn.getresponse()
            return reply.status, reply.read()
        except (OSError, http.client.HTTPException):
            self.close()
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout_s)
            raise

    def value(self, member: str) -> Any:
        status, body = self.request("GET", member)
        reply = orjson.loads(body)
        if status != 200 or reply["ErrorNumber"] != 0:
            raise RuntimeError(f"GET {member}: HTTP {status} {reply}")
        return reply["Value"]

    def put(self, member: str, form: str) -> None:
        status, body = self.request("PUT", member, form)
        reply = orjson.loads(body)
        if status != 200 or reply["ErrorNumber"] != 0:
            raise RuntimeError(f"PUT {member} {form}: HTTP {status} {reply}")

    def close(self) -> None:
        self._conn.close()


@dataclass(frozen=True)
class Sample:
    started: float  # perf_counter
    latency_s: float
    outcome: str  # "ok", "5xx", "timeout", "failed" (refused, reset, or not an Alpaca success)


class Pollers:
    """``count`` threads, each polling the status members round robin on its own connection."""

    def __init__(self, port: int, count: int, timeout_s: float = CLIENT_TIMEOUT_S):
        self.samples: list[Sample] = []  # list.append is atomic: no lock needed
        self._stop = threading.Event()
        self._clients = [AlpacaClient(port, timeout_s) for _ in range(count)]
        self._threads = [
            threading.Thread(target=self._poll, args=(c,), name=f"poller-{n}", daemon=True)
            for n, c in enumerate(self._clients)
        ]

    def _poll(self, client: AlpacaClient) -> None:
        while not self._stop.is_set():
            for member in MEMBERS:
                started = time.perf_counter()
                try:
                    status, body = client.request("GET", member)
                    ok = status == 200 and b'"ErrorNumber":0' in body
                    outcome = "ok" if ok else "5xx" if status >= 500 else "failed"
                except TimeoutError:
                    outcome = "timeout"
                except (OSError, http.client.HTTPException):
                    outcome = "failed"
                self.samples.append(Sample(started, time.perf_counter() - started, outcome))

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(CLIENT_TIMEOUT_S + 5)
        for client in self._clients:
            client.close()


class SlowDownloader:
    """A client downloading the latest image as ImageBytes at ``rate`` bytes/s, on a small
    receive window as over WiFi. Rate 0: it stops reading once the reply's headers are in, until
    :meth:`resume`, then reads the rest at once."""

    def __init__(self, port: int, rate: int):
        self.rate = rate
        self.content_length: int | None = None
        self.body_bytes = 0
        self.headers_seen = threading.Event()
        self.finished = threading.Event()  # the whole body arrived
        self._resume = threading.Event()
        self._stop = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # before the window
        self.sock.settimeout(CLIENT_TIMEOUT_S)
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall(
            b"GET /api/v1/camera/0/imagearray?ClientID=9&ClientTransactionID=1 HTTP/1.1\r\n"
            b"Host: 127.0.0.1\r\nAccept: application/imagebytes\r\n\r\n"
        )
        self._thread = threading.Thread(target=self._read, name="slow-downloader", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        head = b""
        started = time.monotonic()
        with self.sock:
            while not self._stop.is_set():
                try:
                    chunk = self.sock.recv(16 * 1024)
                except OSError:
                    return
                if not chunk:
                    return
                if self.content_length is None:
                    head += chunk
                    if b"\r\n\r\n" not in head:
                        continue
                    header, _, body = head.partition(b"\r\n\r\n")
                    self.content_length = _content_length(header)
                    self.body_bytes = len(body)
                    self.headers_seen.set()
                    if self.rate == 0:
                        self._resume.wait()
                else:
                    self.body_bytes += len(chunk)
                if self.body_bytes >= self.content_length:
                    self.finished.set()
                    return
                if self.rate:  # sleep until the bytes so far were due
                    due = started + self.body_bytes / self.rate
                    self._stop.wait(max(0.0, due - time.monotonic()))

    def resume(self) -> None:
        """A stalled client reads on, as fast as it can."""
        self._resume.set()

    def stop(self) -> None:
        """Hang up (mid-download unless finished)."""
        self._stop.set()
        self._resume.set()
        self._thread.join(CLIENT_TIMEOUT_S)


def _content_length(header: bytes) -> int:
    for line in header.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise RuntimeError(f"a reply without Content-Length: {header[:200]!r}")


# -- one run ---------------------------------------------------------------------------------------


@dataclass
class FrameRecord:
    mode: int
    width: int
    height: int
    planes: int
    body_bytes: int
    download_s: float


@dataclass
class LoadRun:
    pollers: int
    phases: list[tuple[str, float, float]] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    frames: list[FrameRecord] = field(default_factory=list)

    def phase_samples(self, name: str) -> list[Sample]:
        for phase, start, end in self.phases:
            if phase == name:
                return [s for s in self.samples if start <= s.started < end]
        raise KeyError(name)

    def p99_s(self, name: str) -> float:
        return _quantile([s.latency_s for s in self.phase_samples(name) if s.outcome == "ok"], 0.99)

    def problems(self) -> list[str]:
        found = []
        idle_p99 = self.p99_s("idle")
        for name, _, _ in self.phases:
            bad = [s for s in self.phase_samples(name) if s.outcome != "ok"]
            if bad:
                found.append(f"{name}: {len(bad)} status requests failed or timed out")
            ratio = self.p99_s(name) / idle_p99
            if ratio > TARGET_RATIO:
                found.append(f"{name}: p99 {ratio:.1f}x the idle p99 (target <= {TARGET_RATIO}x)")
        return found


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def shoot(client: AlpacaClient, downloader: AlpacaClient, mode: int, save_dir: Path) -> FrameRecord:
    """One exposure; waits for the image, downloads it as ImageBytes and checks it is whole."""
    client.put("startexposure", "Duration=0.1&Light=True")
    deadline = time.monotonic() + FRAME_WAIT_S
    while not client.value("imageready"):
        if client.value("camerastate") == 5:  # Error
            raise RuntimeError("the exposure failed")
        if time.monotonic() > deadline:
            raise RuntimeError("no image")
        time.sleep(0.02)  # a client's own pace, as NINA's
    started = time.perf_counter()
    status, body = downloader.request("GET", "imagearray", headers=IMAGEBYTES)
    took = time.perf_counter() - started
    fields = IMAGEBYTES_HEADER.unpack_from(body)
    error, start, transmission, rank, width, height, planes = fields[1], fields[4], *fields[6:]
    planes = planes if rank == 3 else 1
    size = width * height * planes * ELEMENT_BYTES.get(transmission, 0)
    if status != 200 or error != 0 or len(body) != start + size:
        raise RuntimeError(f"image incomplete: HTTP {status}, {len(body)} bytes")
    for original in save_dir.glob("*.ARW"):  # the imaging program moves originals off
        original.unlink()
    return FrameRecord(mode, width, height, planes, len(body), took)


def run_load(
    port: int,
    save_dir: Path,
    pollers: int,
    seconds: float,
    frames: int,
    slow: list[int],
    slow_rate: int,
) -> LoadRun:
    """The phases against a server on ``port``, all with the same pollers running."""
    run = LoadRun(pollers)
    control, download = AlpacaClient(port), AlpacaClient(port)
    control.put("connected", "Connected=True")
    shoot(control, download, RAW, save_dir)  # warm-up: LibRaw's tables, the first payload
    polling = Pollers(port, pollers)
    polling.start()
    try:

        def phase(name: str, body: Callable[[], None]) -> None:
            start = time.perf_counter()
            body()
            run.phases.append((name, start, time.perf_counter()))

        phase("idle", lambda: time.sleep(seconds))
        for name, mode in (("raw", RAW), ("rgb", RGB)):
            control.put("readoutmode", f"ReadoutMode={mode}")

            def back_to_back(mode: int = mode) -> None:
                for _ in range(frames):
                    run.frames.append(shoot(control, download, mode, save_dir))

            phase(name, back_to_back)
        for count in slow:
            clients = [SlowDownloader(port, slow_rate) for _ in range(count)]
            for client in clients:
                client.headers_seen.wait(CLIENT_TIMEOUT_S)
            phase(f"slow-{count}", lambda: time.sleep(seconds))
            for client in clients:
                client.stop()
    finally:
        polling.stop()
        control.close()
        download.close()
    run.samples = polling.samples
    return run


# -- the GIL question ------------------------------------------------------------------------------


def _count_in_process(steps: Any) -> None:
    """A counter process: the CPU a step leaves to others, with no GIL shared (the control)."""
    n = 0
    while True:
        n += 1
        if not n & 0xFFFF:
            steps.value = n


class _Counters:
    """A pure-Python counter as a thread of this process and as another process: how far each
    gets while a step runs, against how far it gets alone.

    The thread needs the GIL, the process only a core: a step that keeps a core busy slows both
    (the machine has few), one that holds the GIL slows only the thread. So thread/process is
    the share of the step during which other Python threads could run (1.0: all of it)."""

    def __init__(self) -> None:
        self.longest_pause_s = 0.0  # of the thread counter during the last step
        context = multiprocessing.get_context("spawn")
        self._steps = context.Value("q", 0, lock=False)
        self._process = context.Process(
            target=_count_in_process, args=(self._steps,), name="gil-counter", daemon=True
        )

    def __enter__(self) -> _Counters:
        self._process.start()
        while not self._steps.value:
            time.sleep(0.01)
        self._process_alone = self._process_rate(lambda: time.sleep(1.0))[1]
        self._thread_alone = self._thread_rate(lambda: time.sleep(1.0))[1]
        return self

    def __exit__(self, *_: object) -> None:
        self._process.kill()
        self._process.join()

    def _process_rate(self, work: Callable[[], object]) -> tuple[float, float]:
        before, started = self._steps.value, time.perf_counter()
        work()
        took = time.perf_counter() - started
        return took, (self._steps.value - before) / took

    def _thread_rate(self, work: Callable[[], object]) -> tuple[float, float]:
        done = threading.Event()
        steps = [0]

        def count() -> None:
            n, longest, last = 0, 0.0, time.perf_counter()
            while not done.is_set():
                n += 1
                now = time.perf_counter()
                longest, last = max(longest, now - last), now
            steps[0] = n
            self.longest_pause_s = longest

        self._process_pause(True)
        counter = threading.Thread(target=count, name="gil-counter")
        counter.start()
        started = time.perf_counter()
        work()
        took = time.perf_counter() - started
        done.set()
        counter.join()
        self._process_pause(False)
        return took, steps[0] / took

    def _process_pause(self, pause: bool) -> None:
        import os
        import signal

        assert self._process.pid is not None  # started in __enter__
        os.kill(self._process.pid, signal.SIGSTOP if pause else signal.SIGCONT)

    def measure(self, work: Callable[[], object]) -> tuple[float, float, float, float]:
        """(seconds, the thread's and the process's progress against each alone, the longest
        the thread waited between two steps: what a status request waits behind the step)."""
        took, thread = self._thread_rate(work)
        pause = self.longest_pause_s
        _, process = self._process_rate(work)
        return took, thread / self._thread_alone, process / self._process_alone, pause


def gil_report(arw: Path, max_adu: int) -> list[str]:
    """Each step of our decode path (from the saved file, as the server decodes) and the share
    of it during which other Python threads could run."""
    # Copies: LibRaw's buffers die with the RawPy object.
    with rawpy.imread(str(arw)) as raw:
        visible = raw.raw_image_visible.copy()
    rgb = _demosaic(arw)
    x_major = to_x_major(visible)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("LibRaw open+unpack (rawpy)", lambda: _unpack(arw)),
        ("LibRaw open+unpack+demosaic (postprocess)", lambda: _demosaic(arw)),
        ("x-major copy of the raw frame (OpenCV)", lambda: to_x_major(visible)),
        ("x-major copy of the RGB frame (OpenCV)", lambda: to_x_major(rgb)),
        ("RGB ImageBytes payload (ndarray.tobytes)", rgb.tobytes),
        ("raw JSON ImageArray payload (orjson, in parts)", lambda: _json_payload(x_major)),
        ("decode() raw mode", lambda: decode(arw, ReadoutMode.RAW, Subframe(), max_adu)),
        ("decode() RGB mode", lambda: decode(arw, ReadoutMode.RGB, Subframe(), max_adu)),
    ]
    lines = [
        "GIL: free = share of the step during which another Python thread ran (a counter thread's"
        " progress / a counter process's; 1.00: the GIL was released); pause = the thread's "
        "longest wait"
    ]
    with _Counters() as counters:
        for name, work in steps:
            took, thread, process, pause = counters.measure(work)
            lines.append(
                f"GIL:   {name:42s} {took * 1000:6.0f} ms  free {min(1.0, thread / process):4.2f}"
                f"  pause {pause * 1000:5.0f} ms"
            )
    return lines


def _json_payload(pixels: npt.NDArray[np.uint16]) -> int:
    """What alpaca/image_payload.py sends a client that asks for JSON: every part of the Value
    text, one after the other (its size)."""
    text = JsonArrayText(pixels)
    return sum(len(text.part(index)) for index in range(text.part_count))


def _unpack(arw: Path) -> tuple[int, ...]:
    with rawpy.imread(str(arw)) as raw:
        return tuple(raw.raw_image_visible.shape)


def _demosaic(arw: Path) -> npt.NDArray[np.uint16]:
    """The RGB demosaic decode() asks LibRaw for (camera white balance, camera primaries)."""
    with rawpy.imread(str(arw)) as raw:
        rgb = raw.postprocess(
            output_bps=16, gamma=(1, 1), no_auto_bright=True, use_camera_wb=True,
            output_color=rawpy.ColorSpace.raw, user_flip=0,
        )  # fmt: skip
        return np.array(rgb, dtype=np.uint16)


def simulated_arw(model: str, folder: Path) -> tuple[Path, int]:
    """A simulated ``model`` ARW saved in ``folder``, and its MaxADU."""
    import datetime as dt

    from alpaca_sony.simulator.arw import star_field, write_arw
    from alpaca_sony.simulator.bodies import BODIES

    body = BODIES[model]
    when = dt.datetime.now(dt.UTC)
    path = folder / "gil-probe.ARW"
    path.write_bytes(write_arw(body, star_field(body, 1), exposure_s=1, iso=800, when=when))
    return path, body.sensor.max_adu


# -- the report ------------------------------------------------------------------------------------


def summary(run: LoadRun) -> list[str]:
    idle_p99 = run.p99_s("idle")
    lines = [f"{run.pollers} pollers; latency of CameraState/ImageReady/PercentCompleted GETs:"]
    for name, start, end in run.phases:
        samples = run.phase_samples(name)
        ok = [s.latency_s for s in samples if s.outcome == "ok"]
        counts = {
            k: sum(1 for s in samples if s.outcome == k) for k in ("5xx", "timeout", "failed")
        }
        p99 = _quantile(ok, 0.99) if ok else float("nan")
        ratio = "" if name == "idle" else f"  p99/idle {p99 / idle_p99:4.1f}x"
        lines.append(
            f"  {name:8s} {end - start:5.1f} s {len(samples):7d} requests"
            f"  p50 {statistics.median(ok) * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms"
            f"  max {max(ok) * 1000:7.1f} ms  5xx {counts['5xx']} timeouts {counts['timeout']}"
            f" failed {counts['failed']}{ratio}"
        )
    for frame in run.frames:
        mode = "raw" if frame.mode == RAW else "rgb"
        lines.append(
            f"  frame {mode}: {frame.width}x{frame.height}x{frame.planes} "
            f"{frame.body_bytes / 1e6:.0f} MB ImageBytes in {frame.download_s:.2f} s"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="idle and slow phase length")
    parser.add_argument("--frames", type=int, default=3, help="frames per readout mode")
    parser.add_argument("--pollers", type=int, default=16)
    parser.add_argument("--slow", default="1,8,16", help="slow downloader counts, one phase each")
    parser.add_argument("--slow-rate", type=int, default=200_000, help="bytes/s (0: stalled)")
    parser.add_argument("--threads", type=int, default=8, help="the server's waitress threads")
    parser.add_argument("--model", default="ILCE-7RM5", help="a 61 MP body by default")
    parser.add_argument("--no-gil", action="store_true", help="skip the GIL measurement")
    args = parser.parse_args()
    slow = [int(n) for n in args.slow.split(",") if n]
    print(
        f"load: {args.model}, {args.pollers} pollers, {args.frames} frames per mode, slow "
        f"downloaders {slow} at {args.slow_rate / 1000:.0f} kB/s, threads {args.threads}"
    )
    with tempfile.TemporaryDirectory(prefix="load-") as scratch:
        folder = Path(scratch)
        with server(args.model, folder, args.threads) as port:
            run = run_load(
                port, folder, args.pollers, args.seconds, args.frames, slow, args.slow_rate
            )
        print("\n".join(summary(run)), flush=True)
        if not args.no_gil:
            print("\n".join(gil_report(*simulated_arw(args.model, folder))))
    problems = run.problems()
    for problem in problems:
        print(f"FAIL: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
