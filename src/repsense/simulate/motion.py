"""Wrist kinematics as a table of motion primitives, evaluated analytically at any times.

A session is a gap-free sequence of primitives. Each one starts from the wrist state
(position ``p``, orientation ``R``: wrist frame -> world) where the previous one ended:

* **move** (``kind 0``): a minimum-jerk profile ``m(τ) = 10τ³ − 15τ⁴ + 6τ⁵`` over its duration
  drives a translation ``m·Δ`` and a rotation by ``φ = m·Θ`` about the world axis ``u``; with an
  arc radius ``r`` the wrist also travels on the circle ``r (R(u, φ) d0 − d0)`` around a pivot
  (elbow, shoulder). ``Θ = 0, Δ = 0`` is a hold.
* **oscillate** (``kind 1``): walking. The arm swings as a pendulum, ``φ = e(t) A sin(2π f t + ϕ)``
  about ``u`` on radius ``r``, and the body bounces vertically ``e(t) B sin(2π f_b t + ϕ_b)``;
  ``e(t)`` is a minimum-jerk ramp in and out, so the state is continuous at both ends.

Position, linear acceleration, orientation and angular velocity are all closed-form
(chain rule on ``φ(t)``), so gyro and accelerometer are consistent with one trajectory and
there is no numerical differentiation error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

G0_M_S2 = 9.80665

KIND_MOVE = 0
KIND_OSCILLATE = 1


def min_jerk(tau: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimum-jerk profile and its derivatives in τ (τ clipped to [0, 1]).

    Returns ``m = 10τ³ − 15τ⁴ + 6τ⁵``, ``dm/dτ = 30τ² − 60τ³ + 30τ⁴`` and
    ``d²m/dτ² = 60τ − 180τ² + 120τ³``.
    """
    t = np.clip(tau, 0.0, 1.0)
    t2 = t * t
    t3 = t2 * t
    m = t3 * (10.0 - 15.0 * t + 6.0 * t2)
    dm = 30.0 * t2 * (1.0 - 2.0 * t + t2)
    ddm = 60.0 * t * (1.0 - 3.0 * t + 2.0 * t2)
    return m, dm, ddm


def warped_min_jerk(tau: np.ndarray, warp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimum-jerk profile in a power-law warped phase time ``w(τ)``.

    ``warp = 1``: plain minimum jerk. ``warp = p > 1``: ``w = τ^p``, the movement is slow to start
    and brakes hard at the end (a loaded eccentric stopping at the chest or floor).
    ``warp = 1/q < 1``: ``w = 1 − (1 − τ)^q``, a hard start that eases into the end (a concentric
    driving off the bottom). Position, velocity and acceleration are still 0/0/0 at both ends.
    Returns ``s = m(w)`` and its first and second derivatives in τ.
    """
    t = np.clip(tau, 0.0, 1.0)
    warp = np.broadcast_to(np.asarray(warp, dtype=np.float64), t.shape)
    late = warp >= 1.0
    p = np.where(late, warp, 1.0 / warp)
    x = np.where(late, t, 1.0 - t)  # the variable raised to the power p
    xc = np.maximum(x, 1e-9)
    xp = xc**p
    dxp = p * xc ** (p - 1.0)
    ddxp = p * (p - 1.0) * xc ** (p - 2.0)
    w = np.where(late, xp, 1.0 - xp)
    dw = dxp  # d/dτ of τ^p, and of 1 − (1 − τ)^p
    ddw = np.where(late, ddxp, -ddxp)
    m, dm, ddm = min_jerk(w)
    return m, dm * dw, ddm * dw * dw + dm * ddw


def rotation_about(axis: np.ndarray, angle_rad: float) -> np.ndarray:
    """Rotation matrix about a unit ``axis`` by ``angle_rad`` (Rodrigues)."""
    u = np.asarray(axis, dtype=np.float64)
    u = u / np.linalg.norm(u)
    k = np.array([[0.0, -u[2], u[1]], [u[2], 0.0, -u[0]], [-u[1], u[0], 0.0]])
    return np.eye(3) + np.sin(angle_rad) * k + (1.0 - np.cos(angle_rad)) * (k @ k)


def axis_angle(rot: np.ndarray) -> tuple[np.ndarray, float]:
    """Axis and angle (rad, in [0, π]) of a rotation matrix."""
    cos_a = np.clip((np.trace(rot) - 1.0) / 2.0, -1.0, 1.0)
    angle = float(np.arccos(cos_a))
    if angle < 1e-9:
        return np.array([0.0, 0.0, 1.0]), 0.0
    v = np.array([rot[2, 1] - rot[1, 2], rot[0, 2] - rot[2, 0], rot[1, 0] - rot[0, 1]])
    n = np.linalg.norm(v)
    if n < 1e-6:  # angle close to π: axis from the symmetric part
        b = (rot + np.eye(3)) / 2.0
        axis = b[:, int(np.argmax(np.diag(b)))]
        return axis / np.linalg.norm(axis), angle
    return v / n, angle


def posture(forearm_dir: tuple[float, float, float], dorsal_dir: tuple[float, float, float]) -> np.ndarray:
    """Wrist orientation (wrist -> world) with the forearm along ``forearm_dir`` and the back of
    the hand towards ``dorsal_dir`` (made orthogonal to the forearm)."""
    x = np.asarray(forearm_dir, dtype=np.float64)
    x = x / np.linalg.norm(x)
    z = np.asarray(dorsal_dir, dtype=np.float64)
    z = z - (z @ x) * x
    z = z / np.linalg.norm(z)
    y = np.cross(z, x)
    return np.column_stack([x, y, z])


def unit(v: np.ndarray | tuple[float, ...]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    return a / np.linalg.norm(a)


@dataclass(frozen=True, slots=True)
class MotionState:
    """World-frame wrist kinematics at a set of times.

    ``pos_m`` (n, 3), ``acc_m_s2`` (n, 3) linear acceleration (no gravity),
    ``rot`` (n, 3, 3) wrist -> world, ``omega_rad_s`` (n, 3) world-frame angular velocity.
    """

    pos_m: np.ndarray
    acc_m_s2: np.ndarray
    rot: np.ndarray
    omega_rad_s: np.ndarray


@dataclass(frozen=True)
class MotionTimeline:
    """The primitive table of a session (one row per primitive, sorted by start time)."""

    t0_s: np.ndarray  # (k,)
    dur_s: np.ndarray  # (k,)
    kind: np.ndarray  # (k,) int8
    p_base: np.ndarray  # (k, 3)
    delta_m: np.ndarray  # (k, 3)
    radius_m: np.ndarray  # (k,)
    axis: np.ndarray  # (k, 3) unit
    arc_dir: np.ndarray  # (k, 3) unit, orthogonal to axis
    r_post: np.ndarray  # (k, 3, 3)
    theta_rad: np.ndarray  # (k,)
    osc_amp_rad: np.ndarray  # (k,)
    osc_hz: np.ndarray  # (k,)
    osc_phase: np.ndarray  # (k,)
    bounce_m: np.ndarray  # (k,)
    bounce_hz: np.ndarray  # (k,)
    bounce_phase: np.ndarray  # (k,)
    ramp_s: np.ndarray  # (k,)
    tremor_g: np.ndarray  # (k,)
    warp: np.ndarray  # (k,) phase-time warp of the minimum-jerk profile (1 = none)
    wobble_g: np.ndarray  # (k,) amplitude of the 1.5-6 Hz movement irregularity while moving
    wobble_hz: np.ndarray = field(default_factory=lambda: np.array([1.7, 2.6, 3.4, 4.3, 5.1, 5.9]))
    wobble_dir: np.ndarray = field(default_factory=lambda: np.tile(np.eye(3), (2, 1)))
    wobble_phase: np.ndarray = field(default_factory=lambda: np.zeros(6))
    sway_rad: np.ndarray | None = None  # (k,) RMS of the rotational irregularity while moving
    sway_axis: np.ndarray | None = None  # (k, 3) its axis per primitive
    sway_hz: np.ndarray = field(default_factory=lambda: np.array([0.8, 1.3, 2.1]))
    sway_phase: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def __post_init__(self) -> None:
        k = self.t0_s.shape[0]
        if self.sway_rad is None:
            object.__setattr__(self, "sway_rad", np.zeros(k))
        if self.sway_axis is None:
            object.__setattr__(self, "sway_axis", np.tile([0.0, 0.0, 1.0], (k, 1)))
    tremor_hz: np.ndarray = field(default_factory=lambda: np.array([9.0, 10.5, 11.5]))
    tremor_dir: np.ndarray = field(default_factory=lambda: np.eye(3))
    tremor_phase: np.ndarray = field(default_factory=lambda: np.zeros(3))

    @property
    def end_s(self) -> float:
        return float(self.t0_s[-1] + self.dur_s[-1])

    def _profiles(self, t_s: np.ndarray):
        """Per-sample primitive index and the scalar profiles s, φ (with time derivatives)."""
        idx = np.searchsorted(self.t0_s, t_s, side="right") - 1
        np.clip(idx, 0, self.t0_s.shape[0] - 1, out=idx)
        u = t_s - self.t0_s[idx]
        dur = self.dur_s[idx]
        kind = self.kind[idx]

        # move: s = m(w(τ)), φ = Θ s
        m, dm, ddm = warped_min_jerk(u / dur, self.warp[idx])
        inside = (u >= 0.0) & (u <= dur)
        # envelope of the irregularities: a bump B = 64 τ³ (1 − τ)³ over every non-hold move
        # (peak 1; B, B' and B'' vanish at both ends, so acceleration stays continuous)
        x = np.clip(u / dur, 0.0, 1.0)
        y = 1.0 - x
        moves = inside & (np.abs(self.theta_rad[idx]) + np.abs(self.delta_m[idx]).sum(axis=1) > 0.0)
        on = np.where(moves, 1.0, 0.0)
        xy = x * y
        env = (on * 64.0 * xy**3, on * 192.0 * xy * xy * (y - x) / dur,
               on * 384.0 * xy * ((y - x) ** 2 - xy) / (dur * dur))
        dm = np.where(inside, dm / dur, 0.0)
        ddm = np.where(inside, ddm / (dur * dur), 0.0)
        theta = self.theta_rad[idx]
        s, ds, dds = m, dm, ddm
        phi, dphi, ddphi = theta * m, theta * dm, theta * ddm
        bz = np.zeros_like(t_s)
        dbz = np.zeros_like(t_s)
        ddbz = np.zeros_like(t_s)

        osc = kind == KIND_OSCILLATE
        if np.any(osc):
            j = idx[osc]
            uo = np.clip(u[osc], 0.0, dur[osc])
            e, de, dde = _envelope(uo, dur[osc], self.ramp_s[j])
            phi[osc], dphi[osc], ddphi[osc] = _enveloped_sine(
                e, de, dde, self.osc_amp_rad[j], self.osc_hz[j], self.osc_phase[j], uo)
            bz[osc], dbz[osc], ddbz[osc] = _enveloped_sine(
                e, de, dde, self.bounce_m[j], self.bounce_hz[j], self.bounce_phase[j], uo)
            s[osc] = 0.0
            ds[osc] = 0.0
            dds[osc] = 0.0
            env[0][osc], env[1][osc], env[2][osc] = e, de, dde
        return idx, env, (s, ds, dds), (phi, dphi, ddphi), (bz, dbz, ddbz)

    def evaluate(self, t_s: np.ndarray) -> MotionState:
        """Wrist position, linear acceleration, orientation and angular velocity at ``t_s``."""
        t_s = np.asarray(t_s, dtype=np.float64)
        idx, env, (s, _ds, dds), (phi, dphi, ddphi), (bz, _dbz, ddbz) = self._profiles(t_s)
        u = self.axis[idx]
        d0 = self.arc_dir[idx]
        v2 = _cross(u, d0)
        r = self.radius_m[idx][:, None]
        c = np.cos(phi)[:, None]
        sn = np.sin(phi)[:, None]
        delta = self.delta_m[idx]
        ez = np.array([0.0, 0.0, 1.0])

        pos = self.p_base[idx] + s[:, None] * delta + r * ((c - 1.0) * d0 + sn * v2) + bz[:, None] * ez
        wob_pos, wob_acc = self._wobble(t_s, idx, env)
        pos += wob_pos
        tangent = -sn * d0 + c * v2
        normal = -c * d0 - sn * v2
        acc = (
            dds[:, None] * delta
            + r * (ddphi[:, None] * tangent + (dphi * dphi)[:, None] * normal)
            + ddbz[:, None] * ez
        )
        acc = acc + wob_acc + self._tremor(t_s, idx)

        e_ax, psi, dpsi = self._sway(t_s, idx, env)
        rot_sway = _rodrigues(e_ax, psi)
        rot = rot_sway @ _rodrigues(u, phi) @ self.r_post[idx]
        omega = dpsi[:, None] * e_ax + np.einsum("nij,nj->ni", rot_sway, dphi[:, None] * u)
        return MotionState(pos_m=pos, acc_m_s2=acc, rot=rot, omega_rad_s=omega)

    def specific_force_and_rate(
        self, t_s: np.ndarray, *, force: bool = True, rate: bool = True
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """What an ideal wrist-frame IMU reads: specific force in g and angular rate in deg/s.

        Specific force = R^T (a / g0 + ẑ): at rest it is +1 g along the wrist axis pointing up.
        Computed without building per-sample matrices (memory stays O(n)). ``force``/``rate``
        select the outputs (the other is returned as ``None``).
        """
        t_s = np.asarray(t_s, dtype=np.float64)
        idx, env, (s, _ds, dds), (phi, dphi, ddphi), (_bz, _dbz, ddbz) = self._profiles(t_s)
        u = self.axis[idx]
        rp = self.r_post[idx]
        f_wrist = w_wrist = None
        if force:
            d0 = self.arc_dir[idx]
            v2 = _cross(u, d0)
            r = self.radius_m[idx]
            c = np.cos(phi)[:, None]
            sn = np.sin(phi)[:, None]
            f = dds[:, None] * self.delta_m[idx]
            f += (r * ddphi)[:, None] * (c * v2 - sn * d0)
            f -= (r * dphi * dphi)[:, None] * (c * d0 + sn * v2)
            f[:, 2] += ddbz
            f += self._wobble(t_s, idx, env)[1] + self._tremor(t_s, idx)
            f /= G0_M_S2
            f[:, 2] += 1.0
        e_ax, psi, dpsi = self._sway(t_s, idx, env)
        if force:
            # world -> wrist: R^T = R_post^T R(u, -φ) R(e, -ψ)
            f_wrist = np.einsum("nji,nj->ni", rp, _rotate_vectors(u, -phi, _rotate_vectors(e_ax, -psi, f)))
        if rate:
            # ω_world = ψ' e + R(e, ψ) φ' u  ->  R^T ω_world = R_post^T (ψ' R(u, -φ) e + φ' u)
            w = dpsi[:, None] * _rotate_vectors(u, -phi, e_ax) + dphi[:, None] * u
            w_wrist = np.degrees(np.einsum("nji,nj->ni", rp, w))
        return f_wrist, w_wrist

    def tremor(self, t_s: np.ndarray) -> np.ndarray:
        """Physiological tremor acceleration (m/s², world frame) at ``t_s``: the one part of
        ``acc_m_s2`` that ``pos_m`` leaves out (its displacement is a few µm)."""
        t_s = np.asarray(t_s, dtype=np.float64)
        return self._tremor(t_s, self._profiles(t_s)[0])

    def _tremor(self, t_s: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """8-12 Hz sinusoids, random directions and phases; RMS = the primitive's ``tremor_g``."""
        amp = self.tremor_g[idx] * (G0_M_S2 / np.sqrt(self.tremor_hz.shape[0] / 2.0))
        waves = np.sin(np.multiply.outer(t_s, 2.0 * np.pi * self.tremor_hz) + self.tremor_phase)
        return _rows_times(waves * amp[:, None], self.tremor_dir)

    def _sway(self, t_s: np.ndarray, idx: np.ndarray, env) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rotational irregularity: the wrist turns by ``ψ = sway · B(t) g(t)`` about the
        primitive's random axis ``e``, ``g`` a unit-RMS sum of 0.6-2.5 Hz sinusoids and ``B`` the
        same envelope as the wobble (0 with zero slope at both ends, so the state stays
        continuous). Returns the axes, ψ (rad) and dψ/dt (rad/s)."""
        b, db, _ = env
        e_ax = self.sway_axis[idx]
        amp = self.sway_rad[idx]
        w = 2.0 * np.pi * self.sway_hz
        c = 1.0 / np.sqrt(w.shape[0] / 2.0)
        arg = np.multiply.outer(t_s, w) + self.sway_phase
        g = np.sin(arg).sum(axis=1) * c
        dg = (np.cos(arg) * w).sum(axis=1) * c
        return e_ax, amp * b * g, amp * (db * g + b * dg)

    def _wobble(self, t_s: np.ndarray, idx: np.ndarray, env) -> tuple[np.ndarray, np.ndarray]:
        """Movement irregularity (bar wobble, grip, strap and soft tissue) as a displacement
        ``A(t) q(t)``: ``q`` a sum of 1.5-6 Hz sinusoids scaled so ``|q''|`` has unit RMS, ``A`` the
        smooth envelope in m/s². Returns displacement (m) and its exact second derivative."""
        scale = self.wobble_g[idx] * G0_M_S2
        a, da, dda = (scale * x for x in env)
        pos = np.zeros((t_s.shape[0], 3))
        acc = np.zeros((t_s.shape[0], 3))
        on = np.flatnonzero((a != 0.0) | (da != 0.0) | (dda != 0.0))  # holds have no irregularity
        if on.size == 0:
            return pos, acc
        a, da, dda = a[on, None], da[on, None], dda[on, None]
        w = 2.0 * np.pi * self.wobble_hz
        arg = np.multiply.outer(t_s[on], w) + self.wobble_phase
        c = 1.0 / np.sqrt(w.shape[0] / 2.0)
        sn, cs = np.sin(arg) * c, np.cos(arg) * c
        q = _rows_times(sn / w**2, self.wobble_dir)
        dq = _rows_times(cs / w, self.wobble_dir)
        ddq = -_rows_times(sn, self.wobble_dir)
        pos[on] = a * q
        acc[on] = dda * q + 2.0 * da * dq + a * ddq
        return pos, acc


def _envelope(u: np.ndarray, dur: np.ndarray, ramp: np.ndarray):
    """Minimum-jerk ramp up over ``ramp`` s, hold 1, ramp down over the last ``ramp`` s."""
    e = np.ones_like(u)
    de = np.zeros_like(u)
    dde = np.zeros_like(u)
    up = u < ramp
    if np.any(up):
        m, dm, ddm = min_jerk(u[up] / ramp[up])
        e[up], de[up], dde[up] = m, dm / ramp[up], ddm / ramp[up] ** 2
    down = u > dur - ramp
    if np.any(down):
        m, dm, ddm = min_jerk((dur[down] - u[down]) / ramp[down])
        e[down], de[down], dde[down] = m, -dm / ramp[down], ddm / ramp[down] ** 2
    return e, de, dde


def _enveloped_sine(e, de, dde, amp, freq_hz, phase, u):
    """``e(u) * amp * sin(2 pi f u + phase)`` and its first two derivatives, given the envelope's."""
    w = 2.0 * np.pi * freq_hz
    arg = w * u + phase
    sn, cs = np.sin(arg), np.cos(arg)
    x = e * amp * sn
    dx = de * amp * sn + e * amp * w * cs
    ddx = dde * amp * sn + 2.0 * de * amp * w * cs - e * amp * w * w * sn
    return x, dx, ddx


def _rows_times(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``x @ m`` for a long (n, k) ``x`` and a small (k, 3) ``m`` without BLAS threads (whose
    spinning costs more CPU than the product itself on a shared machine)."""
    return np.einsum("nk,kj->nj", x, m)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product of (n, 3) arrays (faster than np.cross for long arrays)."""
    out = np.empty_like(a)
    out[:, 0] = a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1]
    out[:, 1] = a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2]
    out[:, 2] = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    return out


def _rotate_vectors(u: np.ndarray, angle: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Rotate rows of ``x`` about rows of unit ``u`` by ``angle`` (Rodrigues, vectorised)."""
    c = np.cos(angle)[:, None]
    s = np.sin(angle)[:, None]
    dot = np.einsum("ni,ni->n", u, x)[:, None]
    return x * c + s * _cross(u, x) + (1.0 - c) * dot * u


def _rodrigues(u: np.ndarray, angle: np.ndarray) -> np.ndarray:
    n = u.shape[0]
    c = np.cos(angle)[:, None, None]
    s = np.sin(angle)[:, None, None]
    k = np.zeros((n, 3, 3))
    k[:, 0, 1], k[:, 0, 2] = -u[:, 2], u[:, 1]
    k[:, 1, 0], k[:, 1, 2] = u[:, 2], -u[:, 0]
    k[:, 2, 0], k[:, 2, 1] = -u[:, 1], u[:, 0]
    return np.eye(3)[None] * c + s * k + (1.0 - c) * np.einsum("ni,nj->nij", u, u)


class MotionBuilder:
    """Appends primitives one after the other, tracking the wrist state so motion is continuous."""

    def __init__(self, rot: np.ndarray, pos_m: np.ndarray | None = None, t_s: float = 0.0) -> None:
        self.t_s = float(t_s)
        self.pos_m = np.zeros(3) if pos_m is None else np.asarray(pos_m, dtype=np.float64).copy()
        self.rot = np.asarray(rot, dtype=np.float64).copy()
        self._rows: list[dict] = []

    def move(
        self,
        dur_s: float,
        delta_m: np.ndarray | None = None,
        axis: np.ndarray | None = None,
        theta_rad: float = 0.0,
        radius_m: float = 0.0,
        arc_dir: np.ndarray | None = None,
        tremor_g: float = 0.0,
        warp: float = 1.0,
        wobble_g: float = 0.0,
        sway_deg: float = 0.0,
    ) -> np.ndarray:
        """Minimum-jerk move; returns the arc direction at its end (pivot -> wrist)."""
        delta = np.zeros(3) if delta_m is None else np.asarray(delta_m, dtype=np.float64)
        u = np.array([0.0, 0.0, 1.0]) if axis is None else unit(axis)
        d0 = _orthogonal_unit(u, arc_dir)
        self._append(
            dur_s, KIND_MOVE, delta=delta, radius=radius_m, axis=u, arc_dir=d0, theta=theta_rad, tremor=tremor_g,
            warp=warp, wobble=wobble_g, sway=sway_deg,
        )
        rot_end = rotation_about(u, theta_rad)
        self.pos_m = self.pos_m + delta + radius_m * (rot_end @ d0 - d0)
        self.rot = rot_end @ self.rot
        self.t_s += dur_s
        return rot_end @ d0

    def hold(self, dur_s: float, tremor_g: float = 0.0) -> None:
        self.move(dur_s, tremor_g=tremor_g)

    def go_to(
        self,
        dur_s: float,
        rot: np.ndarray,
        pos_m: np.ndarray | None = None,
        tremor_g: float = 0.0,
        wobble_g: float = 0.0,
        sway_deg: float = 0.0,
    ) -> None:
        """Move in a straight line and a single-axis rotation to a target state."""
        axis, angle = axis_angle(rot @ self.rot.T)
        delta = np.zeros(3) if pos_m is None else np.asarray(pos_m, dtype=np.float64) - self.pos_m
        self.move(dur_s, delta_m=delta, axis=axis, theta_rad=angle, tremor_g=tremor_g, wobble_g=wobble_g,
                  sway_deg=sway_deg)
        self.rot = np.asarray(rot, dtype=np.float64).copy()  # remove round-off drift

    def oscillate(
        self,
        dur_s: float,
        axis: np.ndarray,
        amp_rad: float,
        freq_hz: float,
        phase: float,
        radius_m: float,
        arc_dir: np.ndarray,
        bounce_m: float,
        bounce_hz: float,
        bounce_phase: float,
        ramp_s: float,
        tremor_g: float = 0.0,
        wobble_g: float = 0.0,
        sway_deg: float = 0.0,
    ) -> None:
        u = unit(axis)
        self._append(
            dur_s,
            KIND_OSCILLATE,
            radius=radius_m,
            axis=u,
            arc_dir=_orthogonal_unit(u, arc_dir),
            osc=(amp_rad, freq_hz, phase),
            bounce=(bounce_m, bounce_hz, bounce_phase),
            ramp=min(ramp_s, dur_s / 2.0),
            tremor=tremor_g,
            wobble=wobble_g,
            sway=sway_deg,
        )
        self.t_s += dur_s  # envelope is 0 at both ends: state unchanged

    def _append(
        self,
        dur_s: float,
        kind: int,
        *,
        delta: np.ndarray | None = None,
        radius: float = 0.0,
        axis: np.ndarray,
        arc_dir: np.ndarray,
        theta: float = 0.0,
        osc: tuple[float, float, float] = (0.0, 0.0, 0.0),
        bounce: tuple[float, float, float] = (0.0, 0.0, 0.0),
        ramp: float = 0.0,
        tremor: float = 0.0,
        warp: float = 1.0,
        wobble: float = 0.0,
        sway: float = 0.0,
    ) -> None:
        if not dur_s > 0.0:
            raise ValueError(f"primitive duration must be > 0, got {dur_s}")
        self._rows.append(
            dict(
                t0=self.t_s,
                dur=float(dur_s),
                kind=kind,
                p_base=self.pos_m.copy(),
                delta=np.zeros(3) if delta is None else delta,
                radius=float(radius),
                axis=axis,
                arc_dir=arc_dir,
                r_post=self.rot.copy(),
                theta=float(theta),
                osc=osc,
                bounce=bounce,
                ramp=float(ramp),
                tremor=float(tremor),
                warp=float(warp),
                wobble=float(wobble),
                sway=float(np.radians(sway)),
            )
        )

    def build(self, rng: np.random.Generator | None = None) -> MotionTimeline:
        rows = self._rows
        if not rows:
            raise ValueError("no motion primitives")
        extra = {}
        if rng is not None:
            d = rng.normal(size=(3, 3))
            dw = rng.normal(size=(6, 3))
            extra = dict(
                tremor_hz=rng.uniform(7.5, 12.0, size=3),
                tremor_dir=d / np.linalg.norm(d, axis=1, keepdims=True),
                tremor_phase=rng.uniform(0.0, 2.0 * np.pi, size=3),
                wobble_hz=rng.uniform(1.5, 6.0, size=6),
                wobble_dir=dw / np.linalg.norm(dw, axis=1, keepdims=True),
                wobble_phase=rng.uniform(0.0, 2.0 * np.pi, size=6),
                sway_axis=_random_units(rng, len(rows)),
                sway_hz=rng.uniform(0.6, 2.5, size=3),
                sway_phase=rng.uniform(0.0, 2.0 * np.pi, size=3),
            )
        return MotionTimeline(
            t0_s=np.array([r["t0"] for r in rows]),
            dur_s=np.array([r["dur"] for r in rows]),
            kind=np.array([r["kind"] for r in rows], dtype=np.int8),
            p_base=np.array([r["p_base"] for r in rows]),
            delta_m=np.array([r["delta"] for r in rows]),
            radius_m=np.array([r["radius"] for r in rows]),
            axis=np.array([r["axis"] for r in rows]),
            arc_dir=np.array([r["arc_dir"] for r in rows]),
            r_post=np.array([r["r_post"] for r in rows]),
            theta_rad=np.array([r["theta"] for r in rows]),
            osc_amp_rad=np.array([r["osc"][0] for r in rows]),
            osc_hz=np.array([r["osc"][1] for r in rows]),
            osc_phase=np.array([r["osc"][2] for r in rows]),
            bounce_m=np.array([r["bounce"][0] for r in rows]),
            bounce_hz=np.array([r["bounce"][1] for r in rows]),
            bounce_phase=np.array([r["bounce"][2] for r in rows]),
            ramp_s=np.array([max(r["ramp"], 1e-6) for r in rows]),
            tremor_g=np.array([r["tremor"] for r in rows]),
            warp=np.array([r["warp"] for r in rows]),
            wobble_g=np.array([r["wobble"] for r in rows]),
            sway_rad=np.array([r["sway"] for r in rows]),
            **extra,
        )


def _random_units(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _orthogonal_unit(u: np.ndarray, d: np.ndarray | None) -> np.ndarray:
    """``d`` made orthogonal to ``u`` and unit length (any orthogonal unit vector if degenerate)."""
    cand = [np.asarray(d, dtype=np.float64)] if d is not None else []
    cand += [np.array([0.0, 0.0, -1.0]), np.array([1.0, 0.0, 0.0])]
    for v in cand:
        w = v - (v @ u) * u
        n = np.linalg.norm(w)
        if n > 1e-6:
            return w / n
    return np.array([0.0, 1.0, 0.0])
