"""Virtual Nordic Thingy:52 (firmware 2.x): the motion service's raw data stream.

Emulated, with :mod:`repsense.protocols.thingy52` for every byte:

* GATT: motion service with config (read, write) and raw data (notify, 18 bytes: accel Q6.10 g,
  gyro Q11.5 deg/s, compass Q12.4 uT), plus tap, orientation, quaternion, pedometer, Euler,
  rotation matrix, heading and gravity characteristics that exist but stay silent; advertised
  as ``Thingy``. The raw characteristic is limited to 20 bytes; the ATT MTU stays 23.
* Config writes are checked as the firmware's write-authorisation handler does: wrong length
  or any field out of range -> ATT error *Write Not Permitted* (0x03), config unchanged.
* Raw data starts when its notifications are enabled and stops when disabled, at
  ``motion_freq_hz`` (5-200, default 10); a config change restarts it at the new rate. One
  sample per notification, no timestamp. MPU-9250 at +-2 g / +-2000 deg/s: the firmware clamps
  to the representable range and floors to the fixed-point grid. The compass reads 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from bumble.att import ATT_Error
from bumble.gatt import Service

from repsense.emulate._device import Props, SensorStream, VirtualDevice
from repsense.errors import DecodeError
from repsense.protocols import thingy52 as th

__all__ = ["VirtualThingy52"]

WRITE_NOT_PERMITTED = 0x03
_ACC_FS_G = 2.0
_GYR_FS_DPS = 2000.0


class VirtualThingy52(VirtualDevice):
    """A Thingy:52 on the virtual radio."""

    kind = "thingy52"
    default_name = "Thingy"
    max_mtu = 23

    def __init__(self, world: Any, **options: Any) -> None:
        super().__init__(world, **options)
        self.config = th.MotionConfig()
        self.raw_enabled = False

    def build_services(self) -> list[Service]:
        config = self.characteristic(th.CONFIG_UUID, Props.READ | Props.WRITE,
                                     read=lambda _c: th.encode_config(self.config), write=self._on_config)
        self.raw = self.characteristic(th.RAW_UUID, Props.NOTIFY)
        self.on_subscription(self.raw, self._on_raw_cccd)
        silent = [self.characteristic(u, Props.NOTIFY) for u in (
            th.TAP_UUID, th.ORIENTATION_UUID, th.QUATERNION_UUID, th.PEDOMETER_UUID, th.EULER_UUID,
            th.ROTATION_MATRIX_UUID, th.HEADING_UUID, th.GRAVITY_UUID)]
        return [Service(th.SERVICE_UUID, [config, *silent[:4], self.raw, *silent[4:]])]

    def advertised_service_uuids(self) -> Sequence[str]:
        return [th.SERVICE_UUID]

    def _on_config(self, _conn: Any, data: bytes) -> None:
        try:
            cfg = th.parse_config(data)
        except DecodeError:
            raise ATT_Error(WRITE_NOT_PERMITTED) from None
        rate_changed = cfg.motion_freq_hz != self.config.motion_freq_hz
        self.config = cfg
        if self.raw_enabled and rate_changed:
            self._start()

    def _on_raw_cccd(self, enabled: bool) -> None:
        self.raw_enabled = enabled
        if enabled:
            self._start()
        else:
            self.stop_stream("imu")

    def on_disconnect(self, connection: Any, reason: int) -> None:
        self.raw_enabled = False

    def _start(self) -> None:
        async def emit(k: np.ndarray, t_dev_s: np.ndarray, phys: np.ndarray) -> np.ndarray:
            acc = np.clip(phys[0, :3], -_ACC_FS_G, _ACC_FS_G)
            gyr = np.clip(phys[0, 3:], -_GYR_FS_DPS, _GYR_FS_DPS)
            frame = th.encode_frame(acc, gyr)
            await self.notify(self.raw, frame)
            v = np.frombuffer(frame, dtype="<i2")
            return np.concatenate([v[0:3] / th.ACCEL_LSB_PER_G, v[3:6] / th.GYRO_LSB_PER_DPS]).reshape(1, 6)

        self.start_stream(SensorStream(name="imu", source="imu", sample_rate_hz=float(self.config.motion_freq_hz),
                                       batch=1, emit=emit))
