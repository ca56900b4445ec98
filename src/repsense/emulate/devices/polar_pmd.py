"""Virtual Polar band (Verity Sense by default, or H10) speaking the PMD protocol.

Emulated, from ``../shared/PROTOCOLS.md`` section 1 and :mod:`repsense.protocols.polar_pmd`:

* GATT: PMD service, control point (read / write / indicate), data (notify); advertised as
  ``Polar Sense XXXXXXXX`` / ``Polar H10 XXXXXXXX``; ATT MTU capped at 232 (the SDK default).
* CP read returns the feature bitmap (Verity: ACC, GYRO, PPG, PPI, MAG, SDK mode; H10: ECG, ACC).
* CP writes are answered by indications ``F0 op type status more params``; settings lists that
  do not fit one indication are split with the "more" flag.
* State machine and errors: unknown op -> INVALID_OP_CODE; truncated request -> INVALID_LENGTH;
  bad TLV / count != 1 / FACTOR sent by the client -> INVALID_PARAMETER; unknown type ->
  INVALID_MEASUREMENT_TYPE; a type the model lacks or offline recording -> NOT_SUPPORTED; rate /
  resolution / range / channels outside the (SDK-mode dependent) lists -> INVALID_SAMPLE_RATE /
  INVALID_RESOLUTION / INVALID_RANGE / INVALID_NUMBER_OF_CHANNELS; MTU below the model minimum
  -> INVALID_MTU; start of a running or stop of a stopped stream -> ALREADY_IN_STATE; SDK mode
  change while streaming -> INVALID_STATE.
* Data: one frame per notification, as many samples as the MTU allows (frame timestamp = last
  sample, ns since 2000-01-01 on the device clock). Verity ACC: delta frames 0x81 in mG;
  GYRO: delta frames 0x80, i16 x FACTOR (FACTOR returned in the START response). H10 ACC:
  raw frames 0x01 in mG. Values saturate at the selected range.
* Disconnect stops every stream (the SDK restarts them after a reconnect).

Not emulated: ECG/PPG/PPI/MAG data, offline recording, time setting (``setLocalTime``), the
H10's 45-s strap-off disconnect, pairing of the Polar 360.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from bumble.gatt import Service

from repsense.emulate._device import Props, SensorStream, VirtualDevice
from repsense.emulate.clock import DeviceClock
from repsense.errors import DecodeError
from repsense.protocols import polar_pmd as pmd
from repsense.protocols.polar_pmd import MeasurementType as MT
from repsense.protocols.polar_pmd import OpCode, PmdError, SettingType

__all__ = ["VirtualPolar", "PolarModel", "MODELS"]

POLAR_EPOCH_UNIX_S = pmd.POLAR_EPOCH_UNIX_NS / 1e9


@dataclass(frozen=True, slots=True)
class _Capability:
    rates_hz: tuple[int, ...]
    ranges: tuple[int, ...]
    frame_type: int
    resolution: int = 16
    channels: int = 3


@dataclass(frozen=True, slots=True)
class PolarModel:
    """What one Polar model offers, in normal and in SDK mode."""

    name_prefix: str
    features: tuple[int, ...]
    normal: dict[int, _Capability]
    sdk: dict[int, _Capability] | None
    min_mtu: int


MODELS: dict[str, PolarModel] = {
    "verity": PolarModel(
        name_prefix="Polar Sense",
        features=(MT.PPG, MT.ACC, MT.PPI, MT.GYRO, MT.MAGNETOMETER, MT.SDK_MODE),
        normal={MT.ACC: _Capability((52,), (8,), 0x81), MT.GYRO: _Capability((52,), (2000,), 0x80)},
        sdk={MT.ACC: _Capability((26, 52, 104, 208, 416), (2, 4, 8, 16), 0x81),
             MT.GYRO: _Capability((26, 52, 104, 208, 416), (250, 500, 1000, 2000), 0x80)},
        min_mtu=pmd.MIN_MTU),
    "h10": PolarModel(
        name_prefix="Polar H10",
        features=(MT.ECG, MT.ACC),
        normal={MT.ACC: _Capability((25, 50, 100, 200), (2, 4, 8), 0x01)},
        sdk=None,
        min_mtu=pmd.MIN_MTU),
}


class _CpError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(PmdError(status).name)
        self.status = int(status)


class VirtualPolar(VirtualDevice):
    """A Polar band on the virtual radio. ``model``: ``"verity"`` (default) or ``"h10"``."""

    kind = "polar_pmd"
    default_name = "Polar Sense B5A3F2C1"
    max_mtu = pmd.DEFAULT_MTU

    def __init__(self, world: Any, *, model: str = "verity", name: str | None = None, **options: Any) -> None:
        if model not in MODELS:
            raise ValueError(f"unknown Polar model {model!r}; known: {', '.join(MODELS)}")
        self.model = MODELS[model]
        address = str(options.get("address", ""))
        suffix = address.replace(":", "")[-8:] or "B5A3F2C1"
        super().__init__(world, name=name or f"{self.model.name_prefix} {suffix}", **options)
        self.sdk_mode = False
        self.active: dict[int, dict[str, float]] = {}  # type -> selected settings

    # GATT --------------------------------------------------------------------------------
    def build_services(self) -> list[Service]:
        self.cp = self.characteristic(pmd.CONTROL_POINT_UUID, Props.READ | Props.WRITE | Props.INDICATE,
                                      read=lambda _c: pmd.encode_features(self.model.features),
                                      write=self._on_cp_write)
        self.data = self.characteristic(pmd.DATA_UUID, Props.NOTIFY)
        return [Service(pmd.SERVICE_UUID, [self.cp, self.data])]

    def advertised_service_uuids(self) -> Sequence[str]:
        return [pmd.SERVICE_UUID]

    def default_clock(self) -> DeviceClock:
        # the phone app set the clock to (UTC) wall time; PMD counts from 2000-01-01
        return DeviceClock(offset_s=time.time() - POLAR_EPOCH_UNIX_S)

    def on_disconnect(self, connection: Any, reason: int) -> None:
        self.active.clear()

    # control point -------------------------------------------------------------------
    def _capabilities(self, mtype: int) -> _Capability:
        table = self.model.sdk if (self.sdk_mode and self.model.sdk) else self.model.normal
        if mtype not in self.model.features:
            try:
                MT(mtype)
            except ValueError:
                raise _CpError(PmdError.INVALID_MEASUREMENT_TYPE) from None
            raise _CpError(PmdError.NOT_SUPPORTED)
        cap = table.get(mtype)
        if cap is None:
            raise _CpError(PmdError.NOT_SUPPORTED)
        return cap

    def _settings_tlv(self, cap: _Capability) -> bytes:
        return pmd.encode_settings({SettingType.SAMPLE_RATE: cap.rates_hz, SettingType.RESOLUTION: [cap.resolution],
                                    SettingType.RANGE: cap.ranges, SettingType.CHANNELS: [cap.channels]})

    def _on_cp_write(self, _conn: Any, data: bytes) -> None:
        op = data[0] if data else 0
        mtype = data[1] & 0x3F if len(data) > 1 else 0
        try:
            try:
                req = pmd.parse_cp_request(data)
            except DecodeError as exc:  # the protocol module says which status a device answers
                raise _CpError(getattr(exc, "status", PmdError.INVALID_PARAMETER)) from None
            mtype = req.measurement_type or 0
            params = self._handle(req)
        except _CpError as err:
            self.later(self.indicate(self.cp, pmd.encode_cp_response(op, mtype, err.status)))
            return
        self.later(self._respond(op, mtype, params))

    async def _respond(self, op: int, mtype: int, params: bytes) -> None:
        room = max(1, self.mtu - 3 - 5)
        chunks = [params[i:i + room] for i in range(0, len(params), room)] or [b""]
        for i, chunk in enumerate(chunks):
            await self.indicate(self.cp, pmd.encode_cp_response(op, mtype, PmdError.SUCCESS, chunk,
                                                                more=i < len(chunks) - 1))

    def _handle(self, req: pmd.ControlPointRequest) -> bytes:
        op, mtype = req.op_code, req.measurement_type
        if op == OpCode.GET_MEASUREMENT_STATUS:
            return bytes((1 << 6) | t for t in self.active)
        if op == OpCode.GET_SDK_MODE_STATUS:
            return bytes((1 if self.sdk_mode else 0,))
        if op in (OpCode.GET_OFFLINE_RECORDING_TRIGGER_STATUS, OpCode.SET_OFFLINE_RECORDING_TRIGGER_MODE,
                  OpCode.SET_OFFLINE_RECORDING_TRIGGER_SETTINGS):
            raise _CpError(PmdError.NOT_SUPPORTED)
        assert mtype is not None
        if req.recording_type == pmd.RecordingType.OFFLINE:
            raise _CpError(PmdError.NOT_SUPPORTED)
        if mtype == MT.SDK_MODE:
            return self._sdk_mode(op)
        if op == OpCode.GET_MEASUREMENT_SETTINGS:
            return self._settings_tlv(self._capabilities(mtype))
        if op == OpCode.GET_SDK_MODE_MEASUREMENT_SETTINGS:
            table = self.model.sdk or self.model.normal
            self._capabilities(mtype)
            return self._settings_tlv(table[mtype])
        if op == OpCode.REQUEST_MEASUREMENT_START:
            return self._start(mtype, req.settings)
        if op == OpCode.STOP_MEASUREMENT:
            if mtype not in self.active:
                self._capabilities(mtype)
                raise _CpError(PmdError.ALREADY_IN_STATE)
            del self.active[mtype]
            self.stop_stream(MT(mtype).name.lower())
            return b""
        raise _CpError(PmdError.INVALID_OP_CODE)

    def _sdk_mode(self, op: int) -> bytes:
        if self.model.sdk is None:
            raise _CpError(PmdError.NOT_SUPPORTED)
        if op not in (OpCode.REQUEST_MEASUREMENT_START, OpCode.STOP_MEASUREMENT):
            raise _CpError(PmdError.INVALID_PARAMETER)
        enable = op == OpCode.REQUEST_MEASUREMENT_START
        if self.active:
            raise _CpError(PmdError.INVALID_STATE)
        if enable == self.sdk_mode:
            raise _CpError(PmdError.ALREADY_IN_STATE)
        self.sdk_mode = enable
        return b""

    def _start(self, mtype: int, settings: dict) -> bytes:
        cap = self._capabilities(mtype)
        if mtype in self.active:
            raise _CpError(PmdError.ALREADY_IN_STATE)
        if self.mtu < self.model.min_mtu:
            raise _CpError(PmdError.INVALID_MTU)
        if any(len(v) != 1 for v in settings.values()) or SettingType.FACTOR in settings \
                or SettingType.SAMPLE_RATE not in settings:
            raise _CpError(PmdError.INVALID_PARAMETER)
        rate = settings[SettingType.SAMPLE_RATE][0]
        if rate not in cap.rates_hz:
            raise _CpError(PmdError.INVALID_SAMPLE_RATE)
        resolution = settings.get(SettingType.RESOLUTION, (cap.resolution,))[0]
        if resolution != cap.resolution:
            raise _CpError(PmdError.INVALID_RESOLUTION)
        range_ = settings.get(SettingType.RANGE, (cap.ranges[-1],))[0]
        if range_ not in cap.ranges:
            raise _CpError(PmdError.INVALID_RANGE)
        if settings.get(SettingType.CHANNELS, (cap.channels,))[0] != cap.channels:
            raise _CpError(PmdError.INVALID_NUMBER_OF_CHANNELS)
        factor = 1.0 if mtype == MT.ACC else float(np.float32(range_ / 32768.0))
        self.active[mtype] = {"rate": rate, "range": range_, "factor": factor}
        self._start_stream(mtype, cap.frame_type, rate, range_, factor)
        return pmd.encode_settings({SettingType.FACTOR: [factor]}) if mtype == MT.GYRO else b""

    # data ------------------------------------------------------------------------------
    def _samples_per_frame(self, frame_type: int) -> int:
        room = self.mtu - 3 - pmd.HEADER_LEN
        if not frame_type & 0x80:
            return max(1, room // 6)
        # delta: 6-byte reference, then blocks; about 10 bits per value on real motion
        return max(2, 1 + (room - 6 - 2) * 8 // (3 * 10))

    def _start_stream(self, mtype: int, frame_type: int, rate: int, range_: int, factor: float) -> None:
        is_acc = mtype == MT.ACC
        f32 = np.float32(factor)

        async def emit(k: np.ndarray, t_dev_s: np.ndarray, phys: np.ndarray) -> np.ndarray:
            if is_acc:
                ints = np.clip(pmd.quantise_acc(phys, frame_type), -1000 * range_, 1000 * range_)
                sent = ints / 1000.0
            else:
                ints = np.clip(pmd.quantise_gyro(phys, frame_type, float(f32)), -32768, 32767)
                sent = (ints.astype(np.float32) * f32).astype(np.float64)
            await self._send_frames(mtype, frame_type, t_dev_s, ints)
            return sent

        name = MT(mtype).name.lower()
        self.start_stream(SensorStream(name=name, source="accel" if is_acc else "gyro", sample_rate_hz=float(rate),
                                       batch=self._samples_per_frame(frame_type), emit=emit,
                                       unit="g" if is_acc else "deg/s"))

    async def _send_frames(self, mtype: int, frame_type: int, t_dev_s: np.ndarray, ints: np.ndarray) -> None:
        ts_ns = int(round(float(t_dev_s[-1]) * 1e9))
        frame = pmd.encode_frame(mtype, frame_type, ts_ns, ints)
        if len(frame) > self.mtu - 3 and ints.shape[0] > 1:  # wide deltas: split as the firmware does
            half = ints.shape[0] // 2
            await self._send_frames(mtype, frame_type, t_dev_s[:half], ints[:half])
            await self._send_frames(mtype, frame_type, t_dev_s[half:], ints[half:])
            return
        await self.notify(self.data, frame)
