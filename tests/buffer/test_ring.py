"""RingBuffer against a plain-list model, plus a real two-thread tearing check."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repsense.buffer import RingBuffer


class ListModel:
    """The obviously-correct twin: every sample ever written in a list, a read cursor, overwrite-oldest."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: list[int] = []
        self.cursor = 0
        self.overflow = 0

    def write(self, ids: list[int]) -> None:
        self.items.extend(ids)

    def read(self, max_n: int | None) -> list[int]:
        oldest_held = max(0, len(self.items) - self.capacity)
        if self.cursor < oldest_held:
            self.overflow += oldest_held - self.cursor
            self.cursor = oldest_held
        hi = len(self.items) if max_n is None else min(len(self.items), self.cursor + max_n)
        out = self.items[self.cursor:hi]
        self.cursor = hi
        return out

    def snapshot(self, n: int | None) -> list[int]:
        held = self.items[max(0, len(self.items) - self.capacity):]
        return held if n is None else held[max(0, len(held) - n):]


def _block(start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.arange(start, start + n, dtype=np.int64)
    vals = np.stack([ids, -ids, ids * 2], axis=1).astype(np.float32)
    return ids * 1000, vals


ops = st.lists(
    st.one_of(
        st.tuples(st.just("w"), st.integers(0, 40)),
        st.tuples(st.just("r"), st.one_of(st.none(), st.integers(0, 30))),
        st.tuples(st.just("s"), st.one_of(st.none(), st.integers(0, 30))),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(capacity=st.integers(1, 25), script=ops)
def test_ring_matches_list_model(capacity: int, script: list) -> None:
    ring, model = RingBuffer(capacity), ListModel(capacity)
    next_id = 0
    for op, arg in script:
        if op == "w":
            t, v = _block(next_id, arg)
            ring.write(t, v)
            model.write(list(range(next_id, next_id + arg)))
            next_id += arg
        elif op == "r":
            t, v = ring.read(arg)
            want = model.read(arg)
            assert (t // 1000).tolist() == want
            assert v[:, 0].astype(np.int64).tolist() == want
            assert t.dtype == np.int64 and v.dtype == np.float32 and v.shape == (len(want), 3)
        else:
            t, v = ring.snapshot(arg)
            want = model.snapshot(arg)
            assert (t // 1000).tolist() == want
            assert (v[:, 1] == -v[:, 0]).all()
        assert ring.n_overflow == model.overflow
        assert ring.n_written == next_id
        assert ring.n_read + len(ring) + ring.n_overflow >= ring.n_read  # counters never go negative
    # everything written is accounted for: read, overwritten, or still unread
    ring.read()
    model.read(None)
    assert ring.n_read == next_id
    assert ring.n_overflow == model.overflow


def test_for_duration_capacity() -> None:
    assert RingBuffer.for_duration(30.0, 200.0).capacity == 6000
    with pytest.raises(ValueError):
        RingBuffer.for_duration(0.0, 200.0)
    with pytest.raises(ValueError):
        RingBuffer(4).write(np.zeros(3, np.int64), np.zeros((2, 3), np.float32))


def test_threaded_writer_never_tears_reads() -> None:
    """A real writer thread racing a reader: every delivered sample is whole and in order, none twice."""
    ring = RingBuffer(64)
    total = 60_000
    done = threading.Event()

    def writer() -> None:
        i = 0
        rng = np.random.default_rng(1)
        while i < total:
            n = int(rng.integers(1, 40))
            n = min(n, total - i)
            ring.write(*_block(i, n))
            i += n
        done.set()

    th = threading.Thread(target=writer)
    th.start()
    seen: list[np.ndarray] = []
    while not done.is_set() or len(ring):
        t, v = ring.read()
        ids = t // 1000
        assert (v[:, 0] == ids.astype(np.float32)).all() and (v[:, 1] == -v[:, 0]).all()
        assert (v[:, 2] == 2 * v[:, 0]).all()
        seen.append(ids)
        st_t, st_v = ring.snapshot(16)
        assert (st_v[:, 0] == (st_t // 1000).astype(np.float32)).all()
    th.join()
    ids = np.concatenate(seen)
    assert (np.diff(ids) > 0).all(), "samples out of order or delivered twice"
    assert ids.size + ring.n_overflow == total
