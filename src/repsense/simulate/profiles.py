"""Per-exercise motion profiles for the simulator: the whole exercise knowledge is this table.

World frame: ``x`` forward (where the lifter faces), ``y`` to the lifter's left, ``z`` up.
Wrist frame (before the random sensor mount): ``x`` along the forearm towards the hand,
``z`` out of the back of the hand (where a watch or band sits), ``y = z × x``.

A rep is two minimum-jerk phases joined by a turnaround pause. Its geometry is a translation
``lift_dir * rom_m`` plus a rotation of the forearm by ``rotation_deg`` about ``rotation_axis``
with the wrist on an arc of ``arc_radius_m`` around the pivot (elbow or shoulder); straight
presses have a small rotation and no arc, arcs have no translation. Both describe the
**concentric** phase (load lifted against gravity) from the bottom position; the simulator
reverses them for the eccentric phase and starts at the top when ``concentric_first`` is false.

Ranges are ``(low, high)`` and drawn uniformly per set unless the code says otherwise. The
sources and reasoning for every number are in ``docs/SIMULATOR.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

Vec3 = tuple[float, float, float]
Range = tuple[float, float]


@dataclass(frozen=True, slots=True)
class ExerciseMotion:
    """How the wrist moves during one exercise (all lengths in m, angles in degrees, times in s).

    Attributes
    ----------
    name : exercise name, used only as the label in the truth.
    concentric_first : the rep starts at the bottom and lifts first (deadlift, row, curl).
    forearm_dir, dorsal_dir : wrist posture at the bottom of the rep, world-frame directions of
        the forearm (elbow -> hand) and of the back of the hand.
    lift_dir : direction of the wrist translation in the concentric phase (normalised by the code).
    rom_m : translation range of motion of the wrist per rep.
    rotation_axis : world axis of the forearm rotation in the concentric phase.
    rotation_deg : forearm rotation in the concentric phase.
    arc_radius_m : pivot-to-wrist distance of the arc (0: the wrist rotates in place).
    arc_dir : world direction from the pivot to the wrist at the bottom of the rep.
    concentric_s, eccentric_s : phase durations of a fresh first rep, before person/set factors.
    turn_pause_s : pause between the two phases (inside the rep: counts as TUT).
    between_pause_s : pause between reps at the start position (outside the reps).
    reps : typical reps per set.
    setup_offset_m : wrist displacement from standing to the start position (unrack, grip the bar).
    rack_m : small move when racking / putting the load down after the set.
    setup_s : time to get from standing into the start position.
    tremor_g : physiological/load tremor amplitude (RMS, 8-12 Hz) during the set.
    wobble_g : peak RMS of the 1.5-6 Hz movement irregularity while the wrist moves.
    sway_deg : peak RMS of the 0.6-2.5 Hz rotational irregularity (wrist flexion, deviation,
        pronation) about a random axis per phase.
    eccentric_warp, concentric_warp : exponent ``p`` of the phase-time warp of the minimum-jerk
        profile: the eccentric brakes late (``w = τ^p``), the concentric drives early
        (``w = 1 − (1 − τ)^p``); 1 is plain minimum jerk.
    """

    name: str
    concentric_first: bool
    forearm_dir: Vec3
    dorsal_dir: Vec3
    lift_dir: Vec3
    rom_m: Range
    rotation_axis: Vec3
    rotation_deg: Range
    arc_radius_m: Range
    arc_dir: Vec3
    concentric_s: Range
    eccentric_s: Range
    turn_pause_s: Range
    between_pause_s: Range
    reps: tuple[int, int]
    setup_offset_m: Vec3
    rack_m: Vec3
    setup_s: Range = (1.5, 4.0)
    tremor_g: Range = (0.003, 0.015)
    wobble_g: Range = (0.015, 0.07)
    sway_deg: Range = (1.5, 5.0)
    eccentric_warp: Range = (1.2, 2.6)
    concentric_warp: Range = (1.0, 2.2)


UP: Vec3 = (0.0, 0.0, 1.0)
DOWN: Vec3 = (0.0, 0.0, -1.0)
FORWARD: Vec3 = (1.0, 0.0, 0.0)
BACKWARD: Vec3 = (-1.0, 0.0, 0.0)
LEFT: Vec3 = (0.0, 1.0, 0.0)
RIGHT: Vec3 = (0.0, -1.0, 0.0)

#: The profile table. Straight presses (bench, ohp), body-borne vertical paths (squat, deadlift),
#: arcs (curl, lateral raise) and a pull (row).
EXERCISES: dict[str, ExerciseMotion] = {
    p.name: p
    for p in (
        ExerciseMotion(
            name="bench",
            concentric_first=False,
            forearm_dir=UP,
            dorsal_dir=BACKWARD,
            lift_dir=(0.15, 0.0, 1.0),  # slight J-curve towards the rack
            rom_m=(0.28, 0.45),
            rotation_axis=LEFT,
            rotation_deg=(12.0, 35.0),
            arc_radius_m=(0.0, 0.0),
            arc_dir=DOWN,
            concentric_s=(0.6, 1.2),
            eccentric_s=(0.7, 1.6),
            turn_pause_s=(0.0, 0.4),
            between_pause_s=(0.1, 0.8),
            reps=(3, 12),
            setup_offset_m=(0.0, 0.0, 0.35),
            rack_m=(-0.12, 0.0, 0.06),
        ),
        ExerciseMotion(
            name="ohp",
            concentric_first=True,
            forearm_dir=(0.15, 0.0, 1.0),
            dorsal_dir=BACKWARD,
            lift_dir=(0.05, 0.0, 1.0),
            rom_m=(0.35, 0.55),
            rotation_axis=LEFT,
            rotation_deg=(15.0, 45.0),
            arc_radius_m=(0.0, 0.0),
            arc_dir=DOWN,
            concentric_s=(0.6, 1.2),
            eccentric_s=(0.6, 1.4),
            turn_pause_s=(0.0, 0.3),
            between_pause_s=(0.1, 1.0),
            reps=(3, 12),
            setup_offset_m=(0.1, 0.0, 0.75),
            rack_m=(0.05, 0.0, 0.08),
        ),
        ExerciseMotion(
            name="squat",
            concentric_first=False,
            forearm_dir=(-0.4, 0.0, 1.0),  # hands on the bar behind the neck
            dorsal_dir=BACKWARD,
            lift_dir=(0.05, 0.0, 1.0),
            rom_m=(0.40, 0.65),
            rotation_axis=RIGHT,  # torso leans forward on the way down
            rotation_deg=(15.0, 40.0),
            arc_radius_m=(0.0, 0.0),
            arc_dir=DOWN,
            concentric_s=(0.7, 1.3),
            eccentric_s=(0.8, 1.7),
            turn_pause_s=(0.0, 0.3),
            between_pause_s=(0.2, 1.5),
            reps=(3, 12),
            setup_offset_m=(-0.1, 0.0, 0.55),
            rack_m=(0.15, 0.0, 0.07),
            tremor_g=(0.004, 0.02),
        ),
        ExerciseMotion(
            name="deadlift",
            concentric_first=True,
            forearm_dir=DOWN,
            dorsal_dir=FORWARD,
            lift_dir=(-0.05, 0.0, 1.0),
            rom_m=(0.45, 0.65),
            rotation_axis=LEFT,  # arms swing back slightly as the hips extend
            rotation_deg=(15.0, 40.0),
            arc_radius_m=(0.0, 0.0),
            arc_dir=DOWN,
            concentric_s=(0.6, 1.3),
            eccentric_s=(0.6, 1.3),
            turn_pause_s=(0.0, 0.5),
            between_pause_s=(0.3, 1.8),  # dead stop on the floor, re-brace
            reps=(3, 10),
            setup_offset_m=(0.1, 0.0, -0.45),
            rack_m=(0.0, 0.0, -0.05),
            tremor_g=(0.004, 0.02),
        ),
        ExerciseMotion(
            name="row",
            concentric_first=True,
            forearm_dir=DOWN,
            dorsal_dir=FORWARD,
            lift_dir=(-0.2, 0.0, 1.0),  # bar travels up towards the lower chest
            rom_m=(0.22, 0.40),
            rotation_axis=LEFT,
            rotation_deg=(10.0, 35.0),
            arc_radius_m=(0.0, 0.0),
            arc_dir=DOWN,
            concentric_s=(0.4, 0.8),
            eccentric_s=(0.5, 1.1),
            turn_pause_s=(0.0, 0.3),  # squeeze at the top
            between_pause_s=(0.0, 0.4),  # often continuous, nearly sinusoidal
            reps=(5, 12),
            setup_offset_m=(0.25, 0.0, -0.3),
            rack_m=(0.0, 0.0, -0.25),
            eccentric_warp=(1.0, 1.5),
            concentric_warp=(1.0, 1.5),
        ),
        ExerciseMotion(
            name="curl",
            concentric_first=True,
            forearm_dir=DOWN,
            dorsal_dir=BACKWARD,  # underhand grip
            lift_dir=UP,
            rom_m=(0.0, 0.0),
            rotation_axis=RIGHT,  # positive angle swings the hand forward and up
            rotation_deg=(105.0, 140.0),
            arc_radius_m=(0.26, 0.34),
            arc_dir=DOWN,
            concentric_s=(0.6, 1.2),
            eccentric_s=(0.8, 1.6),
            turn_pause_s=(0.0, 0.5),
            between_pause_s=(0.0, 0.6),
            reps=(6, 15),
            setup_offset_m=(0.05, 0.0, 0.0),
            rack_m=(0.1, 0.0, -0.3),
        ),
        ExerciseMotion(
            name="lateral_raise",
            concentric_first=True,
            forearm_dir=DOWN,
            dorsal_dir=LEFT,  # left arm, palm facing the thigh
            lift_dir=UP,
            rom_m=(0.0, 0.0),
            rotation_axis=FORWARD,  # positive angle raises the left arm sideways
            rotation_deg=(65.0, 95.0),
            arc_radius_m=(0.55, 0.70),
            arc_dir=DOWN,
            concentric_s=(0.6, 1.1),
            eccentric_s=(0.8, 1.5),
            turn_pause_s=(0.0, 0.5),
            between_pause_s=(0.0, 0.6),
            reps=(8, 15),
            setup_offset_m=(0.0, 0.05, 0.0),
            rack_m=(0.1, 0.0, -0.3),
        ),
    )
}


@dataclass(frozen=True, slots=True)
class RestMotion:
    """Parameters of the non-exercise motion between sets (lengths m, angles deg, times s)."""

    walk_step_hz: Range = (1.6, 2.05)  # cadence 96-123 steps/min; arm swings at half of it
    walk_arm_swing_deg: Range = (8.0, 25.0)  # amplitude (half of peak-to-peak) at the shoulder
    walk_arm_radius_m: Range = (0.60, 0.72)
    walk_bounce_m: Range = (0.012, 0.028)  # vertical body excursion amplitude
    walk_s: Range = (4.0, 35.0)
    sit_s: Range = (10.0, 80.0)
    stand_s: Range = (3.0, 25.0)
    standing: tuple[Vec3, Vec3] = ((0.0, 0.0, -1.0), (0.0, 1.0, 0.0))  # arm hanging, band facing out
    sitting: tuple[Vec3, Vec3] = ((1.0, 0.0, -0.35), (0.0, 0.3, 1.0))  # forearm resting on the thigh
    drink_raise_deg: Range = (100.0, 135.0)
    drink_radius_m: Range = (0.26, 0.34)
    drink_raise_s: Range = (0.7, 1.4)
    drink_hold_s: Range = (1.5, 5.0)
    drink_tilt_deg: Range = (20.0, 50.0)
    fidget_moves: tuple[int, int] = (2, 7)
    fidget_move_m: Range = (0.02, 0.15)
    fidget_rotate_deg: Range = (10.0, 90.0)
    fidget_move_s: Range = (0.2, 0.9)
    fidget_hold_s: Range = (0.1, 1.5)
    transition_s: Range = (0.8, 2.2)
    tremor_g: Range = (0.001, 0.005)
    wobble_g: Range = (0.005, 0.04)
    walk_wobble_g: Range = (0.02, 0.08)  # heel strikes and arm-swing irregularity
    sway_deg: Range = (2.0, 6.0)
    walk_sway_deg: Range = (2.0, 6.0)
    #: relative weights of the rest activities (walk, sit, stand, drink, fidget)
    weights: tuple[float, float, float, float, float] = (0.3, 0.1, 0.15, 0.1, 0.35)


REST = RestMotion()

# ---------------------------------------------------------------------------------------------
# Upper-arm placement (an armband between shoulder and elbow). Same schema: ``forearm_dir`` is
# then the direction shoulder -> elbow and ``dorsal_dir`` the band's outer face; the arcs turn
# about the shoulder on the band's 0.12-0.18 m radius. Presses, rows and raises rotate the upper
# arm a lot; squats and deadlifts move it with the body; a curl barely moves it.
_BAND_RADIUS_M: Range = (0.12, 0.18)

UPPER_ARM_EXERCISES: dict[str, ExerciseMotion] = {
    p.name: p
    for p in (
        replace(EXERCISES["bench"], forearm_dir=LEFT, dorsal_dir=UP, lift_dir=UP, rom_m=(0.0, 0.0),
                rotation_axis=FORWARD, rotation_deg=(55.0, 85.0), arc_radius_m=_BAND_RADIUS_M, arc_dir=LEFT),
        replace(EXERCISES["ohp"], forearm_dir=(0.5, 0.6, -0.6), dorsal_dir=UP, lift_dir=UP, rom_m=(0.0, 0.0),
                rotation_axis=(0.6, -0.5, 0.0), rotation_deg=(100.0, 130.0), arc_radius_m=_BAND_RADIUS_M,
                arc_dir=(0.5, 0.6, -0.6)),
        replace(EXERCISES["squat"], forearm_dir=(-0.5, 0.6, -0.4), dorsal_dir=LEFT),
        replace(EXERCISES["deadlift"], dorsal_dir=LEFT, rom_m=(0.35, 0.55)),
        replace(EXERCISES["row"], dorsal_dir=LEFT, rom_m=(0.0, 0.05), rotation_axis=LEFT,
                rotation_deg=(50.0, 85.0), arc_radius_m=_BAND_RADIUS_M, arc_dir=DOWN),
        replace(EXERCISES["curl"], dorsal_dir=LEFT, rotation_deg=(3.0, 15.0), arc_radius_m=_BAND_RADIUS_M),
        replace(EXERCISES["lateral_raise"], arc_radius_m=_BAND_RADIUS_M),
    )
}

UPPER_ARM_REST = replace(
    REST,
    walk_arm_radius_m=_BAND_RADIUS_M,
    sitting=((0.3, 0.0, -1.0), (0.0, 1.0, 0.0)),
    drink_raise_deg=(20.0, 50.0),
    drink_radius_m=_BAND_RADIUS_M,
    drink_tilt_deg=(5.0, 20.0),
    fidget_move_m=(0.01, 0.08),
    fidget_rotate_deg=(5.0, 45.0),
)

#: Where the sensor is worn -> (exercise profiles, rest motion).
PLACEMENTS: dict[str, tuple[dict[str, ExerciseMotion], RestMotion]] = {
    "wrist": (EXERCISES, REST),
    "upper_arm": (UPPER_ARM_EXERCISES, UPPER_ARM_REST),
}

#: Postures used between sets (wrist): (forearm_dir, dorsal_dir).
STANDING = REST.standing
SITTING = REST.sitting
