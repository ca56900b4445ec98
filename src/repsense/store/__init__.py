"""Parquet session store: versioned schemas, atomic Hive-partitioned writes, reads.

See ``docs/SCHEMA.md`` for every table and column.
"""

from __future__ import annotations

from .parquet import (
    MANIFEST_DIR,
    SAMPLES_ROWS_PER_PART,
    SessionPaths,
    atomic_write_bytes,
    atomic_write_table,
    delete_session,
    manifest_is_complete,
    read_manifest,
    read_recording_parquet,
    pid_alive,
    read_sessions,
    reps_table,
    sets_table,
    write_session,
)
from .paths import combine_sha256, file_sha256, files_sha256, sanitize_partition_value, session_id_from_hash
from .schema import SCHEMA_VERSION, TABLES, hive_partitioning, schema_for

__all__ = [
    "MANIFEST_DIR",
    "SAMPLES_ROWS_PER_PART",
    "SCHEMA_VERSION",
    "TABLES",
    "SessionPaths",
    "atomic_write_bytes",
    "atomic_write_table",
    "combine_sha256",
    "delete_session",
    "file_sha256",
    "files_sha256",
    "hive_partitioning",
    "manifest_is_complete",
    "pid_alive",
    "read_manifest",
    "read_recording_parquet",
    "read_sessions",
    "reps_table",
    "sanitize_partition_value",
    "schema_for",
    "sets_table",
    "session_id_from_hash",
    "write_session",
]
