"""The ``mood`` table of the Parquet store: schema, atomic partitioned writes, reads.

Layout (see docs/MOOD.md)::

    OUT/mood/participant=<P>/<content-hash>.parquet

One file per import and participant, named by the hash of the entries it holds, so writing
the same entries again replaces the same file instead of adding a copy. ``participant`` is
both a column in each file and the partition key.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..errors import DISK_FULL_ERRNOS, InputError, SchemaError
from ..store import atomic_write_table, sanitize_partition_value
from ..store import atomic_write_bytes as _store_write_bytes  # the store's one atomic writer
from ..store import pid_alive
from ..store.parquet import find_damaged_file
from ..store.schema import _f as store_field

MOOD_SCHEMA_VERSION = "1"
TABLE = "mood"


def _f(name: str, typ: pa.DataType, unit: str, doc: str, nullable: bool = False) -> pa.Field:
    # the store's field builder, so every table carries the same metadata keys (unit, description)
    return store_field(name, typ, unit, doc, nullable)


MOOD_SCHEMA = pa.schema(
    [
        _f("entry_id", pa.string(), "", "sha256(participant, instrument, t_utc) hex, 32 chars: the row key"),
        _f("participant", pa.string(), "", "participant id, or its keyed pseudonym (ps-...)"),
        _f("t_utc", pa.timestamp("ns", tz="UTC"), "ns", "time the measure was taken, UTC"),
        _f("utc_offset_s", pa.int32(), "s", "UTC offset of the original timestamp (seconds east of UTC)"),
        _f("timezone", pa.string(), "", "IANA zone used to localise a naive timestamp ('' if an offset was given)"),
        _f("instrument", pa.string(), "", "instrument key: phq9, gad7, stai_y1, fs, fas or a custom scale"),
        _f("instrument_version", pa.string(), "", "instrument, form and repsense scoring version"),
        _f("items", pa.list_(pa.int16()), "points", "item responses as given (item 1 first), null if only a total",
           nullable=True),
        _f("total", pa.float64(), "points", "total score (reverse items applied), instrument's range"),
        _f("total_source", pa.string(), "", "'items', 'given' or 'items+given' (given total checked)"),
        _f("source_file", pa.string(), "", "base name of the imported file ('' when pseudonymised)"),
        _f("source_sha256", pa.string(), "", "sha256 of the imported file's bytes"),
        _f("source_line", pa.int32(), "", "1-based line of the entry in its source file"),
        _f("pseudonymised", pa.bool_(), "", "participant holds a keyed pseudonym"),
    ],
    metadata={"repsense.schema_version": MOOD_SCHEMA_VERSION, "repsense.table": TABLE},
)


def partition_value(participant: str) -> str:
    """Partition folder value of ``participant`` (the store's sanitiser: '' -> ``unknown``, odd bytes %-encoded)."""
    return sanitize_partition_value(participant)


def mood_dir(store: str | Path) -> Path:
    return Path(store) / TABLE


def empty_mood_table() -> pa.Table:
    return MOOD_SCHEMA.empty_table()


class OutputError(InputError):
    """An output file or folder cannot be written: disk full, file-size limit, a path below a regular
    file, no permission. ``path`` names the file or folder; nothing half written is left behind."""


_TMP_NAME = re.compile(r"^\..+\.tmp$")


def describe_os_error(exc: OSError) -> str:
    """One line for an :class:`OSError` from a write: the system's text, plus a hint for a full disk."""
    text = os.strerror(exc.errno) if exc.errno else (exc.strerror or str(exc) or type(exc).__name__)
    if exc.errno in DISK_FULL_ERRNOS:
        text += " (disk full or file-size limit reached)"
    return text


@contextlib.contextmanager
def writing(path: str | Path, what: str = "", *, folder: bool = False) -> Iterator[None]:
    """Turn an :class:`OSError` raised while writing ``path`` into an :class:`OutputError` naming it
    (``what``, if given, is appended to the message; ``folder``: ``path`` is a folder being created).

    The error names the folder that could not be created when that is what failed, else ``path``
    (never a hidden temp file: those are removed by the atomic writers).
    """
    try:
        yield
    except OSError as exc:
        where = Path(path)
        if exc.filename and not _TMP_NAME.match(Path(os.fsdecode(exc.filename)).name):
            where = Path(os.fsdecode(exc.filename))
        verb = "cannot create folder" if folder or where != Path(path) else "cannot write"
        notes = [what] if what else []
        if isinstance(exc, (NotADirectoryError, FileExistsError)):
            blocker = next((p for p in (where, *where.parents) if p.exists() and not p.is_dir()), None)
            if blocker is not None:
                notes.insert(0, f"{blocker} is a regular file, not a folder")
        note = "".join(f"; {n}" for n in notes)
        raise OutputError(f"{verb}: {describe_os_error(exc)}{note}", path=str(where)) from None


def _remove_legacy_tmp(path: Path) -> None:
    """Remove ``.<name>.<pid>.tmp`` files that earlier repsense versions left for ``path`` when killed.

    Those names carry no host, so only a pid that does not run here is taken as dead. Current temp
    files (``.<name>.<host>.<pid>.<random>.tmp``) are cleaned by the store's writer.
    """
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:-4]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def atomic_write_bytes(data: bytes, path: str | Path) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename), mode 0600.

    Missing folders are created 0700. Temp files that dead writers on this host left for ``path``
    are removed first. Used for the rejects CSV, CSV outputs and reports; Parquet goes through
    :func:`repsense.store.atomic_write_table`. Both use the store's atomic writer.

    Raises
    ------
    OutputError
        The file or its folder cannot be written; no temp file is left.
    """
    path = Path(path)
    with writing(path):
        if path.parent.is_dir():
            _remove_legacy_tmp(path)
        _store_write_bytes(data, path)
    return path


def _ensure_dirs(store: Path) -> None:
    for d in (store, mood_dir(store)):
        d.mkdir(mode=0o700, parents=True, exist_ok=True)


def write_mood(store: str | Path, entries: pa.Table) -> list[Path]:
    """Write ``entries`` (MOOD_SCHEMA) into the store, one file per participant; returns the paths.

    The file name is the hash of the sorted entry ids and totals, so the same entries always
    land in the same file. Callers deduplicate against the store first (see ``import_mood_log``).
    Every participant's folder name is checked before the first file is written.

    Raises
    ------
    InputError
        A participant id too long for a folder name (nothing written).
    OutputError
        A file or folder cannot be written; the message says how many participant files were
        stored before it (each one whole; importing again adds the rest).
    """
    if not entries.schema.equals(MOOD_SCHEMA, check_metadata=False):
        raise SchemaError(f"mood entries do not match the mood schema:\n{entries.schema}")
    store = Path(store)
    if entries.num_rows == 0:
        return []
    participants = sorted(set(entries.column("participant").to_pylist()))
    targets = []
    for participant in participants:  # every folder name is checked before anything is written
        part = entries.filter(pc.equal(entries["participant"], participant))
        part = part.sort_by([("t_utc", "ascending"), ("instrument", "ascending")])
        h = hashlib.sha256()
        for eid, total in zip(part["entry_id"].to_pylist(), part["total"].to_pylist()):
            h.update(f"{eid}:{total!r}\n".encode())
        path = mood_dir(store) / f"participant={partition_value(participant)}" / f"{h.hexdigest()[:32]}.parquet"
        targets.append((path, part))
    with writing(mood_dir(store), folder=True):
        _ensure_dirs(store)
    paths: list[Path] = []
    for path, part in targets:
        done = (f"{len(paths)} of {len(targets)} participant file(s) stored before this one; importing again "
                "adds the rest") if paths else ""
        with writing(path, done):
            atomic_write_table(part.replace_schema_metadata(MOOD_SCHEMA.metadata), path)
        paths.append(path)
    return paths


_DAMAGED = "restore it from a backup or move it out of the store and import its mood log again"
_BARE_SCHEMA = pa.schema([f.remove_metadata() for f in MOOD_SCHEMA])
# Files written by repsense.store.atomic_write_table carry CRC32 page checksums: verify them on read.
_VERIFIED_PARQUET = ds.ParquetFileFormat(
    default_fragment_scan_options=ds.ParquetFragmentScanOptions(page_checksum_verification=True))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def read_mood(store: str | Path, participant: str | None = None) -> pa.Table:
    """Every stored mood entry (optionally of one participant), sorted by participant and time.

    Raises
    ------
    SchemaError
        A mood file was written with another schema version, or is damaged (not readable Parquet).
    """
    root = mood_dir(store)
    if not root.is_dir():
        return empty_mood_table()
    files = sorted(str(p) for p in root.glob("participant=*/*.parquet"))
    if not files:
        return empty_mood_table()
    for f in files:
        try:
            schema = pq.read_schema(f)
        except (pa.ArrowException, OSError, ValueError) as exc:  # ValueError: e.g. a name no longer UTF-8
            raise SchemaError(f"{f}: not a readable Parquet file ({_first_line(exc)}); {_DAMAGED}") from None
        version = (schema.metadata or {}).get(b"repsense.schema_version", b"?").decode("utf-8", "replace")
        if version != MOOD_SCHEMA_VERSION:
            raise SchemaError(f"{f}: mood schema version {version}, this repsense reads {MOOD_SCHEMA_VERSION}")
        if not schema.remove_metadata().equals(_BARE_SCHEMA):  # a damaged name would read as a column of nulls
            raise SchemaError(f"{f}: columns differ from the mood schema version {version}; {_DAMAGED}")
    try:
        dataset = ds.dataset(files, schema=MOOD_SCHEMA, format=_VERIFIED_PARQUET)
        flt = None if participant is None else ds.field("participant") == participant
        table = dataset.to_table(filter=flt)
    except (pa.ArrowException, OSError, ValueError) as exc:  # damaged pages (page checksums), intact footer
        hit = find_damaged_file(files)  # error path only: name the file
        if hit is not None:
            raise SchemaError(f"{hit[0]}: cannot read the mood table, this file is damaged "
                              f"({_first_line(hit[1])}); {_DAMAGED}") from None
        raise SchemaError(f"{root}: cannot read the mood table ({_first_line(exc)}); a file is damaged") from None
    return table.sort_by([("participant", "ascending"), ("t_utc", "ascending"), ("instrument", "ascending")])


def write_table_file(table: pa.Table, path: str | Path) -> Path:
    """Write ``table`` to ``path`` as Parquet (``.parquet``/``.pq``, zstd) or CSV (``.csv``), atomically, 0600.

    Raises
    ------
    InputError
        Any other suffix.
    OutputError
        The file or its folder cannot be written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        with writing(path):
            return atomic_write_table(table, path)
    if suffix != ".csv":
        raise InputError(f"output suffix {path.suffix!r}: want .parquet or .csv", path=str(path))
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    return atomic_write_bytes(buf.getvalue(), path)
