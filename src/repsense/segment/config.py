"""Detector configuration: every tunable, named with its unit, with the physical reason.

One configuration serves every exercise and every device from 12.5 Hz to 200 Hz. The
detector never sees an exercise label.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..errors import InputError


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Tunables of :func:`repsense.segment.detect` and :class:`repsense.segment.RepSegmenter`.

    Attributes
    ----------
    grid_rate_hz : float
        Internal uniform rate. Barbell reps live below ~1.5 Hz; 25 Hz leaves a wide margin
        and keeps phase timing to 40 ms.
    anti_alias_tau_s : float
        Time constant of the one-pole low-pass run on the raw samples before resampling
        (cut-off ~5 Hz, far above rep content, below the grid's 12.5 Hz Nyquist limit).
    max_gap_s : float
        A hole in the samples longer than this ends the current set and restarts the grid;
        shorter holes (lost BLE packets) are bridged by interpolation.
    hole_min_s : float
        A bridged hole at least this long (and at most ``max_gap_s``) is remembered: a set
        whose span it overlaps gets ``round(hole / cycle)`` reps estimated in it (``cycle``:
        the set's median start-to-start rep interval), counted in ``RepSet.n_reps_in_gaps``
        and ``n_reps`` but without timing (they add nothing to TUT). Shorter than half the
        fastest rep, a hole cannot hide a whole rep. 0 switches the estimate off.
    gravity_tau_s : float
        Time constant of the low-pass that tracks gravity for the activity score.
    activity_tau_s : float
        Time constant of the mean-square of gravity-removed acceleration (activity score);
        about half a slow rep.
    enter_g : float
        Activity RMS (g) that opens a set. Walking with the arms still, sitting and
        standing stay below ~0.03 g; a loaded barbell rep at a usual tempo exceeds ~0.08 g,
        but slow reps with long cruises at constant speed (2.5-3 s down, 2 s up) stay near
        0.04-0.06 g.
    exit_g : float
        Activity RMS (g) below which the set may close (hysteresis below ``enter_g``).
        Measured, 0.04 / 0.03 against 0.06 / 0.035: second generator (60 sessions x 3
        rates) sets found 162 -> 172 of 180 (slow sets), false sets 20 both, set F1 0.895 ->
        0.925; MetaMotion (rest recordings included), simulated seeds 1000-1029, 2000-2029
        and 3000-3029 at four rates: set F1 unchanged, exact counts within -0.6 to +0.3
        points; detection time unchanged (one bench day).
    min_rest_s : float
        Stillness (activity below ``exit_g``) that ends a set: longer than the longest
        pause inside a set (a breath at lock-out, ~3 s), shorter than a real rest.
    pre_roll_s, post_roll_s : float
        Samples kept before a set opens / after its activity stops, so the first and last
        reps are analysed whole. A set opens at its first strong acceleration, which in a
        slow first rep (a 2-3 s lowering that starts gently) comes seconds after the movement
        began: 2 s of pre-roll cut such first reps in half (and the edge test then dropped
        them); 4 s keeps them. Measured: MetaMotion unchanged; simulated exact counts
        47.6 -> 48.8 %, median TUT error 9.4 -> 8.9 %; second generator exact 44 -> 52 %.
    checkpoint_s : float
        0 (default): a set is emitted when its stretch closes (4 s of stillness). > 0: while
        a stretch is open it is re-analysed this often, and sets that no later rep can join
        (ended ``max_inter_rep_s + max_rep_s + post_roll_s`` ago) are emitted at once, for
        live display when rests are restless. Costs a re-analysis per checkpoint (batch
        detection ~15x slower on restless data) and measured slightly less accurate on
        simulated sessions, hence off by default.
    max_set_s : float
        A set longer than this is closed and a new one opened; bounds the streaming memory.
    band_low_hz, band_high_hz : float
        Band of the vertical-acceleration proxy: the slowest rep (~6 s) to the fastest
        (~0.7 s) cycle.
    displacement_highpass_hz : float
        Leak of each of the two integrations acceleration -> velocity -> displacement
        (removes drift; below the slowest rep rate).
    hysteresis_rel : float
        Turning-point hysteresis as a fraction of the set's robust displacement amplitude
        (95th percentile of |displacement|): smaller wiggles are not rep turns.
    amplitude_percentile : float
        Percentile of |displacement| that defines the amplitude (robust to one big swing).
    min_travel_m : float
        Smallest displacement swing (m, of the band-passed proxy) counted as a rep turn:
        every barbell lift moves the bar further than this; fidgeting at rest does not.
    min_reps : int
        Fewer rhythmic reps than this is not a set: one or two up-down movements (a re-rack,
        lifting a bottle, standing up) look like reps, three in a rhythm rarely do. Heavy
        singles and doubles are therefore not counted (documented limitation).
    min_vertical_fraction : float
        Share of the band-limited acceleration variance that the vertical proxy must carry
        over a set. Barbell lifts are vertical translations (>= ~0.3 on real sets); gestures,
        fidgeting and arm swings are mostly rotation and horizontal motion (<= ~0.2).
        Curls and raises (rotation) fall below it too, so it is only asked of short sets,
        where the rhythm alone is weak evidence (see ``rhythm_reps``).
    rhythm_reps : int
        A set of at least this many rhythmic reps needs no further evidence; shorter ones
        (``min_reps`` .. ``rhythm_reps - 1``) must also pass ``min_vertical_fraction`` and
        ``short_set_duration_ratio``.
    short_set_duration_ratio : float
        In a set of fewer than ``rhythm_reps`` reps, the longest rep may last at most this
        factor times the shortest: the reps of a set follow one tempo (fatigue slows the last
        ones by up to ~2x), while three or four unrelated movements during a rest (a reach, a
        drink, a stretch), bridged by stillness, give "reps" of 1 s next to 5-8 s. Measured:
        changes no count on the MetaMotion sets or the simulated sessions; on an independent
        generator of rests with isolated vertical gestures, false sets fell from 92 to 52.
        The test is made twice: on the reps' spans between turning points, and on the reps
        as finally cut to their movement (still edges trimmed). Gestures whose spans include
        the stillness around them pass the first; trimmed, they last 0.9-1.5 s next to 3-8 s.
        Measured (second generator, 60 sessions x 3 rates): false sets 28 -> 20, set F1 0.876
        -> 0.895; MetaMotion and the simulated tuning seeds unchanged; held-out seeds 3000-3039
        lose one true 4-rep set at 50 Hz (3.26x once trimmed).
    edge_travel_ratio, edge_duration_ratio : float
        A first or last rep whose travel (duration) is off the set's median by more than
        this factor is handling (un-rack, re-rack, set-up), not a rep. Fatigue slows the
        last reps by up to ~1.5-2x, hence the generous duration factor.
    edge_reference_frac : float
        What the edge reps are compared with. In a rhythm of at least 6 reps: the medians of
        its middle reps (this fraction dropped at each end), fixed while trimming; in shorter
        ones, or with 0, the medians of the reps still in the rhythm. Handling before and after
        a set (walking up, un-racking, re-racking, walking off) can be a third of a rhythm and
        pull a whole-rhythm median towards itself, so that it is no longer "unlike". Measured
        with 0.25 against 0: MetaMotion exact and +-1 unchanged (one set whose recording holds
        at most 7.5 reps of its cadence went from 7 to 6 of a labelled 10); simulated set F1
        0.939 -> 0.950, +-1 86.9 -> 88.2 %, exact 48.8 -> 52.9 %, TUT error 8.9 -> 8.3 %;
        second generator F1 0.837 -> 0.844, +-1 83.3 -> 85.2 %, exact 51.9 -> 57.4 %.
    edge_rotation_ratio, edge_rotation_min_deg : float
        A first or last rep whose forearm rotation (largest turn of the gravity direction
        within the rep) exceeds both this factor x the set's median rep rotation and this
        angle is handling, not a rep: un-racking, re-racking, stepping in and out and
        putting the load down turn the forearm far more than a barbell rep does (a few
        degrees), while curls and raises, which rotate in every rep, have a high median and
        keep their edge reps. 0 switches the test off. On the MetaMotion sets it changes
        no count (factors 2-3 and 20 deg all measured the same; 1.5 with 30 deg trimmed
        real first reps); on simulated sessions it removes most rack/setup over-counts.
        The test is symmetric: an edge rep that turns the forearm less than both the
        median / this factor and the median - this angle is dropped too (a set of curls,
        median ~75 deg, and the 20 deg of putting the dumbbells down and standing up); it
        cannot apply to a set whose median is at most this angle (MetaMotion: no count changed;
        simulated, 30 seeds x 4 rates: within one 87.8 -> 89.8 %, exact 49.0 -> 55.1 %).
    inner_duration_ratio : float
        A rep inside a rhythm (neither its first nor its last) lasting more than this factor
        x the rhythm's median rep duration (inner reps still-trimmed, medians of the middle
        reps as ``edge_reference_frac``) is a handling move: it is dropped and the rhythm split
        there, as for an inner rep that turns the forearm past ``edge_rotation_*``. Fatigue
        and a sticking point slow a rep by up to ~2-2.5x. Measured (3 against off):
        MetaMotion no count changed; simulated (30 seeds x 4 rates) set F1 0.968 -> 0.979
        (one session's walk joined to its row set, a 7.3 s move = 3.08x the median; 2.5 and
        2.75 split real reps there, within one -2.2 points at 25 Hz); second generator F1
        0.871 -> 0.885 at 2.5-4 alike. 0 switches the test off.
    boundary_span_ratio : float
        The rest end (the kind of turning point that bounds the reps) is chosen by counting
        turning points over the whole active stretch, which in effect reads its first and
        last ones, often handling moves. Once the reps are grouped the count is taken again
        over each group of >= 3 reps, its span widened by this factor x its median rep on
        each side (the true boundaries lie half a rep outside reps cut at the wrong kind);
        a disagreement re-cuts the stretch with the other kind. Measured (1 against off):
        MetaMotion no count changed; simulated, 25 Hz: right kind 59 -> 71 of 90 sets at
        0.75-1 (66 at 0.5, 65 at 1.5), exact 63.6 -> 69.3 %, within one 95.5 % both, split
        error 9.6 -> 7.8 %, TUT error 6.8 -> 7.1 %; second generator exact 63.0 -> 66.7 %,
        TUT error 7.0 -> 7.3 %. 0 switches the second count off.
    edge_tail_s, edge_hold_s : float
        For the grouping's duration tests only (see ``still_*``): an inner rep that starts
        (ends) with at most ``edge_tail_s`` of movement and then at least ``edge_hold_s``
        of stillness is read from (to) that stillness. The displacement sags through a wait
        at the rest end and its turning point comes before the lifter arrives, so the rep
        begins with the tail of the lift before it, and the still trim stopped there (inner
        reps of squats with 1.2 s waits looked 4.4 s long next to a first rep of 2.3 s,
        which was dropped as unlike). Not applied to TUT: after a short acceleration, a
        constant-velocity stretch looks still too (the second generator, whose reps cruise,
        lost 2.7 points of TUT error when it was). Measured (0.32 s / 0.5 s against off):
        MetaMotion no count changed (a tail of 0.44 s cost one); simulated, 25 Hz, exact
        69.3 -> 73.9 %, TUT error unchanged; second generator F1 0.885 -> 0.893, exact
        66.7 -> 70.4 %, TUT error 7.3 -> 7.0 %. ``edge_tail_s = 0`` switches it off.
    edge_wait_s, edge_wait_ratio : float
        For the grouping's duration tests only: the first (last) rep of a rhythm is read up to
        (from) the wait it ends (starts) with on its inner side, when that wait lasts at least
        ``edge_wait_s`` and the rhythm's inner reps were still-trimmed by at least
        ``edge_wait_ratio`` x that wait (median): a lifter resetting on the floor between
        every rep (dead-stop pulls). The displacement sags through each reset, so every rep
        is cut from its pull to the end of the reset after it; the inner reps are judged by
        their trimmed duration, and the first rep, with its reset, looked twice as long and
        was dropped as unlike (nine pulls with 2-4 s resets counted 8). A long wait after the
        first rep alone is not passed over: an un-rack and a set-up pause look the same
        (``edge_wait_ratio = 0``: simulated exact -2.3 points, second generator -1.9).
        Measured (1 s / 0.5 against off): MetaMotion and simulated tuning seeds unchanged;
        second generator one false set fewer (set F1 0.870 -> 0.873); simulated seeds
        3000-3039 exact 70.4 -> 71.2 %, seeds 2000-2039 and 4000-4039 unchanged.
        ``edge_wait_s = 0`` switches it off.
    edge_posture_deg : float
        In a set that does not turn the forearm (median rep rotation at most
        ``edge_rotation_min_deg``: presses, squats, pulls, rows), a first or last rep whose
        posture (the mean gravity direction over the rep, in the sensor frame) is more than
        this angle from the set's is handling, not a rep: putting the weight down, a re-rack,
        a step away tilt the forearm, while the reps of such a set share one posture (within
        ~3 deg on simulated sets, up to ~9 deg on the real MetaMotion sets, whose re-racks and
        set-ups the other tests had already trimmed). Rotating sets (curls, raises) are not
        tested: their reps' mean direction depends on where each rep is cut. Measured (15
        against off): MetaMotion, the second generator and the simulated tuning seeds no
        count changed; fresh simulated seeds (25 and 50 Hz) within one 88.6 -> 90.4 %
        (2000-2039), 93.8 -> 96.5 % (3000-3039), 87.9 -> 88.4 % (4000-4039), exact +1.8,
        +1.8 and 0 points, TUT error unchanged. 12 gained more on simulated seeds (tuning
        within one +1.1 points, seeds 2000-2039 +0.9 more) but dropped true last reps 12-14
        deg off (the bench set in ``recordings/P01``; a short row set lost whole), and one
        second-generator set; 8 cost a MetaMotion count. 0 switches it off.
    inner_short_ratio, inner_short_travel_ratio : float
        In a rhythm of >= 6 reps, an inner rep shorter than ``inner_short_ratio`` x the
        rhythm's median (still-trimmed durations, medians of the middle reps as
        ``edge_reference_frac``) and with less travel than ``inner_short_travel_ratio`` x its
        median is a fragment, not a rep: a wait at the rest end that the sagging displacement
        turned into a rep (a dead stop on the floor between deadlifts), or one part of a slow
        curl or raise cut in two by a wiggle. It is dropped and the rhythm goes on through it
        (a gap after it is measured from its end). Not a rep that a bridged signal hole
        overlaps: the straight line across the hole looks still and would make any rep look
        short (a real MetaMotion bench rep across a 2.08 s BLE drop). Measured (0.45 / 0.85
        against off): MetaMotion no count changed; simulated tuning seeds (25 Hz) exact 73.9
        -> 75.0 %; fresh seeds (25 and 50 Hz) within one 90.4 -> 92.1 % (2000-2039), 96.5 %
        both (3000-3039), 88.4 -> 89.2 % (4000-4039); second generator (60 sessions, 3 rates)
        within one 87.7 -> 88.9 %, exact 69.1 -> 71.0 %, MAE 0.53 -> 0.48, one false set more
        (set F1 0.878 -> 0.876). A travel ratio of 0.9 gained 0.9 points more on seeds
        2000-2039 but dropped a real squat of ``recordings/P04`` (its travel 0.897 x the
        median, in a rhythm whose median the walk-in moves inflate). 0.4 and 0.5 measure like
        0.45. ``inner_short_ratio = 0`` switches it off.
    rotation_window_s : float
        Window of the moving mean that estimates the gravity direction for
        ``edge_rotation_*`` (one slow rep's linear acceleration averages out).
    edge_open_ratio : float
        A turnaround at the edge of an active stretch, with no boundary turning point on
        one side, counts only if the signal on that open side moves at least this fraction
        of the other side's travel (a rep truncated by the recording start does; a set-up or
        rack move that only reaches the turnaround level does not). Off (0) by default:
        on the real MetaMotion sets, recordings often start inside the first rep, and 0.5
        cost 16 points of exact counts while gaining 2 on the simulator.
    max_inter_rep_s : float
        Longest stillness between two reps of one set (a breath at lock-out); a longer
        gap splits the rhythm.
    min_rep_s, max_rep_s : float
        Plausible rep durations (movement start to end): faster than ``min_rep_s`` is a
        jerk, slower than ``max_rep_s`` (beyond a 4-0-4 super-slow tempo) is not a rep.
    still_rel : float
        A rep starts when the displacement leaves, and ends when it re-enters, a band of
        this fraction of the rep's travel around its start/end level; time inside that band
        around the turning point is the pause.
    phase_speed_rel : float
        A sample of a rep moves down (eccentric) or up (concentric) when its vertical
        speed exceeds this fraction of the rep's peak speed in that direction; the rep's
        moving time (duration minus pause) is split between the two phases in proportion.
        0.1: small enough to catch slow starts and ends, large enough that tremor and the
        ripple of a pause do not count.
    still_window_s, still_noise_ratio, still_floor_g, still_max_g, still_noise_percentile, still_min_move_s
        After the count is settled, each rep's start moves past the still samples it
        begins with and its end before those it ends with (the high-passed displacement
        drifts through a wait at the rest end and would count it as movement). A grid
        sample is still when the acceleration's standard deviation (root sum over the
        axes) in a ``still_window_s`` window is below ``still_noise_ratio`` x its
        ``still_noise_percentile``-th percentile over the active stretch (the sensor's
        own noise there, read at every 8th grid sample), but at least ``still_floor_g`` and
        at most ``still_max_g``. The inner reps of a rhythm are also judged by their trimmed
        duration when the set's edges are tested (see ``edge_duration_ratio``).
        ``still_noise_ratio = 0`` with ``still_floor_g = 0`` switches the trim off.
        Movement starts (and ends) with a run of at least ``still_min_move_s`` of samples
        that are not still: shorter blips, a noisy sample in a still stretch, are passed over.
    slowdown_frac : float
        Fraction of a set's reps (at least one) compared first vs last for the concentric
        slow-down.
    """

    grid_rate_hz: float = 25.0
    anti_alias_tau_s: float = 0.032
    max_gap_s: float = 5.0
    hole_min_s: float = 0.4
    gravity_tau_s: float = 1.0
    activity_tau_s: float = 1.0
    enter_g: float = 0.04
    exit_g: float = 0.03
    min_rest_s: float = 4.0
    pre_roll_s: float = 4.0
    post_roll_s: float = 2.0
    checkpoint_s: float = 0.0
    max_set_s: float = 300.0
    band_low_hz: float = 0.2
    band_high_hz: float = 1.5
    displacement_highpass_hz: float = 0.2
    hysteresis_rel: float = 0.2
    amplitude_percentile: float = 95.0
    min_travel_m: float = 0.05
    min_reps: int = 3
    max_inter_rep_s: float = 4.0
    min_vertical_fraction: float = 0.25
    rhythm_reps: int = 5
    short_set_duration_ratio: float = 3.0
    edge_travel_ratio: float = 1.6
    edge_duration_ratio: float = 1.8
    edge_reference_frac: float = 0.25
    edge_rotation_ratio: float = 2.5
    edge_rotation_min_deg: float = 20.0
    inner_duration_ratio: float = 3.0
    boundary_span_ratio: float = 1.0
    edge_tail_s: float = 0.32
    edge_hold_s: float = 0.5
    edge_wait_s: float = 1.0
    edge_wait_ratio: float = 0.5
    edge_posture_deg: float = 15.0
    inner_short_ratio: float = 0.45
    inner_short_travel_ratio: float = 0.85
    rotation_window_s: float = 1.0
    edge_open_ratio: float = 0.0
    min_rep_s: float = 0.8
    max_rep_s: float = 8.0
    still_rel: float = 0.05
    phase_speed_rel: float = 0.1
    still_window_s: float = 0.2
    still_noise_ratio: float = 2.0
    still_floor_g: float = 0.006
    still_max_g: float = 0.03
    still_noise_percentile: float = 5.0
    still_min_move_s: float = 0.12
    slowdown_frac: float = 0.34

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, (int, float)) or v != v or v < 0:
                raise InputError(f"DetectorConfig.{f.name} must be a finite number >= 0, got {v!r}")
        if not 0 < self.band_low_hz < self.band_high_hz < self.grid_rate_hz / 2:
            raise InputError("DetectorConfig: need 0 < band_low_hz < band_high_hz < grid_rate_hz / 2")
        if self.exit_g > self.enter_g:
            raise InputError("DetectorConfig: exit_g must not exceed enter_g (hysteresis)")
        if self.pre_roll_s > self.max_set_s or self.post_roll_s > self.min_rest_s:
            raise InputError("DetectorConfig: need pre_roll_s <= max_set_s and post_roll_s <= min_rest_s")
