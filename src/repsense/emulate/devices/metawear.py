"""Virtual MbientLab MetaMotion board (BMI160 MetaMotion RL by default, or BMI270 MetaMotion S).

Emulated, with :mod:`repsense.protocols.metawear` for every byte:

* GATT: MetaWear service, command (write, write without response), notify; Device Information
  (model number ``5`` / ``8``, firmware, manufacturer); advertised as ``MetaWear``. Packets are
  at most 20 bytes; the ATT MTU is left at 23 ([UNVERIFIED]: what MTU current firmware accepts).
* Module discovery ``<module> 80``: accelerometer (impl 1 BMI160 / 4 BMI270), gyro (0 / 1) and
  settings are present; every other module answers the 2-byte "absent" reply.
* Accelerometer and gyro registers: config write and read-back (``03 83`` / ``13 83``),
  subscribe / unsubscribe unpacked or packed (chip-specific registers), data interrupt
  enable / disable, power start / stop. A sensor streams when powered with its interrupt
  enabled; notifications go out only while the matching data register is subscribed.
* Like the firmware, a malformed or unknown command gets **no** answer: it is ignored (and
  counted in ``dev.ignored`` with the reason), the previous configuration stays in force.
* Data: one sample per notification (``03 04``, ``13 05``/``13 04``), or three per
  notification when packed; no device timestamp (the host stamps arrival time).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from bumble.gatt import Service

from repsense.emulate._device import Props, SensorStream, VirtualDevice
from repsense.errors import DecodeError
from repsense.protocols import metawear as mw
from repsense.protocols.metawear import BMI160, BMI270, Module

__all__ = ["VirtualMetaWear"]

_MODEL = {BMI160: ("5", 1, 0), BMI270: ("8", 4, 1)}  # model number, acc impl, gyro impl


class VirtualMetaWear(VirtualDevice):
    """A MetaMotion board on the virtual radio. ``chip``: ``"bmi160"`` (MMRL) or ``"bmi270"`` (MMS)."""

    kind = "metawear"
    default_name = "MetaWear"
    max_mtu = 23

    def __init__(self, world: Any, *, chip: str = BMI160, firmware: str = "1.7.3", **options: Any) -> None:
        if chip not in mw.CHIPS:
            raise ValueError(f"chip {chip!r}: want one of {mw.CHIPS}")
        super().__init__(world, **options)
        self.chip = chip
        self.firmware = firmware
        self.ignored: Counter[str] = Counter()
        # register state per sensor
        self.acc = {"odr": 100.0, "range": 2, "conf": mw.encode_accel_config(100.0, 2, chip=chip)[2:],
                    "sub": False, "sub_packed": False, "irq": False, "on": False}
        self.gyr = {"odr": 100.0, "range": 2000, "conf": mw.encode_gyro_config(100.0, 2000)[2:],
                    "sub": False, "sub_packed": False, "irq": False, "on": False}
        self.connection_parameters = b""

    def build_services(self) -> list[Service]:
        model, _, _ = _MODEL[self.chip]
        self.cmd = self.characteristic(mw.COMMAND_UUID, Props.WRITE | Props.WRITE_WITHOUT_RESPONSE,
                                       write=self._on_command)
        self.data = self.characteristic(mw.NOTIFY_UUID, Props.NOTIFY)
        info = [self.characteristic(mw.MODEL_NUMBER_UUID, Props.READ, value=model.encode()),
                self.characteristic(mw.FIRMWARE_REVISION_UUID, Props.READ, value=self.firmware.encode()),
                self.characteristic("00002a29-0000-1000-8000-00805f9b34fb", Props.READ, value=b"MbientLab Inc"),
                self.characteristic("00002a27-0000-1000-8000-00805f9b34fb", Props.READ, value=b"0.4")]
        return [Service(mw.SERVICE_UUID, [self.cmd, self.data]), Service(mw.DEVICE_INFO_SERVICE_UUID, info)]

    def advertised_service_uuids(self) -> Sequence[str]:
        return [mw.SERVICE_UUID]

    def on_disconnect(self, connection: Any, reason: int) -> None:
        for state in (self.acc, self.gyr):  # routes are dropped with the link; sensors keep their config
            state.update(sub=False, sub_packed=False, on=False)

    # commands --------------------------------------------------------------------------
    def _reply(self, payload: bytes) -> None:
        self.later(self.notify(self.data, payload, data=False))

    def _ignore(self, data: bytes, reason: str) -> None:
        self.ignored[reason] += 1

    def _on_command(self, _conn: Any, data: bytes) -> None:
        if len(data) < 2:
            return self._ignore(data, "too short")
        module, register = data[0], data[1]
        if register == mw.READ_BIT:  # module discovery
            return self._reply(self._module_info(module))
        if module == Module.ACCELEROMETER:
            return self._sensor_command(self.acc, data, is_acc=True)
        if module == Module.GYRO:
            return self._sensor_command(self.gyr, data, is_acc=False)
        if module == Module.SETTINGS and register == 0x09 and len(data) == 10:
            self.connection_parameters = data[2:]
            return None
        return self._ignore(data, f"module 0x{module:02X} register 0x{register:02X} not emulated")

    def _module_info(self, module: int) -> bytes:
        _, acc_impl, gyr_impl = _MODEL[self.chip]
        present = {int(Module.ACCELEROMETER): acc_impl, int(Module.GYRO): gyr_impl, int(Module.SETTINGS): 0}
        impl = present.get(module)
        return mw.encode_module_info(module, impl, revision=1 if impl is not None else 0)

    def _sensor_command(self, st: dict, data: bytes, *, is_acc: bool) -> None:
        register = data[1]
        chip = self.chip
        data_reg = mw.ACC_DATA if is_acc else mw.GYRO_DATA[chip]
        packed_reg = mw.ACC_PACKED[chip] if is_acc else mw.GYRO_PACKED[chip]
        if register == mw.REG_CONFIG:
            try:
                odr, rng = mw.parse_accel_config(data, chip=chip) if is_acc else mw.parse_gyro_config(data)
            except DecodeError as exc:
                return self._ignore(data, exc.reason)  # type: ignore[attr-defined]
            st.update(odr=odr, range=rng, conf=bytes(data[2:4]))
            return None
        if register == mw.REG_CONFIG | mw.READ_BIT:
            return self._reply(bytes(data[:2]) + st["conf"])
        if register in (data_reg, packed_reg) and len(data) == 3 and data[2] in (0, 1):
            st["sub_packed" if register == packed_reg else "sub"] = bool(data[2])
            return None
        if register == mw.REG_DATA_INTERRUPT_ENABLE and len(data) == 4 and data[2:] in (b"\x01\x00", b"\x00\x01"):
            st["irq"] = data[2] == 1
            return self._update_stream(st, is_acc)
        if register == mw.REG_POWER and len(data) == 3 and data[2] in (0, 1, 2):
            st["on"] = data[2] != 0
            return self._update_stream(st, is_acc)
        return self._ignore(data, f"register 0x{register:02X} with {len(data)} bytes not understood")

    # data ------------------------------------------------------------------------------
    def _update_stream(self, st: dict, is_acc: bool) -> None:
        name = "acc" if is_acc else "gyro"
        if not (st["on"] and st["irq"]):
            self.stop_stream(name)
            return
        if name in self.streams:
            return
        rng = st["range"]
        packed = st["sub_packed"]
        config = mw.MetaWearConfig(chip=self.chip, accel_range_g=rng if is_acc else 2,
                                   gyro_range_dps=2000 if is_acc else rng)

        async def emit(k: np.ndarray, t_dev_s: np.ndarray, phys: np.ndarray) -> np.ndarray:
            if is_acc:
                counts = mw.quantise_accel(phys, rng)
                sent = (counts * (rng / 32768.0)).astype(np.float32)
            else:
                counts = mw.quantise_gyro(phys, rng)
                sent = (counts / mw.GYRO_LSB_PER_DPS[rng]).astype(np.float32)
            if st["sub"] or st["sub_packed"]:
                frame = mw.encode_frame(accel_g=phys, config=config) if is_acc else mw.encode_frame(gyro_dps=phys,
                                                                                                   config=config)
                await self.notify(self.data, frame)
            else:  # sampling, but no route to the host
                self._mark("offline")
            return sent

        self.start_stream(SensorStream(name=name, source="accel" if is_acc else "gyro", sample_rate_hz=st["odr"],
                                       batch=3 if packed else 1, emit=emit, unit="g" if is_acc else "deg/s",
                                       flush_partial=False))
