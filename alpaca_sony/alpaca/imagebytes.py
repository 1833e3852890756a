"""Alpaca ImageBytes (metadata version 1): a 44-byte little-endian header, then the pixels.

Pure: takes an x-major numpy array (what the camera layer stores), returns the header. The pixel
bytes that follow it are not the array's own buffer: :mod:`alpaca_sony.alpaca.image_payload` copies
them once per image into little-endian bytes that every download shares. ImageElementType is
always 2 (Int32), which ConformU and the .NET client require for ImageArray; the transmission type
is the narrowest lossless one.
"""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt

HEADER = struct.Struct("<iiIIiiiiiii")  # 11 x 4 bytes = 44
DATA_START = 44
METADATA_VERSION = 1
INT32 = 2
UINT16 = 8
BYTE = 6
INT16 = 1

_TRANSMISSION = {np.dtype("uint16"): UINT16, np.dtype("uint8"): BYTE, np.dtype("int16"): INT16,
                 np.dtype("int32"): INT32}  # fmt: skip


def transmission_type(pixels: npt.NDArray[np.generic]) -> int:
    """The element-type code of an array's dtype.

    Raises:
        ValueError: a dtype ImageBytes cannot carry losslessly from an Int32 image.
    """
    try:
        return _TRANSMISSION[pixels.dtype.newbyteorder("=")]
    except KeyError:
        raise ValueError(f"no ImageBytes transmission type for {pixels.dtype}") from None


def header(
    pixels: npt.NDArray[np.generic], client_transaction_id: int, server_transaction_id: int
) -> bytes:
    """The 44-byte header for an x-major array of rank 2 (NumX, NumY) or 3 (NumX, NumY, 3)."""
    if pixels.ndim not in (2, 3):
        raise ValueError("ImageBytes carries rank 2 or 3 arrays")
    dims = (*pixels.shape, 0) if pixels.ndim == 2 else pixels.shape
    return HEADER.pack(
        METADATA_VERSION,
        0,
        client_transaction_id,
        server_transaction_id,
        DATA_START,
        INT32,
        transmission_type(pixels),
        pixels.ndim,
        *dims,
    )


def decode(body: bytes) -> npt.NDArray[np.int32]:
    """Parse an ImageBytes body back into an x-major Int32 array (tests and benchmarks use it).

    Raises:
        ValueError: not version 1, an error body, or inconsistent sizes.
    """
    fields = HEADER.unpack_from(body)
    version, error, _, _, start, _, transmission, rank, dim1, dim2, dim3 = fields
    if version != METADATA_VERSION or error != 0:
        raise ValueError(f"ImageBytes version {version}, error {error}")
    dtype = {UINT16: "<u2", BYTE: "u1", INT16: "<i2", INT32: "<i4"}[transmission]
    shape = (dim1, dim2) if rank == 2 else (dim1, dim2, dim3)
    pixels = np.frombuffer(body, dtype=dtype, offset=start)
    if pixels.size != int(np.prod(shape)):
        raise ValueError("ImageBytes payload size does not match its dimensions")
    return pixels.reshape(shape).astype(np.int32)
