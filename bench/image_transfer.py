"""Benchmark: a 24 MP frame from server to a client-side numpy array, and a big JSON ImageArray.

Measured in one run, each the median of several downloads:
  ours      alpaca-sony (waitress, simulator mode, in its own process) over ImageBytes;
  socket    the same byte count over a bare loopback TCP socket between two Python processes;
  baseline  a typical Python Alpaca server (Falcon on waitress, in its own process) answering
            with ``json.dumps(img.T.tolist())``, the client parsing JSON into numpy.
Targets: ours <= 1.5x socket; ours >= 10x faster than baseline; our JSON payload built >= 5x
faster than the baseline's ``json.dumps`` on the server side.

JSON download (``--json 61rgb``, the default; ``24raw`` is quicker): a 61 MP RGB frame (9504 x
6336 x 3, uint16, every value drawn from 0..65535: 1.2 GB of text) served as a JSON ImageArray
by our ImagePayloads (parts made as the client reads) and, side by side in the same run, by the
whole-dump way it replaced (one orjson.dumps of the array on the first request, kept), each by
waitress in a process of its own: the server's peak RSS above its idle RSS (frame already built)
during a first and a second download, the wall time of each, and the longest pause of a Python
thread in the server that wants to run every millisecond (how long anything else, the camera
worker too, can wait for the GIL). Both bodies must be the same bytes. Targets: parts peak
<= 0.1x the frame; the longest pause <= 100 ms.

    python -m bench.image_transfer [--trials N] [--json 61rgb|24raw|off]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

WIDTH, HEIGHT = 6024, 4024  # ILCE-7M3 visible raw area, as the simulator serves it
IMAGE_BYTES = WIDTH * HEIGHT * 2
HEADERS = {"Accept": "application/imagebytes"}
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, headers: dict[str, str] | None = None) -> bytes:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=120) as reply:  # noqa: S310
        return bytes(reply.read())


def _put(url: str, body: str) -> None:
    request = urllib.request.Request(url, data=body.encode(), method="PUT")  # noqa: S310
    with urllib.request.urlopen(request, timeout=60):  # noqa: S310
        pass


def _wait_http(url: str) -> None:
    for _ in range(600):
        try:
            _get(url)
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} never answered")


# -- our server -----------------------------------------------------------------------------------


def ours(trials: int) -> list[float]:
    port = _free_port()
    save_dir = str(Path(tempfile.gettempdir()) / "alpaca-bench")
    server = subprocess.Popen(
        [sys.executable, "-m", "alpaca_sony", "--simulator", "--host", "127.0.0.1", "--port",
         str(port), "--no-discovery", "--no-mdns", "--save-dir", save_dir,
         "--log-level", "WARNING"],
        cwd=ROOT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/api/v1/camera/0"
    try:
        _wait_http(f"{base}/interfaceversion")
        _put(f"{base}/connected", "Connected=True")
        _put(f"{base}/startexposure", "Duration=0.01&Light=true")
        while json.loads(_get(f"{base}/imageready"))["Value"] is not True:
            time.sleep(0.1)
        times = []
        for _ in range(trials):
            start = time.perf_counter()
            body = _get(f"{base}/imagearray", HEADERS)
            pixels = np.frombuffer(body, dtype="<u2", offset=44).reshape(WIDTH, HEIGHT)
            times.append(time.perf_counter() - start)
            assert pixels.shape == (WIDTH, HEIGHT)
        return times
    finally:
        server.terminate()
        server.wait(30)


# -- bare socket ----------------------------------------------------------------------------------


def _socket_sender(port: int, trials: int) -> None:
    payload = bytes(IMAGE_BYTES)
    with socket.create_server(("127.0.0.1", port)) as listener:
        for _ in range(trials):
            connection, _ = listener.accept()
            with connection:
                connection.sendall(payload)


def bare_socket(trials: int) -> list[float]:
    port = _free_port()
    sender = subprocess.Popen(
        [sys.executable, __file__, "socket-sender", str(port), str(trials)], cwd=ROOT
    )
    try:
        times = []
        for _ in range(trials):
            for _attempt in range(200):
                try:
                    connection = socket.create_connection(("127.0.0.1", port))
                    break
                except OSError:
                    time.sleep(0.02)
            start = time.perf_counter()
            buffer = bytearray(IMAGE_BYTES)
            view = memoryview(buffer)
            received = 0
            with connection:
                while received < IMAGE_BYTES:
                    count = connection.recv_into(view[received:])
                    if not count:
                        break
                    received += count
            pixels = np.frombuffer(buffer, dtype="<u2").reshape(WIDTH, HEIGHT)
            times.append(time.perf_counter() - start)
            assert received == IMAGE_BYTES
            assert pixels.shape == (WIDTH, HEIGHT)
        return times
    finally:
        sender.wait(30)


# -- the typical Python Alpaca server -------------------------------------------------------------


def _baseline_server(port: int) -> None:
    import falcon
    from waitress import serve

    image = np.random.default_rng(1).integers(0, 16383, (HEIGHT, WIDTH), dtype=np.int32)

    class ImageArray:
        def on_get(self, _req: falcon.Request, resp: falcon.Response) -> None:
            body = {"Type": 2, "Rank": 2, "Value": image.T.tolist(), "ClientTransactionID": 0,
                    "ServerTransactionID": 1, "ErrorNumber": 0, "ErrorMessage": ""}  # fmt: skip
            resp.text = json.dumps(body)

    app = falcon.App()
    app.add_route("/api/v1/camera/0/imagearray", ImageArray())
    serve(app, host="127.0.0.1", port=port, threads=4, _quiet=True)


def baseline(trials: int) -> list[float]:
    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "baseline-server", str(port)], cwd=ROOT)
    url = f"http://127.0.0.1:{port}/api/v1/camera/0/imagearray"
    try:
        _wait_http(url)
        times = []
        for _ in range(trials):
            start = time.perf_counter()
            pixels = np.asarray(json.loads(_get(url))["Value"], dtype=np.int32)
            times.append(time.perf_counter() - start)
            assert pixels.shape == (WIDTH, HEIGHT)
        return times
    finally:
        server.terminate()
        server.wait(30)


def server_side_json(trials: int) -> tuple[float, float]:
    """Seconds to build one JSON image body: ours (orjson, x-major) vs json.dumps(T.tolist())."""
    from alpaca_sony.alpaca.image_payload import ImagePayloads
    from alpaca_sony.camera.decode import DecodedFrame

    rng = np.random.default_rng(1)
    pixels = np.ascontiguousarray(rng.integers(0, 16383, (WIDTH, HEIGHT), dtype=np.uint16))
    frame = DecodedFrame(pixels, 0, 0, 16383)
    ours_s, theirs_s = [], []
    for number in range(trials):
        start = time.perf_counter()
        length, stream = ImagePayloads().json(number, frame, 1, 1)
        made = 0
        while part := stream.read(1 << 20):  # the parts are made as they are read
            made += len(part)
        assert made == length
        ours_s.append(time.perf_counter() - start)
    image = pixels.T.astype(np.int32)
    for _ in range(max(2, trials // 3)):
        start = time.perf_counter()
        json.dumps({"Value": image.T.tolist()})
        theirs_s.append(time.perf_counter() - start)
    return statistics.median(ours_s), statistics.median(theirs_s)


# -- a big JSON ImageArray: made in parts vs dumped whole -----------------------------------------

JSON_FRAMES = {"61rgb": (9504, 6336, 3), "24raw": (6024, 4024)}  # ILCE-7RM4 RGB, ILCE-7M3 raw


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


class _PauseProbe:
    """A Python thread that sleeps 1 ms at a time: its longest step beyond that is the longest
    any thread in this process waited for the GIL (or, on a loaded machine, for a CPU)."""

    def __init__(self) -> None:
        self.longest_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pause-probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            time.sleep(0.001)
            self.longest_s = max(self.longest_s, time.perf_counter() - start - 0.001)

    def reset(self) -> None:
        self.longest_s = 0.0


class _WholeDump:
    """What alpaca/image_payload.py did before: the whole Value text in one orjson.dumps on the
    first request, kept for the image's later downloads."""

    def __init__(self) -> None:
        self._value: bytes | None = None

    def json(self, _number: int, frame: Any, client_tid: int, server_tid: int) -> tuple[int, Any]:
        import orjson

        from alpaca_sony.alpaca.image_payload import PayloadStream

        if self._value is None:
            self._value = orjson.dumps(frame.pixels, option=orjson.OPT_SERIALIZE_NUMPY)
        prefix = b'{"Type":2,"Rank":%d,"Value":' % frame.pixels.ndim
        suffix = (
            b',"ClientTransactionID":%d,"ServerTransactionID":%d,"ErrorNumber":0,'
            b'"ErrorMessage":""}' % (client_tid, server_tid)
        )
        stream = PayloadStream(prefix, self._value, suffix)
        return len(stream), stream


def _json_server(way: str, port: int, shape: tuple[int, ...]) -> None:
    """Serves one random frame's JSON ImageArray the given way, as the Alpaca app does (a file
    body through waitress); /reset starts a measurement, /stats reports it."""
    import falcon

    from alpaca_sony.alpaca.image_payload import ImagePayloads
    from alpaca_sony.camera.decode import DecodedFrame
    from alpaca_sony.config import ServerSettings
    from alpaca_sony.http_server import HttpServer

    pixels = np.random.default_rng(1).integers(0, 65536, shape, dtype=np.uint16)
    frame = DecodedFrame(pixels, None, None, 65535)
    payloads = ImagePayloads() if way == "parts" else _WholeDump()
    probe = _PauseProbe()
    idle_kb = 0

    class Image:
        def on_get(self, _req: falcon.Request, resp: falcon.Response) -> None:
            length, stream = payloads.json(1, frame, 1, 2)
            resp.content_type = "application/json"
            resp.content_length = length
            resp.stream = stream

    class Reset:
        def on_get(self, _req: falcon.Request, resp: falcon.Response) -> None:
            nonlocal idle_kb
            Path("/proc/self/clear_refs").write_text("5")  # VmHWM starts again from VmRSS
            idle_kb = _status_kb("VmRSS")
            probe.reset()
            resp.text = "ok"

    class Stats:
        def on_get(self, _req: falcon.Request, resp: falcon.Response) -> None:
            peak = (_status_kb("VmHWM") - idle_kb) * 1024
            resp.media = {"peak_bytes": peak, "longest_pause_s": probe.longest_s}

    app = falcon.App()
    app.add_route("/imagearray", Image())
    app.add_route("/reset", Reset())
    app.add_route("/stats", Stats())
    server = HttpServer(app, ServerSettings(host="127.0.0.1", port=port, threads=4))
    server.start()
    sys.stdin.read()  # serves until the bench closes our stdin
    server.stop()


def _json_download(port: int) -> tuple[float, int, str]:
    """(seconds, bytes, sha256) of one JSON ImageArray download, read as it arrives."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    digest = hashlib.sha256()
    start = time.perf_counter()
    connection.request("GET", "/imagearray")
    reply = connection.getresponse()
    length = int(reply.getheader("Content-Length") or -1)
    received = 0
    while chunk := reply.read(1 << 20):
        digest.update(chunk)
        received += len(chunk)
    took = time.perf_counter() - start
    connection.close()
    if received != length:
        raise RuntimeError(f"{received} bytes arrived, Content-Length said {length}")
    return took, received, digest.hexdigest()


def json_download(way: str, shape: tuple[int, ...]) -> list[tuple[float, int, float, str, int]]:
    """A first and a second download from a server serving ``way``: for each (seconds, peak RSS
    above idle in bytes, longest pause in seconds, sha256, bytes)."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.image_transfer", "json-server", way, str(port),
         *map(str, shape)],
        cwd=ROOT, stdin=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{base}/reset")
        downloads = []
        for _ in range(2):
            _get(f"{base}/reset")
            took, size, digest = _json_download(port)
            stats = json.loads(_get(f"{base}/stats"))
            downloads.append((took, stats["peak_bytes"], stats["longest_pause_s"], digest, size))
        return downloads
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(60)


def json_report(frame_name: str) -> tuple[list[str], list[tuple[str, float, str, float]]]:
    """The JSON download's figure lines and its checks."""
    shape = JSON_FRAMES[frame_name]
    frame_bytes = int(np.prod(shape)) * 2
    parts = json_download("parts", shape)
    whole = json_download("whole", shape)
    if {d[3] for d in parts + whole} != {parts[0][3]}:
        raise RuntimeError("the parts and the whole dump sent different bytes")
    size = parts[0][4]
    lines = [
        f"JSON ImageArray of a {frame_name} frame {shape} ({frame_bytes / 1e6:.0f} MB as uint16, "
        f"{size / 1e9:.2f} GB of text, identical bytes both ways):"
    ]
    for label, runs in (("parts (ours)", parts), ("whole dump (before)", whole)):
        for which, (took, peak, pause, *_) in zip(("first", "second"), runs, strict=True):
            lines.append(
                f"  {label:20s} {which:6s} download {took:6.2f} s, peak RSS above idle "
                f"{peak / 1e6:7.0f} MB ({peak / frame_bytes:4.2f}x the frame), longest pause "
                f"{pause * 1000:6.0f} ms"
            )
    peak_parts = max(parts[0][1], parts[1][1], 1)
    lines.append(
        f"  whole / parts: peak RSS {max(whole[0][1], 1) / peak_parts:.0f}x, first download "
        f"time {whole[0][0] / parts[0][0]:.2f}x, longest pause "
        f"{whole[0][2] / max(parts[0][2], parts[1][2], 1e-6):.0f}x"
    )
    checks = [
        ("JSON parts peak RSS / frame", peak_parts / frame_bytes, "<=", 0.1),
        ("JSON parts longest pause (ms)", 1000 * max(parts[0][2], parts[1][2]), "<=", 100.0),
    ]
    return lines, checks


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "socket-sender":
        _socket_sender(int(sys.argv[2]), int(sys.argv[3]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "baseline-server":
        _baseline_server(int(sys.argv[2]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "json-server":
        _json_server(sys.argv[2], int(sys.argv[3]), tuple(int(n) for n in sys.argv[4:]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--json", choices=[*JSON_FRAMES, "off"], default="61rgb")
    parser.add_argument("--json-only", action="store_true", help="only the JSON download")
    args = parser.parse_args()
    json_lines, json_checks = json_report(args.json) if args.json != "off" else ([], [])
    if args.json_only:
        return _report(json_lines, json_checks)
    ours_s = statistics.median(ours(args.trials))
    socket_s = statistics.median(bare_socket(args.trials))
    baseline_s = statistics.median(baseline(max(2, args.trials // 2)))
    json_ours, json_theirs = server_side_json(3)
    checks: list[tuple[str, float, str, float]] = [
        ("ImageBytes vs bare socket", ours_s / socket_s, "<=", 1.5),
        ("speed-up over json.dumps(img.T.tolist()) server", baseline_s / ours_s, ">=", 10.0),
        ("server-side JSON speed-up", json_theirs / json_ours, ">=", 5.0),
    ]
    line = (
        f"24 MP frame ({IMAGE_BYTES / 1e6:.1f} MB as uint16), medians: ours ImageBytes "
        f"{ours_s * 1000:.0f} ms, bare socket {socket_s * 1000:.0f} ms, typical JSON server "
        f"{baseline_s * 1000:.0f} ms; server-side JSON build: ours {json_ours * 1000:.0f} ms, "
        f"json.dumps {json_theirs * 1000:.0f} ms"
    )
    return _report([line, *json_lines], checks + json_checks)


def _report(lines: list[str], checks: list[tuple[str, float, str, float]]) -> int:
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    ok = True
    for name, ratio, op, target in checks:
        met = ratio <= target if op == "<=" else ratio >= target
        ok &= met
        sys.stdout.write(
            f"  {name}: {ratio:.2f} (target {op} {target}): {'met' if met else 'MISSED'}\n"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
