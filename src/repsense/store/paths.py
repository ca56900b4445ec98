"""Where things go in the dataset: partition values, session ids, file names, content hashes."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import InputError, SchemaError

__all__ = [
    "UNKNOWN_PARTICIPANT",
    "file_sha256",
    "files_sha256",
    "partition_dir",
    "sanitize_partition_value",
    "session_id_from_hash",
]

UNKNOWN_PARTICIPANT = "unknown"
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")
_MAX_SEGMENT = 180  # bytes; file systems allow 255 per path segment
_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def sanitize_partition_value(value: str) -> str:
    """Make ``value`` safe as one path segment of a hive partition (``key=<value>``).

    Letters, digits, ``_``, ``-`` and ``.`` (except a leading one) are kept; every other byte of
    the UTF-8 encoding, ``%`` included, is percent-encoded (``%2F``), which pyarrow, DuckDB and
    polars decode back when they read the partition. So ``..``, ``/abs``, ``a/../b``, NUL or
    ``=`` can never leave or confuse the folder. Empty -> ``unknown``.

    Raises
    ------
    InputError : the encoded value is longer than 180 bytes (DuckDB reads the partition value,
        not the file column, so a shortened value would change the id it sees).
    """
    if value == "":
        return UNKNOWN_PARTICIPANT
    raw = value.encode("utf-8", "surrogatepass")
    out = []
    for i, b in enumerate(raw):
        if b in _SAFE and not (i == 0 and b == ord(".")):
            out.append(chr(b))
        else:
            out.append(f"%{b:02X}")
    seg = "".join(out)
    if len(seg) > _MAX_SEGMENT:
        raise InputError(f"partition value of {len(raw)} bytes is too long ({len(seg)} encoded, max {_MAX_SEGMENT})")
    return seg


def partition_dir(out_dir: str | os.PathLike, table: str, participant: str, date: str | None) -> Path:
    """``out_dir/table/participant=<P>[/date=<D>]`` with sanitised values (never outside ``out_dir``)."""
    base = Path(out_dir) / table / f"participant={sanitize_partition_value(participant)}"
    if date is not None:
        base = base / f"date={sanitize_partition_value(date)}"
    return base


def check_session_id(session_id: str) -> str:
    """Return ``session_id`` when it is safe as a file name stem, else raise :class:`SchemaError`."""
    if not _SESSION_ID.fullmatch(session_id):
        raise SchemaError(
            f"session id {session_id!r} is not usable as a file name "
            "(want 1-128 of A-Z a-z 0-9 _ . -, not starting with . _ or -)"
        )
    return session_id


def session_id_from_hash(sha256_hex: str) -> str:
    """Deterministic session id from a content hash: the first 20 hex digits (80 bits)."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256_hex):
        raise SchemaError(f"not a sha256 hex digest: {sha256_hex!r}")
    return sha256_hex[:20]


def file_sha256(path: str | os.PathLike, chunk_bytes: int = 1 << 20) -> str:
    """sha256 of a file's bytes, read in chunks (constant memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            h.update(block)
    return h.hexdigest()


def combine_sha256(digests: Iterable[str]) -> str:
    """Content hash of an input made of files with the given sha256 digests, in input order.

    ``sha256("|".join(digests))`` (accelerometer file first, then gyroscope), the convention
    of :mod:`repsense.io`, whose default ``session_id`` is the first 20 hex digits of it.
    """
    return hashlib.sha256("|".join(digests).encode()).hexdigest()


def files_sha256(paths: Iterable[str | os.PathLike]) -> str:
    """Content hash of an input made of one or several files (e.g. accelerometer + gyroscope CSV).

    Depends on the bytes of the files and their order (accelerometer first), never on their
    names or folders. See :func:`combine_sha256`.
    """
    return combine_sha256(file_sha256(p) for p in paths)


def arrays_sha256(*arrays: np.ndarray | None) -> str:
    """Content hash of sample arrays (used when a recording has no source file, e.g. live)."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"\x00none")
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()
