"""Exception tree. Every error the project raises on purpose derives from :class:`RepsenseError`."""

from __future__ import annotations

import errno

#: ``OSError.errno`` values of a write the disk refused for room: no space, file-size limit
#: (``RLIMIT_FSIZE``), quota.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)})


class RepsenseError(Exception):
    """Base of every documented repsense error."""


class InputError(RepsenseError, ValueError):
    """A file or value cannot be used. The message names the file and, where known, line or byte offset."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 offset: int | None = None) -> None:
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if offset is not None:
            where.append(f"byte {offset}")
        self.path, self.line, self.offset = path, line, offset
        self.reason = message
        super().__init__(f"{': '.join([', '.join(where), message]) if where else message}")


class FormatError(InputError):
    """The file is not of any format repsense can read, or its header is not understood."""


class EmptyRecordingError(InputError):
    """The input holds no usable sample."""


class UnitError(InputError):
    """A unit is unknown or cannot be inferred."""


class DecodeError(RepsenseError, ValueError):
    """A BLE frame cannot be decoded (bad length, unknown type, bad checksum...).

    ``offset`` is the byte offset in the frame where decoding failed, ``reason`` the short
    cause, and ``status`` the error code a device answers with (control-point parsers).
    """

    def __init__(self, message: str, *, offset: int | None = None, reason: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset
        self.reason = reason if reason is not None else message
        self.status = status


class SamplingRateError(RepsenseError, ValueError):
    """A sampling rate is missing, non-positive, or outside what the detector supports."""


class SchemaError(RepsenseError, ValueError):
    """A Parquet file or table does not match the repsense schema (or its version)."""


class DeviceError(RepsenseError):
    """A wearable refused a command, was not found, or the link failed."""


class DeviceNotFoundError(DeviceError):
    """No device matched the scan filters in time."""
