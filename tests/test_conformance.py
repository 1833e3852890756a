"""The project's ConformU stand-in (``conformance/``) against the server in simulator mode.

The server runs as a real process (``python -m alpaca_sony --simulator``) on a free port; the
checker talks to it over HTTP exactly as it would to any Alpaca camera. A few small tests pin
the checker's own decoding of ImageBytes and JSON image replies.
"""

from __future__ import annotations

import re
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from conformance.checker import main, run
from conformance.images import decode_imagebytes, parse_header, scan_json_image
from conformance.report import Level

ROOT = Path(__file__).resolve().parents[1]
PORT_LINE = re.compile(r"Alpaca server on http://127\.0\.0\.1:(\d+)/")


def _wait_for_port(log: Path, server: subprocess.Popen[bytes], timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = PORT_LINE.search(log.read_text(errors="replace"))
        if match:
            return int(match.group(1))
        if server.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"the server never said its port:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The simulator server on a free port. Its log goes to a file (a pipe nobody reads could
    fill up and stall the server); the process is always stopped, the file always closed."""
    folder = tmp_path_factory.mktemp("conformance")
    log = folder / "server.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "alpaca_sony", "--simulator", "--host", "127.0.0.1",
             "--port", "0", "--no-discovery", "--no-mdns", "--save-dir", str(folder / "saved")],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip
        try:
            yield f"http://127.0.0.1:{_wait_for_port(log, server)}"
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)


def test_the_simulator_server_passes_the_conformance_checks(server_url: str) -> None:
    report = run(server_url)
    sys.stdout.write(report.full_text())  # shown by pytest when the test fails
    problems = [f"{e.level.value} {e.test}: {e.message}" for e in report.problems()]
    assert not problems, "\n".join(["ISSUE/ERROR lines:", *problems])
    assert report.count(Level.ERROR) == 0
    # The checks really ran: every binning exposed, and JSON matched ImageBytes pixel for pixel.
    messages = [(e.test, e.message) for e in report.entries if e.level is Level.OK]
    exposures = [m for t, m in messages if t == "StartExposure" and "asynchronous" in m]
    assert len(exposures) == 4
    same = [t for t, m in messages if m == "the same pixels as the ImageBytes reply"]
    assert same.count("ImageArray (JSON)") == 4 and same.count("ImageArrayVariant (JSON)") == 4
    assert report.count(Level.OK) > 1000


def test_the_command_line_refuses_a_missing_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["http://127.0.0.1:9"]) == 2
    assert "no Alpaca server" in capsys.readouterr().err
    assert main(["ftp://example"]) == 2


def _imagebytes(pixels: np.ndarray, transmission: int, dtype: str) -> bytes:
    dims = [*pixels.shape, 0][:3]
    header = struct.pack("<iiIIiiiiiii", 1, 0, 7, 9, 44, 2, transmission, pixels.ndim, *dims)
    return header + pixels.astype(dtype).tobytes()


def test_imagebytes_is_decoded_from_little_endian_bytes() -> None:
    pixels = np.arange(12, dtype=np.int64).reshape(4, 3) * 1000  # X = 4 columns, Y = 3 rows
    body = _imagebytes(pixels, 8, "<u2")
    header = parse_header(body)
    assert (header.client_transaction_id, header.server_transaction_id) == (7, 9)
    assert header.shape == (4, 3) and header.dotnet_decodable()
    assert np.array_equal(decode_imagebytes(body, header), pixels)
    with pytest.raises(ValueError, match="data bytes"):
        decode_imagebytes(body[:-1], header)


def test_json_images_are_scanned_without_building_lists() -> None:
    body = b'{"Type":2,"Rank":2,"Value":[[1, 2, 3],[4,5,6]],"ErrorNumber":0,"ErrorMessage":""}'
    image = scan_json_image(body)
    assert image.shape == (2, 3) and image.integral and image.pixels is not None
    assert image.pixels.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert image.envelope["Rank"] == 2 and image.envelope["Value"] is None
    rank3 = scan_json_image(b'{"Value":[[[1,2,3],[4,5,6]],[[7,8,9],[1,2,3]]],"Type":2}')
    assert rank3.shape == (2, 2, 3) and rank3.pixels is not None
    assert rank3.pixels[1, 0].tolist() == [7, 8, 9]
    ragged = scan_json_image(b'{"Value":[[1,2],[3]]}')
    assert ragged.ragged and ragged.pixels is None
