"""Image downloads in ConformU's methods group: ImageArray and ImageArrayVariant fetched as
ImageBytes (header, element types, rank, X-first dimensions, exact length) and, beyond ConformU,
as JSON too, with the JSON pixels required to equal the ImageBytes pixels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from conformance.alpaca import HTTP_FAILURE, error_name, result_from
from conformance.camera.probe import Probe
from conformance.images import (
    decode_imagebytes,
    element_name,
    imagebytes_error_message,
    imagebytes_problems,
    parse_header,
    scan_json_image,
)
from conformance.wire import Reply, WireError

IMAGEBYTES_ACCEPT = {"Accept": "application/imagebytes, application/json"}
JSON_ACCEPT = {"Accept": "application/json"}
SMALL_JSON_BYTES = 100_000  # below this a JSON image reply is parsed whole for its error number
JSON_ENVELOPE_KEYS = (
    "Type",
    "Rank",
    "Value",
    "ClientTransactionID",
    "ServerTransactionID",
    "ErrorNumber",
    "ErrorMessage",
)


@dataclass
class ImageFetch:
    """One image download and the ASCOM error number it carried (0: an image)."""

    reply: Reply | None
    error: int = 0


def fetch_image(probe: Probe, member: str, headers: dict[str, str], test: str) -> ImageFetch:
    """GET an image; its ASCOM error number comes from the JSON or the ImageBytes header."""
    try:
        reply = probe.cam.get_reply(member, headers)
    except WireError as exc:
        probe.report.error(test, f"download failed: {exc}")
        return ImageFetch(None)
    if reply.elapsed > probe.wait_s:
        probe.report.error(
            test,
            f"INSTABILITY WARNING: the download took {reply.elapsed:.1f} "
            f"s, beyond ConformU's {probe.wait_s:g} s limit",
        )
    if reply.status != 200:
        return ImageFetch(reply, error=HTTP_FAILURE)
    if reply.is_imagebytes:
        try:
            header = parse_header(reply.body)
        except ValueError as exc:
            probe.report.issue(test, f"unreadable ImageBytes reply: {exc}")
            return ImageFetch(reply, error=HTTP_FAILURE)
        return ImageFetch(reply, error=header.error_number)
    if len(reply.body) < SMALL_JSON_BYTES:
        return ImageFetch(reply, error=result_from(member, reply).error)
    return ImageFetch(reply)


def check_image(probe: Probe, member: str, num_x: int, num_y: int) -> None:
    """The image of the exposure just taken, NumX x NumY, over ImageBytes and over JSON."""
    binary = _check_imagebytes(probe, member, num_x, num_y)
    _check_json_image(probe, member, num_x, num_y, binary)


def _expected_rank(probe: Probe) -> int:
    return 3 if probe.facts.sensor_type == 1 else 2


def _check_dimensions(
    probe: Probe, test: str, shape: tuple[int, ...], num_x: int, num_y: int
) -> bool:
    if shape[:2] == (num_x, num_y):
        return True
    if shape[:2] == (num_y, num_x):
        probe.report.issue(
            test,
            f"image dimensions swapped: expected {num_x} x {num_y}, got {shape[0]} x {shape[1]}",
        )
    else:
        probe.report.issue(
            test,
            f"image does not have the expected dimensions {num_x} x "
            f"{num_y}: got {' x '.join(map(str, shape))}",
        )
    return False


def _check_imagebytes(probe: Probe, member: str, num_x: int, num_y: int) -> np.ndarray | None:
    test = f"{member} (ImageBytes)"
    fetch = fetch_image(probe, member, IMAGEBYTES_ACCEPT, test)
    reply = fetch.reply
    if reply is None:
        return None
    if not reply.is_imagebytes:
        probe.report.info(test, f"ImageBytes was offered but the reply is {reply.content_type!r}")
        return None
    header = parse_header(reply.body)
    problems = []
    if header.metadata_version != 1:
        problems.append(f"metadata version {header.metadata_version}, expected 1")
    if header.error_number != 0:
        message = imagebytes_error_message(reply.body, header)
        probe.report.issue(
            test, f"error instead of an image: {error_name(header.error_number)}: {message}"
        )
        return None
    sent = probe.cam.last_transaction
    if header.client_transaction_id != sent:
        problems.append(f"ClientTransactionID {header.client_transaction_id}, sent {sent}")
    if header.server_transaction_id < 1:
        problems.append(f"ServerTransactionID {header.server_transaction_id}")
    problems += imagebytes_problems(reply.body, header, variant=member.endswith("Variant"))
    if header.rank != _expected_rank(probe):
        problems.append(
            f"Rank {header.rank} for sensor type {probe.facts.sensor_type}, expected "
            f"{_expected_rank(probe)}"
        )
    for problem in problems:
        probe.report.issue(test, problem)
    if problems or not _check_dimensions(probe, test, header.shape, num_x, num_y):
        return None
    pixels = decode_imagebytes(reply.body, header)
    _judge_pixels(probe, test, pixels)
    probe.report.ok(
        test,
        f"{element_name(header.image_element_type)} sent as "
        f"{element_name(header.transmission_element_type)}, "
        f"{' x '.join(map(str, header.shape))}, {len(reply.body)} bytes in "
        f"{reply.elapsed * 1000:.0f} ms",
    )
    return pixels


def _judge_pixels(probe: Probe, test: str, pixels: np.ndarray) -> None:
    if pixels.size == 0:
        return
    low, high = pixels.min(), pixels.max()
    max_adu = probe.facts.max_adu
    if low < 0 or (max_adu and high > max_adu):
        probe.report.info(test, f"pixel values {low}..{high} fall outside 0..MaxADU ({max_adu})")


def _check_json_image(
    probe: Probe, member: str, num_x: int, num_y: int, binary: np.ndarray | None
) -> None:
    test = f"{member} (JSON)"
    fetch = fetch_image(probe, member, JSON_ACCEPT, test)
    reply = fetch.reply
    if reply is None:
        return
    if reply.status != 200 or not reply.is_json:
        probe.report.issue(
            test,
            f"expected a JSON reply, got HTTP {reply.status} {reply.content_type!r}",
            reply.snippet(),
        )
        return
    try:
        image = scan_json_image(reply.body)
    except ValueError as exc:
        probe.report.error(test, f"the reply is not JSON: {exc}", reply.snippet())
        return
    rank = _expected_rank(probe)
    problems = _json_image_problems(probe, member, image.envelope)
    if image.problem:
        problems.append(f"Value: {image.problem}")
    elif len(image.shape) != rank:
        problems.append(f"Value has rank {len(image.shape)}, expected {rank}")
    elif not image.integral and image.envelope.get("Type") in (1, 2):
        problems.append("Value holds non-integer numbers but Type says integers")
    for problem in problems:
        probe.report.issue(test, problem)
    if problems or not _check_dimensions(probe, test, image.shape, num_x, num_y):
        return
    if binary is not None and image.pixels is not None:
        if np.array_equal(image.pixels, binary):
            probe.report.ok(test, "the same pixels as the ImageBytes reply")
        else:
            probe.report.issue(test, "the pixels differ from the ImageBytes reply")
    probe.report.ok(
        test,
        f"Type {image.envelope.get('Type')}, Rank "
        f"{image.envelope.get('Rank')}, {' x '.join(map(str, image.shape))}, "
        f"{len(reply.body)} bytes in {reply.elapsed * 1000:.0f} ms",
    )


def _json_image_problems(probe: Probe, member: str, envelope: dict[str, Any]) -> list[str]:
    problems = [f"no {key} key (exact casing)" for key in JSON_ENVELOPE_KEYS if key not in envelope]
    if envelope.get("ErrorNumber") not in (0, None):
        problems.append(f"error instead of an image: {envelope.get('ErrorMessage')}")
    allowed = (2,) if member == "ImageArray" else (1, 2, 3)
    if "Type" in envelope and envelope["Type"] not in allowed:
        problems.append(f"Type {envelope['Type']!r}, expected {' or '.join(map(str, allowed))}")
    rank = _expected_rank(probe)
    if "Rank" in envelope and envelope["Rank"] != rank:
        problems.append(f"Rank {envelope['Rank']!r}, expected {rank}")
    sent = probe.cam.last_transaction
    if envelope.get("ClientTransactionID") != sent:
        problems.append(f"ClientTransactionID {envelope.get('ClientTransactionID')!r}, sent {sent}")
    return problems
