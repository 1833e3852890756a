"""Load on a real server on loopback (issue 9 point 5), behaviour only: sixteen status pollers
meet no error while frames shoot and download in raw and RGB mode, and downloaders that stop
reading hold no worker thread, so every other client's status requests still answer.

The timed version, with 61 MP frames and the p99 ratios, is ``python -m bench.load`` (figures in
the README).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from alpaca_sony.config import ServerSettings
from bench.load import RAW, RGB, AlpacaClient, Pollers, SlowDownloader, shoot

ANSWER_TIMEOUT_S = 30.0  # generous: "answers at all", no timing claim
THREADS = ServerSettings().threads  # waitress's worker threads, as shipped


def test_sixteen_pollers_meet_no_error_while_raw_and_rgb_frames_shoot_and_download(
    serve: Callable[..., int], tmp_path: Path
) -> None:
    port = serve(connections_per_client=40)  # every client here comes from 127.0.0.1
    control, download = AlpacaClient(port), AlpacaClient(port)
    control.put("connected", "Connected=True")
    width, height = control.value("cameraxsize"), control.value("cameraysize")
    pollers = Pollers(port, 16, ANSWER_TIMEOUT_S)
    pollers.start()
    try:
        frames = []
        for mode in (RAW, RGB):
            control.put("readoutmode", f"ReadoutMode={mode}")
            frames.append(shoot(control, download, mode, tmp_path))  # checks each is whole
        during = len(pollers.samples)
    finally:
        pollers.stop()
        control.close()
        download.close()
    assert [(f.width, f.height, f.planes) for f in frames] == [
        (width, height, 1),
        (width, height, 3),
    ]
    assert during >= 16 * 3  # every poller went round while the frames shot
    outcomes = Counter(sample.outcome for sample in pollers.samples)
    assert outcomes == {"ok": len(pollers.samples)}  # no 5xx, no failure, no timeout


def test_downloaders_that_stop_reading_hold_no_worker_thread(
    serve: Callable[..., int], tmp_path: Path
) -> None:
    port = serve(connections_per_client=40)
    control, download = AlpacaClient(port), AlpacaClient(port)
    control.put("connected", "Connected=True")
    frame = shoot(control, download, RAW, tmp_path)
    # As many stalled downloads as the server has worker threads, each answered (its headers
    # arrived) and then left unread: far more than the socket buffers hold is still to go.
    stalled = [SlowDownloader(port, rate=0) for _ in range(THREADS)]
    try:
        for client in stalled:
            assert client.headers_seen.wait(ANSWER_TIMEOUT_S), "a download was never answered"
        assert all(not client.finished.is_set() for client in stalled)
        # Meanwhile another client's status requests are answered, one after another.
        try:
            states = [control.value("camerastate") for _ in range(20)]
        except TimeoutError:
            pytest.fail("a status request waited behind the stalled downloads")
        assert states == [0] * 20  # Idle
        assert all(not client.finished.is_set() for client in stalled)  # still stalled
        for client in stalled:
            client.resume()
        for client in stalled:
            assert client.finished.wait(ANSWER_TIMEOUT_S), "a resumed download did not finish"
            assert client.body_bytes == client.content_length == frame.body_bytes
    finally:
        for client in stalled:
            client.stop()
        control.close()
        download.close()
