"""MetaBase / MetaWear app CSV exports (``../shared/PROTOCOLS.md`` §2.5).

Dialects, told apart by the first header field (the time column is never parsed):

========================  =====================================================  ============
dialect                   header                                                 epoch unit
========================  =====================================================  ============
``android`` (a) / hub (d) ``epoch (ms),time (<TZ>),elapsed (s),x-axis (g),...``   ms (integer)
``ios`` (b)               ``epoc (ms),timestamp (-0800),elapsed (s),x-axis (g)``  ms; rows may
                                                                                 share an epoch
``metabase5`` (c)         ``Epoch,Timestamp (-0800),Elapsed (s),X,Y,Z``           s (3 decimals)
========================  =====================================================  ============

The sensor comes from the unit suffix of the last three columns (``(g)`` accelerometer,
``(deg/s)`` gyroscope); for unit-less ``X,Y,Z`` it comes from the file name
(``..._Gyroscope_...``), else accelerometer is assumed.

File names carry the pairing: ``<label>_<device>_<start>_<MAC>_<Sensor>_<rate>Hz_<firmware>.csv``.
The accelerometer and gyroscope files of one set share everything but ``<Sensor>_<rate>Hz``.
The epoch column is the time base (the local time column is only cross-checked, see
:func:`time_column_residual_ms`). The participant is **not** inferred from ``<label>`` (``A-bench-heavy2`` is a study's naming
convention, not a rule); pass ``participant=``. The label is kept in ``meta.extra["file_label"]``.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, InputError, UnitError
from ..types import Recording
from ._common import StreamRead, assemble, scaled_float32
from ._csvparse import parse_columns
from ._timeline import clean_samples
from .sniff import METABASE_FIRST, Sniff, sniff_file
from .units import ACCEL_TO_G, GYRO_TO_DPS, split_unit

SENSORS = ("Accelerometer", "Gyroscope")
_NAME = re.compile(
    r"^(?P<prefix>.+?)_(?P<sensor>Accelerometer|Gyroscope|Magnetometer|[A-Z][A-Za-z]*?)"
    r"(?:_(?P<rate>\d+(?:\.\d+)?)Hz)?(?:_(?P<fw>\d+(?:\.\d+)*))?\.csv$"
)
_LOCAL_TIME = re.compile(r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d)[:.\-](\d\d)[:.\-](\d\d)(?:\.(\d{1,3}))?")
_QUARTER_HOUR_MS = 15 * 60 * 1000
_PREFIX = re.compile(
    r"^(?P<label>.+?)_(?P<device>[^_]+)_(?P<start>\d{4}-\d\d-\d\dT[\d.]+)_(?P<mac>[0-9A-Fa-f]{12})$"
)


@dataclass(frozen=True, slots=True)
class MetaBaseName:
    """What a MetaBase file name says.

    Attributes
    ----------
    prefix : str
        Everything before ``_<Sensor>``; shared by the files of one set.
    sensor : str
        ``"Accelerometer"``, ``"Gyroscope"``, ...
    rate_hz : float or None
    firmware : str
        e.g. ``"1.4.4"`` (empty if absent).
    label, device, start, mac : str
        Parts of the prefix (empty when the prefix does not follow the app's pattern).
    """

    prefix: str
    sensor: str
    rate_hz: float | None
    firmware: str
    label: str = ""
    device: str = ""
    start: str = ""
    mac: str = ""


def parse_name(path: str | Path) -> MetaBaseName | None:
    """Parse a MetaBase export file name; ``None`` if it does not look like one."""
    m = _NAME.match(Path(path).name)
    if not m or m.group("sensor") not in SENSORS + ("Magnetometer",) and m.group("rate") is None:
        return None
    p = _PREFIX.match(m.group("prefix"))
    mac = p.group("mac").upper() if p else ""
    mac = ":".join(mac[i:i + 2] for i in range(0, 12, 2)) if mac else ""
    return MetaBaseName(
        prefix=m.group("prefix"), sensor=m.group("sensor"),
        rate_hz=float(m.group("rate")) if m.group("rate") else None, firmware=m.group("fw") or "",
        label=p.group("label") if p else "", device=p.group("device") if p else "",
        start=p.group("start") if p else "", mac=mac,
    )


def _siblings(folder: Path, prefix: str, sensor: str, firmware: str) -> list[Path]:
    out = []
    for cand in sorted(glob.glob(str(folder / (glob.escape(prefix) + f"_{sensor}*.csv")))):
        n = parse_name(cand)
        if n is not None and n.prefix == prefix and n.sensor == sensor and n.firmware == firmware:
            out.append(Path(cand))
    return out


def find_pair(path: str | Path) -> tuple[Path, Path | None]:
    """Find the accelerometer and gyroscope files of one set from either file or their prefix.

    Parameters
    ----------
    path : str or Path
        The accelerometer file, the gyroscope file, or the shared prefix
        (``folder/<label>_<device>_<start>_<MAC>``) of an existing set.

    Returns
    -------
    (accel_path, gyro_path or None)

    Raises
    ------
    FormatError
        A gyroscope file without its accelerometer partner, or a prefix that matches several
        exports (e.g. firmware ``1.4.4`` and ``1.4.41``) or none.
    """
    p = Path(path)
    if not p.is_file():
        accel = sorted(Path(c) for c in glob.glob(glob.escape(str(p)) + "_Accelerometer*.csv"))
        accel = [a for a in accel if (n := parse_name(a)) is not None and n.prefix == p.name]
        if not accel:
            raise InputError("no such file, and no MetaBase set with this prefix (expected "
                             f"{p.name}_Accelerometer_<rate>Hz_<firmware>.csv)", path=str(p))
        if len(accel) > 1:
            raise FormatError("prefix matches several exports; pass one file: "
                              + ", ".join(a.name for a in accel), path=str(p))
        p = accel[0]
    name = parse_name(p)
    if name is None or name.sensor not in SENSORS:
        return p, None
    other = "Gyroscope" if name.sensor == "Accelerometer" else "Accelerometer"
    partners = _siblings(p.parent, name.prefix, other, name.firmware)
    if name.sensor == "Gyroscope":
        if not partners:
            raise FormatError("gyroscope file without its accelerometer partner (looked for "
                              f"{name.prefix}_Accelerometer_*Hz_{name.firmware}.csv next to it)", path=str(p))
        return partners[0], p
    return p, (partners[0] if partners else None)


def _sensor_of(path: str, sn: Sniff, name: MetaBaseName | None) -> tuple[str, float]:
    """('accel'|'gyro', factor to g or deg/s) from the unit suffix of the last three columns."""
    units = [split_unit(h)[1] for h in sn.header[-3:]]
    if units[0] is None:
        if any(u is not None for u in units):
            raise UnitError(f"mixed unit suffixes in {list(sn.header[-3:])}", path=path, line=sn.first_line - 1)
        kind = "gyro" if name is not None and name.sensor == "Gyroscope" else "accel"
        return kind, 1.0
    if len(set(units)) != 1:
        raise UnitError(f"mixed unit suffixes in {list(sn.header[-3:])}", path=path, line=sn.first_line - 1)
    unit = units[0]
    if unit in ACCEL_TO_G:
        return "accel", ACCEL_TO_G[unit]
    if unit in GYRO_TO_DPS:
        return "gyro", GYRO_TO_DPS[unit]
    raise UnitError(f"column {sn.header[-3]!r}: unit {unit!r} is neither acceleration (g, m/s^2) nor "
                    "angular rate (deg/s, rad/s); only accelerometer and gyroscope files are read",
                    path=path, line=sn.first_line - 1)


def time_column_residual_ms(sn: Sniff) -> int | None:
    """Disagreement between the epoch and the local time column on the first readable data row.

    Time zones are whole quarter hours, so ``epoch - local_time`` should be a multiple of
    15 min; the remainder (in ms, centred on 0) is returned, ``None`` when the time column
    cannot be read. It is a diagnostic only: the epoch is what the reader uses. (The
    ``_1.4.41`` re-exports of the MetaMotion data set give 1 ms: their epoch column is
    shifted by one day plus 1 ms while their time column is shifted by exactly one day.)
    """
    for row in sn.sample_rows:
        if len(row) < 2:
            continue
        m = _LOCAL_TIME.match(row[1].strip())
        try:
            epoch = float(row[0])
        except ValueError:
            continue
        if m and np.isfinite(epoch):
            break
    else:
        return None
    y, mo, d, h, mi, sec = (int(g) for g in m.groups()[:6])
    frac = m.group(7) or "0"
    try:
        local_ms = int(datetime(y, mo, d, h, mi, sec, tzinfo=timezone.utc).timestamp()) * 1000 + int(frac.ljust(3, "0"))
    except ValueError:
        return None
    epoch_ms = round(epoch * (1000 if METABASE_FIRST[sn.header[0].lower()] == "s" else 1))
    diff = epoch_ms - local_ms
    return int((diff + _QUARTER_HOUR_MS // 2) % _QUARTER_HOUR_MS - _QUARTER_HOUR_MS // 2)


def dialect_of(sn: Sniff) -> str:
    """``"android"`` (also MetaBase-Hub), ``"ios"`` or ``"metabase5"`` from the first header field."""
    first = sn.header[0].lower()
    return {"epoch (ms)": "android", "epoc (ms)": "ios", "epoch": "metabase5"}[first]


@dataclass(slots=True)
class MetaBaseFile:
    """What the header and the name of one MetaBase file say (see :func:`metabase_file`).

    ``extra`` becomes the stream's ``extra`` (the chunked reader also parks its per-file parser
    state there under ``_``-keys while it streams).
    """

    path: Path
    sn: Sniff
    kind: str  # "accel" or "gyro"
    factor: float  # file unit -> g or deg/s
    dialect: str
    epoch_kind: str  # parse kind of the epoch column: "float" (s) or "int" (ms)
    extra: dict[str, Any]

    @property
    def columns(self) -> list[tuple[int, str]]:
        """Parser spec: the epoch and the three value columns."""
        n = len(self.sn.header)
        return [(0, self.epoch_kind), (n - 3, "float"), (n - 2, "float"), (n - 1, "float")]


def metabase_file(path: str | Path, sn: Sniff | None = None) -> MetaBaseFile:
    """Check that ``path`` is a MetaBase export and read its sensor, unit, dialect and name facts.

    Raises
    ------
    FormatError
        Not a MetaBase export. ``UnitError`` from the unit in the header.
    """
    p = str(path)
    sn = sn or sniff_file(path)
    if sn.kind != "metabase":
        raise FormatError(f"not a MetaBase export (first header field {sn.header[:1]})", path=p, line=sn.first_line - 1)
    name = parse_name(path)
    kind, factor = _sensor_of(p, sn, name)
    dialect = dialect_of(sn)
    epoch_kind = "float" if METABASE_FIRST[sn.header[0].lower()] == "s" else "int"
    extra: dict[str, Any] = {"dialect": dialect, "time_label": sn.header[1],
                             "time_column_residual_ms": time_column_residual_ms(sn)}
    if name is not None and name.rate_hz:
        extra["nominal_rate_hz"] = name.rate_hz
    return MetaBaseFile(Path(path), sn, kind, factor, dialect, epoch_kind, extra)


def epoch_ns(epoch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """int64 ns of an epoch column (float seconds or int milliseconds), and the finite mask of a
    float column (None for int)."""
    if epoch.dtype.kind == "f":
        t_finite = np.isfinite(epoch)
        return np.round(np.where(t_finite, epoch, 0.0) * 1e6).astype(np.int64) * 1000, t_finite
    return epoch * 1_000_000, None


def read_metabase_stream(path: str | Path, sn: Sniff | None = None) -> tuple[str, StreamRead]:
    """Read one MetaBase CSV file.

    Parameters
    ----------
    path : str or Path
    sn : Sniff, optional
        The file's sniff result (sniffed here if not given).

    Returns
    -------
    (kind, StreamRead)
        ``kind`` is ``"accel"`` or ``"gyro"``; values are in g or deg/s.
    """
    f = metabase_file(path, sn)
    sn = f.sn
    parsed = parse_columns(path, data_offset=sn.data_offset, first_line=sn.first_line, delimiter=sn.delimiter,
                           decimal=sn.decimal, quoted=sn.quoted, newline=sn.newline,
                           n_fields=len(sn.header), columns=f.columns)
    t_ns, t_finite = epoch_ns(parsed.arrays[0])
    values = scaled_float32(parsed.arrays[1:], [f.factor] * 3)
    clean = clean_samples(t_ns, values, parsed.lines, parsed.drops, packed=f.dialect == "ios", t_finite=t_finite)
    return f.kind, StreamRead(str(path), clean, parsed.n_rows, parsed.drops, parsed.sha256, extra=f.extra)


def read_metabase(path: str | Path, *, participant: str | None = None, session_id: str | None = None,
                  gyro: bool = True) -> Recording:
    """Read a MetaBase set: the accelerometer file and, when present, its gyroscope partner.

    Parameters
    ----------
    path : str or Path
        Either file of the set, or their shared prefix (see :func:`find_pair`).
    participant : str, optional
        Participant id to store (never inferred from the file name).
    session_id : str, optional
        Overrides the id derived from the content hash of the file(s).
    gyro : bool
        Read the gyroscope partner when there is one.

    Returns
    -------
    Recording
        ``device_kind="metawear"``, firmware from the file name, the sensor MAC, device name,
        file label and dialect in ``meta.extra``. If the gyroscope partner cannot be read
        (empty, binary, no usable row...), the recording has no gyro and
        ``meta.extra["gyro_error"]`` says why.
    """
    accel_path, gyro_path = find_pair(path)
    a_sniff = sniff_file(accel_path)
    kind, a_read = read_metabase_stream(accel_path, a_sniff)
    if kind != "accel":
        raise FormatError("expected an accelerometer export but the columns are angular rates; "
                          "pass the accelerometer file of the set", path=str(accel_path))
    g_read = None
    extra: dict[str, Any] = {"reader": "metabase"}
    if gyro and gyro_path is not None:
        # the gyroscope is optional: a partner that cannot be used costs the gyro, not the set
        try:
            g_kind, g_read = read_metabase_stream(gyro_path)
            if g_kind != "gyro":
                raise FormatError("the gyroscope partner holds accelerations", path=str(gyro_path))
        except InputError as exc:
            g_read = None
            extra["gyro_file"] = str(gyro_path)
            extra["gyro_error"] = str(exc)
    name = parse_name(accel_path)
    if name is not None:
        extra.update({k: v for k, v in (("mac", name.mac), ("device_name", name.device),
                                        ("file_label", name.label), ("file_start", name.start)) if v})
    return assemble(a_read, g_read, device_kind="metawear", firmware=name.firmware if name else "",
                    participant=participant, session_id=session_id, extra=extra)
