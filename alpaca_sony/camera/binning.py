"""Software binning that averages: each bin becomes the rounded mean of its pixels.

Averaging (not summing) keeps values in the sensor's range, so MaxADU is the same at every
binning and nothing clips that did not already clip on the sensor.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

U16Array = npt.NDArray[np.uint16]


def average_bins(image: U16Array, bin0: int, bin1: int) -> U16Array:
    """Average ``bin0`` x ``bin1`` blocks over the first two axes (a partial edge bin is dropped).

    Any further axis (the colour planes) is kept. Returns ``image`` itself when both bins are 1.
    """
    if bin0 == 1 and bin1 == 1:
        return image
    size0 = image.shape[0] // bin0 * bin0
    size1 = image.shape[1] // bin1 * bin1
    trimmed = image[:size0, :size1]
    shape = (size0 // bin0, bin0, size1 // bin1, bin1, *image.shape[2:])
    # uint32 sums: sixteen 16-bit values must not wrap.
    sums = trimmed.reshape(shape).sum(axis=(1, 3), dtype=np.uint32)
    count = bin0 * bin1
    averaged: U16Array = ((sums + count // 2) // count).astype(np.uint16)
    return averaged
