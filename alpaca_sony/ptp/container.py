"""PTP-over-USB container codec: a 12-byte little-endian header plus parameters or payload. Pure."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from alpaca_sony.errors import MalformedData
from alpaca_sony.ptp.codes import ContainerType

HEADER = struct.Struct("<IHHI")
HEADER_SIZE = HEADER.size  # 12
MAX_PARAMS = 5


@dataclass(frozen=True, slots=True)
class ContainerHeader:
    """The fixed header every container starts with."""

    length: int
    type: int
    code: int
    transaction_id: int


def pack_header(length: int, ctype: ContainerType, code: int, transaction_id: int) -> bytes:
    """The 12 header bytes of a container of total ``length`` bytes."""
    return HEADER.pack(length, ctype, code, transaction_id)


def unpack_header(data: bytes | bytearray | memoryview) -> ContainerHeader:
    """Decode and sanity-check a container header.

    Raises:
        MalformedData: fewer than 12 bytes, a length below 12, or an unknown container type.
    """
    if len(data) < HEADER_SIZE:
        raise MalformedData(f"container header needs 12 bytes, got {len(data)}")
    length, ctype, code, tid = HEADER.unpack_from(data, 0)
    if length < HEADER_SIZE:
        raise MalformedData(f"container length {length} is shorter than its header")
    if ctype not in (1, 2, 3, 4):
        raise MalformedData(f"unknown container type {ctype}")
    return ContainerHeader(length, ctype, code, tid)


def pack_params(
    ctype: ContainerType, code: int, transaction_id: int, params: tuple[int, ...] = ()
) -> bytes:
    """A command, response or event container with up to five UINT32 parameters."""
    if len(params) > MAX_PARAMS:
        raise ValueError(f"a container carries at most {MAX_PARAMS} parameters")
    body = struct.pack(f"<{len(params)}I", *(p & 0xFFFFFFFF for p in params))
    return pack_header(HEADER_SIZE + len(body), ctype, code, transaction_id) + body


def unpack_params(data: bytes | bytearray | memoryview) -> tuple[ContainerHeader, tuple[int, ...]]:
    """Decode a command, response or event container.

    Raises:
        MalformedData: the length field disagrees with the bytes, or the parameter block is not a
            whole number of UINT32 values (at most five).
    """
    header = unpack_header(data)
    if header.length != len(data):
        raise MalformedData(f"container says {header.length} bytes but {len(data)} arrived")
    extra = header.length - HEADER_SIZE
    if extra % 4 or extra // 4 > MAX_PARAMS:
        raise MalformedData(f"parameter block of {extra} bytes is not 0-5 UINT32 values")
    params = struct.unpack_from(f"<{extra // 4}I", data, HEADER_SIZE)
    return header, params


def pack_data(code: int, transaction_id: int, payload: bytes | bytearray | memoryview) -> bytes:
    """A data container (host or camera side)."""
    return pack_header(
        HEADER_SIZE + len(payload), ContainerType.DATA, code, transaction_id
    ) + bytes(payload)
