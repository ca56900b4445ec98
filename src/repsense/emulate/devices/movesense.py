"""Virtual Movesense sensor running the GATT SensorData Protocol (GSP v1) sample firmware.

Emulated, with :mod:`repsense.protocols.movesense` for every byte:

* GATT: GSP service with command (write, write without response) and data (notify); advertised
  as ``Movesense <serial>``; ATT MTU capped at 161 (the sample sizes its buffers for it).
* Commands: HELLO -> ``01 <ref> Hello``; SUBSCRIBE ``/Meas/{Acc,Gyro,IMU6}/<rate>`` starts a
  stream tagged with the client's reference; UNSUBSCRIBE ``<ref>`` stops it. As in the v1 sample,
  nothing is answered for a subscribe the sensor cannot serve (unknown resource, unsupported
  rate, bad path, unknown command or ref 0: counted in ``dev.ignored``), and a subscribe with
  no free slot (``slots``, default 4) answers ``01 <ref> 01 FB`` (507, big-endian).
  Subscriptions end with the link.
* Data: ``02 <ref> <u32 ms of the first sample, device clock> <all acc f32 m/s^2> <all gyro f32
  deg/s>``; samples per packet = what fits the MTU, at most 8 ([UNVERIFIED] the real count
  per rate). IMU9 (magnetometer) is not emulated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from bumble.gatt import Service

from repsense.emulate._device import Props, SensorStream, VirtualDevice
from repsense.errors import DecodeError
from repsense.protocols import movesense as ms
from repsense.protocols.movesense import Command

__all__ = ["VirtualMovesense"]

_SOURCE = {"Acc": ("accel", "acc"), "Gyro": ("gyro", "gyro"), "IMU6": ("imu", "imu")}
MAX_SAMPLES_PER_PACKET = 8
ACC_FS_G = 16.0
GYRO_FS_DPS = 2000.0


class VirtualMovesense(VirtualDevice):
    """A Movesense sensor on the virtual radio (``serial`` ends up in its name)."""

    kind = "movesense"
    default_name = "Movesense 174630000192"
    max_mtu = ms.MIN_MTU

    def __init__(self, world: Any, *, slots: int = 4, rates_hz: Sequence[float] = ms.SAMPLE_RATES_HZ,
                 serial: str = "174630000192", name: str | None = None, **options: Any) -> None:
        super().__init__(world, name=name or f"Movesense {serial}", **options)
        self.slots = int(slots)
        self.rates_hz = tuple(float(r) for r in rates_hz)
        self.subscriptions: dict[int, str] = {}  # ref -> stream name
        self.ignored: Counter[str] = Counter()

    def build_services(self) -> list[Service]:
        cmd = self.characteristic(ms.COMMAND_UUID, Props.WRITE | Props.WRITE_WITHOUT_RESPONSE, write=self._on_command)
        self.data = self.characteristic(ms.DATA_UUID, Props.NOTIFY)
        return [Service(ms.SERVICE_UUID, [cmd, self.data])]

    def advertised_service_uuids(self) -> Sequence[str]:
        return [ms.SERVICE_UUID]

    def on_disconnect(self, connection: Any, reason: int) -> None:
        self.subscriptions.clear()

    def _on_command(self, _conn: Any, data: bytes) -> None:
        try:
            cmd = ms.parse_command(data)
        except DecodeError as exc:
            self.ignored[exc.reason] += 1  # type: ignore[attr-defined]
            return
        if cmd.command == Command.HELLO:
            self.later(self.notify(self.data, ms.encode_hello_reply(cmd.ref), data=False))
        elif cmd.command == Command.UNSUBSCRIBE:
            name = self.subscriptions.pop(cmd.ref, None)
            if name is None:
                self.ignored["unsubscribe of an unknown ref"] += 1
            else:
                self.stop_stream(name)
        else:
            assert cmd.path is not None
            self._subscribe(cmd.ref, cmd.path)

    def _subscribe(self, ref: int, path: str) -> None:
        try:
            resource, rate = ms.parse_path(path)
        except ValueError as exc:
            self.ignored[str(exc)] += 1
            return
        if resource not in _SOURCE or rate not in self.rates_hz:
            self.ignored[f"{resource} at {rate:g} Hz not served (501)"] += 1
            return
        if len(self.subscriptions) >= self.slots and ref not in self.subscriptions:
            self.later(self.notify(self.data, ms.encode_command_result(ref, ms.HTTP_INSUFFICIENT_STORAGE), data=False))
            return
        source, name = _SOURCE[resource]
        config = ms.MovesenseConfig(resource, rate)
        stride = 12 * (1 + (source == "imu"))
        batch = max(1, min(MAX_SAMPLES_PER_PACKET, (self.mtu - 3 - 6) // stride))
        g0 = ms.STANDARD_GRAVITY

        async def emit(k: np.ndarray, t_dev_s: np.ndarray, phys: np.ndarray) -> np.ndarray:
            ts_ms = int(np.floor(float(t_dev_s[0]) * 1000.0 + 0.5))
            acc = gyr = None
            cols = []
            if source in ("accel", "imu"):
                acc = np.clip(phys[:, :3], -ACC_FS_G, ACC_FS_G)
                cols.append((acc * g0).astype(np.float32).astype(np.float64) / g0)  # the decoder's arithmetic
            if source in ("gyro", "imu"):
                gyr = np.clip(phys[:, -3:], -GYRO_FS_DPS, GYRO_FS_DPS)
                cols.append(gyr.astype(np.float32))
            await self.notify(self.data, ms.encode_frame(ref, ts_ms, accel_g=acc, gyro_dps=gyr, config=config))
            return np.hstack(cols).astype(np.float32)

        self.subscriptions[ref] = name
        self.start_stream(SensorStream(name=name, source=source, sample_rate_hz=rate, batch=batch, emit=emit,
                                       unit="deg/s" if source == "gyro" else "g"))
