"""Reps inside one active stretch: vertical displacement proxy -> turning points -> reps and phases.

Physics. A wrist-worn accelerometer measures specific force ``f = a - g``. With the linear
acceleration ``a`` small next to gravity, ``|f| ~= 1 g + a . u`` where ``u`` is the unit
vertical (up): the magnitude is, to first order, the **vertical** acceleration of the
wrist, whatever the sensor's orientation on the wrist or its rotation during the lift.
Every barbell lift (press, squat, pull, row) moves the bar up and down, so the vertical
displacement, recovered by band-passing the magnitude and integrating twice (each
integration followed by a zero-phase high-pass that removes drift), is one cycle per rep.

Turning points of the displacement (with hysteresis relative to the set's amplitude) split
the movement into rep boundaries (where the bar rests between reps: top for bench/squat,
bottom for deadlift/row/overhead press) and turnarounds (one per rep). The more frequent
kind of turning point is the boundary; reps = turnarounds. A rep whose boundary is at the
top starts with the eccentric phase (load going down); at the bottom, with the concentric.
"""

from __future__ import annotations

import math

import numpy as np

from ..dsp import _kernels as _dsp
from ..dsp import bandpass_sos, highpass1_sos
from ..types import Rep, RepSet
from . import _kernels
from .config import DetectorConfig

G_M_S2 = 9.80665


class SetAnalyzer:
    """Turns the grid samples of one active stretch into a :class:`RepSet` (or ``None``).

    Pure function of its inputs: the batch and streaming drivers both call it on the same
    slices, so they agree exactly.
    """

    def __init__(self, config: DetectorConfig) -> None:
        self.config = c = config
        self.fs = c.grid_rate_hz
        self.dt_s = 1.0 / c.grid_rate_hz
        self.band_sos = bandpass_sos(c.band_low_hz, c.band_high_hz, c.grid_rate_hz)
        self.hp_sos = highpass1_sos(c.displacement_highpass_hz, c.grid_rate_hz)
        self.n_pad = int(round(c.grid_rate_hz / c.band_low_hz))

    def vertical_accel_m_s2(self, x_g: np.ndarray) -> np.ndarray:
        """Band-passed vertical acceleration proxy (m/s^2): band-passed ``|accel|``."""
        return _dsp._sosfilt_fb(_dsp._norm3(x_g), self.band_sos, self.n_pad) * G_M_S2

    def displacement_m(self, x_g: np.ndarray, a_up: np.ndarray | None = None) -> np.ndarray:
        """Vertical displacement proxy (m) of (m, 3) grid acceleration in g."""
        if a_up is None:
            a_up = self.vertical_accel_m_s2(x_g)
        v = _dsp._sosfilt_fb(np.cumsum(a_up) * self.dt_s, self.hp_sos, self.n_pad)
        return _dsp._sosfilt_fb(np.cumsum(v) * self.dt_s, self.hp_sos, self.n_pad)

    def vertical_fraction(self, x_g: np.ndarray, a_up: np.ndarray, lo: int, hi: int) -> float:
        """Share of the band-limited acceleration variance in ``[lo, hi)`` that is vertical."""
        total = 0.0
        for j in range(3):
            total += float(np.var(_dsp._sosfilt_fb(np.ascontiguousarray(x_g[:, j]), self.band_sos,
                                                   self.n_pad)[lo:hi]))
        return float(np.var(a_up[lo:hi] / G_M_S2)) / total if total > 0 else 0.0

    def analyse(self, t_s: np.ndarray, x_g: np.ndarray) -> list[RepSet]:
        """Sets of one active stretch of grid samples (``t_s`` uniform, ``x_g`` (m, 3) in g)."""
        c = self.config
        if t_s.shape[0] < max(8, int(c.min_rep_s * self.fs)):
            return []
        a_up = self.vertical_accel_m_s2(x_g)
        z = self.displacement_m(x_g, a_up)
        amp = float(np.percentile(np.abs(z), c.amplitude_percentile))
        threshold = max(c.hysteresis_rel * amp, c.min_travel_m / 2)
        idx, kind = _kernels._turning_points(z, threshold)
        if idx.shape[0] < 2:
            return []
        n_max = int((kind == 1).sum())
        n_min = idx.shape[0] - n_max
        boundary = 1 if n_max > n_min else -1 if n_min > n_max else int(kind[-1])
        reps = []
        for j in np.flatnonzero(kind == -boundary):
            found = self._rep(t_s, z, idx, j, boundary)
            if found is not None and c.min_rep_s <= found[0].duration_s <= c.max_rep_s:
                reps.append(found)
        # a rhythm broken by a long still gap is two sets (or handling, not a set)
        groups: list[list[tuple[Rep, float]]] = []
        for rep in reps:
            if groups and rep[0].start_s - groups[-1][-1][0].end_s <= c.max_inter_rep_s:
                groups[-1].append(rep)
            else:
                groups.append([rep])
        out = []
        for g in groups:
            g = trim_edges(g, c.edge_travel_ratio, c.edge_duration_ratio)
            if len(g) < c.min_reps:
                continue
            lo = int(np.searchsorted(t_s, g[0][0].start_s))
            hi = int(np.searchsorted(t_s, g[-1][0].end_s))
            if len(g) < c.rhythm_reps and self.vertical_fraction(x_g, a_up, lo, hi) < c.min_vertical_fraction:
                continue
            out.append(build_set([r for r, _ in g], c.slowdown_frac))
        return out

    def _rep(self, t_s, z, idx, j, boundary) -> tuple[Rep, float] | None:
        c = self.config
        n = z.shape[0]
        it = int(idx[j])
        zt = z[it]
        # boundary turning points around the turnaround; mirror when missing at an edge
        i0 = int(idx[j - 1]) if j >= 1 else max(0, 2 * it - int(idx[j + 1])) if j + 1 < idx.shape[0] else 0
        i1 = int(idx[j + 1]) if j + 1 < idx.shape[0] else min(n - 1, 2 * it - int(idx[j - 1])) if j >= 1 else n - 1
        z0, z1 = z[i0], z[i1]
        travel0, travel1 = abs(z0 - zt), abs(z1 - zt)
        if travel0 <= 0 or travel1 <= 0:
            return None
        band0, band1 = c.still_rel * travel0, c.still_rel * travel1
        s = i0
        while s < it and abs(z[s] - z0) <= band0:
            s += 1
        e = i1
        while e > it and abs(z[e] - z1) <= band1:
            e -= 1
        band_t = c.still_rel * min(travel0, travel1)
        p0 = it
        while p0 > s and abs(z[p0 - 1] - zt) <= band_t:
            p0 -= 1
        p1 = it
        while p1 < e and abs(z[p1 + 1] - zt) <= band_t:
            p1 += 1
        # edges at half-sample precision: movement starts between s-1 and s, ends between e and e+1
        start_s = float(t_s[s]) - 0.5 * self.dt_s
        end_s = float(t_s[e]) + 0.5 * self.dt_s
        pause_s = float(t_s[p1] - t_s[p0])
        first_s = float(t_s[p0]) - start_s
        second_s = end_s - float(t_s[p1])
        concentric_first = boundary == -1
        ecc, con = (second_s, first_s) if concentric_first else (first_s, second_s)
        return Rep(start_s=start_s, end_s=end_s, eccentric_s=ecc, concentric_s=con, pause_s=pause_s,
                   concentric_first=concentric_first), float(max(travel0 if j >= 1 else 0.0,
                                                                   travel1 if j + 1 < idx.shape[0] else 0.0))


def trim_edges(reps: list[tuple[Rep, float]], travel_ratio: float, duration_ratio: float) -> list[tuple[Rep, float]]:
    """Drop first/last reps unlike the set's median rep (un-racking, re-racking, set-up).

    Reps of one set repeat one movement: an edge rep whose travel differs from the median
    travel by more than ``travel_ratio`` (either way), or whose duration differs from the
    median duration by more than ``duration_ratio``, is handling, not a rep. Only edges are
    trimmed, repeatedly, so a slow grinding rep inside a set stays.
    """
    out = list(reps)
    while len(out) >= 3:
        travel = np.median([tr for _, tr in out])
        dur = np.median([r.duration_s for r, _ in out])

        def odd(item: tuple[Rep, float]) -> bool:
            r, tr = item
            return not (travel / travel_ratio <= tr <= travel * travel_ratio
                        and dur / duration_ratio <= r.duration_s <= dur * duration_ratio)

        if odd(out[0]):
            out.pop(0)
        elif odd(out[-1]):
            out.pop()
        else:
            break
    return out


def build_set(reps: list[Rep], slowdown_frac: float) -> RepSet:
    """Aggregate reps into a :class:`RepSet` (TUT = sum of rep durations; see docs/TUT.md)."""
    n = len(reps)
    tut = sum(r.duration_s for r in reps)
    k = max(1, int(round(n * slowdown_frac)))
    first = sum(r.concentric_s for r in reps[:k]) / k
    last = sum(r.concentric_s for r in reps[-k:]) / k
    slowdown = last / first if n >= 2 and first > 0 else math.nan
    return RepSet(start_s=reps[0].start_s, end_s=reps[-1].end_s, reps=tuple(reps), tut_s=tut,
                  eccentric_s=sum(r.eccentric_s for r in reps), concentric_s=sum(r.concentric_s for r in reps),
                  pause_s=sum(r.pause_s for r in reps), mean_tempo_s=tut / n, concentric_slowdown=slowdown)
