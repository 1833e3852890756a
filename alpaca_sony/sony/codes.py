"""Sony SDIO ("Camera Control PTP") operation, property and control codes (sony-ptp.md 3.4, 5)."""

from __future__ import annotations

from enum import IntEnum


class SonyOp(IntEnum):
    """Sony vendor operations."""

    SDIO_CONNECT = 0x9201
    SDIO_GET_EXT_DEVICE_INFO = 0x9202
    SDIO_SET_EXT_DEVICE_PROP_VALUE = 0x9205
    SDIO_CONTROL_DEVICE = 0x9207
    SDIO_GET_ALL_EXT_DEVICE_PROP_INFO = 0x9209


class SonyProp(IntEnum):
    """Sony device properties the driver reads or sets."""

    COMPRESSION = 0x5004
    STILL_FILE_FORMAT = 0xD253
    WHITE_BALANCE = 0x5005
    F_NUMBER = 0x5007
    FOCUS_MODE = 0x500A
    EXPOSURE_PROGRAM = 0x500E
    EXPOSURE_BIAS = 0x5010
    STILL_CAPTURE_MODE = 0x5013
    IMAGE_SIZE = 0xD203
    SHUTTER_SPEED = 0xD20D
    BATTERY_LEVEL_INDICATOR = 0xD20E
    ASPECT_RATIO = 0xD211
    FOCUS_INDICATION = 0xD213
    SHOOTING_FILE_INFO = 0xD215
    BATTERY_REMAINING = 0xD218
    ISO = 0xD21E
    LIVE_VIEW_STATUS = 0xD221
    SAVE_DESTINATION = 0xD222
    POSITION_KEY = 0xD25A
    LONG_EXPOSURE_NR = 0xD15B


class SonyControl(IntEnum):
    """Controls operated with SDIO_ControlDevice (0x9207)."""

    S1_BUTTON = 0xD2C1
    S2_BUTTON = 0xD2C2
    REQUEST_ONE_SHOOTING = 0xD2C7
    NEAR_FAR = 0xD2D1
    # Notch controls share the code of the property they move.
    SHUTTER_SPEED_NOTCH = 0xD20D
    ISO_NOTCH = 0xD21E
    F_NUMBER_NOTCH = 0x5007
    EXPOSURE_BIAS_NOTCH = 0x5010


class GetSet(IntEnum):
    """The GetSet byte of a descriptor; controls carry their control type here."""

    GET = 0x00
    GET_SET = 0x01
    BUTTON = 0x81
    NOTCH = 0x82
    LOCK = 0x83
    VARIABLE = 0x84


class FormFlag(IntEnum):
    """The form of a descriptor's allowed values."""

    NONE = 0x00
    RANGE = 0x01
    ENUM = 0x02


class ButtonState(IntEnum):
    """Values of the S1/S2 button controls: 1 release, 2 press, on every body (sony-ptp.md 14.1)."""

    UP = 1
    DOWN = 2


# Special object handles (sony-ptp.md 2.5, 6.5, 7).
CAPTURED_IMAGE_HANDLE = 0xFFFFC001
LIVE_VIEW_HANDLE = 0xFFFFC002

# SDIO protocol versions the initiator announces in 0x9202.
PROTOCOL_V2 = 0x00C8
PROTOCOL_V3 = 0x012C

# ObjectInfo formats of captured files.
FORMAT_ARW = 0xB101
FORMAT_JPEG = 0x3801
FORMAT_HEIF = 0xB301
