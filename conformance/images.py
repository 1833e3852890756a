"""Image replies decoded from raw bytes: ImageBytes (metadata version 1) and JSON image arrays.

ImageBytes is parsed with explicit little-endian ``struct``/numpy types, never through a client
library. JSON image arrays can be 100 MB of text for a full frame, far too much to build as Python
lists, so :func:`scan_json_image` checks the structure with byte searches and parses the numbers
with numpy in one pass.
"""

from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from conformance.alpaca import loads

HEADER = struct.Struct("<iiIIiiiiiii")  # 11 little-endian 32-bit fields = 44 bytes

ELEMENT_NAMES = {
    0: "Unknown",
    1: "Int16",
    2: "Int32",
    3: "Double",
    4: "Single",
    5: "UInt64",
    6: "Byte",
    7: "Int64",
    8: "UInt16",
    9: "UInt32",
    10: "Object",
}
ELEMENT_DTYPES: dict[int, np.dtype[Any]] = {
    1: np.dtype("<i2"),
    2: np.dtype("<i4"),
    3: np.dtype("<f8"),
    4: np.dtype("<f4"),
    5: np.dtype("<u8"),
    6: np.dtype("u1"),
    7: np.dtype("<i8"),
    8: np.dtype("<u2"),
    9: np.dtype("<u4"),
}
# (image element type, transmission element type) pairs the ASCOM .NET client decodes, besides
# identical pairs and Object sources (AlpacaTools.ToImageArray).
DOTNET_PAIRS = frozenset({(1, 6), (8, 6), (2, 6), (2, 1), (2, 8)})


def element_name(code: int) -> str:
    return f"{code} ({ELEMENT_NAMES.get(code, 'invalid')})"


@dataclass(frozen=True)
class ImageBytesHeader:
    metadata_version: int
    error_number: int
    client_transaction_id: int
    server_transaction_id: int
    data_start: int
    image_element_type: int
    transmission_element_type: int
    rank: int
    dimension1: int
    dimension2: int
    dimension3: int

    @property
    def shape(self) -> tuple[int, ...]:
        dims = (self.dimension1, self.dimension2, self.dimension3)
        return dims[: self.rank] if self.rank in (2, 3) else ()

    def dotnet_decodable(self) -> bool:
        pair = (self.image_element_type, self.transmission_element_type)
        return (
            pair in DOTNET_PAIRS
            or (pair[0] == pair[1] and pair[0] in ELEMENT_DTYPES)
            or (pair[0] == 10 and pair[1] in ELEMENT_DTYPES)
        )


def parse_header(body: bytes) -> ImageBytesHeader:
    """The 44-byte metadata block. Raises ValueError when the body is too short."""
    if len(body) < HEADER.size:
        raise ValueError(f"only {len(body)} bytes, the ImageBytes header alone is 44")
    return ImageBytesHeader(*HEADER.unpack_from(body, 0))


def imagebytes_error_message(body: bytes, header: ImageBytesHeader) -> str:
    start = header.data_start if 0 <= header.data_start <= len(body) else HEADER.size
    return body[start:].decode("utf-8", errors="replace")


def decode_imagebytes(body: bytes, header: ImageBytesHeader) -> np.ndarray:
    """The pixel array, shape (Dimension1, Dimension2[, Dimension3]) = (X, Y[, plane]).

    Raises ValueError for an unknown transmission type, a bad rank or a wrong body length.
    """
    dtype = ELEMENT_DTYPES.get(header.transmission_element_type)
    if dtype is None:
        raise ValueError(
            f"TransmissionElementType {element_name(header.transmission_element_type)} "
            "is not a numeric type"
        )
    shape = header.shape
    if not shape or min(shape) < 0:
        raise ValueError(
            f"Rank {header.rank} with dimensions {header.dimension1}, "
            f"{header.dimension2}, {header.dimension3} is not an image"
        )
    if header.data_start < HEADER.size:
        raise ValueError(f"DataStart {header.data_start} points into the header")
    count = int(np.prod(shape))
    data = memoryview(body)[header.data_start :]
    expected = count * dtype.itemsize
    if len(data) != expected:
        raise ValueError(
            f"{len(data)} data bytes after DataStart, {expected} expected for "
            f"{' x '.join(map(str, shape))} {ELEMENT_NAMES[header.transmission_element_type]}"
        )
    pixels: np.ndarray = np.frombuffer(data, dtype=dtype).reshape(shape)
    return pixels


# -- JSON image arrays --------------------------------------------------------------------------

_WHITESPACE = b" \t\r\n"
_BRACKETS_TO_SPACES = bytes.maketrans(b"[]", b"  ")


@dataclass(frozen=True)
class JsonImage:
    """A JSON image reply: its other members, and the Value array's structure and numbers."""

    envelope: dict[str, Any]  # the reply object with Value replaced by None
    shape: tuple[int, ...]  # () when Value is not an array
    ragged: bool  # inner arrays of different lengths
    integral: bool  # no fraction or exponent anywhere in Value
    pixels: np.ndarray | None  # shape ``shape`` when parseable, else None
    problem: str = ""


def _value_span(body: bytes) -> tuple[int, int] | None:
    """Start and end of the ``"Value": [...]`` array, or None when Value is not an array."""
    key = body.find(b'"Value"')
    if key < 0:
        return None
    pos = key + len(b'"Value"')
    while pos < len(body) and body[pos] in _WHITESPACE:
        pos += 1
    if pos >= len(body) or body[pos] != ord(":"):
        return None
    pos += 1
    while pos < len(body) and body[pos] in _WHITESPACE:
        pos += 1
    if pos >= len(body) or body[pos] != ord("["):
        return None
    # A numeric array holds no quotes or braces: the next one closes the region.
    ends = [i for i in (body.find(b'"', pos), body.find(b"}", pos)) if i >= 0]
    region_end = min(ends) if ends else len(body)
    end = body.rfind(b"]", pos, region_end)
    return (pos, end + 1) if end > pos else None


def _shape_of(span: bytes) -> tuple[tuple[int, ...], bool]:
    """(shape, ragged) of a whitespace-free nested numeric array of rank 1..3."""
    rank = len(span) - len(span.lstrip(b"["))
    inner = span[rank:-rank] if rank else span
    if rank == 1:
        return ((inner.count(b",") + 1 if inner else 0),), False
    separator = b"]" * (rank - 1) + b",[" + b"[" * (rank - 2)
    rows = inner.split(separator) if inner else []
    if rank == 2:
        lengths = {row.count(b",") + 1 if row else 0 for row in rows}
        return (len(rows), next(iter(lengths)) if len(lengths) == 1 else -1), len(lengths) > 1
    if rank == 3:
        dims1 = {row.count(b"],[") + 1 for row in rows}
        if len(dims1) != 1:
            return (len(rows), -1, -1), True
        dim1 = next(iter(dims1))
        # Per row: dim1 lists of dim2 numbers -> dim1 * (dim2 - 1) + (dim1 - 1) commas.
        commas = {row.count(b",") for row in rows}
        dims2 = {(c - (dim1 - 1)) // dim1 + 1 for c in commas}
        even = all((c - (dim1 - 1)) % dim1 == 0 for c in commas)
        if len(dims2) != 1 or not even:
            return (len(rows), dim1, -1), True
        return (len(rows), dim1, next(iter(dims2))), False
    return (), False


def scan_json_image(body: bytes) -> JsonImage:
    """Parse a JSON image reply. Raises ValueError when the body is not a JSON object."""
    span = _value_span(body)
    if span is None:
        envelope = loads(body)
        if not isinstance(envelope, dict):
            raise ValueError("the reply is not a JSON object")
        value = envelope.get("Value")
        return JsonImage(envelope, (), False, False, None, f"Value is {type(value).__name__}")
    start, end = span
    envelope = loads(body[:start] + b"null" + body[end:])
    if not isinstance(envelope, dict):
        raise ValueError("the reply is not a JSON object")
    array = body[start:end].translate(None, _WHITESPACE)
    shape, ragged = _shape_of(array)
    integral = not any(ch in array for ch in (b".", b"e", b"E"))
    if ragged or not shape or min(shape) <= 0:
        problem = "ragged arrays" if ragged else f"unexpected structure {shape}"
        return JsonImage(envelope, shape, ragged, integral, None, problem)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            flat = np.fromstring(  # text mode (sep=",") is the supported, fast number parser
                array.translate(_BRACKETS_TO_SPACES),
                dtype=np.int64 if integral else np.float64,
                sep=",",
            )
        except (ValueError, DeprecationWarning) as exc:
            return JsonImage(envelope, shape, False, integral, None, f"unparseable numbers: {exc}")
    if flat.size != int(np.prod(shape)):
        problem = f"{flat.size} numbers for shape {shape}"
        return JsonImage(envelope, shape, False, integral, None, problem)
    return JsonImage(envelope, shape, False, integral, flat.reshape(shape))


def imagebytes_problems(body: bytes, header: ImageBytesHeader, *, variant: bool) -> list[str]:
    """What is wrong with a successful ImageBytes image reply (element types, layout, length)."""
    problems: list[str] = []
    source = header.image_element_type
    if not variant and source != 2:
        problems.append(f"ImageElementType {element_name(source)}: ImageArray must be Int32 (2)")
    elif variant and source not in (1, 2, 3, 10):
        problems.append(
            f"ImageElementType {element_name(source)}: expected Int16, Int32, Double or Object"
        )
    if not header.dotnet_decodable():
        problems.append(
            f"ImageElementType {element_name(source)} sent as "
            f"{element_name(header.transmission_element_type)}: the .NET client cannot decode it"
        )
    try:
        decode_imagebytes(body, header)
    except ValueError as exc:
        problems.append(str(exc))
    return problems
