"""Map a wearable's sample times to UTC, detect gaps and duplicates, estimate clock drift.

Clock model
-----------
A notification carrying samples whose last device time is ``d`` arrives at host time

    h = d + offset + drift * (d - d_ref) + delay,      delay >= 0

``delay`` (BLE connection interval, retransmissions, OS and event-loop scheduling) is one-sided:
it is never negative and its *minimum* is small and stable, while its mean and spread are not.
So the line is fitted to the **lower envelope** of ``h - d``: the minimum of ``h - d`` per window of
``window_s`` of device time, then a least-squares line through those minima, refitted once without
the windows that lie clearly above it (windows where every notification was late); the window still
open is left out, and no slope is fitted before ``min_drift_span_s`` (drift cannot be told from
jitter over a few seconds). The slope is
the device's clock drift (ppm), the intercept its offset to UTC. The mapping is biased late by the
minimum link latency (one connection interval, typically 7.5-50 ms), which no host-side method can
observe.

Devices **with** a device clock (Polar PMD, Movesense, the open DIY profile) give ``device_ns``
per sample; their spacing is kept exactly and only offset/drift come from the fit. Devices
**without** one (MetaWear streaming, InfiniTime, Thingy:52, Bangle.js) get a synthetic device
time: a sample counter at the nominal rate, ``d = k / sample_rate_hz``. The same fit then maps
the counter to UTC, so host arrival time is spread over the samples of each notification at the
nominal rate, corrected for the device's real rate (its drift).

Gaps: from sequence numbers when the protocol has them, from device time (a step of more than
``gap_periods`` sample periods), across a reconnect, and, only when ``arrival_gap_s`` is set,
for counter clocks from arrival time (a notification arriving that much host time after the
fitted line predicts). The last is off by default: without sequence numbers a host stall
followed by a burst of buffered notifications looks the same as lost samples. Each gap stores its span and the estimated number of samples missing.

Sequence numbers, when a protocol has them, are the authority: a frame that follows the last one
directly is never a gap nor a duplicate, whatever its device time says; a device time that
disagrees with the sequence by more than a frame means the device clock stepped (resync, reset),
and the stream's time line is kept continuous across the step (recorded in ``clock_jumps``).

Duplicates: samples whose device time is not after the last one accepted, or whose sequence
number was already stored, are dropped and counted. A frame with an older sequence number that was
never stored is not a duplicate: if it precedes the stream's first frame (the first two arrived
swapped) its samples are reported missing as a ``sequence`` gap; if it falls in a gap already
reported it is dropped and counted in ``n_late_dropped`` (its samples are already in ``n_lost``).
After a reconnect a device that resends its buffer therefore never stores a sample twice. The emitted UTC stamps are strictly increasing per stream and never step back: when
a refit moves the mapping back (mostly in the first seconds, while the envelope forms), the
difference is carried forward and slewed away by at most 10 % of a sample period per
notification (counted in ``n_shifted``). Inside a notification the device's spacing is exact.

Emulation at ``speed`` x real time: host time is rescaled around the first arrival
(``h' = h0 + (h - h0) * speed``) so the session keeps the recording's own time base.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

__all__ = ["ClockStamp", "Gap", "StreamClock"]

_SLEW = 0.1  # fraction of a sample period the mapping may move back per notification
_MAX_DRIFT = 1e-3  # 1000 ppm: far beyond any crystal (+/-100 ppm); larger slopes are jitter artefacts


@dataclass(frozen=True, slots=True)
class Gap:
    """Samples that never arrived: between the last sample before and the first sample after."""

    start_utc_ns: int
    end_utc_ns: int
    n_missing: int
    reason: str  # "timestamp", "sequence", "arrival", "disconnect"

    def as_dict(self) -> dict:
        return {"start_utc_ns": self.start_utc_ns, "end_utc_ns": self.end_utc_ns,
                "n_missing": self.n_missing, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class ClockStamp:
    """Result of :meth:`StreamClock.stamp` for one notification.

    ``values[first_kept:]`` of the notification are new samples, stamped by ``t_utc_ns``;
    the ``first_kept`` before them were duplicates.
    """

    t_utc_ns: np.ndarray
    first_kept: int


class _EnvelopeFit:
    """Online lower-envelope line fit of (host - device) against device time."""

    def __init__(self, window_ns: int, history: int, min_span_s: float) -> None:
        self.window_ns = window_ns
        self.min_span_s = min_span_s
        self._minima: deque[tuple[float, float]] = deque(maxlen=history)  # (device s rel. ref, min h-d ns)
        self._cur_key: int | None = None
        self._cur: tuple[float, float] | None = None
        self.ref_ns: int | None = None
        self.base_ns = 0  # integer part of host - device, so float64 keeps ns precision
        self.offset_ns = 0.0  # at ref, relative to base_ns
        self.slope = 0.0  # drift, dimensionless
        self.n_points = 0

    def add(self, device_ns: int, host_ns: int) -> None:
        if self.ref_ns is None:
            self.ref_ns = device_ns
            self.base_ns = host_ns - device_ns
        x = (device_ns - self.ref_ns) * 1e-9
        y = float(host_ns - device_ns - self.base_ns)
        self.n_points += 1
        key = device_ns // self.window_ns
        if key != self._cur_key:
            if self._cur is not None:
                self._minima.append(self._cur)
            self._cur_key, self._cur = key, (x, y)
            self._refit()
        elif y < self._cur[1]:
            self._cur = (x, y)
            if len(self._minima) < 2:
                self._refit()

    def _refit(self) -> None:
        pts = list(self._minima)
        if self._cur is not None and len(pts) < 3:  # an open window's minimum is not settled yet
            pts.append(self._cur)
        xy = np.asarray(pts) if pts else np.zeros((0, 2))
        x, y = xy[:, 0], xy[:, 1]
        if len(pts) < 3 or x[-1] - x[0] < self.min_span_s:
            # too short to tell drift from jitter: slope 0 through the lowest point
            self.slope, self.offset_ns = 0.0, float(y.min()) if len(y) else 0.0
            return
        slope, icpt = np.polyfit(x, y, 1)
        resid = y - (slope * x + icpt)
        mad = float(np.median(np.abs(resid - np.median(resid)))) + 1e3  # +1 us floor
        keep = resid < 3.0 * 1.4826 * mad  # delays are one-sided: reject windows that were all late
        if keep.sum() >= 3 and not keep.all():
            slope, icpt = np.polyfit(x[keep], y[keep], 1)
        slope = float(np.clip(slope, -_MAX_DRIFT * 1e9, _MAX_DRIFT * 1e9))
        self.slope, self.offset_ns = slope * 1e-9, float(icpt)

    def host_minus_device(self, device_ns: np.ndarray) -> np.ndarray:
        """int64 ns to add to device time to get host (UTC) time."""
        dev = np.asarray(device_ns, dtype=np.int64)
        if self.ref_ns is None:
            return np.zeros(dev.shape, dtype=np.int64)
        rel = (dev - self.ref_ns).astype(np.float64)
        return self.base_ns + np.round(self.offset_ns + self.slope * rel).astype(np.int64)


class StreamClock:
    """Per-stream device-time -> UTC mapping with gap and duplicate accounting.

    Parameters
    ----------
    sample_rate_hz : float
        Nominal rate (used for counter time, gap sizes and the minimum step).
    device_time : bool
        True when notifications carry per-sample device timestamps.
    window_s : float
        Width of the lower-envelope windows (host seconds; device seconds x ``speed``).
    history_s : float
        How much time the fit remembers (host seconds).
    gap_periods : float
        A device-time step larger than this many sample periods is a gap.
    arrival_gap_s : float or None
        Counter clocks: a notification later than the fitted line by more than this (host
        seconds) is taken as a gap. Off (None) by default: the BLE link layer retransmits, so
        while connected a late notification is far more often a host stall followed by a
        burst of buffered notifications (no sample lost) than lost samples; such notifications
        are counted in ``n_late``. Outages across a reconnect are always gaps.
    speed : float
        Replay speed of an emulated device (host time is rescaled by it); 1 for real devices.
    seq_modulo : int or None
        Wrap-around of the protocol's sequence number (e.g. 256 for a u8), None when it has none.
    min_drift_span_s : float
        Drift is estimated only once the fit spans this much host time; before, slope 0.
    """

    def __init__(self, sample_rate_hz: float, *, device_time: bool, window_s: float = 1.0,
                 history_s: float = 600.0, gap_periods: float = 1.5, arrival_gap_s: float | None = None,
                 speed: float = 1.0, seq_modulo: int | None = None, min_drift_span_s: float = 20.0) -> None:
        if not sample_rate_hz > 0:
            raise ValueError(f"sample_rate_hz must be > 0, got {sample_rate_hz}")
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.sample_rate_hz = float(sample_rate_hz)
        self.period_ns = 1e9 / self.sample_rate_hz
        self.device_time = bool(device_time)
        self.gap_periods = float(gap_periods)
        self.arrival_gap_ns = None if arrival_gap_s is None else float(arrival_gap_s) * 1e9
        self.n_late = 0  # counter clocks: notifications over 1 s (host) later than the fit expects
        self.speed = float(speed)
        self.seq_modulo = seq_modulo
        # windows and spans are host (wall) durations: jitter lives in host time, so an emulated
        # band replayed `speed` x faster needs `speed` x more device time for the same evidence
        window_ns = max(1, int(window_s * self.speed * 1e9))
        self._fit = _EnvelopeFit(window_ns, max(3, int(history_s / window_s)), min_drift_span_s * self.speed)
        self._host0: int | None = None
        self._last_dev: int | None = None  # device ns of the last accepted sample
        self._last_utc: int | None = None
        self._next_seq: int | None = None
        # unwrapped sequence numbers: the stream's first, the next expected, and those resolved
        # (stored, or dropped as late); told apart from duplicates within half the wrap-around
        self._first_abs: int | None = None
        self._next_abs = 0
        self._seq_done: set[int] = set()
        self._seq_window = seq_modulo // 2 if seq_modulo else 1 << 16
        self._first_utc: int | None = None
        self._counter = 0  # counter clocks: index of the next sample
        self._reconnected = False
        self.gaps: list[Gap] = []
        self.n_samples = 0
        self.n_lost = 0
        self.n_duplicate = 0
        self.n_late_dropped = 0  # samples of frames that arrived after their gap was reported (in n_lost)
        self.n_shifted = 0  # notifications shifted forward to keep stamps increasing
        self._carry_ns = 0.0  # forward shift still being slewed away
        self._dev_shift_ns = 0  # added to device time after device clock steps seen through seq numbers
        self.clock_jumps: list[tuple[int, int]] = []  # (UTC ns where it happened, device clock step ns)

    # ----------------------------------------------------------------- state
    @property
    def drift_ppm(self) -> float:
        """Estimated device clock drift (device slow -> positive), parts per million."""
        return self._fit.slope * 1e6

    @property
    def offset_ns(self) -> float:
        """UTC minus device time at the fit's reference point (ns)."""
        return self._fit.base_ns + self._fit.offset_ns

    def mark_disconnect(self) -> None:
        """The link dropped; the next notification starts a new segment after a gap."""
        self._reconnected = True

    def _host(self, host_ns: int) -> int:
        if self._host0 is None:
            self._host0 = host_ns
        if self.speed == 1.0:
            return host_ns
        return self._host0 + int(round((host_ns - self._host0) * self.speed))

    def _to_utc(self, device_ns: np.ndarray) -> np.ndarray:
        return device_ns + self._fit.host_minus_device(device_ns)

    def _seq_step(self, seq: int) -> int | None:
        """Notifications between the expected and this one (0 = in order, <0 = old), None if unknown."""
        if self._next_seq is None:
            return None
        d = seq - self._next_seq
        if self.seq_modulo:
            d %= self.seq_modulo
            if d > self.seq_modulo // 2:
                d -= self.seq_modulo
        return d

    def _add_gap(self, n_missing: int, reason: str, end_utc: int) -> None:
        start = self._last_utc if self._last_utc is not None else end_utc
        self.gaps.append(Gap(int(start), int(end_utc), int(max(0, n_missing)), reason))
        self.n_lost += int(max(0, n_missing))

    # ----------------------------------------------------------------- stamping
    def stamp(self, host_ns: int, n: int, device_ns: np.ndarray | None = None,
              seq: int | None = None) -> ClockStamp:
        """Stamp the ``n`` samples of one notification that arrived at ``host_ns`` (UTC ns).

        Parameters
        ----------
        host_ns : int
            Host arrival time of the notification (UTC ns, from a monotonic clock anchored once).
        n : int
            Samples in the notification.
        device_ns : int64 array (n,) or None
            Per-sample device time (any epoch), required when ``device_time`` is True.
        seq : int or None
            The notification's sequence number, when the protocol has one.

        Returns
        -------
        ClockStamp
        """
        h = self._host(int(host_ns))
        reconnected, self._reconnected = self._reconnected, False
        if n <= 0:
            return ClockStamp(np.empty(0, np.int64), 0)
        step = self._seq_step(seq) if seq is not None else None
        seq_abs = None if seq is None else (int(seq) if step is None else self._next_abs + step)
        if step is not None and step < 0 and not reconnected:
            return self._stamp_old_seq(seq_abs, n, device_ns)
        if self.device_time:
            if device_ns is None or len(device_ns) != n:
                raise ValueError("device_time clock needs one device timestamp per sample")
            dev = np.asarray(device_ns, dtype=np.int64)
            stamp = self._stamp_device(h, dev, step, reconnected)
        else:
            stamp = self._stamp_counter(h, n, step, reconnected)
        if seq is not None and (stamp.t_utc_ns.shape[0] or self._next_seq is None):
            self._next_seq = seq + 1 if not self.seq_modulo else (seq + 1) % self.seq_modulo
            if self._first_abs is None:
                self._first_abs = seq_abs
            self._next_abs = seq_abs + 1
            self._seq_done.add(seq_abs)
            if len(self._seq_done) > 2 * self._seq_window:
                floor = self._next_abs - self._seq_window
                self._seq_done = {k for k in self._seq_done if k >= floor}
        return stamp

    def _stamp_old_seq(self, seq_abs: int, n: int, device_ns: np.ndarray | None) -> ClockStamp:
        """A frame whose sequence number is before the next expected one (no reconnect since).

        Three cases, told apart by the unwrapped sequence number: a frame already stored (or
        already resolved) is a duplicate; a frame older than the first one of the stream was
        never reported by any gap (it arrived after its successor opened the stream), so its
        samples are reported missing now; a frame inside an earlier sequence gap arrived after
        the gap was reported: its samples are already counted in ``n_lost`` and it is dropped
        (``n_late_dropped``), not counted a second time. Samples are never inserted behind
        ones already stamped: stamps are strictly increasing and the ring is append-only.
        """
        empty = ClockStamp(np.empty(0, np.int64), n)
        if (seq_abs in self._seq_done or self._first_abs is None
                or seq_abs < self._next_abs - self._seq_window):
            self.n_duplicate += n
            return empty
        self._seq_done.add(seq_abs)
        if seq_abs >= self._first_abs:
            self.n_late_dropped += n
            return empty
        # before the stream's first frame: report as a gap ending at the first stored sample
        first_utc = self._first_utc if self._first_utc is not None else 0
        start = None
        if self.device_time and device_ns is not None and len(device_ns) == n and self._last_dev is not None:
            start = int(self._to_utc(np.asarray(device_ns, dtype=np.int64)[:1] + self._dev_shift_ns)[0])
        if start is None or start >= first_utc:
            start = int(first_utc - round((self._first_abs - seq_abs) * n * self.period_ns))
        self.gaps.append(Gap(start, int(first_utc), int(n), "sequence"))
        self.gaps.sort(key=lambda g: g.start_utc_ns)
        self.n_lost += int(n)
        return empty

    def _finish(self, dev: np.ndarray, h: int, first_kept: int) -> ClockStamp:
        kept = dev[first_kept:]
        self._fit.add(int(kept[-1]), h)
        utc = self._to_utc(kept)
        if self._last_utc is not None:
            # Slew, never step back: when a refit moves the mapping back (a faster notification
            # lowered the envelope), carry the difference and pay it off by at most
            # `_SLEW` of a period per notification. Inside a notification the device's spacing
            # is kept exactly; across notifications a step is never below (1 - _SLEW) periods.
            lo = self._last_utc + (1.0 - _SLEW) * self.period_ns
            first = float(utc[0]) + self._carry_ns
            if first < lo:
                self._carry_ns += lo - first
                self.n_shifted += 1
            else:
                self._carry_ns = max(0.0, self._carry_ns - (first - lo))
            utc = utc + int(round(self._carry_ns))
        self._last_dev = int(kept[-1])
        self._last_utc = int(utc[-1])
        if self._first_utc is None:
            self._first_utc = int(utc[0])
        self.n_samples += kept.shape[0]
        return ClockStamp(utc, first_kept)

    def _stamp_device(self, h: int, dev: np.ndarray, step: int | None, reconnected: bool) -> ClockStamp:
        n = dev.shape[0]
        dev = dev + self._dev_shift_ns
        if self._last_dev is None:
            return self._finish(dev, h, 0)
        if step is not None and step >= 0 and not reconnected:
            # Sequence numbers are the authority on loss and duplication: `step` frames are
            # missing (0: this one follows the last directly). When the device time disagrees
            # with that by more than a frame's worth, the device clock stepped (resync, reset):
            # keep the stream's time line continuous instead of storing the step, and count it.
            missing = step * n
            expected = self._last_dev + (missing + 1) * self.period_ns
            err = float(dev[0]) - expected
            if abs(err) > max(2.0 * self.period_ns, 0.5 * (missing + 1) * self.period_ns):
                shift = -int(round(err))
                self._dev_shift_ns += shift
                dev = dev + shift
                self.clock_jumps.append((int(self._last_utc or 0), -shift))
            else:
                missing = max(0, int(round((int(dev[0]) - self._last_dev) / self.period_ns)) - 1)
            if missing > 0:
                self._add_gap(missing, "sequence", int(self._to_utc(dev[:1])[0]))
            return self._finish(dev, h, 0)
        if reconnected and dev[-1] < self._last_dev - int(2e9):
            # the device clock restarted (reboot during the outage): new epoch, refit from scratch
            self._fit = _EnvelopeFit(self._fit.window_ns, self._fit._minima.maxlen or 600, self._fit.min_span_s)
            est_utc = int(h - (n - 1) * self.period_ns)
            self._add_gap(round((est_utc - (self._last_utc or est_utc)) / self.period_ns) - 1,
                          "disconnect", est_utc)
            return self._finish(dev, h, 0)
        newer = dev > self._last_dev
        if not newer.any():
            self.n_duplicate += n
            return ClockStamp(np.empty(0, np.int64), n)
        first = int(np.argmax(newer))
        self.n_duplicate += first
        dt = int(dev[first]) - self._last_dev
        if dt > self.gap_periods * self.period_ns:
            reason = "disconnect" if reconnected else ("sequence" if step else "timestamp")
            missing = int(round(dt / self.period_ns)) - 1
            end_utc = int(self._to_utc(dev[first:first + 1])[0])
            self._add_gap(missing, reason, end_utc)
        return self._finish(dev, h, first)

    def _stamp_counter(self, h: int, n: int, step: int | None, reconnected: bool) -> ClockStamp:
        missing, reason = 0, ""
        if self._last_dev is not None:
            if step:  # lost notifications, assumed the same size as this one
                missing, reason = step * n, "sequence"
            # where the fitted line expects the last sample of this notification, had nothing been lost
            expect_last = np.int64(round((self._counter + missing + n - 1) * self.period_ns))
            late_ns = h - float(self._to_utc(np.array([expect_last]))[0])
            if not reconnected and late_ns > 1e9 * self.speed:
                self.n_late += 1
            limit = 0.0 if reconnected else (None if self.arrival_gap_ns is None else self.arrival_gap_ns * self.speed)
            if limit is not None and late_ns > limit:
                extra = int(round(late_ns / self.period_ns))
                if extra > 0:
                    missing += extra
                    reason = "disconnect" if reconnected else (reason or "arrival")
            elif reconnected and not reason:
                reason = "disconnect"
        k0 = self._counter + missing
        dev = np.round((k0 + np.arange(n)) * self.period_ns).astype(np.int64)
        if reason:
            self._add_gap(missing, reason, int(self._to_utc(dev[:1])[0]))
        self._counter = k0 + n
        return self._finish(dev, h, 0)
