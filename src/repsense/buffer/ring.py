"""Preallocated ring buffer for one sensor stream: int64 UTC timestamps + float32 (n, 3) samples.

Overflow policy
---------------
When the reader falls behind by more than ``capacity`` samples, **the oldest unread samples
are overwritten and counted** (:attr:`RingBuffer.n_overflow`). The writer never waits: a BLE
peripheral cannot be back-pressured (its notifications keep coming whether or not we keep up),
so a blocking writer would only move the loss into the OS/bleak queues where it can no longer be
counted. The live pipeline sizes the ring for many flush intervals (default 30 s at the nominal
rate), so an overflow means the Parquet writer stalled for that long, and the count is stored
with the session.

Concurrency
-----------
One writer and one reader, either on the same asyncio thread or on two threads. Consistency is
kept with sequence counters (a per-buffer seqlock), not locks:

* ``_claim_seq`` — the writer announces ``write_seq + n`` *before* touching the slots,
* ``_write_seq`` — published *after* the slots hold the new samples.

A reader copies the published range ``[start, write_seq)``, then re-reads ``_claim_seq``: every
copied sample with sequence number ``< claim_seq - capacity`` may have been overwritten during
the copy (a torn read) and is dropped from the front of the copy and counted as overflow. The
samples a reader returns are therefore always exactly the ones the writer wrote, in order.
Python int assignment is atomic under the GIL; no other shared state is mutated by both sides.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["RingBuffer"]


class RingBuffer:
    """Single-writer / single-reader ring of timestamped 3-axis samples.

    Parameters
    ----------
    capacity : int
        Number of samples held; preallocated once.
    n_channels : int
        Values per sample (3 for x, y, z).

    Attributes
    ----------
    n_written : int
        Samples ever written.
    n_read : int
        Samples ever delivered by :meth:`read` (the reader's cursor).
    n_overflow : int
        Samples overwritten before :meth:`read` delivered them.
    """

    def __init__(self, capacity: int, n_channels: int = 3) -> None:
        if capacity <= 0:
            raise ValueError(f"ring capacity must be > 0, got {capacity}")
        self.capacity = int(capacity)
        self._t_ns = np.zeros(self.capacity, dtype=np.int64)
        self._values = np.zeros((self.capacity, n_channels), dtype=np.float32)
        self._claim_seq = 0  # writer: slots up to here may be being written
        self._write_seq = 0  # writer: slots below here are complete
        self._read_seq = 0  # reader's cursor
        self.n_overflow = 0

    @classmethod
    def for_duration(cls, duration_s: float, sample_rate_hz: float, n_channels: int = 3) -> RingBuffer:
        """A ring holding ``duration_s`` seconds at ``sample_rate_hz``."""
        if not (duration_s > 0 and sample_rate_hz > 0):
            raise ValueError(f"ring duration {duration_s} s and rate {sample_rate_hz} Hz must be > 0")
        return cls(max(1, math.ceil(duration_s * sample_rate_hz)), n_channels)

    # ------------------------------------------------------------------ writer
    def write(self, t_ns: np.ndarray, values: np.ndarray) -> None:
        """Append samples; overwrites the oldest when full (never blocks).

        Parameters
        ----------
        t_ns : int64 array (n,)
            UTC timestamps in ns.
        values : array (n, n_channels)
            Samples, cast to float32.
        """
        t_ns = np.asarray(t_ns, dtype=np.int64)
        values = np.asarray(values, dtype=np.float32)
        n = t_ns.shape[0]
        if values.shape != (n, self._values.shape[1]):
            raise ValueError(f"ring write: {n} timestamps for values of shape {values.shape}")
        if n == 0:
            return
        cap = self.capacity
        end = self._write_seq + n
        if n > cap:  # only the newest `cap` samples can survive this write
            t_ns, values = t_ns[n - cap:], values[n - cap:]
            n = cap
        seq = end - n
        self._claim_seq = end  # announce before touching any slot
        start = seq % cap
        first = min(n, cap - start)
        self._t_ns[start:start + first] = t_ns[:first]
        self._values[start:start + first] = values[:first]
        if first < n:
            self._t_ns[:n - first] = t_ns[first:]
            self._values[:n - first] = values[first:]
        self._write_seq = end  # publish

    # ------------------------------------------------------------------ reader
    @property
    def n_written(self) -> int:
        return self._write_seq

    @property
    def n_read(self) -> int:
        return self._read_seq

    def __len__(self) -> int:
        """Unread samples still held."""
        return self._write_seq - max(self._read_seq, self._claim_seq - self.capacity)

    def _copy(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Copy sequence numbers [lo, hi); return (t, values, first valid seq) after the tear check."""
        cap = self.capacity
        n = hi - lo
        t = np.empty(n, dtype=np.int64)
        v = np.empty((n, self._values.shape[1]), dtype=np.float32)
        if n:
            start = lo % cap
            first = min(n, cap - start)
            t[:first] = self._t_ns[start:start + first]
            v[:first] = self._values[start:start + first]
            if first < n:
                t[first:] = self._t_ns[:n - first]
                v[first:] = self._values[:n - first]
        safe_lo = max(lo, self._claim_seq - cap)  # anything older may have been overwritten mid-copy
        cut = min(n, safe_lo - lo)
        return t[cut:], v[cut:], lo + cut

    def read(self, max_n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Deliver the unread samples (oldest first, at most ``max_n``) and advance the cursor.

        Samples overwritten before they could be read are skipped and added to :attr:`n_overflow`.

        Returns
        -------
        t_ns : int64 array (m,)
        values : float32 array (m, n_channels)
        """
        hi = self._write_seq
        lo = max(self._read_seq, self._claim_seq - self.capacity)
        if max_n is not None:
            hi = min(hi, lo + max(0, int(max_n)))
        lo = min(lo, hi)
        t, v, first = self._copy(lo, hi)
        self.n_overflow += first - self._read_seq
        self._read_seq = first + t.shape[0]
        return t, v

    def snapshot(self, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Copy of the newest ``n`` samples held (all when None), read or not; the cursor does not move.

        For views (plots, live statistics). The copy is consistent: no sample in it is half-written.
        """
        hi = self._write_seq
        lo = max(0, self._claim_seq - self.capacity)
        if n is not None:
            lo = max(lo, hi - max(0, int(n)))
        lo = min(lo, hi)
        t, v, _ = self._copy(lo, hi)
        return t, v
