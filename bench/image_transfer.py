"""Benchmark: a 24 MP frame from server to a client-side numpy array.

Measured in one run, each the median of several downloads:
  ours      alpaca-sony (waitress, simulator mode, in its own process) over ImageBytes;
  socket    the same byte count over a bare loopback TCP socket between two Python processes;
  baseline  a typical Python Alpaca server (Falcon on waitress, in its own process) answering
            with ``json.dumps(img.T.tolist())``, the client parsing JSON into numpy.
Targets: ours <= 1.5x socket; ours >= 10x faster than baseline; our JSON payload built >= 5x
faster than the baseline's ``json.dumps`` on the server side.

    python -m bench.image_transfer [--trials N]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

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
        assert len(stream) == length
        ours_s.append(time.perf_counter() - start)
    image = pixels.T.astype(np.int32)
    for _ in range(max(2, trials // 3)):
        start = time.perf_counter()
        json.dumps({"Value": image.T.tolist()})
        theirs_s.append(time.perf_counter() - start)
    return statistics.median(ours_s), statistics.median(theirs_s)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "socket-sender":
        _socket_sender(int(sys.argv[2]), int(sys.argv[3]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "baseline-server":
        _baseline_server(int(sys.argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    ours_s = statistics.median(ours(args.trials))
    socket_s = statistics.median(bare_socket(args.trials))
    baseline_s = statistics.median(baseline(max(2, args.trials // 2)))
    json_ours, json_theirs = server_side_json(3)
    checks = [
        ("ImageBytes vs bare socket", ours_s / socket_s, "<=", 1.5),
        ("speed-up over json.dumps(img.T.tolist()) server", baseline_s / ours_s, ">=", 10.0),
        ("server-side JSON speed-up", json_theirs / json_ours, ">=", 5.0),
    ]
    sys.stdout.write(
        f"24 MP frame ({IMAGE_BYTES / 1e6:.1f} MB as uint16), medians: ours ImageBytes "
        f"{ours_s * 1000:.0f} ms, bare socket {socket_s * 1000:.0f} ms, typical JSON server "
        f"{baseline_s * 1000:.0f} ms; server-side JSON build: ours {json_ours * 1000:.0f} ms, "
        f"json.dumps {json_theirs * 1000:.0f} ms\n"
    )
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
