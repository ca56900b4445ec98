"""Crash-safe Parquet writer of one live session.

Layout (the store contract, ``docs/SCHEMA.md``)::

    OUT/samples/participant=P/date=D/<session_id>-part-NNNNN.parquet   # one NEW file per flush
    OUT/reps/participant=P/date=D/<session_id>.parquet                 # rewritten as reps complete
    OUT/sets/participant=P/date=D/<session_id>.parquet                 # rewritten as sets complete
    OUT/sessions/participant=P/date=D/<session_id>.parquet             # written once, at the end
    OUT/_manifest/<session_id>.json                                    # written once, at the end
    OUT/_live/<session_id>.open                                        # exists while unfinished

Every file is written atomically (temp file, fsync, rename), so after a kill -9 or a power loss
each file is either whole or absent: all samples up to the last flush are readable. The
``.open`` marker (JSON, rewritten atomically at every flush) holds what finalising needs: ids,
origin, device, the parts written and the quality counters. :func:`repsense.live.repair.repair`
finalises every session whose marker is still there.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..store import atomic_write_table, reps_table, schema_for, sets_table
from ..store.paths import UNKNOWN_PARTICIPANT, partition_dir
from ..store import pid_alive  # the store's liveness check (zombies count as dead)
from ..store.schema import STREAM_UNITS
from ..types import SCHEMA_VERSION, Detection, RepSet

__all__ = ["LIVE_DIR", "LiveSessionWriter", "SessionInfo", "live_session_id"]

LIVE_DIR = "_live"
MANIFEST_DIR = "_manifest"


def live_session_id(address: str, start_utc_ns: int) -> str:
    """Deterministic id of a live session: device address + start time (ms, UTC)."""
    stamp = _dt.datetime.fromtimestamp(start_utc_ns / 1e9, tz=_dt.UTC).strftime("%Y%m%dT%H%M%S")
    ms = (start_utc_ns // 1_000_000) % 1000
    addr = "".join(ch for ch in address.lower() if ch.isalnum())[-12:] or "device"
    return f"live-{stamp}{ms:03d}Z-{addr}"


def _date_of(t_utc_ns: int) -> str:
    return _dt.datetime.fromtimestamp(t_utc_ns / 1e9, tz=_dt.UTC).date().isoformat()


def _ts(values: Any) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), type=pa.int64()).cast(pa.timestamp("ns", tz="UTC"))


def _write_json_atomic(obj: dict, path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = (json.dumps(obj, sort_keys=True, indent=1, allow_nan=True) + "\n").encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


@dataclass
class SessionInfo:
    """What the ``.open`` marker records (and what finalising needs)."""

    session_id: str
    participant: str
    date: str
    t0_utc_ns: int
    device_kind: str
    address: str
    name: str = ""
    firmware: str = ""
    sample_rate_hz: float = float("nan")
    parts: list[str] = field(default_factory=list)
    quality: dict[str, Any] = field(default_factory=dict)
    detector_version: str = ""
    pid: int = field(default_factory=os.getpid)  # the writing process, so repair leaves running sessions alone
    host: str = field(default_factory=lambda: socket.gethostname())

    def to_json(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "participant": self.participant, "date": self.date,
                "t0_utc_ns": self.t0_utc_ns, "device_kind": self.device_kind, "address": self.address,
                "name": self.name, "firmware": self.firmware, "sample_rate_hz": self.sample_rate_hz,
                "parts": self.parts, "quality": self.quality, "schema_version": SCHEMA_VERSION,
                "detector_version": self.detector_version, "pid": self.pid, "host": self.host}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SessionInfo:
        return cls(d["session_id"], d["participant"], d["date"], int(d["t0_utc_ns"]), d["device_kind"],
                   d["address"], d.get("name", ""), d.get("firmware", ""), float(d.get("sample_rate_hz", "nan")),
                   list(d.get("parts", [])), dict(d.get("quality", {})), d.get("detector_version", ""),
                   int(d.get("pid", 0)), str(d.get("host", "")))

    def writer_alive(self) -> bool:
        """True when the process that wrote this marker still runs on this host."""
        if self.pid <= 0 or self.host != socket.gethostname() or self.pid == os.getpid():
            return False
        return pid_alive(self.pid)


class LiveSessionWriter:
    """Write one live session as it happens.

    Parameters
    ----------
    out_dir : dataset root.
    info : ids and device; ``info.t0_utc_ns`` is the origin of every ``*_s`` column.
    """

    def __init__(self, out_dir: str | os.PathLike, info: SessionInfo) -> None:
        self.out = Path(out_dir)
        self.info = info
        self.participant = info.participant or UNKNOWN_PARTICIPANT
        self._pending: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"accel": [], "gyro": []}
        self.n_rows = {"accel": 0, "gyro": 0}
        self.first_ns: dict[str, int] = {}
        self.last_ns: dict[str, int] = {}
        self.marker = self.out / LIVE_DIR / f"{info.session_id}.open"
        self._file_meta = {
            "repsense.session_id": info.session_id,
            "repsense.t0_utc_ns": str(info.t0_utc_ns),
            "repsense.units": json.dumps(STREAM_UNITS, sort_keys=True),
        }

    def _dir(self, table: str) -> Path:
        return partition_dir(self.out, table, self.participant, self.info.date)

    # ----------------------------------------------------------------- lifecycle
    @classmethod
    def open(cls, out_dir: str | os.PathLike, info: SessionInfo) -> LiveSessionWriter:
        """Create the session's marker (marks it unfinished) and return a writer."""
        w = cls(out_dir, info)
        w.write_marker()
        return w

    def write_marker(self) -> None:
        _write_json_atomic(self.info.to_json(), self.marker)

    # ----------------------------------------------------------------- samples
    def add_samples(self, stream: str, t_utc_ns: np.ndarray, values: np.ndarray) -> None:
        """Queue samples for the next :meth:`flush` (per stream, in time order)."""
        if t_utc_ns.shape[0] == 0:
            return
        self._pending[stream].append((np.asarray(t_utc_ns, np.int64), np.asarray(values, np.float32)))
        self.first_ns.setdefault(stream, int(t_utc_ns[0]))
        self.last_ns[stream] = int(t_utc_ns[-1])

    def _recording_meta(self) -> str:
        i = self.info
        return json.dumps({"device_kind": i.device_kind, "firmware": i.firmware, "source_file": f"live:{i.address}",
                           "participant": self.participant, "session_id": i.session_id,
                           "extra": {"address": i.address, "name": i.name, "live": True}},
                          sort_keys=True, separators=(",", ":"))

    def flush(self, quality: dict[str, Any] | None = None) -> Path | None:
        """Write the queued samples as a new part file, then update the marker. Returns the part."""
        if quality is not None:
            self.info.quality = quality
        pieces = []
        for stream in ("accel", "gyro"):
            chunks = self._pending[stream]
            if not chunks:
                continue
            t = np.concatenate([c[0] for c in chunks])
            v = np.concatenate([c[1] for c in chunks])
            n = t.shape[0]
            self.n_rows[stream] += n
            pieces.append(pa.table({
                "session_id": pa.array([self.info.session_id] * n, pa.string()),
                "participant": pa.array([self.participant] * n, pa.string()),
                "stream": pa.array([stream] * n, pa.string()),
                "t_utc": _ts(t),
                "x": pa.array(np.ascontiguousarray(v[:, 0]), pa.float32()),
                "y": pa.array(np.ascontiguousarray(v[:, 1]), pa.float32()),
                "z": pa.array(np.ascontiguousarray(v[:, 2]), pa.float32()),
            }))
            self._pending[stream] = []
        path = None
        if pieces:
            k = len(self.info.parts)
            meta = {**self._file_meta, "repsense.recording_meta": self._recording_meta(),
                    "repsense.quality_json": json.dumps(self._quality_json(), sort_keys=True, allow_nan=True),
                    "repsense.part": f"{k}/live"}
            schema = schema_for("samples", meta)
            table = pa.concat_tables(pieces).cast(schema)
            path = atomic_write_table(table, self._dir("samples") / f"{self.info.session_id}-part-{k:05d}.parquet")
            self.info.parts.append(path.relative_to(self.out).as_posix())
        self.write_marker()
        return path

    # ----------------------------------------------------------------- sets and reps
    def _quality_json(self) -> dict[str, Any]:
        """Store-compatible quality JSON: one entry per stream (as ``files``) plus live details."""
        q = self.info.quality or {}
        files = []
        for stream, s in sorted(q.get("streams", {}).items()):
            t0 = self.info.t0_utc_ns
            dropped = {k: {"count": int(v), "first_lines": []} for k, v in sorted(s.get("dropped", {}).items()) if v}
            files.append({"source_file": f"live:{self.info.address}/{stream}",
                          "n_rows": int(s.get("n_received", 0)), "n_kept": int(s.get("n_kept", 0)),
                          "dropped": dropped,
                          "gaps": [[(g["start_utc_ns"] - t0) / 1e9, (g["end_utc_ns"] - t0) / 1e9]
                                   for g in s.get("gaps", [])]})
        return {"files": files, "live": q}

    def write_detection(self, sets: list[RepSet] | tuple[RepSet, ...]) -> None:
        """(Re)write the sets and reps files with every set completed or in progress so far."""
        sid, p, t0 = self.info.session_id, self.participant, self.info.t0_utc_ns
        atomic_write_table(sets_table(sid, p, t0, sets), self._dir("sets") / f"{sid}.parquet")
        atomic_write_table(reps_table(sid, p, t0, sets), self._dir("reps") / f"{sid}.parquet")

    def finalise(self, detection: Detection, quality: dict[str, Any] | None = None) -> Path:
        """Flush, write reps, sets, the sessions row and the manifest, then remove the marker."""
        self.flush(quality)
        self.write_detection(detection.sets)
        self.info.detector_version = detection.detector_version
        sessions = self._sessions_table(detection)
        sid = self.info.session_id
        spath = atomic_write_table(sessions, self._dir("sessions") / f"{sid}.parquet")
        files = sorted({*self.info.parts,
                        *(p.relative_to(self.out).as_posix() for p in (
                            spath, self._dir("sets") / f"{sid}.parquet", self._dir("reps") / f"{sid}.parquet"))})
        _write_json_atomic({"session_id": sid, "participant": self.participant, "date": self.info.date,
                            "source_sha256": "", "detector_version": detection.detector_version,
                            "schema_version": SCHEMA_VERSION, "files": files, "live": True},
                           self.out / MANIFEST_DIR / f"{sid}.json")
        self.marker.unlink(missing_ok=True)
        return spath

    def _sessions_table(self, det: Detection) -> pa.Table:
        i = self.info
        q = self._quality_json()
        n_dropped = sum(d["count"] for f in q["files"] for d in f["dropped"].values())
        start = self.first_ns.get("accel", i.t0_utc_ns)
        end = self.last_ns.get("accel", start)
        gyro_rate = i.quality.get("streams", {}).get("gyro", {}).get("sample_rate_hz")
        cols = {
            "session_id": [i.session_id], "participant": [self.participant],
            "start_utc": _ts([start]), "end_utc": _ts([end]), "t0_utc": _ts([i.t0_utc_ns]),
            "device_kind": [i.device_kind], "firmware": [i.firmware], "source_file": [f"live:{i.address}"],
            "source_sha256": [""], "detector_version": [det.detector_version],
            "sample_rate_hz": [float(det.sample_rate_hz if np.isfinite(det.sample_rate_hz) else i.sample_rate_hz)],
            "gyro_sample_rate_hz": [float(gyro_rate) if gyro_rate and self.n_rows["gyro"] else None],
            "n_samples": [self.n_rows["accel"]], "n_gyro_samples": [self.n_rows["gyro"]],
            "n_dropped": [int(n_dropped)], "n_sets": [len(det.sets)], "n_reps": [int(det.n_reps)],
            "tut_s": [float(sum(s.tut_s for s in det.sets))],
            "quality_json": [json.dumps(q, sort_keys=True, allow_nan=True, separators=(",", ":"))],
        }
        return _table("sessions", cols, {"repsense.session_id": i.session_id})


def _table(name: str, cols: dict[str, Any], extra: dict[str, str] | None = None) -> pa.Table:
    schema = schema_for(name, extra)
    arrays = [c if isinstance(c := cols[f.name], pa.Array) else pa.array(c, type=f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)
