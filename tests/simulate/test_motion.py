"""The analytic kinematics agree with themselves: derivatives vs finite differences, continuity."""

from __future__ import annotations

import numpy as np
import pytest

from repsense.simulate import min_jerk, simulate_session
from repsense.simulate.motion import MotionBuilder, axis_angle, posture, rotation_about


def test_min_jerk_formula_and_boundaries() -> None:
    tau = np.linspace(0.0, 1.0, 1001)
    m, dm, ddm = min_jerk(tau)
    np.testing.assert_allclose(m, 10 * tau**3 - 15 * tau**4 + 6 * tau**5, atol=1e-12)
    assert m[0] == 0.0 and m[-1] == pytest.approx(1.0, abs=1e-12)
    assert dm[0] == 0.0 and dm[-1] == pytest.approx(0.0, abs=1e-12)  # starts and ends at rest
    assert ddm[0] == 0.0 and ddm[-1] == pytest.approx(0.0, abs=1e-12)
    assert np.max(dm) == pytest.approx(1.875)  # peak velocity 15/8 at τ = 1/2
    h = tau[1] - tau[0]
    np.testing.assert_allclose(np.gradient(m, h)[2:-2], dm[2:-2], atol=1e-4)
    np.testing.assert_allclose(np.gradient(dm, h)[2:-2], ddm[2:-2], atol=1e-3)


def test_axis_angle_roundtrip(rng: np.random.Generator) -> None:
    for _ in range(50):
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        angle = rng.uniform(0.0, np.pi - 1e-3)
        got_axis, got_angle = axis_angle(rotation_about(axis, angle))
        np.testing.assert_allclose(rotation_about(got_axis, got_angle), rotation_about(axis, angle), atol=1e-9)


def _session_motion(seed: int):
    _, truth = simulate_session(seed, sample_rate_hz=50.0, n_sets=2, rest_s=(40.0, 60.0), ideal_sensor=True)
    return truth.motion


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_acceleration_and_rate_match_finite_differences(seed: int) -> None:
    """Analytic acceleration = d²pos/dt², analytic angular velocity = the rotation rate of R(t),
    over a whole session (moves, arcs, holds, walking oscillations)."""
    motion = _session_motion(seed)
    h = 1e-4
    t = np.arange(0.5, motion.end_s - 0.5, 0.013)
    mid = motion.evaluate(t)
    plus = motion.evaluate(t + h)
    minus = motion.evaluate(t - h)
    # finite differences straddling a primitive boundary see the kink only through higher
    # derivatives (all primitives start and end at rest), so no masking is needed
    acc_fd = (plus.pos_m - 2 * mid.pos_m + minus.pos_m) / h**2
    no_tremor = mid.acc_m_s2 - motion.tremor(t)
    np.testing.assert_allclose(acc_fd, no_tremor, atol=2e-3 * max(1.0, np.abs(no_tremor).max()))
    # R' R^T = [ω]x
    dr = (plus.rot - minus.rot) / (2 * h)
    skew = np.einsum("nij,nkj->nik", dr, mid.rot)
    omega_fd = np.stack([skew[:, 2, 1], skew[:, 0, 2], skew[:, 1, 0]], axis=1)
    np.testing.assert_allclose(omega_fd, mid.omega_rad_s, atol=1e-4 * max(1.0, np.abs(mid.omega_rad_s).max()))


@pytest.mark.parametrize("seed", [3, 4])
def test_state_is_continuous_at_primitive_boundaries(seed: int) -> None:
    motion = _session_motion(seed)
    b = motion.t0_s[1:]
    before = motion.evaluate(b - 1e-9)
    after = motion.evaluate(b + 1e-9)
    np.testing.assert_allclose(before.pos_m, after.pos_m, atol=1e-6)
    np.testing.assert_allclose(before.rot, after.rot, atol=1e-6)
    np.testing.assert_allclose(before.omega_rad_s, after.omega_rad_s, atol=1e-5)


def test_specific_force_is_gravity_at_rest_in_wrist_frame() -> None:
    """A hold reads +1 g along the wrist axis that points up: R^T ẑ."""
    rot = posture((0.0, 0.0, -1.0), (0.0, 1.0, 0.0))  # forearm down, back of hand to the left
    mb = MotionBuilder(rot)
    mb.hold(2.0)
    motion = mb.build()
    f_g, w_dps = motion.specific_force_and_rate(np.linspace(0.1, 1.9, 10))
    np.testing.assert_allclose(f_g, np.tile(rot.T @ [0.0, 0.0, 1.0], (10, 1)), atol=1e-12)
    assert np.allclose(f_g[:, 0], -1.0)  # forearm x axis points down: -1 g on x
    np.testing.assert_allclose(w_dps, 0.0, atol=1e-12)


@pytest.mark.parametrize("warp", [0.4, 0.7, 1.0, 1.6, 2.6])
def test_warped_min_jerk_keeps_rest_to_rest_and_is_its_own_derivative(warp: float) -> None:
    from repsense.simulate.motion import warped_min_jerk

    tau = np.linspace(0.0, 1.0, 20001)
    s, ds, dds = warped_min_jerk(tau, warp)
    assert s[0] == pytest.approx(0.0, abs=1e-12) and s[-1] == pytest.approx(1.0, abs=1e-9)
    assert abs(ds[0]) < 1e-6 and abs(ds[-1]) < 1e-6
    assert abs(dds[0]) < 1e-3 and abs(dds[-1]) < 1e-3
    assert np.all(np.diff(s) >= -1e-12)  # monotone (to round-off): no overshoot
    h = tau[1] - tau[0]
    np.testing.assert_allclose(np.gradient(s, h)[5:-5], ds[5:-5], atol=2e-3)
    np.testing.assert_allclose(np.gradient(ds, h)[5:-5], dds[5:-5], atol=5e-2)
    # the warp moves the peak speed: early for a drive (< 1), late for a brake (> 1)
    peak = tau[np.argmax(ds)]
    assert (peak < 0.45) if warp < 1 else (peak > 0.55) if warp > 1 else (peak == pytest.approx(0.5, abs=1e-3))
