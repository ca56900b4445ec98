"""Data model shared by every layer: recordings in, detections out.

Time base
---------
Inside a :class:`Recording`, every stream carries ``t_s``: float64 **seconds since the
recording's origin** ``meta.t0_utc_ns`` (int64 nanoseconds since the Unix epoch, UTC).
Relative seconds keep sub-microsecond precision for recordings of weeks; absolute time is
``meta.t0_utc_ns + round(t_s * 1e9)``. Parquet stores absolute int64 ns UTC.

Units: accelerometer in g (float32, n x 3), gyroscope in deg/s (float32, n x 3).
Sampling may be uneven, jittered and have gaps; ``sample_rate_hz`` is the nominal rate
(median of the sample intervals) and never assumed exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SCHEMA_VERSION = "1"


@dataclass(frozen=True, slots=True)
class Stream:
    """One sensor stream: timestamps and 3-axis samples.

    Attributes
    ----------
    t_s : float64 array (n,), strictly increasing seconds since ``RecordingMeta.t0_utc_ns``.
    values : float32 array (n, 3), in ``unit``.
    unit : ``"g"`` for accelerometer, ``"deg/s"`` for gyroscope.
    """

    t_s: np.ndarray
    values: np.ndarray
    unit: str

    def __post_init__(self) -> None:
        if self.t_s.ndim != 1 or self.values.ndim != 2 or self.values.shape[1] != 3:
            raise ValueError(f"stream shapes t_s {self.t_s.shape}, values {self.values.shape}: want (n,), (n, 3)")
        if self.t_s.shape[0] != self.values.shape[0]:
            raise ValueError(f"stream has {self.t_s.shape[0]} timestamps for {self.values.shape[0]} samples")

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    @property
    def sample_rate_hz(self) -> float:
        """Nominal rate: 1 / median sample interval (nan when fewer than 2 samples)."""
        if self.t_s.shape[0] < 2:
            return float("nan")
        return float(1.0 / np.median(np.diff(self.t_s)))

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0]) if self.t_s.shape[0] else 0.0


@dataclass(frozen=True, slots=True)
class DropReason:
    """Samples dropped for one reason: how many and the first few line numbers (1-based)."""

    count: int
    first_lines: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ReadReport:
    """What a reader kept and dropped, per stream file. ``dropped`` maps reason -> DropReason."""

    source_file: str
    n_rows: int
    n_kept: int
    dropped: dict[str, DropReason] = field(default_factory=dict)
    gaps: tuple[tuple[float, float], ...] = ()  # (start_s, end_s) of gaps longer than 5 sample periods

    @property
    def n_dropped(self) -> int:
        return sum(d.count for d in self.dropped.values())


@dataclass(frozen=True, slots=True)
class RecordingMeta:
    """Who, what and where a recording came from."""

    t0_utc_ns: int
    device_kind: str = "unknown"  # e.g. "metawear", "polar_pmd", "generic_csv", "simulated"
    firmware: str = ""
    source_file: str = ""
    participant: str = ""
    session_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Recording:
    """Accelerometer (required) and gyroscope (optional) streams of one session, with metadata."""

    accel: Stream
    meta: RecordingMeta
    gyro: Stream | None = None
    reports: tuple[ReadReport, ...] = ()

    @property
    def sample_rate_hz(self) -> float:
        return self.accel.sample_rate_hz

    @property
    def n_dropped(self) -> int:
        return sum(r.n_dropped for r in self.reports)


@dataclass(frozen=True, slots=True)
class Rep:
    """One repetition. Times in seconds on the input's time base.

    ``start_s``..``end_s`` spans the whole movement; ``eccentric_s`` (load going down),
    ``concentric_s`` (load lifted against gravity) and ``pause_s`` (still inside the rep)
    are durations and sum to ``end_s - start_s``. ``concentric_first`` says which phase came first.
    """

    start_s: float
    end_s: float
    eccentric_s: float
    concentric_s: float
    pause_s: float = 0.0
    concentric_first: bool = False

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class RepSet:
    """A set: consecutive reps separated from others by rest. ``tut_s`` = sum of rep durations."""

    start_s: float
    end_s: float
    reps: tuple[Rep, ...]
    tut_s: float
    eccentric_s: float
    concentric_s: float
    pause_s: float = 0.0
    mean_tempo_s: float = float("nan")  # mean rep duration
    concentric_slowdown: float = float("nan")  # mean concentric of last reps / first reps (1.0 = no slow-down)
    n_reps_in_gaps: int = 0  # reps estimated inside holes of the signal (no timing; not in ``reps``)

    @property
    def n_reps(self) -> int:
        """Reps of the set: those seen (``reps``) plus those estimated in signal holes."""
        return len(self.reps) + self.n_reps_in_gaps


@dataclass(frozen=True, slots=True)
class Detection:
    """Result of :func:`repsense.detect`: the sets found (each with its reps)."""

    sets: tuple[RepSet, ...]
    sample_rate_hz: float
    detector_version: str = ""

    @property
    def n_reps(self) -> int:
        """Reps of every set, including those estimated in signal holes (``RepSet.n_reps``)."""
        return sum(s.n_reps for s in self.sets)

    @property
    def reps(self) -> tuple[Rep, ...]:
        return tuple(r for s in self.sets for r in s.reps)
