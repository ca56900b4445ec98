"""Simulated training sessions with exact labels: sets of reps, rests full of everyday motion.

A session is: a lead-in, then per set a setup (unrack / grip), the reps, a rack move and a rest
filled with walking, sitting, standing, drinking and fidgeting, then a tail. The wrist motion is
built as a :class:`~repsense.simulate.motion.MotionTimeline` and sampled by a drawn
:class:`~repsense.simulate.sensor.SensorModel`. Three independent random streams (motion,
sensor parameters, noise) come from one seed, so e.g. an ideal and a noisy sensor over the same
seed see the same movements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..types import Detection, Recording, RecordingMeta, Rep, RepSet, Stream
from .motion import MotionBuilder, MotionTimeline, posture, rotation_about, unit
from .profiles import EXERCISES, PLACEMENTS, ExerciseMotion, RestMotion
from .sensor import SensorModel, SensorRanges, draw_sensor_model, sample_streams

SIMULATOR_VERSION = "1"

Range = tuple[float, float]


@dataclass(frozen=True, slots=True)
class SetTruth:
    """True set: its reps (``repsense.types.Rep``, exact phase times) and the exercise label."""

    start_s: float
    end_s: float
    exercise: str
    reps: tuple[Rep, ...]

    @property
    def n_reps(self) -> int:
        return len(self.reps)

    @property
    def tut_s(self) -> float:
        return float(sum(r.end_s - r.start_s for r in self.reps))

    @property
    def eccentric_s(self) -> float:
        return float(sum(r.eccentric_s for r in self.reps))

    @property
    def concentric_s(self) -> float:
        return float(sum(r.concentric_s for r in self.reps))

    @property
    def pause_s(self) -> float:
        return float(sum(r.pause_s for r in self.reps))

    @property
    def concentric_slowdown(self) -> float:
        """Mean concentric time of the last third of the reps / the first third."""
        k = max(1, len(self.reps) // 3)
        first = np.mean([r.concentric_s for r in self.reps[:k]])
        last = np.mean([r.concentric_s for r in self.reps[-k:]])
        return float(last / first)

    def to_repset(self) -> RepSet:
        return RepSet(
            start_s=self.start_s,
            end_s=self.end_s,
            reps=self.reps,
            tut_s=self.tut_s,
            eccentric_s=self.eccentric_s,
            concentric_s=self.concentric_s,
            pause_s=self.pause_s,
            mean_tempo_s=self.tut_s / len(self.reps),
            concentric_slowdown=self.concentric_slowdown,
        )


@dataclass(frozen=True, slots=True)
class Activity:
    """A labelled stretch of the timeline: ``set``, ``setup``, ``rack``, ``walk``, ``sit``,
    ``stand``, ``drink`` or ``fidget``."""

    start_s: float
    end_s: float
    kind: str


@dataclass(frozen=True)
class SessionTruth:
    """Everything the simulator knows about a recording.

    ``sets``, ``activities`` and ``duration_s`` are in seconds on the recording's time base
    (``Recording.*.t_s``). ``motion``, ``accel_t_true_s`` and ``gyro_t_true_s`` are on the true
    clock: reported = true x :attr:`time_scale`. With host timestamps ``time_scale`` is 1 and
    the reported stamps lag the true instants by at most ``sensor.jitter_s``; with counter
    timestamps they are exact grid times of a sensor whose clock is off by
    ``sensor.clock_error``, so evaluate the motion at a reported time ``t`` as
    ``motion.evaluate(t / time_scale)``.
    """

    seed: int
    sets: tuple[SetTruth, ...]
    activities: tuple[Activity, ...]
    sample_rate_hz: float
    gyro_rate_hz: float | None
    duration_s: float
    sensor: SensorModel
    motion: MotionTimeline
    accel_t_true_s: np.ndarray
    accel_dropped_index: np.ndarray
    gyro_t_true_s: np.ndarray | None = None
    gyro_dropped_index: np.ndarray | None = None
    placement: str = "wrist"

    @property
    def n_reps(self) -> int:
        return sum(s.n_reps for s in self.sets)

    @property
    def time_scale(self) -> float:
        """Reported seconds per true second (1 unless counter timestamps with clock error)."""
        return self.sensor.time_scale

    @property
    def tut_s(self) -> float:
        return float(sum(s.tut_s for s in self.sets))

    @property
    def reps(self) -> tuple[Rep, ...]:
        return tuple(r for s in self.sets for r in s.reps)

    def to_detection(self) -> Detection:
        """The truth as a :class:`~repsense.types.Detection` (what a perfect detector returns)."""
        return Detection(
            sets=tuple(s.to_repset() for s in self.sets),
            sample_rate_hz=self.sample_rate_hz,
            detector_version=f"truth:simulate-{SIMULATOR_VERSION}",
        )


def _u(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r[0], r[1])) if r[1] > r[0] else float(r[0])


def _perturb(rng: np.random.Generator, v: np.ndarray, deg: float) -> np.ndarray:
    """Tilt a unit vector by a random small rotation (sd ``deg`` degrees per axis)."""
    w = rng.normal(0.0, np.radians(deg), 3)
    angle = float(np.linalg.norm(w))
    if angle < 1e-12:
        return v
    return rotation_about(w / angle, angle) @ v


class _SessionBuilder:
    """Draws and appends the sets and rest periods of one session."""

    def __init__(self, rng: np.random.Generator, rest: RestMotion) -> None:
        self.rng = rng
        self.rest = rest
        # person-level traits
        w = rng.normal(0.0, np.radians(6.0), 3)
        self.tilt = rotation_about(w, float(np.linalg.norm(w))) if np.linalg.norm(w) > 0 else np.eye(3)
        self.tempo = float(np.exp(rng.normal(0.0, 0.15)))
        self.rom = _u(rng, (0.9, 1.1))
        self.stand_rot = self.tilt @ posture(*rest.standing)
        self.stand_pos = np.zeros(3)
        self.mb = MotionBuilder(self.stand_rot, self.stand_pos)
        self.activities: list[Activity] = []
        self.sets: list[SetTruth] = []

    # -- helpers -------------------------------------------------------------------------
    def _mark(self, start_s: float, kind: str) -> None:
        if self.mb.t_s > start_s:
            self.activities.append(Activity(start_s, self.mb.t_s, kind))

    def _tremor(self) -> float:
        return _u(self.rng, self.rest.tremor_g)

    def _wobble(self) -> float:
        return _u(self.rng, self.rest.wobble_g)

    def _sway(self) -> float:
        return _u(self.rng, self.rest.sway_deg)

    def _back_to_standing(self) -> None:
        self.mb.go_to(_u(self.rng, self.rest.transition_s), self.stand_rot, self.stand_pos, self._tremor(),
                      self._wobble(), self._sway())

    # -- rest activities -------------------------------------------------------------------
    def walk(self, dur_s: float) -> None:
        r, rng = self.rest, self.rng
        step_hz = _u(rng, r.walk_step_hz)
        self.mb.oscillate(
            dur_s,
            axis=_perturb(rng, np.array([0.0, 1.0, 0.0]), 5.0),
            amp_rad=np.radians(_u(rng, r.walk_arm_swing_deg)),
            freq_hz=step_hz / 2.0,
            phase=_u(rng, (0.0, 2.0 * np.pi)),
            radius_m=_u(rng, r.walk_arm_radius_m),
            arc_dir=np.array([0.0, 0.0, -1.0]),
            bounce_m=_u(rng, r.walk_bounce_m),
            bounce_hz=step_hz,
            bounce_phase=_u(rng, (0.0, 2.0 * np.pi)),
            ramp_s=_u(rng, (0.8, 1.8)),
            tremor_g=self._tremor(),
            wobble_g=_u(rng, r.walk_wobble_g),
            sway_deg=_u(rng, r.walk_sway_deg),
        )

    def sit(self, dur_s: float) -> None:
        rng = self.rng
        tr = _u(rng, self.rest.transition_s)
        seat = self.stand_pos + np.array([0.2, 0.0, -0.45]) + rng.normal(0.0, 0.05, 3)
        self.mb.go_to(tr, self.tilt @ posture(*self.rest.sitting), seat, self._tremor(), self._wobble(),
                      self._sway())
        still = dur_s - 2.0 * tr
        n_moves = int(rng.integers(0, 3)) if still > 10.0 else 0
        for _ in range(n_moves):
            piece = still / (n_moves + 1)
            self.mb.hold(piece - 1.0, self._tremor())
            self.mb.move(1.0, delta_m=rng.normal(0.0, 0.03, 3), tremor_g=self._tremor(), wobble_g=self._wobble(),
                         sway_deg=self._sway())
            still -= piece
        self.mb.hold(max(still, 0.1), self._tremor())
        self._back_to_standing()

    def stand(self, dur_s: float) -> None:
        self.mb.hold(dur_s, self._tremor())

    def drink(self) -> None:
        r, rng, mb = self.rest, self.rng, self.mb
        axis = _perturb(rng, np.array([0.0, -1.0, 0.0]), 10.0)
        theta = np.radians(_u(rng, r.drink_raise_deg))
        radius = _u(rng, r.drink_radius_m)
        d = mb.move(_u(rng, r.drink_raise_s), axis=axis, theta_rad=theta, radius_m=radius,
                    arc_dir=np.array([0.0, 0.0, -1.0]), tremor_g=self._tremor(), wobble_g=self._wobble(),
                    sway_deg=self._sway())
        tilt_axis = _perturb(rng, np.array([0.0, -1.0, 0.0]), 20.0)
        tilt = np.radians(_u(rng, r.drink_tilt_deg))
        mb.move(_u(rng, (0.4, 0.9)), axis=tilt_axis, theta_rad=tilt, tremor_g=self._tremor())
        mb.hold(_u(rng, r.drink_hold_s), self._tremor())
        mb.move(_u(rng, (0.4, 0.9)), axis=tilt_axis, theta_rad=-tilt, tremor_g=self._tremor())
        mb.move(_u(rng, r.drink_raise_s) * 1.2, axis=axis, theta_rad=-theta, radius_m=radius, arc_dir=d,
                tremor_g=self._tremor(), wobble_g=self._wobble(), sway_deg=self._sway())
        self._back_to_standing()

    def fidget(self) -> None:
        r, rng, mb = self.rest, self.rng, self.mb
        for _ in range(int(rng.integers(r.fidget_moves[0], r.fidget_moves[1] + 1))):
            mb.move(
                _u(rng, r.fidget_move_s),
                delta_m=unit(rng.normal(size=3)) * _u(rng, r.fidget_move_m),
                axis=unit(rng.normal(size=3)),
                theta_rad=np.radians(_u(rng, r.fidget_rotate_deg)) * rng.choice([-1.0, 1.0]),
                tremor_g=self._tremor(),
                wobble_g=self._wobble(),
                sway_deg=self._sway(),
            )
            mb.hold(_u(rng, r.fidget_hold_s), self._tremor())
        self._back_to_standing()

    def rest_period(self, dur_s: float) -> None:
        """Fill ``dur_s`` seconds with a random sequence of rest activities."""
        r, rng, mb = self.rest, self.rng, self.mb
        end = mb.t_s + dur_s
        # activity -> (least time left to start it, how to run it for up to `left` seconds)
        table = {
            "walk": (0.0, lambda left: self.walk(min(_u(rng, r.walk_s), left))),
            "sit": (12.0, lambda left: self.sit(min(_u(rng, r.sit_s), left))),
            "stand": (0.0, lambda left: self.stand(min(_u(rng, r.stand_s), left))),
            "drink": (14.0, lambda left: self.drink()),
            "fidget": (12.0, lambda left: self.fidget()),
        }
        kinds = tuple(table)
        p = np.asarray(r.weights) / np.sum(r.weights)
        while end - mb.t_s > 4.0:
            left = end - mb.t_s
            kind = kinds[int(rng.choice(len(kinds), p=p))]
            min_left, run = table[kind]
            if left < min_left:
                continue
            start = mb.t_s
            run(left)
            self._mark(start, kind)
        if end - mb.t_s > 1e-3:
            start = mb.t_s
            self.stand(end - mb.t_s)
            self._mark(start, "stand")

    # -- one set -------------------------------------------------------------------------------
    def exercise_set(self, prof: ExerciseMotion, n_reps: int) -> None:
        rng, mb = self.rng, self.mb
        lift = unit(prof.lift_dir)
        axis = unit(prof.rotation_axis)
        rom = _u(rng, prof.rom_m) * self.rom
        theta = np.radians(_u(rng, prof.rotation_deg))
        radius = _u(rng, prof.arc_radius_m)
        tempo = self.tempo * float(np.exp(rng.normal(0.0, 0.1)))
        conc0 = _u(rng, prof.concentric_s) * tempo
        ecc0 = _u(rng, prof.eccentric_s) * tempo
        fatigue = float(rng.choice([_u(rng, (0.05, 0.3)), _u(rng, (0.3, 0.8))]))  # far from / near failure
        gamma = _u(rng, (1.2, 3.0))
        ecc_trend = _u(rng, (-0.1, 0.2))
        tremor = _u(rng, prof.tremor_g)
        wobble = _u(rng, prof.wobble_g)
        sway = _u(rng, prof.sway_deg)
        warp_ecc = _u(rng, prof.eccentric_warp)
        warp_conc = 1.0 / _u(rng, prof.concentric_warp)
        bottom_rot = self.tilt @ posture(prof.forearm_dir, prof.dorsal_dir)
        start_turn = rotation_about(axis, 0.0 if prof.concentric_first else theta)
        start_rot = start_turn @ bottom_rot
        arc = start_turn @ unit(prof.arc_dir)

        t_setup = mb.t_s
        offset = np.asarray(prof.setup_offset_m) * _u(rng, (0.85, 1.15)) + rng.normal(0.0, 0.03, 3)
        mb.go_to(_u(rng, prof.setup_s), start_rot, self.stand_pos + offset, self._tremor(), self._wobble(),
                 self._sway())
        for _ in range(int(rng.integers(0, 3))):  # settle the grip / brace
            mb.move(_u(rng, (0.3, 0.8)), delta_m=rng.normal(0.0, 0.015, 3), axis=unit(rng.normal(size=3)),
                    theta_rad=np.radians(rng.normal(0.0, 4.0)), tremor_g=tremor, wobble_g=self._wobble(),
                    sway_deg=self._sway())
        mb.hold(_u(rng, (0.4, 2.5)), tremor)
        self._mark(t_setup, "setup")

        reps: list[Rep] = []
        for k in range(n_reps):
            frac = k / (n_reps - 1) if n_reps > 1 else 0.0
            conc = conc0 * (1.0 + fatigue * frac**gamma) * float(np.exp(rng.normal(0.0, 0.07)))
            ecc = ecc0 * (1.0 + ecc_trend * frac) * float(np.exp(rng.normal(0.0, 0.08)))
            turn = _u(rng, prof.turn_pause_s) * (1.0 + 0.5 * fatigue * frac)
            turn = turn if turn >= 0.05 else 0.0
            rom_k = rom * (1.0 + rng.normal(0.0, 0.04)) * (1.0 - 0.05 * fatigue * frac)
            theta_k = theta * (1.0 + rng.normal(0.0, 0.05))
            lift_k = _perturb(rng, lift, 3.0) * rom_k
            axis_k = _perturb(rng, axis, 4.0)

            t_start = mb.t_s
            # (direction, duration, warp): +1 lifts (concentric), -1 lowers (eccentric)
            up = (1.0, conc, warp_conc * float(np.exp(rng.normal(0.0, 0.05))))
            down = (-1.0, ecc, warp_ecc * float(np.exp(rng.normal(0.0, 0.05))))
            phases = (up, down) if prof.concentric_first else (down, up)
            for i, (sign, dur, warp) in enumerate(phases):
                arc = mb.move(dur, delta_m=sign * lift_k, axis=axis_k, theta_rad=sign * theta_k,
                              radius_m=radius, arc_dir=arc, tremor_g=tremor, warp=warp, wobble_g=wobble,
                              sway_deg=sway)
                if i == 0 and turn > 0.0:
                    mb.hold(turn, tremor)
            reps.append(Rep(start_s=t_start, end_s=mb.t_s, eccentric_s=ecc, concentric_s=conc,
                            pause_s=turn, concentric_first=prof.concentric_first))
            if k < n_reps - 1:
                between = _u(rng, prof.between_pause_s) * (1.0 + fatigue * frac)
                if frac > 0.5 and rng.random() < 0.1 * fatigue:  # a few breaths before a hard rep
                    between += _u(rng, (1.5, 4.0))
                mb.hold(max(between, 0.02), tremor)
        self.sets.append(SetTruth(reps[0].start_s, reps[-1].end_s, prof.name, tuple(reps)))
        self.activities.append(Activity(reps[0].start_s, reps[-1].end_s, "set"))

        t_rack = mb.t_s
        mb.hold(_u(rng, (0.3, 1.5)), tremor)
        mb.move(_u(rng, (0.5, 1.0)), delta_m=np.asarray(prof.rack_m) * _u(rng, (0.8, 1.2)), tremor_g=tremor,
                wobble_g=wobble, sway_deg=sway)
        mb.hold(_u(rng, (0.2, 0.8)), tremor)
        mb.go_to(_u(rng, (1.5, 3.0)), self.stand_rot, self.stand_pos, self._tremor(), self._wobble(), self._sway())
        self._mark(t_rack, "rack")


def _rescale_sets(sets: list[SetTruth], k: float) -> list[SetTruth]:
    """Express set and rep times in a time base running ``k`` times the true clock."""
    if k == 1.0:
        return sets
    out = []
    for s in sets:
        reps = tuple(
            Rep(start_s=r.start_s * k, end_s=r.end_s * k, eccentric_s=r.eccentric_s * k,
                concentric_s=r.concentric_s * k, pause_s=r.pause_s * k, concentric_first=r.concentric_first)
            for r in s.reps
        )
        out.append(SetTruth(reps[0].start_s, reps[-1].end_s, s.exercise, reps))
    return out


def _exercise_plan(rng: np.random.Generator, n_sets: int, exercises: str | Sequence[str] | None) -> list[str]:
    names = sorted(EXERCISES)  # every placement has the same exercise names
    if exercises is None:
        k = int(rng.integers(1, min(3, n_sets) + 1)) if n_sets > 0 else 1
        chosen = [names[i] for i in rng.choice(len(names), size=k, replace=False)]
    else:
        chosen = [exercises] if isinstance(exercises, str) else list(exercises)
        unknown = [e for e in chosen if e not in EXERCISES]
        if unknown or not chosen:
            raise ValueError(f"unknown exercise(s) {unknown or chosen}; valid: {', '.join(names)}")
    return [chosen[i * len(chosen) // n_sets] for i in range(n_sets)]


def _draw_reps(rng: np.random.Generator, prof: ExerciseMotion, reps: int | tuple[int, int] | None) -> int:
    if reps is None:
        lo, hi = prof.reps
    elif isinstance(reps, int):
        lo = hi = reps
    else:
        lo, hi = reps
    if lo < 1 or hi < lo:
        raise ValueError(f"reps must be >= 1 and lo <= hi, got {reps}")
    return int(rng.integers(lo, hi + 1))


def simulate_session(
    seed: int,
    *,
    sample_rate_hz: float = 100.0,
    n_sets: int = 3,
    exercises: str | Sequence[str] | None = None,
    gyro: bool = True,
    gyro_rate_hz: float | None = None,
    reps: int | tuple[int, int] | None = None,
    rest_s: Range = (60.0, 180.0),
    lead_s: Range = (5.0, 20.0),
    accel_range_g: float = 8.0,
    gyro_range_dps: float = 2000.0,
    bits: int = 16,
    jitter_s: float | None = None,
    drops: bool = True,
    ideal_sensor: bool = False,
    sensor_ranges: SensorRanges | None = None,
    rest_motion: RestMotion | None = None,
    participant: str = "",
    t0_utc_ns: int | None = None,
    timestamps: str = "host",
    placement: str = "wrist",
) -> tuple[Recording, SessionTruth]:
    """Simulate one wrist-worn recording of a training session, with exact labels.

    Parameters
    ----------
    seed : the same seed gives bit-identical output.
    sample_rate_hz : accelerometer output data rate.
    n_sets : number of sets (rest periods between them).
    exercises : one name or a sequence (split into consecutive blocks over the sets); ``None``
        draws 1-3 exercises from :data:`repsense.simulate.profiles.EXERCISES`.
    gyro, gyro_rate_hz : simulate the gyroscope (default rate = accelerometer rate), with its
        own timestamps, offset by a few ms.
    reps : reps per set, fixed or ``(lo, hi)``; ``None`` uses the exercise's range.
    rest_s, lead_s : rest between sets; quiet-ish time before the first / after the last set.
    accel_range_g, gyro_range_dps, bits : full scale and ADC resolution (quantisation, saturation).
    jitter_s : bound of the timestamp jitter (default drawn per recording, < half a period).
    drops : drop random samples and short bursts.
    ideal_sensor : no calibration error, noise, jitter or drops (mount, sampling and
        quantisation kept); the motion is the same as with ``ideal_sensor=False``.
    sensor_ranges, rest_motion : override the parameter ranges.
    participant, t0_utc_ns : metadata (default start: a seeded plausible date and time).
    timestamps : ``"host"`` (true time + bounded jitter, the default) or ``"counter"`` (exact
        grid of sample counter x nominal period, as MetaBase writes, from a sensor clock that is
        off by up to ±0.5 %; the truth is then rescaled to the reported time base).
    placement : ``"wrist"`` (a wristband, default) or ``"upper_arm"`` (an armband): selects the
        profile tables in :data:`repsense.simulate.profiles.PLACEMENTS`.

    Returns
    -------
    (Recording, SessionTruth) : the recording has ``meta.device_kind == "simulated"``.
    """
    if not sample_rate_hz > 0 or (gyro_rate_hz is not None and not gyro_rate_hz > 0):
        raise ValueError(f"rates must be > 0, got {sample_rate_hz}, {gyro_rate_hz}")
    if n_sets < 0:
        raise ValueError(f"n_sets must be >= 0, got {n_sets}")
    ss = np.random.SeedSequence(int(seed))
    motion_rng, sensor_rng, noise_rng = (np.random.default_rng(s) for s in ss.spawn(3))

    if placement not in PLACEMENTS:
        raise ValueError(f"unknown placement {placement!r}; valid: {', '.join(PLACEMENTS)}")
    profiles, default_rest = PLACEMENTS[placement]
    sb = _SessionBuilder(motion_rng, rest_motion or default_rest)
    plan = _exercise_plan(motion_rng, n_sets, exercises)
    start = sb.mb.t_s
    sb.rest_period(_u(motion_rng, lead_s))
    for i, name in enumerate(plan):
        prof = profiles[name]
        sb.exercise_set(prof, _draw_reps(motion_rng, prof, reps))
        sb.rest_period(_u(motion_rng, rest_s) if i < n_sets - 1 else _u(motion_rng, lead_s))
    if sb.mb.t_s <= start:
        sb.stand(1.0)
    motion = sb.mb.build(motion_rng)
    end_s = motion.end_s

    g_rate = (gyro_rate_hz or sample_rate_hz) if gyro else None
    model = draw_sensor_model(
        sensor_rng,
        min(sample_rate_hz, g_rate or sample_rate_hz),
        ranges=sensor_ranges,
        accel_range_g=accel_range_g,
        gyro_range_dps=gyro_range_dps,
        bits=bits,
        jitter_s=jitter_s,
        drops=drops,
        ideal=ideal_sensor,
        timestamps=timestamps,
    )
    acc, gyr = sample_streams(motion, model, noise_rng, sample_rate_hz=sample_rate_hz, gyro_rate_hz=g_rate,
                              start_s=0.0, end_s=end_s)
    if t0_utc_ns is None:
        day = int(motion_rng.integers(0, 700))
        sec = float(motion_rng.uniform(6 * 3600, 21 * 3600))
        t0_utc_ns = 1_704_067_200_000_000_000 + day * 86_400_000_000_000 + int(sec * 1e9)  # from 2024-01-01
    meta = RecordingMeta(
        t0_utc_ns=int(t0_utc_ns),
        device_kind="simulated",
        firmware=f"repsense.simulate {SIMULATOR_VERSION}",
        source_file="",
        participant=participant,
        session_id=f"sim-{int(seed)}",
        extra={"seed": int(seed), "simulator_version": SIMULATOR_VERSION, "placement": placement},
    )
    rec = Recording(
        accel=Stream(acc.t_s, acc.values, "g"),
        meta=meta,
        gyro=Stream(gyr.t_s, gyr.values, "deg/s") if gyr is not None else None,
    )
    k = model.time_scale
    activities = sorted(sb.activities, key=lambda a: a.start_s)
    truth = SessionTruth(
        seed=int(seed),
        sets=tuple(_rescale_sets(sb.sets, k)),
        activities=tuple(Activity(a.start_s * k, a.end_s * k, a.kind) for a in activities),
        sample_rate_hz=float(sample_rate_hz),
        gyro_rate_hz=g_rate,
        duration_s=end_s * k,
        sensor=model,
        motion=motion,
        accel_t_true_s=acc.t_true_s,
        accel_dropped_index=acc.dropped_index,
        gyro_t_true_s=gyr.t_true_s if gyr is not None else None,
        gyro_dropped_index=gyr.dropped_index if gyr is not None else None,
        placement=placement,
    )
    return rec, truth


def simulate_set(
    seed: int,
    *,
    exercise: str | None = None,
    n_reps: int | tuple[int, int] | None = None,
    sample_rate_hz: float = 100.0,
    lead_s: Range = (2.0, 8.0),
    **kwargs,
) -> tuple[Recording, SessionTruth]:
    """One set with a short lead-in and tail (like a per-set export of a phone app).

    Keyword arguments are passed to :func:`simulate_session`.
    """
    return simulate_session(seed, sample_rate_hz=sample_rate_hz, n_sets=1, exercises=exercise, reps=n_reps,
                            lead_s=lead_s, **kwargs)


#: Output data rates drawn by :func:`simulate_corpus` (common BMI160/BMI270/LSM6 settings).
CORPUS_RATES_HZ = (12.5, 25.0, 50.0, 52.0, 100.0, 104.0, 200.0)


def simulate_corpus(n: int, seed: int, **overrides) -> list[tuple[Recording, SessionTruth]]:
    """Draw ``n`` varied recordings: rates 12.5-200 Hz, 1-5 sets, gyro or not, 12/16-bit,
    different ranges and rest lengths. Keyword ``overrides`` fix any simulate_session argument."""
    out = []
    for child in np.random.SeedSequence(int(seed)).spawn(int(n)):
        rng = np.random.default_rng(child)
        rate = float(rng.choice(CORPUS_RATES_HZ, p=[0.1, 0.15, 0.2, 0.1, 0.25, 0.1, 0.1]))
        has_gyro = bool(rng.random() < 0.7)
        kwargs = dict(
            sample_rate_hz=rate,
            n_sets=int(rng.integers(1, 6)),
            gyro=has_gyro,
            gyro_rate_hz=rate * float(rng.choice([1.0, 2.0])) if has_gyro and rate <= 50.0 else None,
            rest_s=(float(rng.uniform(25.0, 60.0)), float(rng.uniform(60.0, 150.0))),
            accel_range_g=float(rng.choice([4.0, 8.0, 16.0])),
            bits=int(rng.choice([12, 16], p=[0.2, 0.8])),
            timestamps=str(rng.choice(["host", "counter"], p=[0.7, 0.3])),
            placement=str(rng.choice(["wrist", "upper_arm"], p=[0.8, 0.2])),
        )
        kwargs.update(overrides)
        out.append(simulate_session(int(child.generate_state(1)[0]), **kwargs))
    return out
