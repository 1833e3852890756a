"""Benchmark: a 48 MB ARW downloaded through the PTP layer vs one raw bulk read of the same bytes.

Both run in the same process over the same seam, interleaved, so machine noise hits both alike:
  * pyusb: the simulator's pyusb backend (target: PTP >= 90 % of raw throughput);
  * umockdev: the real libusb under umockdev (target: >= 80 %), in a child process that runs
    under umockdev-wrapper.

    python -m bench.ptp_download [--seam pyusb|umockdev|both] [--trials 7]
"""

from __future__ import annotations

import argparse
import array
import logging
import statistics
import subprocess
import sys
import time
from typing import Any

from alpaca_sony.clock import SystemClock
from alpaca_sony.ptp.codes import OpCode
from alpaca_sony.ptp.session import PtpSession
from alpaca_sony.simulator.body import BodySettings
from alpaca_sony.simulator.camera import SimulatedCamera
from alpaca_sony.sony.codes import CAPTURED_IMAGE_HANDLE
from alpaca_sony.sony.protocol import SonyCamera
from alpaca_sony.transport.usb import UsbTransport

TARGETS = {"pyusb": 0.90, "umockdev": 0.80}
log = logging.getLogger("bench")


def _camera(trials: int) -> SimulatedCamera:
    settings = BodySettings(model="ILCE-7M3", post_connect_settle_s=0.0, ext_info_empty_answers=0)
    camera = SimulatedCamera(SystemClock(), settings)
    camera.body.preload_stale_images(trials)
    return camera


def _measure(
    camera: SimulatedCamera, built: list[bytearray], device: Any, trials: int
) -> tuple[float, float, int]:
    """Median seconds of a PTP GetObject and of a raw read of the same container; and its size.

    ``built`` holds the container the camera built last (see ``_keep_containers``)."""
    transport = UsbTransport.open(device)
    sony = SonyCamera(PtpSession(transport), SystemClock())
    sony.connect()
    endpoint = transport._bulk_in  # the raw read uses the very endpoint the PTP layer uses
    packet = transport.max_packet_size
    ptp_times: list[float] = []
    raw_times: list[float] = []
    size = 0
    for _ in range(trials):
        info = sony.get_object_info()  # renders the file before the clock starts
        start = time.perf_counter()
        _, payload = sony.session.transaction(OpCode.GET_OBJECT, (CAPTURED_IMAGE_HANDLE,))
        ptp_times.append(time.perf_counter() - start)
        assert len(payload) == info.compressed_size
        container = built[-1]
        size = len(container)
        camera.queue_raw_transfer(container)
        start = time.perf_counter()
        buffer = array.array("B", (0,)) * (-(-(size + 1) // packet) * packet)
        count = endpoint.read(buffer, 30_000)
        raw_times.append(time.perf_counter() - start)
        assert count == size
    transport.close()
    return statistics.median(ptp_times), statistics.median(raw_times), size


def _report(seam: str, ptp_s: float, raw_s: float, size: int) -> bool:
    ptp_rate, raw_rate = size / ptp_s / 1e6, size / raw_s / 1e6
    ratio = ptp_rate / raw_rate
    ok = ratio >= TARGETS[seam]
    sys.stdout.write(
        f"{seam:9s} {size / 1e6:.1f} MB  PTP GetObject {ptp_rate:8.1f} MB/s  "
        f"raw bulk read {raw_rate:8.1f} MB/s  ratio {ratio:.3f}  "
        f"(target >= {TARGETS[seam]:.2f}: {'met' if ok else 'MISSED'})\n"
    )
    return ok


def run_pyusb(trials: int) -> bool:
    from alpaca_sony.simulator.pyusb_backend import SimulatorBackend
    from alpaca_sony.transport.usb import find_sony_devices

    camera = _camera(trials)
    built = _keep_containers(camera)
    device = next(find_sony_devices(SimulatorBackend([camera])))
    return _report("pyusb", *_measure(camera, built, device, trials))


def run_umockdev(trials: int) -> bool:
    from testing.umockdev.environment import ensure_preloaded
    from testing.umockdev.harness import UmockdevHarness

    ensure_preloaded()  # re-executes this script under umockdev-wrapper if needed
    camera = _camera(trials)
    built = _keep_containers(camera)
    with UmockdevHarness(camera) as harness:
        return _report("umockdev", *_measure(camera, built, harness.find(), trials))


def _keep_containers(camera: SimulatedCamera) -> list[bytearray]:
    """Remember each downloaded container so the raw read can replay exactly the same bytes."""
    original = camera._container
    built: list[bytearray] = []

    def container(file: Any) -> bytearray:
        built[:] = [original(file)]
        return built[0]

    camera._container = container  # type: ignore[method-assign]
    return built


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seam", choices=("pyusb", "umockdev", "both"), default="both")
    parser.add_argument("--trials", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.seam == "pyusb":
        return 0 if run_pyusb(args.trials) else 1
    if args.seam == "umockdev":
        return 0 if run_umockdev(args.trials) else 1
    ok = run_pyusb(args.trials)
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.ptp_download",
            "--seam",
            "umockdev",
            "--trials",
            str(args.trials),
        ],
        check=False,
    )
    return 0 if ok and child.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
