"""Live capture: bands -> rings -> streaming rep segmenter -> live view -> Parquet.

:class:`LiveCapture` runs one :class:`~repsense.ingest.DeviceSession` (BLE task) and one
:class:`DeviceRecorder` per band. Every ``pump_s`` the recorder drains the band's rings, feeds
the streaming segmenter and updates the view's statistics; every ``flush_s`` (at most 2 s) it
writes the new samples as a new Parquet part and rewrites the sets/reps files when a rep or set
completed. Stopping (duration reached, Ctrl-C, SIGTERM) finalises every session: last flush,
final sets and reps, sessions row, manifest, marker removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DISK_FULL_ERRNOS, DeviceError, DeviceNotFoundError, RepsenseError
from ..ingest import DeviceSession, FoundDevice, HostClock, LinkState, SessionOptions, driver_for, scan
from ..types import Detection, Rep, RepSet
from .writer import LiveSessionWriter, SessionInfo, live_session_id

__all__ = ["DeviceRecorder", "LiveCapture", "LiveOptions", "Target", "resolve_targets"]


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """Options of a live capture (times in host seconds unless named otherwise)."""

    out_dir: str
    participant: str = ""
    duration_s: float | None = None
    flush_s: float = 1.0  # samples reach disk at least this often (<= 2 s)
    pump_s: float = 0.1  # ring -> segmenter cadence
    provisional_s: float = 0.5  # how often the reps of the set in progress are re-detected
    speed: float = 1.0
    session: SessionOptions = SessionOptions()


@dataclass(frozen=True, slots=True)
class Target:
    """A band to capture from: where it is and what it is."""

    found: FoundDevice
    kind: str


def _make_segmenter(sample_rate_hz: float) -> Any:
    from ..segment import RepSegmenter

    return RepSegmenter(sample_rate_hz=sample_rate_hz)


def _detect(t_s: np.ndarray, accel_g: np.ndarray) -> Any:
    from ..segment import detect

    return detect(t_s, accel_g)


def _warm_up() -> None:
    """Run the detector once on a tiny signal so its kernels are compiled (or loaded from cache)."""
    t = np.arange(400) / 100.0
    a = np.zeros((400, 3))
    a[:, 2] = 1.0
    a[100:300, 1] = 0.5 * np.sin(2 * np.pi * 0.5 * t[100:300])
    with contextlib.suppress(ValueError, ArithmeticError):
        _detect(t, a)
    seg = _make_segmenter(100.0)
    seg.update(t, a)
    seg.finish()


def _detector_version() -> str:
    try:
        from ..segment import DETECTOR_VERSION
        return str(DETECTOR_VERSION)
    except ImportError:
        return ""


def _set_from_reps(reps: list[Rep]) -> RepSet:
    """The set in progress, summarised from the reps seen so far."""
    tut = sum(r.end_s - r.start_s for r in reps)
    return RepSet(start_s=reps[0].start_s, end_s=reps[-1].end_s, reps=tuple(reps), tut_s=tut,
                  eccentric_s=sum(r.eccentric_s for r in reps), concentric_s=sum(r.concentric_s for r in reps),
                  pause_s=sum(r.pause_s for r in reps), mean_tempo_s=tut / len(reps))


@dataclass
class ViewRow:
    """What the live view shows for one band."""

    device: str
    kind: str
    link: str = LinkState.CONNECTING
    samples_per_s: float = 0.0
    lost: int = 0
    set_index: int = 0
    reps_in_set: int = 0
    last_tempo_s: float = float("nan")
    tut_s: float = 0.0
    n_reps: int = 0
    note: str = ""


class DeviceRecorder:
    """ring -> segmenter -> writer for one band."""

    #: provisional reps of the set in progress: batch detection over this much recent signal
    WINDOW_S = 90.0  # sets longer than this show provisional reps of their last 90 s only

    #: provisional reps ending closer than this to the newest sample are not shown yet (unsettled)
    SETTLE_S = 1.0

    def __init__(self, session: DeviceSession, kind: str, options: LiveOptions) -> None:
        self.session = session
        self.kind = kind
        self.options = options
        self.writer: LiveSessionWriter | None = None
        self.segmenter: Any = None
        self.sets: list[RepSet] = []
        self.current: list[Rep] = []
        self.row = ViewRow(device=session.name or session.address, kind=kind)
        self._rate_window: deque[tuple[float, int]] = deque(maxlen=50)
        self._dirty = False
        self.appearances: list[tuple[int, float, float, bool]] = []  # (host UTC ns, start_s, end_s, provisional)
        self.rep_delays_s: list[float] = []  # per final rep: its end -> first shown (host seconds)
        self.t0_utc_ns: int | None = None
        self._window: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self._last_provisional = 0.0

    # ----------------------------------------------------------------- setup
    def _open(self, t0_utc_ns: int) -> None:
        s = self.session
        self.t0_utc_ns = t0_utc_ns
        info = SessionInfo(session_id=live_session_id(s.address, t0_utc_ns), participant=self.options.participant,
                           date=_date(t0_utc_ns), t0_utc_ns=t0_utc_ns, device_kind=self.kind, address=s.address,
                           name=s.name, firmware=s.driver.firmware, sample_rate_hz=s.driver.sample_rate_hz,
                           detector_version=_detector_version())
        self.writer = LiveSessionWriter.open(self.options.out_dir, info)
        self.segmenter = _make_segmenter(s.driver.sample_rate_hz)

    @property
    def session_id(self) -> str | None:
        return self.writer.info.session_id if self.writer else None

    # ----------------------------------------------------------------- quality
    def quality(self) -> dict[str, Any]:
        s = self.session
        streams = {}
        for name, clock in s.clocks.items():
            ring = s.rings[name]
            streams[name] = {
                "sample_rate_hz": clock.sample_rate_hz,
                "n_received": clock.n_samples + clock.n_duplicate + clock.n_lost,
                "n_kept": ring.n_read,
                "dropped": {"lost_in_gap": clock.n_lost, "duplicate": clock.n_duplicate,
                            "ring_overflow": ring.n_overflow},
                "gaps": [g.as_dict() for g in clock.gaps],
                "drift_ppm": clock.drift_ppm,
                "n_late_notifications": clock.n_late,
            }
        c = s.counters
        return {"streams": streams, "n_notifications": c.n_notifications, "n_malformed": c.n_malformed,
                "malformed": dict(c.malformed), "n_reconnects": c.n_reconnects, "n_stalls": c.n_stalls,
                "n_connect_failures": c.n_connect_failures, "n_queue_full": s.n_queue_full,
                "speed": self.options.speed}

    # ----------------------------------------------------------------- pumping
    def pump(self) -> None:
        """Drain the rings into the writer's queue and the segmenter; update the view row."""
        s = self.session
        accel = s.rings.get("accel")
        if accel is not None and self.writer is None and len(accel):
            t_first, _ = accel.snapshot(len(accel))
            self._open(int(t_first[0]) if t_first.size else 0)
        if self.writer is None:
            self.row.link = s.state
            return
        fed = False
        for name, ring in s.rings.items():
            t, v = ring.read()
            if t.shape[0] == 0:
                continue
            self.writer.add_samples(name, t, v)
            if name == "accel":
                t_s = (t - self.t0_utc_ns).astype(np.float64) / 1e9
                a = v.astype(np.float64)
                self._window.append((t_s, a))
                while self._window and self._window[0][0][-1] < t_s[-1] - self.WINDOW_S:
                    self._window.popleft()
                for rs in self.segmenter.update(t_s, a):
                    self.sets.append(rs)
                    self.current = []
                    self._dirty = True
                    self._announce(rs.reps)
                fed = True
        now = time.monotonic()
        if fed and now - self._last_provisional >= self.options.provisional_s:
            self._last_provisional = now
            self._provisional()
        self._update_row()

    def _provisional(self) -> None:
        """Reps of the set in progress: batch detection over the recent signal since the last set."""
        after_s = self.sets[-1].end_s if self.sets else -np.inf
        chunks = [(t, a) for t, a in self._window if t[-1] > after_s]
        if not chunks:
            self.current = []
            return
        t = np.concatenate([c[0] for c in chunks])
        a = np.concatenate([c[1] for c in chunks])
        keep = t > after_s
        t, a = t[keep], a[keep]
        if t.shape[0] < 50:
            return
        try:
            det = _detect(t, a)
        except (ValueError, ArithmeticError):  # too little or odd signal for now: try again later
            return
        reps = [r for rs in det.sets for r in rs.reps if r.end_s <= t[-1] - self.SETTLE_S]
        self.current = reps
        self._announce(reps, provisional=True)

    def _announce(self, reps: Any, provisional: bool = False) -> None:
        """Record when reps became visible (for the rep-to-view delay)."""
        now = self.session.host_clock.now_utc_ns()
        for r in reps:
            self.appearances.append((now, r.start_s, r.end_s, provisional))
        if reps:
            self.row.last_tempo_s = reps[-1].end_s - reps[-1].start_s

    def _host_ns_of(self, t_s: float) -> float:
        """Host UTC ns at which session time ``t_s`` happened (undoing the emulation speed-up)."""
        assert self.t0_utc_ns is not None
        utc = self.t0_utc_ns + t_s * 1e9
        clock = self.session.clocks.get("accel")
        host0 = clock._host0 if clock is not None and clock._host0 is not None else self.t0_utc_ns
        return host0 + (utc - host0) / self.options.speed

    def _rep_delays(self, tol_s: float = 0.3) -> list[float]:
        """For every final rep: first time a matching rep (start and end within ``tol_s``) was shown."""
        out = []
        for rs in self.sets:
            for r in rs.reps:
                seen = [t for t, a, b, _ in self.appearances
                        if abs(a - r.start_s) <= tol_s and abs(b - r.end_s) <= tol_s]
                if seen:
                    out.append((min(seen) - self._host_ns_of(r.end_s)) / 1e9)
        return out

    def _all_sets(self) -> list[RepSet]:
        """Completed sets plus the one in progress (provisional)."""
        return self.sets + ([_set_from_reps(self.current)] if self.current else [])

    def _update_row(self) -> None:
        s, row = self.session, self.row
        row.device = s.name or s.address
        row.link = s.state
        row.lost = s.n_lost + s.n_overflow
        n = s.n_samples("accel")
        now = time.monotonic()
        self._rate_window.append((now, n))
        t_old, n_old = self._rate_window[0]
        if now - t_old > 0.2:
            row.samples_per_s = (n - n_old) / (now - t_old)
        row.reps_in_set = len(self.current)
        row.n_reps = sum(x.n_reps for x in self.sets) + len(self.current)
        row.tut_s = sum(x.tut_s for x in self._all_sets())
        row.set_index = len(self.sets) + (1 if self.current else 0)

    def flush(self) -> None:
        if self.writer is None:
            return
        self.writer.flush(self.quality())
        if self._dirty:  # completed sets only: provisional reps are for the view
            self.writer.write_detection(self.sets)
            self._dirty = False

    def finalise(self) -> Detection | None:
        self.pump()
        if self.writer is None:
            return None
        for rs in self.segmenter.finish():
            self.sets.append(rs)
            self._announce(rs.reps)
        self.current = []
        self.rep_delays_s = self._rep_delays()
        det = Detection(sets=tuple(self.sets), sample_rate_hz=self.session.driver.sample_rate_hz,
                        detector_version=_detector_version())
        self.writer.finalise(det, self.quality())
        self._update_row()
        return det


class LiveStorageError(RepsenseError):
    """The live session could not be written (disk full, file-size limit, permissions)."""


def _storage_message(exc: OSError) -> str:
    where = exc.filename or "the output folder"
    hint = " (disk full or file-size limit?)" if exc.errno in DISK_FULL_ERRNOS else ""
    return (f"cannot write {where}: {exc.strerror or exc}{hint}; samples flushed before this are kept, "
            "and 'repsense repair --out DIR' finalises the session once the problem is fixed")


def _date(t_utc_ns: int) -> str:
    import datetime as _dt
    return _dt.datetime.fromtimestamp(t_utc_ns / 1e9, tz=_dt.UTC).date().isoformat()


async def resolve_targets(*, devices: list[str], kind: str | None, scan_timeout_s: float,
                          scanner_backend: Any = None) -> list[Target]:
    """Find each band given by address or name (one scan) and recognise its kind."""
    from ..protocols import identify

    def matches(want: str, found: list[FoundDevice]) -> list[FoundDevice]:
        return [d for d in found if d.address.upper() == want.upper()] or \
               [d for d in found if d.name and want.lower() in d.name.lower()]

    found = await scan(scan_timeout_s, backend=scanner_backend,
                       stop_when=lambda seen: all(matches(w, seen) for w in devices))
    targets = []
    for want in devices:
        match = matches(want, found)
        if not match:
            raise DeviceNotFoundError(f"no band matching {want!r} seen in {scan_timeout_s:.0f} s of scanning "
                                      f"({len(found)} advertisers seen)")
        dev = match[0]
        k = kind or identify(dev.service_uuids, dev.name)
        if k is None:
            raise DeviceError(f"{dev.address} ({dev.name or 'no name'}): services {', '.join(dev.service_uuids) or 'none'}"
                              " match no known protocol; pass --kind")
        targets.append(Target(dev, k))
    return targets


class LiveCapture:
    """Capture from several bands at once until stopped.

    Parameters
    ----------
    targets : the bands.
    options : :class:`LiveOptions`.
    client_backend : bleak client backend (None: the real one; an emulated one for --emulate).
    view : optional object with ``update(rows)``, called every pump.
    """

    def __init__(self, targets: list[Target], options: LiveOptions, *, client_backend: Any = None,
                 view: Any = None) -> None:
        self.options = options
        self.host_clock = HostClock()
        self.stop = asyncio.Event()
        self.view = view
        self.recorders: list[DeviceRecorder] = []
        sopts = options.session
        if options.speed != sopts.speed:
            sopts = SessionOptions(**{**{f: getattr(sopts, f) for f in sopts.__dataclass_fields__},
                                      "speed": options.speed})
        for t in targets:
            driver = driver_for(t.kind, sopts.sample_rate_hz, gyro=sopts.gyro)
            session = DeviceSession(t.found, driver, self.host_clock, backend=client_backend, options=sopts)
            self.recorders.append(DeviceRecorder(session, t.kind, options))
        self.errors: list[str] = []

    @property
    def rep_delays_s(self) -> list[float]:
        """Rep end -> first shown in the view, host seconds, every band (after :meth:`run`)."""
        return [d for r in self.recorders for d in r.rep_delays_s]

    def request_stop(self) -> None:
        self.stop.set()

    def _pump_thread(self) -> None:
        """The rings' reader, on its own thread: segmentation and Parquet writes never block
        the event loop that stamps BLE notifications (numba kernels and Parquet I/O release
        the GIL). Exits after one last pass once every session has stopped. A storage error
        stops the capture (what was flushed stays readable; ``repair`` finalises it later)."""
        try:
            self._pump_loop_body()
        except OSError as exc:
            self._pump_error = LiveStorageError(_storage_message(exc))
            self._loop.call_soon_threadsafe(self.stop.set)
        except BaseException as exc:
            self._pump_error = exc
            self._loop.call_soon_threadsafe(self.stop.set)

    def _pump_loop_body(self) -> None:
        o = self.options
        last_flush = time.monotonic()
        while True:
            final = self._sessions_done.is_set()
            for r in self.recorders:
                r.pump()
            if self.view is not None:
                self.view.update([r.row for r in self.recorders])
            if final:
                return
            if time.monotonic() - last_flush >= o.flush_s:
                for r in self.recorders:
                    r.flush()
                last_flush = time.monotonic()
            self._sessions_done.wait(o.pump_s)

    async def run(self) -> list[Detection | None]:
        """Capture until the duration elapses or :meth:`request_stop`; finalise; return detections."""
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.stop.set)
                installed.append(sig)
        # compile the detector's kernels before any band streams (a first numba compile takes seconds)
        await asyncio.to_thread(_warm_up)
        self._sessions_done = threading.Event()
        self._loop = loop
        self._pump_error: BaseException | None = None
        tasks = [asyncio.create_task(r.session.run(self.stop), name=f"band-{r.session.address}")
                 for r in self.recorders]
        pump = asyncio.ensure_future(asyncio.to_thread(self._pump_thread))
        timer = None
        if self.options.duration_s is not None:
            timer = loop.call_later(self.options.duration_s, self.stop.set)
        try:
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for r, res in zip(self.recorders, results, strict=True):
                if isinstance(res, BaseException):
                    if not isinstance(res, (DeviceError, OSError)):
                        raise res
                    self.errors.append(f"{r.session.address}: {res}")
                    r.row.note = str(res)
        finally:
            self.stop.set()
            self._sessions_done.set()
            if timer is not None:
                timer.cancel()
            for sig in installed:
                loop.remove_signal_handler(sig)
            await pump
        if self._pump_error is not None:
            raise self._pump_error
        try:
            dets = [r.finalise() for r in self.recorders]
        except OSError as exc:
            raise LiveStorageError(_storage_message(exc)) from None
        if self.view is not None:
            self.view.update([r.row for r in self.recorders])
        return dets
