"""The detector's fast paths give exactly what their plain versions give."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from repsense.segment.reps import _set_of_rows, build_set
from repsense.types import Rep


@pytest.mark.parametrize("concentric_first", [False, True])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 12])
def test_set_of_rows_is_build_set(rng, n, concentric_first):
    start = np.cumsum(rng.uniform(1.0, 3.0, n))
    first = rng.uniform(0.3, 1.5, n)
    second = rng.uniform(0.3, 1.5, n)
    pause = rng.uniform(0.0, 0.4, n) * (rng.random(n) < 0.5)
    end = start + first + second + pause
    rows = [[s, e, f, c, p, 0.1, 1.0] for s, e, f, c, p in zip(start.tolist(), end.tolist(), first.tolist(),
                                                                second.tolist(), pause.tolist())]
    reps = []
    for s, e, f, c, p, _tr, _ok in rows:
        ecc, con = (c, f) if concentric_first else (f, c)
        reps.append(Rep(start_s=s, end_s=e, eccentric_s=ecc, concentric_s=con, pause_s=p,
                        concentric_first=concentric_first))
    got = _set_of_rows(rows, concentric_first, 0.3, 2)
    want = build_set(reps, 0.3, 2)
    if n < 2:  # slow-down NaN (NaN != NaN): compare it apart
        assert np.isnan(got.concentric_slowdown) and np.isnan(want.concentric_slowdown)
        got, want = replace(got, concentric_slowdown=0.0), replace(want, concentric_slowdown=0.0)
    assert got == want  # every field, bit for bit


@pytest.mark.parametrize("n", [0, 1, 9])
def test_reps_of_table_are_the_reps_of_each_rows(rng, n):
    """All rows at once (``_reps_of_table``) == ``_reps_of_rows`` of each row with its own
    boundary kind: equal objects with the same field types (Python floats, a bool)."""
    from repsense.segment.reps import _reps_of_rows, _reps_of_table

    rows = rng.uniform(0.0, 10.0, (n, 7))
    concentric_first = rng.random(n) < 0.5
    got = _reps_of_table(rows, concentric_first)
    want = [_reps_of_rows([row], bool(cf))[0] for row, cf in zip(rows.tolist(), concentric_first.tolist())]
    assert got == want and all(type(r) is Rep for r in got)
    for g, w in zip(got, want):
        assert [type(getattr(g, f)) for f in g.__slots__] == [type(getattr(w, f)) for f in w.__slots__]


def test_fast_constructors_make_the_dataclass_objects():
    """``_rep`` / ``_repset`` set the slots directly: valid only while the dataclasses have
    no ``__post_init__`` and these fields; the objects equal, hash and pickle as the real ones."""
    import pickle

    from repsense.segment.reps import _rep, _repset
    from repsense.types import RepSet

    assert not hasattr(Rep, "__post_init__") and not hasattr(RepSet, "__post_init__")
    args = (1.0, 3.5, 1.25, 0.75, 0.5, True)
    fast, real = _rep(*args), Rep(*args)
    assert type(fast) is Rep and fast == real and hash(fast) == hash(real)
    assert pickle.loads(pickle.dumps(fast)) == real
    with pytest.raises(AttributeError):
        fast.end_s = 4.0  # still frozen
    sargs = (1.0, 3.5, (real,), 2.5, 1.25, 0.75, 0.5, 2.5, 1.1, 2)
    fs, rs = _repset(*sargs), RepSet(*sargs)
    assert type(fs) is RepSet and fs == rs and fs.n_reps == 3
    assert pickle.loads(pickle.dumps(fs)) == rs


@pytest.mark.parametrize("enabled", [True, False])
def test_detect_pauses_the_cyclic_gc_and_restores_its_state(enabled):
    """detect() runs with the cyclic garbage collector paused (many small rep objects would
    trigger full collections) and leaves it as it found it, also after an input error."""
    import gc

    from repsense.errors import InputError
    from repsense.segment import detect
    from repsense.simulate import simulate_session

    rec, _ = simulate_session(3, sample_rate_hz=25.0, n_sets=1)
    seen = []
    real = gc.isenabled
    was = gc.isenabled()
    try:
        if enabled:
            gc.enable()
        else:
            gc.disable()
        import repsense.segment.streaming as streaming
        orig = streaming.RepSegmenter.update

        def spy(self, *args, **kwargs):
            seen.append(real())
            return orig(self, *args, **kwargs)

        streaming.RepSegmenter.update = spy
        try:
            det = detect(rec)
            assert det.n_reps > 0 and seen and not any(seen)  # paused while the blocks run
            assert gc.isenabled() is enabled
            t = rec.accel.t_s.copy()
            t[5] = t[4]
            with pytest.raises(InputError, match="strictly increase"):
                detect(t, rec.accel.values)
            assert gc.isenabled() is enabled
        finally:
            streaming.RepSegmenter.update = orig
    finally:
        gc.enable() if was else gc.disable()
