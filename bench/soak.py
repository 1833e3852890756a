"""Soak (issue 9 point 4): N back-to-back exposures through the real device worker on the simulator,
on a virtual clock, with a random fault from the simulator's fault plan every few frames.

Checks, and prints: every frame the simulated camera shot is on disk as an ARW exactly once (names
unique), the worker never died nor hit an internal error, and resident memory, open file
descriptors and threads stay flat (the first window of frames against the last).

  python -m bench.soak [--frames 1000] [--seed N] [--model ILCE-7M3] [--keep DIR]

Each verified ARW is deleted once counted (an imaging program moving it off), so a night of frames
needs one frame of disk; ``--keep DIR`` keeps them all there instead.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from alpaca_sony.camera.exposure import CaptureOptions, ExposureRequest, ExposureRunner
from alpaca_sony.camera.originals import OriginalsFolder
from alpaca_sony.camera.state import CameraSnapshot, CameraState
from alpaca_sony.camera.worker import DeviceWorker, WorkerTiming
from alpaca_sony.clock import FakeClock
from alpaca_sony.devices import open_camera
from alpaca_sony.ptp.codes import OpCode
from alpaca_sony.simulator.body import BodySettings
from alpaca_sony.simulator.camera import SimulatedCamera
from alpaca_sony.simulator.pyusb_backend import SimulatorBackend
from alpaca_sony.sony.codes import SonyOp, SonyProp

log = logging.getLogger("bench.soak")

GET_ALL = SonyOp.SDIO_GET_ALL_EXT_DEVICE_PROP_INFO
CONTROL = SonyOp.SDIO_CONTROL_DEVICE
# "Flat": the last window's median RSS against the first's. The process holds one frame at a
# time (~46 MiB for the ILCE-7M3 on ~160 MiB), a frame more at a sampling moment is not a leak;
# the leak this guards against (every ARW kept) doubles RSS within ten frames.
MAX_RSS_DRIFT = 1.5
WAIT_S = 30.0  # real seconds one frame (with its fault and recovery) may take at most
SAVE_GRACE_S = 5.0  # real seconds a recovered frame may take to reach the disk


@dataclass(frozen=True)
class Fault:
    name: str
    arm: Callable[[SimulatedCamera], object]
    # Undone once the frame has settled: a condition of the link that lasts one frame.
    disarm: Callable[[SimulatedCamera], object] | None = None


def _no_limit(camera: SimulatedCamera) -> None:
    camera.faults.split_reads(None).slow_usb(None)


# Faults a night meets, armed on the camera before an exposure (occurrences as in
# tests/camera/test_fault_matrix.py: 0x9207 #2 is the S1 press, #3 S2). Left out: the corrupt
# downloads that destroy the frame itself (garbled bytes, a short data phase: tested in
# tests/alpaca/test_fault_actions.py), since every shot of the soak must reach the disk whole.
FAULTS = (
    Fault("unplug mid download", lambda c: c.faults.disconnect(OpCode.GET_OBJECT, 1, 9_000_000)),
    Fault("unplug at S2 press", lambda c: c.faults.disconnect(CONTROL, 3)),
    Fault("unplug while polling", lambda c: c.faults.disconnect(GET_ALL, 6)),
    Fault("timeout at download", lambda c: c.faults.stall(OpCode.GET_OBJECT)),
    Fault("busy burst", lambda c: c.faults.busy(5)),
    Fault("busy on download", lambda c: c.faults.busy(3, OpCode.GET_OBJECT)),
    Fault("autofocus miss", lambda c: c.faults.autofocus_miss(1)),
    Fault("stale image in the buffer", lambda c: c.body.preload_stale_images(1)),
    Fault("endpoint stall", lambda c: c.faults.stall_bulk_in()),
    Fault(
        "switched off while exposing", lambda c: c.faults.power_off_when(lambda: c.body.exposing)
    ),
    Fault("buffer full of old images", lambda c: c.body.fill_buffer()),
    Fault("download in a container of no type", lambda c: c.faults.corrupt_download("type")),
    # A USB stack handing the data over in 100 kB pieces (each short read keeps only its bytes).
    Fault("split reads", lambda c: c.faults.split_reads(100_000), _no_limit),
    Fault("USB link at 2 MB/s", lambda c: c.faults.slow_usb(2e6), _no_limit),
)


@dataclass
class Sample:
    rss_bytes: int
    fds: int
    threads: int
    camera_held_bytes: int  # file bytes the simulated camera still holds with its buffer empty


@dataclass
class SoakResult:
    frames: int
    seed: int
    shots: int  # photos the simulated camera took (stale ones included)
    faults: Counter[str]
    on_disk: Counter[int]  # ARW files seen per camera sequence number
    names_repeated: int
    missing: list[int]
    worker_deaths: int
    internal_errors: int
    samples: list[Sample] = field(repr=False)

    @property
    def duplicated(self) -> list[int]:
        return sorted(n for n, count in self.on_disk.items() if count > 1)

    def window(self) -> int:
        return max(1, min(100, len(self.samples) // 3))

    def rss_drift(self) -> float:
        w = self.window()
        first = statistics.median(s.rss_bytes for s in self.samples[:w])
        last = statistics.median(s.rss_bytes for s in self.samples[-w:])
        return last / first

    def growth(self, what: Callable[[Sample], int]) -> int:
        """How much the last window's floor exceeds the first window's: a leak raises the floor,
        while a thread or descriptor that is just ending when one sample is taken does not."""
        w = self.window()
        return min(map(what, self.samples[-w:])) - min(map(what, self.samples[:w]))

    def problems(self) -> list[str]:
        found = []
        if self.missing:
            found.append(f"frames shot but not on disk: {self.missing}")
        if self.duplicated:
            found.append(f"frames on disk more than once: {self.duplicated}")
        if self.names_repeated:
            found.append(f"{self.names_repeated} file names came back twice")
        if self.worker_deaths or self.internal_errors:
            found.append(f"worker deaths {self.worker_deaths}, errors {self.internal_errors}")
        held = max(s.camera_held_bytes for s in self.samples)
        if held:
            found.append(f"the simulated camera kept {held} bytes of files it had sent")
        if self.rss_drift() > MAX_RSS_DRIFT:
            found.append(f"resident memory grew {self.rss_drift():.2f}x")
        if self.growth(lambda s: s.fds) > 0:
            found.append(f"open file descriptors grew by {self.growth(lambda s: s.fds)}")
        if self.growth(lambda s: s.threads) > 0:
            found.append(f"threads grew by {self.growth(lambda s: s.threads)}")
        return found

    def summary(self) -> str:
        w = self.window()
        mib = 1 << 20
        first = statistics.median(s.rss_bytes for s in self.samples[:w]) / mib
        last = statistics.median(s.rss_bytes for s in self.samples[-w:]) / mib
        faults = ", ".join(f"{name} {n}" for name, n in sorted(self.faults.items()))
        return "\n".join(
            [
                f"seed {self.seed}: {self.frames} exposures, {self.shots} shots by the camera, "
                f"{sum(self.on_disk.values())} ARW on disk",
                f"faults ({sum(self.faults.values())}): {faults}",
                f"lost {len(self.missing)}, duplicated {len(self.duplicated)}, "
                f"names repeated {self.names_repeated}, worker deaths {self.worker_deaths}, "
                f"internal errors {self.internal_errors}",
                f"RSS median of frames 1-{w}: {first:.0f} MiB, of the last {w}: {last:.0f} MiB "
                f"(drift {self.rss_drift():.3f})",
                f"open fds {self.samples[0].fds} -> {self.samples[-1].fds}, threads "
                f"{self.samples[0].threads} -> {self.samples[-1].threads}",
            ]
        )


class _ErrorCounter(logging.Handler):
    """Counts the worker's 'unexpected error' reports (an exception it caught, not a fault)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def _sample(camera: SimulatedCamera) -> Sample:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return Sample(
        rss_bytes=pages * os.sysconf("SC_PAGE_SIZE"),
        fds=sum(1 for _ in Path("/proc/self/fd").iterdir()),
        threads=threading.active_count(),
        camera_held_bytes=camera.held_file_bytes,
    )


def _sequence(name: str) -> int:
    # file_stem: <when>_<model>_<sequence>_<exposure>_<iso>.ARW
    return int(re.split(r"_", name)[2])


class _Rig:
    """A device worker on a simulated body, as tests/camera/conftest.py builds one."""

    def __init__(self, folder: Path, model: str, seed: int):
        self.clock = FakeClock()
        settings = BodySettings(
            model=model, focus="AF-S", post_connect_settle_s=0.0, star_seed=seed
        )
        self.camera = SimulatedCamera(self.clock, settings)
        backend = SimulatorBackend([self.camera], self.clock, poll_interval_s=0.5)
        self.folder = folder
        runner = ExposureRunner(self.clock, CaptureOptions(), OriginalsFolder(folder, 0))
        self.worker = DeviceWorker(
            lambda: open_camera(backend, self.clock),
            self.clock,
            runner,
            WorkerTiming(idle_poll_s=0.05, reconnect_interval_s=0.01, command_timeout_s=20),
        )

    def wait_for(self, predicate: Callable[[CameraSnapshot], bool]) -> CameraSnapshot:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            snap = self.worker.snapshot()
            if predicate(snap):
                return snap
            time.sleep(0.005)  # polling a snapshot; the deadline is the only hope
        raise TimeoutError(f"the soak stalled; last snapshot: {self.worker.snapshot()}")

    def restore(self, fault: Fault | None) -> None:
        """Switch the camera back on and plug it back in, wait until everything has settled,
        then end the fault's link condition (it lasts one frame)."""
        if not self.camera.powered:
            self.camera.power_on()
        if not self.camera.attached:
            self.camera.replug()
        self.wait_for(self.settled)
        if fault is not None and fault.disarm is not None:
            fault.disarm(self.camera)

    def settled(self, snap: CameraSnapshot) -> bool:
        """Online, idle or failed, the camera's buffer empty, nothing half-saved."""
        return (
            snap.online
            and snap.state in (CameraState.IDLE, CameraState.ERROR)
            and self.camera.body.value(SonyProp.SHOOTING_FILE_INFO) == 0
            and not any(self.folder.glob(".incoming-*"))
        )


def run_soak(frames: int, seed: int, folder: Path, model: str = "ILCE-7M3", keep: bool = False
             ) -> SoakResult:  # fmt: skip
    """Shoot ``frames`` exposures with a random fault every 2-6 frames; count what reached disk."""
    rng = random.Random(seed)
    errors = _ErrorCounter()
    logging.getLogger("alpaca_sony").addHandler(errors)
    rig = _Rig(folder, model, seed)
    faults: Counter[str] = Counter()
    on_disk: Counter[int] = Counter()
    names: set[str] = set()
    kept: set[Path] = set()
    given_up: set[int] = set()
    repeated = 0
    deaths = 0
    samples: list[Sample] = []
    next_fault = rng.randint(2, 6)
    rig.worker.start()
    try:
        rig.worker.connect()
        for frame in range(1, frames + 1):
            fault = None
            if frame == next_fault:
                fault = rng.choice(FAULTS)
                fault.arm(rig.camera)
                faults[fault.name] += 1
                next_fault = frame + rng.randint(2, 6)
            rig.wait_for(lambda s: s.state in (CameraState.IDLE, CameraState.ERROR))
            rig.worker.start_exposure(ExposureRequest(rng.choice((0.5, 1.0, 2.0, 30.0))))
            rig.wait_for(lambda s: s.state in (CameraState.IDLE, CameraState.ERROR))
            rig.restore(fault)
            if not rig.worker.alive:
                deaths += 1
                break
            # A recovered file is saved after the buffer emptied: give it a moment to land (a
            # frame that never does is reported as lost below).
            deadline = time.monotonic() + SAVE_GRACE_S
            while True:
                for path in sorted(set(rig.folder.glob("*.ARW")) - kept):
                    if path.name in names:
                        repeated += 1
                    names.add(path.name)
                    on_disk[_sequence(path.name)] += 1
                    if keep:
                        kept.add(path)
                    else:
                        path.unlink()
                taken = {shot.sequence for shot in rig.camera.body.shots}
                if not taken - given_up - set(on_disk):
                    break
                if time.monotonic() > deadline:
                    given_up |= taken - set(on_disk)  # lost (unless it turns up later)
                    break
                time.sleep(0.005)
            samples.append(_sample(rig.camera))
            if frame % 100 == 0:
                log.info("frame %d: %d shots, rss %d MiB", frame, len(rig.camera.body.shots),
                         samples[-1].rss_bytes >> 20)  # fmt: skip
    finally:
        rig.worker.stop()
        logging.getLogger("alpaca_sony").removeHandler(errors)
    if rig.worker.alive:
        deaths += 1
    sequences = [s.sequence for s in rig.camera.body.shots]
    return SoakResult(
        frames=frames,
        seed=seed,
        shots=len(sequences),
        faults=faults,
        on_disk=on_disk,
        names_repeated=repeated,
        missing=sorted(set(sequences) - set(on_disk)),
        worker_deaths=deaths,
        internal_errors=errors.count,
        samples=samples,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=None, help="default: a random one (printed)")
    parser.add_argument("--model", default="ILCE-7M3")
    parser.add_argument("--keep", type=Path, default=None, help="keep every ARW in this folder")
    args = parser.parse_args()
    # The faults make the server log warnings by design: show errors only, and our progress.
    logging.basicConfig(level=logging.ERROR, format="%(message)s")
    log.setLevel(logging.INFO)
    seed = args.seed if args.seed is not None else secrets.randbelow(1 << 31)
    print(f"soak: {args.frames} frames on a simulated {args.model}, seed {seed}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
        folder = args.keep or Path(scratch)
        result = run_soak(args.frames, seed, folder, args.model, keep=args.keep is not None)
    print(result.summary())
    print(f"took {time.perf_counter() - started:.0f} s")
    problems = result.problems()
    for problem in problems:
        print(f"FAIL: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
