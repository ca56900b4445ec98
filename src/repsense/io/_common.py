"""Pieces shared by the readers: one stream's read result and assembly into a Recording."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import EmptyRecordingError
from ..types import ReadReport, Recording, RecordingMeta, Stream
from ._csvparse import DropLog
from ._timeline import CleanSamples, find_gaps


@dataclass(slots=True)
class StreamRead:
    """One stream as read from one file, before it is placed on the recording's time base.

    Attributes
    ----------
    path : str
    clean : CleanSamples
        Timestamps (int64 ns), values (already in g or deg/s), line numbers.
    n_rows : int
        Data rows in the file.
    drops : DropLog
    sha256 : str
        Hex SHA-256 of the file's bytes.
    nominal_period_s : float or None
        Period used for gap detection (median interval when None).
    """

    path: str
    clean: CleanSamples
    n_rows: int
    drops: DropLog
    sha256: str
    nominal_period_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def session_id_from(*digests: str) -> str:
    """Deterministic session id: first 20 hex digits of SHA-256 over the files' digests."""
    return hashlib.sha256("|".join(digests).encode()).hexdigest()[:20]


def stream_on(read: StreamRead, t0_ns: int, unit: str) -> tuple[Stream, ReadReport]:
    """One stream on the time base starting at ``t0_ns``, with its read report."""
    t_s = (read.clean.t_ns - np.int64(t0_ns)).astype(np.float64) / 1e9
    values = np.ascontiguousarray(read.clean.values, dtype=np.float32)
    stream = Stream(t_s=t_s, values=values, unit=unit)
    report = ReadReport(source_file=read.path, n_rows=read.n_rows, n_kept=len(stream),
                        dropped=read.drops.as_dict(), gaps=find_gaps(t_s, read.nominal_period_s))
    return stream, report


def assemble(accel: StreamRead, gyro: StreamRead | None, *, device_kind: str, firmware: str = "",
             participant: str | None = None, session_id: str | None = None,
             extra: dict[str, Any] | None = None, t0_ns: int | None = None) -> Recording:
    """Put accel (and gyro) on one time base and build the :class:`~repsense.types.Recording`.

    The origin ``meta.t0_utc_ns`` is the first kept accelerometer sample (so ``accel.t_s[0]
    == 0``); gyroscope times are relative to the same origin and may start slightly negative.

    Raises
    ------
    EmptyRecordingError
        The accelerometer stream has no usable sample.
    """
    if accel.clean.t_ns.shape[0] == 0:
        dropped = ", ".join(f"{r}: {d.count} (first lines {list(d.first_lines)})"
                            for r, d in accel.drops.as_dict().items())
        raise EmptyRecordingError(f"no usable accelerometer sample in {accel.n_rows} data rows"
                                  + (f" (dropped {dropped})" if dropped else ""), path=accel.path)
    origin = int(accel.clean.t_ns[0]) if t0_ns is None else int(t0_ns)
    a_stream, a_report = stream_on(accel, origin, "g")
    reports = [a_report]
    g_stream = None
    meta_extra: dict[str, Any] = dict(extra or {})
    meta_extra["source_sha256"] = accel.sha256
    meta_extra["accel_reordered_rows"] = accel.clean.n_reordered
    meta_extra.update({f"accel_{k}": v for k, v in accel.extra.items()})
    digests = [accel.sha256]
    if gyro is not None:
        digests.append(gyro.sha256)
        meta_extra["gyro_file"] = gyro.path
        meta_extra["gyro_sha256"] = gyro.sha256
        meta_extra["gyro_reordered_rows"] = gyro.clean.n_reordered
        meta_extra.update({f"gyro_{k}": v for k, v in gyro.extra.items()})
        if gyro.clean.t_ns.shape[0]:
            g_stream, g_report = stream_on(gyro, origin, "deg/s")
        else:
            g_report = ReadReport(source_file=gyro.path, n_rows=gyro.n_rows, n_kept=0,
                                  dropped=gyro.drops.as_dict())
        reports.append(g_report)
    meta = RecordingMeta(
        t0_utc_ns=origin,
        device_kind=device_kind,
        firmware=firmware,
        source_file=accel.path,
        participant=participant or "",
        session_id=session_id or session_id_from(*digests),
        extra=meta_extra,
    )
    return Recording(accel=a_stream, meta=meta, gyro=g_stream, reports=tuple(reports))


def scaled_float32(columns: list[np.ndarray], factors: list[float]) -> np.ndarray:
    """(n, k) float32 of ``k`` parsed value columns, each times its factor.

    The output dtype is built once; a value beyond float32 range becomes inf (without a warning)
    and is dropped later as non-finite.
    """
    out = np.empty((columns[0].shape[0], len(factors)), dtype=np.float32)
    with np.errstate(over="ignore"):
        for j, (col, factor) in enumerate(zip(columns, factors)):
            out[:, j] = col * factor if factor != 1.0 else col
    return out
