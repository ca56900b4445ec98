"""Set and rep segmentation, phases and time under tension (TUT).

:func:`detect` (batch) and :class:`RepSegmenter` (streaming) are one algorithm with two
drivers: ``detect`` feeds the whole recording to a ``RepSegmenter`` in one block, so
streaming over any chunking gives exactly the batch result. See ``docs/TUT.md`` for the
definitions of rep, phases, pause, set TUT, tempo and slow-down.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

import numpy as np

from ..dsp import check_finite, check_samples, check_shapes
from ..errors import InputError, SamplingRateError
from ..types import Detection, Recording
from .config import DetectorConfig
from .reps import SetAnalyzer, build_set
from .streaming import RepSegmenter

#: Bump whenever the detector's output on the same input changes.
DETECTOR_VERSION = "1.12.0"

#: Rows per block that :func:`detect` feeds its :class:`RepSegmenter` (a speed setting only).
#: 2^19 rather than 2^18: half the per-block calls, and the displacement kernel gets twice the
#: closed stretches per call to sort into its four-lane groups (similar lengths: less padding);
#: 2^20 is no faster (the block's grid no longer stays in cache).
BLOCK_ROWS = 1 << 19

__all__ = ["DETECTOR_VERSION", "DetectorConfig", "RepSegmenter", "SetAnalyzer", "build_set", "detect"]


def detect(t_s: np.ndarray | Recording, accel_g: np.ndarray | None = None, gyro_dps: np.ndarray | None = None, *,
           gyro_t_s: np.ndarray | None = None, config: DetectorConfig | None = None) -> Detection:
    """Find the sets (exercise vs rest) and the reps in each, with phases and TUT.

    Parameters
    ----------
    t_s : float64 (n,) seconds, or a :class:`~repsense.types.Recording`
        Accelerometer timestamps (uneven sampling, jitter, drops and gaps are fine).
        With a ``Recording``, its accel and gyro streams (each on its own timestamps) are used.
    accel_g : (n, 3) acceleration in g.
    gyro_dps : (n_g, 3) angular rate in deg/s, optional; on ``gyro_t_s`` or, if that is
        None, on ``t_s``. Validated; not used by this detector version.
    config : DetectorConfig, optional

    Returns
    -------
    Detection
        Sets in time order (times on the input's time base), ``sample_rate_hz`` the nominal
        input rate, ``detector_version``.

    Raises
    ------
    InputError
        Shapes, non-finite values or timestamps that do not increase.
    SamplingRateError
        A nominal rate outside 5-2000 Hz.
    """
    if isinstance(t_s, Recording):
        if accel_g is not None or gyro_dps is not None:
            raise InputError("detect(recording) takes no accel/gyro arrays")
        rec = t_s
        t_s, accel_g = rec.accel.t_s, rec.accel.values
        if rec.gyro is not None:
            gyro_dps, gyro_t_s = rec.gyro.values, rec.gyro.t_s
    if accel_g is None:
        raise InputError("detect: accel_g is required")
    t, a = check_shapes(t_s, accel_g, "accel", allow_empty=False)
    gyro = None
    if gyro_dps is not None:
        if gyro_t_s is None:
            gyro = check_shapes(t, gyro_dps, "gyro")[1]  # finite check: in the resampler's pass
        else:
            check_samples(gyro_t_s, gyro_dps, "gyro")
    # nominal rate: median interval of the first 100 000 samples (the detector runs on timestamps)
    head = np.diff(t[:100_001])
    med = float(np.median(head)) if head.shape[0] else 0.0
    rate = float(1.0 / med) if med > 0 else float("nan")
    try:
        seg = RepSegmenter(sample_rate_hz=rate if rate == rate else None, config=config)
    except SamplingRateError:
        if gyro is not None:
            check_finite(gyro, "gyro")  # a bad gyro sample is reported first
        raise
    # Fed in blocks (the result does not depend on the chunking): the grid of a block stays in
    # cache between the resampler, the set finder and the analyser, and its buffers are reused
    # instead of page-faulting fresh memory for the whole recording's grid.
    sets = []
    with _cyclic_gc_paused():
        try:
            for lo in range(0, t.shape[0], BLOCK_ROWS):
                hi = lo + BLOCK_ROWS
                sets += seg.update(t[lo:hi], a[lo:hi], gyro[lo:hi] if gyro is not None else None)
        except InputError:
            # name the bad sample by its index in the whole input: the same check in one block
            RepSegmenter(config=config).update(t, a, gyro)
            raise
        sets += seg.finish()
    return Detection(sets=tuple(sets), sample_rate_hz=rate, detector_version=DETECTOR_VERSION)


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused, its previous state restored after.

    A week of data makes ~50 000 reps and sets (small objects the collector tracks), which
    trigger its full collections, each traversing every tracked object of the process
    (~170 000 after the imports): ~5 % of a week's detection time. Detection makes no
    reference cycles, so reference counting frees everything as before.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
