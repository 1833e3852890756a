"""RGB decode speed (issue 10): the fast path against LibRaw's AHD and against raw mode.

For a 24 MP (ILCE-7M3) and a 61 MP (ILCE-7RM4) star field, each trial decodes the same ARW in
every way, one after the other (so machine load hits all alike). The targets are judged on each
way's fastest trial (the one least disturbed by other processes on a shared machine); medians are
printed beside them:

  RGB (the default algorithm) >= 10x faster than LibRaw's AHD (the default before it);
  RGB <= 3x the raw-mode decode (x-major mosaic, Bayer offsets).

Bilinear, edge-aware and the half-size superpixel are printed beside them.

  python -m bench.rgb_decode [--trials N] [--model ILCE-7M3 ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable

from alpaca_sony.camera.decode import DecodeOptions, ReadoutMode, Subframe, decode
from alpaca_sony.simulator.arw import star_field, write_arw
from alpaca_sony.simulator.bodies import BODIES

TARGET_VS_AHD = 10.0  # at least this many times faster
TARGET_VS_RAW = 3.0  # at most this many times the raw-mode time


def _runs(data: bytes, max_adu: int) -> dict[str, Callable[[], object]]:
    default = DecodeOptions().algorithm
    return {
        "raw": lambda: decode(data, ReadoutMode.RAW, Subframe(), max_adu),
        f"rgb {default} (default)": lambda: decode(data, ReadoutMode.RGB, Subframe(), max_adu),
        "rgb EA": lambda: decode(
            data, ReadoutMode.RGB, Subframe(), max_adu, DecodeOptions(algorithm="EA")
        ),
        "rgb BILINEAR": lambda: decode(
            data, ReadoutMode.RGB, Subframe(), max_adu, DecodeOptions(algorithm="BILINEAR")
        ),
        "rgb half (superpixel)": lambda: decode(data, ReadoutMode.RGB_HALF, Subframe(), max_adu),
        "rgb LibRaw AHD": lambda: decode(
            data, ReadoutMode.RGB, Subframe(), max_adu, DecodeOptions(algorithm="AHD")
        ),
    }


def bench_model(model_name: str, trials: int) -> bool:
    model = BODIES[model_name]
    data = write_arw(
        model, star_field(model, 1), exposure_s=1, iso=800, when=dt.datetime.now(dt.UTC)
    )
    runs = _runs(data, model.sensor.max_adu)
    for run in runs.values():  # warm-up: LibRaw's and OpenCV's first-call set-up
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(trials):
        for name, run in runs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    best = {name: min(values) for name, values in times.items()}
    megapixels = model.sensor.visible_width * model.sensor.visible_height / 1e6
    default = next(name for name in best if name.endswith("(default)"))
    raw, ahd = best["raw"], best["rgb LibRaw AHD"]
    sys.stdout.write(
        f"{model_name} ({megapixels:.0f} MP), wall time: fastest of {trials} (median), "
        f"CPU time of all threads: fastest\n"
    )
    for name, seconds in best.items():
        median = statistics.median(times[name])
        sys.stdout.write(
            f"  {name:24s} {seconds * 1000:6.0f} ms ({median * 1000:6.0f})  "
            f"{seconds / raw:5.2f}x raw  {ahd / seconds:5.1f}x faster than AHD  "
            f"cpu {min(cpu[name]) * 1000:6.0f} ms\n"
        )
    vs_ahd, vs_raw = ahd / best[default], best[default] / raw
    ok = vs_ahd >= TARGET_VS_AHD and vs_raw <= TARGET_VS_RAW
    sys.stdout.write(
        f"  default RGB: {vs_ahd:.1f}x faster than AHD (target >= {TARGET_VS_AHD:.0f}x), "
        f"{vs_raw:.2f}x raw mode (target <= {TARGET_VS_RAW:.0f}x): {'met' if ok else 'MISSED'}\n"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--model", nargs="*", default=["ILCE-7M3", "ILCE-7RM4"])
    args = parser.parse_args()
    results = [bench_model(model, args.trials) for model in args.model]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
