"""Virtual PineTime running InfiniTime (>= 1.15): the motion service.

Emulated, with :mod:`repsense.protocols.infinitime` for every byte:

* GATT: motion service with step count (read, notify; u32) and raw motion (read, notify; 3 x i16
  in binary milli-g, 1 g = 1024); advertised as ``InfiniTime``.
* The watch polls its BMA421 every 100 ms and notifies only when (x, y, z) changed: at most
  10 Hz, one sample per notification, no timestamp. Polling runs while motion notifications are
  enabled; a sample equal to the previous one is not sent (logged with status ``unchanged``).
* The BMA421 runs at +-2 g: values saturate at +-2048 counts.
* A read of the motion characteristic returns the latest sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from bumble.gatt import Service

from repsense.emulate._device import Props, SensorStream, VirtualDevice
from repsense.protocols import infinitime as it

__all__ = ["VirtualInfiniTime"]

_FULL_SCALE_COUNTS = 2048  # +-2 g at 1024 counts per g


class VirtualInfiniTime(VirtualDevice):
    """A PineTime on the virtual radio (``steps``: the step counter value it serves)."""

    kind = "infinitime"
    default_name = "InfiniTime"
    max_mtu = 247  # [UNVERIFIED] what InfiniTime's NimBLE accepts; samples are 6 bytes anyway

    def __init__(self, world: Any, *, steps: int = 1234, **options: Any) -> None:
        super().__init__(world, **options)
        self.steps = int(steps)
        self._last = b"\x00\x00\x00\x00\x00\x04"  # flat, face up: (0, 0, 1024)

    def build_services(self) -> list[Service]:
        steps = self.characteristic(it.STEP_COUNT_UUID, Props.READ | Props.NOTIFY,
                                    read=lambda _c: it.encode_step_count(self.steps))
        self.motion = self.characteristic(it.MOTION_UUID, Props.READ | Props.NOTIFY, read=lambda _c: self._last)
        self.on_subscription(self.motion, self._on_motion_cccd)
        return [Service(it.SERVICE_UUID, [steps, self.motion])]

    def advertised_service_uuids(self) -> Sequence[str]:
        return [it.SERVICE_UUID]

    def _on_motion_cccd(self, enabled: bool) -> None:
        if not enabled:
            self.stop_stream("acc")
            return

        async def emit(k: np.ndarray, t_dev_s: np.ndarray, phys: np.ndarray) -> np.ndarray:
            g = np.clip(phys, -_FULL_SCALE_COUNTS / 1024.0, (_FULL_SCALE_COUNTS - 1) / 1024.0)
            frame = it.encode_frame(g[0])
            sent = np.frombuffer(frame, dtype="<i2").reshape(1, 3) / 1024.0
            if frame == self._last:
                self._mark("unchanged")
            else:
                self._last = frame
                await self.notify(self.motion, frame)
            return sent.astype(np.float32)

        self.start_stream(SensorStream(name="acc", source="accel", sample_rate_hz=1.0 / it.POLL_PERIOD_S, batch=1,
                                       emit=emit))
