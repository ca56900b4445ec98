"""Virtual band running the repsense open DIY profile v1 (``firmware_notes/diy-open-profile.md``).

Emulated, with :mod:`repsense.protocols.diy` for every byte:

* GATT: DIY service, data (notify), config (read, write with response, indicate); advertised as
  ``repsense-diy-XXXX`` (last 2 address bytes); ATT MTU capped at 247 as the reference sketch.
* Config state machine IDLE -START-> STREAMING -STOP or disconnect-> IDLE; every write is
  answered by an indicated 6-byte response with the configuration in force; statuses
  UNKNOWN_OPCODE, BAD_LENGTH, UNSUPPORTED_RATE / _RANGE (``rates_hz`` / ranges the band
  supports), RESERVED_BITS, BUSY (SET_CONFIG while streaming), ALREADY_IN_STATE; START at an
  MTU too small for one sample answers BAD_LENGTH (spec section 2).
* Data: frames of as many samples as fit the MTU (or ``frame_samples``), u16 sequence number
  reset at START, device time of the first sample in microseconds since boot, CRC.
* ``fifo_overflow_every``: every n-th frame reports that many samples dropped in the band's FIFO
  (those samples are skipped, so the receiver sees a gap that the frame explains).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from bumble.gatt import Service

from repsense.emulate._device import Props, SensorStream, VirtualDevice
from repsense.errors import DecodeError
from repsense.protocols import diy
from repsense.protocols.diy import ConfigOp, ConfigStatus, DiyConfig

__all__ = ["VirtualDiyBand"]


class VirtualDiyBand(VirtualDevice):
    """A home-built band (ESP32-S3 / nRF52840 reference sketch) on the virtual radio.

    Parameters
    ----------
    rates_hz : rates this band's IMU supports (others answer UNSUPPORTED_RATE).
    fifo_overflow_every : every n-th frame, pretend the IMU FIFO overflowed and lost
        ``fifo_overflow_samples`` samples before it (0 = never).
    """

    kind = "diy"
    default_name = "repsense-diy-0001"
    max_mtu = diy.RECOMMENDED_MTU

    def __init__(self, world: Any, *, rates_hz: Sequence[float] = (25.0, 50.0, 100.0, 200.0, 400.0),
                 fifo_overflow_every: int = 0, fifo_overflow_samples: int = 3, name: str | None = None,
                 **options: Any) -> None:
        address = str(options.get("address", "00:00"))
        super().__init__(world, name=name or f"repsense-diy-{address.replace(':', '')[-4:].lower()}", **options)
        self.rates_hz = tuple(float(r) for r in rates_hz)
        self.config = DiyConfig()
        self.streaming = False
        self.seq = 0
        self.fifo_overflow_every = int(fifo_overflow_every)
        self.fifo_overflow_samples = int(fifo_overflow_samples)
        self._frames = 0
        self._queue_dropped = 0  # samples of frames the band's queue dropped since the last frame (spec: fifo_overflow)

    def build_services(self) -> list[Service]:
        self.cfg_char = self.characteristic(diy.CONFIG_UUID, Props.READ | Props.WRITE | Props.INDICATE,
                                            read=lambda _c: self._response(ConfigOp.GET_CONFIG, ConfigStatus.OK),
                                            write=self._on_config_write)
        self.data = self.characteristic(diy.DATA_UUID, Props.NOTIFY)
        return [Service(diy.SERVICE_UUID, [self.data, self.cfg_char])]

    def advertised_service_uuids(self) -> Sequence[str]:
        return [diy.SERVICE_UUID]

    def on_disconnect(self, connection: Any, reason: int) -> None:
        self.streaming = False

    def _response(self, op: int, status: int) -> bytes:
        return diy.encode_config_response(op, status, self.config, streaming=self.streaming)

    def _on_config_write(self, _conn: Any, data: bytes) -> None:
        op = data[0] if data else 0
        try:
            req = diy.parse_config_request(data)
            status = self._apply(req)
        except DecodeError as exc:
            status = getattr(exc, "status", ConfigStatus.BAD_LENGTH)
        self.later(self.indicate(self.cfg_char, self._response(op, status)))

    def _apply(self, req: diy.ConfigRequest) -> ConfigStatus:
        if req.op == ConfigOp.GET_CONFIG:
            return ConfigStatus.OK
        if req.op == ConfigOp.SET_CONFIG:
            assert req.config is not None
            if self.streaming:
                return ConfigStatus.BUSY
            if req.config.sample_rate_hz not in self.rates_hz:
                return ConfigStatus.UNSUPPORTED_RATE
            self.config = req.config
            return ConfigStatus.OK
        if req.op == ConfigOp.START:
            if self.streaming:
                return ConfigStatus.ALREADY_IN_STATE
            if diy.max_samples_per_frame(self.mtu, gyro=self.config.gyro) < 1:
                return ConfigStatus.BAD_LENGTH
            self.streaming = True
            self.seq = 0
            self._queue_dropped = 0
            self._start()
            return ConfigStatus.OK
        if not self.streaming:
            return ConfigStatus.ALREADY_IN_STATE
        self.streaming = False
        self.stop_stream(self._stream_name)
        return ConfigStatus.OK

    @property
    def _stream_name(self) -> str:
        return "imu" if self.config.gyro else "acc"

    def _start(self) -> None:
        cfg = self.config
        cap = diy.max_samples_per_frame(self.mtu, gyro=cfg.gyro)
        batch = min(cap, cfg.frame_samples) if cfg.frame_samples else cap
        acc_lsb = cfg.accel_range_g / 32768.0  # the decoder's scale, same arithmetic
        gyr_lsb = cfg.gyro_range_dps / 32768.0

        async def emit(k: np.ndarray, t_dev_s: np.ndarray, phys: np.ndarray) -> np.ndarray:
            self._frames += 1
            overflow = 0
            if self.fifo_overflow_every and self._frames % self.fifo_overflow_every == 0:
                # the band lost the first samples of this batch in its FIFO and says so
                overflow = min(self.fifo_overflow_samples, len(k) - 1)
                self.tally.add("fifo_overflow", overflow)
            keep = slice(overflow, None)
            acc, gyr = phys[keep, :3], phys[keep, 3:]
            t0_us = int(np.floor(float(t_dev_s[overflow]) * 1e6 + 0.5))
            frame = diy.encode_frame(self.seq, t0_us, acc, gyr if cfg.gyro else None,
                                     sample_rate_hz=cfg.sample_rate_hz, accel_range_g=cfg.accel_range_g,
                                     gyro_range_dps=cfg.gyro_range_dps,
                                     fifo_overflow=min(255, overflow + self._queue_dropped))
            self.seq = (self.seq + 1) % diy.SEQ_MODULO  # a dropped frame keeps its number: the host sees the gap
            await self.notify(self.data, frame)
            if self._status == "overflow":  # the queue was full (the sketch's failed notify()): told in the next frame
                self._queue_dropped = min(255, self._queue_dropped + len(k) - overflow)
            else:
                self._queue_dropped = 0
            sent = np.full((phys.shape[0], 6), np.nan)  # samples lost in the FIFO were never sent
            sent[keep, :3] = (diy.quantise(acc, cfg.accel_range_g) * acc_lsb).astype(np.float32)
            if cfg.gyro:
                sent[keep, 3:] = (diy.quantise(gyr, cfg.gyro_range_dps) * gyr_lsb).astype(np.float32)
            return sent if cfg.gyro else sent[:, :3]

        self.start_stream(SensorStream(name=self._stream_name, source="imu" if cfg.gyro else "accel",
                                       sample_rate_hz=cfg.sample_rate_hz, batch=batch, emit=emit))
