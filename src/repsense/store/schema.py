"""Versioned pyarrow schemas of the session store (one per table).

Every field that has a unit carries it in its field metadata (``unit``); every file carries
``repsense.schema_version`` and ``repsense.table`` in its file (schema) metadata. The layout of the
dataset on disk is described in ``docs/SCHEMA.md``.

Schema version policy: :data:`SCHEMA_VERSION` is bumped whenever a column is removed, renamed or
changes type or unit. Adding a nullable column does not bump it (readers select columns by name).
A reader refuses a file whose major version differs from its own.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.dataset as ds

from ..errors import SchemaError
from ..types import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "TABLES", "hive_partitioning", "schema_for"]

TABLES = ("sessions", "sets", "reps", "samples")

_TS = pa.timestamp("ns", tz="UTC")


def _f(name: str, type_: pa.DataType, unit: str | None = None, doc: str = "", nullable: bool = False) -> pa.Field:
    meta = {b"description": doc.encode()}
    if unit is not None:
        meta[b"unit"] = unit.encode()
    return pa.field(name, type_, nullable=nullable, metadata=meta)


_ID = [
    _f("session_id", pa.string(), doc="deterministic session id (from the source content hash or device+start)"),
    _f("participant", pa.string(), doc="participant id as stored (pseudonymised when a key was given); 'unknown' when none"),
]

_FIELDS: dict[str, list[pa.Field]] = {
    "sessions": [
        *_ID,
        _f("start_utc", _TS, "ns", "time of the first accelerometer sample, UTC"),
        _f("end_utc", _TS, "ns", "time of the last accelerometer sample, UTC"),
        _f("t0_utc", _TS, "ns", "origin of every *_s column of this session (t_s = 0), UTC"),
        _f("device_kind", pa.string(), doc="e.g. metawear, polar_pmd, generic_csv, simulated"),
        _f("firmware", pa.string(), doc="firmware version when known, else empty"),
        _f("source_file", pa.string(), doc="file name(s) of the input, ';'-separated, without folders"),
        _f("source_sha256", pa.string(), doc="sha256 of the input content (files, or sample arrays when there is no file)"),
        _f("detector_version", pa.string(), doc="repsense.segment.DETECTOR_VERSION that produced sets and reps"),
        _f("sample_rate_hz", pa.float64(), "Hz", "nominal accelerometer rate: 1 / median sample interval"),
        _f("gyro_sample_rate_hz", pa.float64(), "Hz", "nominal gyroscope rate; null without gyroscope", nullable=True),
        _f("n_samples", pa.int64(), "1", "accelerometer samples kept"),
        _f("n_gyro_samples", pa.int64(), "1", "gyroscope samples kept (0 without gyroscope)"),
        _f("n_dropped", pa.int64(), "1", "input rows dropped by the readers, all reasons"),
        _f("n_sets", pa.int32(), "1", "sets found"),
        _f("n_reps", pa.int32(), "1", "repetitions found, all sets"),
        _f("tut_s", pa.float64(), "s", "time under tension, sum over sets"),
        _f("quality_json", pa.string(), doc="JSON: per input file rows, kept, drop reasons (count, first lines) and gaps"),
    ],
    "sets": [
        *_ID,
        _f("set_index", pa.int32(), "1", "0-based index of the set in its session"),
        _f("start_utc", _TS, "ns", "set start, UTC"),
        _f("end_utc", _TS, "ns", "set end, UTC"),
        _f("start_s", pa.float64(), "s", "set start, seconds since the session's t0_utc"),
        _f("end_s", pa.float64(), "s", "set end, seconds since the session's t0_utc"),
        _f("n_reps", pa.int32(), "1", "repetitions in the set: seen (rows of the reps table) + n_reps_in_gaps"),
        _f("tut_s", pa.float64(), "s", "time under tension: sum of rep durations"),
        _f("eccentric_s", pa.float64(), "s", "sum of eccentric phase durations"),
        _f("concentric_s", pa.float64(), "s", "sum of concentric phase durations"),
        _f("pause_s", pa.float64(), "s", "sum of pauses inside reps"),
        _f("mean_tempo_s", pa.float64(), "s", "mean rep duration (NaN without reps)"),
        _f("concentric_slowdown", pa.float64(), "1",
           "mean concentric duration of the last reps / first reps (1.0 = no slow-down, NaN when undefined)"),
        _f("n_reps_in_gaps", pa.int32(), "1",
           "reps estimated inside holes of the signal (lost samples) from the set's rhythm; no timing, "
           "not in the reps table, not in tut_s; null in stores written before it existed", nullable=True),
    ],
    "reps": [
        *_ID,
        _f("set_index", pa.int32(), "1", "0-based index of the set in its session"),
        _f("rep_index", pa.int32(), "1", "0-based index of the rep in its set"),
        _f("start_utc", _TS, "ns", "rep start, UTC"),
        _f("end_utc", _TS, "ns", "rep end, UTC"),
        _f("start_s", pa.float64(), "s", "rep start, seconds since the session's t0_utc"),
        _f("end_s", pa.float64(), "s", "rep end, seconds since the session's t0_utc"),
        _f("eccentric_s", pa.float64(), "s", "eccentric (lowering) phase duration"),
        _f("concentric_s", pa.float64(), "s", "concentric (lifting) phase duration"),
        _f("pause_s", pa.float64(), "s", "still time inside the rep"),
        _f("concentric_first", pa.bool_(), doc="true when the concentric phase came first"),
    ],
    "samples": [
        *_ID,
        _f("stream", pa.string(), doc="'accel' (unit g) or 'gyro' (unit deg/s)"),
        _f("t_utc", _TS, "ns", "sample time, UTC"),
        _f("x", pa.float32(), "g | deg/s", "x axis; g for stream 'accel', deg/s for stream 'gyro'"),
        _f("y", pa.float32(), "g | deg/s", "y axis; g for stream 'accel', deg/s for stream 'gyro'"),
        _f("z", pa.float32(), "g | deg/s", "z axis; g for stream 'accel', deg/s for stream 'gyro'"),
    ],
}

#: Units of the samples table per stream (the x/y/z field metadata lists both).
STREAM_UNITS = {"accel": "g", "gyro": "deg/s"}


def schema_for(table_name: str, extra_metadata: dict[str, str] | None = None) -> pa.Schema:
    """Return the versioned schema of one store table.

    Parameters
    ----------
    table_name : {"sessions", "sets", "reps", "samples"}
    extra_metadata : optional str -> str pairs added to the file metadata (keys should start
        with ``repsense.``). Never put a wall-clock time here: same input must give same bytes.

    Returns
    -------
    pyarrow.Schema with ``repsense.schema_version`` and ``repsense.table`` in its metadata.
    """
    try:
        fields = _FIELDS[table_name]
    except KeyError:
        raise SchemaError(f"unknown table {table_name!r}; valid: {', '.join(TABLES)}") from None
    meta = {"repsense.schema_version": SCHEMA_VERSION, "repsense.table": table_name}
    if extra_metadata:
        meta.update(extra_metadata)
    return pa.schema(fields, metadata=meta)


def hive_partitioning(table_name: str = "sessions") -> ds.Partitioning:
    """Explicit hive partitioning (participant and date as strings) for ``pyarrow.dataset``.

    ``partitioning="hive"`` works on its own, except when every participant id of a table looks
    like a number: pyarrow then infers int32 for the key and refuses to merge it with the string
    column in the files. Passing this object avoids the inference. ``mood`` has no date key.
    """
    fields = [pa.field("participant", pa.string())]
    if table_name != "mood":
        fields.append(pa.field("date", pa.string()))
    return ds.partitioning(pa.schema(fields), flavor="hive")


def check_schema(schema: pa.Schema, table_name: str, where: str) -> None:
    """Raise :class:`SchemaError` naming ``where`` when ``schema`` is not the store's ``table_name``.

    Checks the schema version (file metadata) and that every expected column is present with
    the expected type.
    """
    meta = schema.metadata or {}
    version = meta.get(b"repsense.schema_version")
    if version is None:
        raise SchemaError(f"{where}: not a repsense {table_name} file (no repsense.schema_version in the file metadata)")
    if version.decode("utf-8", "replace") != SCHEMA_VERSION:
        raise SchemaError(
            f"{where}: schema version {version.decode('utf-8', 'replace')!r}, "
            f"this repsense reads version {SCHEMA_VERSION!r}"
        )
    stored_table = meta.get(b"repsense.table")
    if stored_table is not None and stored_table.decode("utf-8", "replace") != table_name:
        raise SchemaError(
            f"{where}: a repsense {stored_table.decode('utf-8', 'replace')!r} file, expected {table_name!r}")
    expected = schema_for(table_name)
    missing = [f.name for f in expected if f.name not in schema.names]
    if missing:
        raise SchemaError(f"{where}: missing column(s) {', '.join(missing)}")
    wrong = [
        f"{f.name} is {schema.field(f.name).type}, want {f.type}"
        for f in expected
        if not schema.field(f.name).type.equals(f.type)
    ]
    if wrong:
        raise SchemaError(f"{where}: wrong column type(s): {'; '.join(wrong)}")
