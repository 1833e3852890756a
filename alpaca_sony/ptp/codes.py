"""Standard PTP (PIMA 15740) codes: container types, operations, responses, events, data types."""

from __future__ import annotations

from enum import IntEnum


class ContainerType(IntEnum):
    """The Type field of a PTP container."""

    COMMAND = 1
    DATA = 2
    RESPONSE = 3
    EVENT = 4


class OpCode(IntEnum):
    """Standard PTP operation codes used with Sony bodies."""

    GET_DEVICE_INFO = 0x1001
    OPEN_SESSION = 0x1002
    CLOSE_SESSION = 0x1003
    GET_STORAGE_IDS = 0x1004
    GET_OBJECT_HANDLES = 0x1007
    GET_OBJECT_INFO = 0x1008
    GET_OBJECT = 0x1009
    GET_THUMB = 0x100A
    GET_PARTIAL_OBJECT = 0x101B


class ResponseCode(IntEnum):
    """Standard PTP response codes (0x2001-0x2020)."""

    OK = 0x2001
    GENERAL_ERROR = 0x2002
    SESSION_NOT_OPEN = 0x2003
    INVALID_TRANSACTION_ID = 0x2004
    OPERATION_NOT_SUPPORTED = 0x2005
    PARAMETER_NOT_SUPPORTED = 0x2006
    INCOMPLETE_TRANSFER = 0x2007
    INVALID_STORAGE_ID = 0x2008
    INVALID_OBJECT_HANDLE = 0x2009
    DEVICE_PROP_NOT_SUPPORTED = 0x200A
    INVALID_OBJECT_FORMAT_CODE = 0x200B
    STORE_FULL = 0x200C
    OBJECT_WRITE_PROTECTED = 0x200D
    STORE_READ_ONLY = 0x200E
    ACCESS_DENIED = 0x200F
    NO_THUMBNAIL_PRESENT = 0x2010
    SELF_TEST_FAILED = 0x2011
    PARTIAL_DELETION = 0x2012
    STORE_NOT_AVAILABLE = 0x2013
    SPECIFICATION_BY_FORMAT_UNSUPPORTED = 0x2014
    NO_VALID_OBJECT_INFO = 0x2015
    INVALID_CODE_FORMAT = 0x2016
    UNKNOWN_VENDOR_CODE = 0x2017
    CAPTURE_ALREADY_TERMINATED = 0x2018
    DEVICE_BUSY = 0x2019
    INVALID_PARENT_OBJECT = 0x201A
    INVALID_DEVICE_PROP_FORMAT = 0x201B
    INVALID_DEVICE_PROP_VALUE = 0x201C
    INVALID_PARAMETER = 0x201D
    SESSION_ALREADY_OPEN = 0x201E
    TRANSACTION_CANCELLED = 0x201F
    SPECIFICATION_OF_DESTINATION_UNSUPPORTED = 0x2020
    # Sony vendor responses (sony-ptp.md 2.7)
    SONY_AUTHENTICATION_FAILED = 0xA101
    SONY_PASSWORD_TOO_LONG = 0xA102
    SONY_PASSWORD_INVALID_CHARACTER = 0xA103
    SONY_FEATURE_VERSION_INVALID = 0xA104
    SONY_TEMPORARY_STORAGE_FULL = 0xA105
    SONY_CAMERA_STATUS_ERROR = 0xA106


def response_name(code: int) -> str:
    """A readable name for a response code, also for codes outside the enum."""
    try:
        return ResponseCode(code).name
    except ValueError:
        return "unknown response"


class EventCode(IntEnum):
    """Sony event codes delivered on the interrupt endpoint (sony-ptp.md 2.6)."""

    SONY_OBJECT_ADDED = 0xC201
    SONY_OBJECT_REMOVED = 0xC202
    SONY_PROPERTY_CHANGED = 0xC203


class DataType(IntEnum):
    """PTP dataset value types; arrays are the scalar code | 0x4000."""

    INT8 = 0x0001
    UINT8 = 0x0002
    INT16 = 0x0003
    UINT16 = 0x0004
    INT32 = 0x0005
    UINT32 = 0x0006
    INT64 = 0x0007
    UINT64 = 0x0008
    INT128 = 0x0009
    UINT128 = 0x000A
    AINT8 = 0x4001
    AUINT8 = 0x4002
    AINT16 = 0x4003
    AUINT16 = 0x4004
    AINT32 = 0x4005
    AUINT32 = 0x4006
    AINT64 = 0x4007
    AUINT64 = 0x4008
    AINT128 = 0x4009
    AUINT128 = 0x400A
    STR = 0xFFFF


ARRAY_FLAG = 0x4000
