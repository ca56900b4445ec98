"""MbientLab MetaWear / MetaMotion (BMI160 on MMR/MMRL/MMC, BMI270 on MMS).

Pure codec for the MetaWear command characteristic (writes) and notification characteristic
(responses and sensor data). Facts and sources: ``firmware_notes/metawear.md`` (protocol
reference section 2: MetaWear-SDK-Cpp sources and unit tests).

Streamed data carries **no device timestamp** (``t_device_s`` is None): use host receive time.
All samples of a packed notification (3 per packet) arrive together and are in time order.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from repsense.protocols._frame import DecodedFrame, decode_error, require_length

KIND = "metawear"
NAME_PREFIXES: tuple[str, ...] = ("MetaWear", "MetaMotion")
SERVICE_UUID = "326a9000-85cb-9195-d9dd-464cfbbae75a"
COMMAND_UUID = "326a9001-85cb-9195-d9dd-464cfbbae75a"
NOTIFY_UUID = "326a9006-85cb-9195-d9dd-464cfbbae75a"
DATA_UUID = NOTIFY_UUID
DEVICE_INFO_SERVICE_UUID = "0000180a-0000-1000-8000-00805f9b34fb"
MODEL_NUMBER_UUID = "00002a24-0000-1000-8000-00805f9b34fb"
FIRMWARE_REVISION_UUID = "00002a26-0000-1000-8000-00805f9b34fb"
MIN_MTU = 23
PACKET_SIZE = 20  # BLE_PACKET_SIZE in the SDK: 2-byte header + 18 bytes
MODEL_NUMBERS = {"5": "MetaMotion R/RL", "6": "MetaMotion C", "8": "MetaMotion S",
                 "0": "MetaWear R", "1": "MetaWear RG", "2": "MetaWear C"}


class Module(IntEnum):
    """Module ids (byte 0 of every packet)."""

    SWITCH = 0x01
    LED = 0x02
    ACCELEROMETER = 0x03
    TEMPERATURE = 0x04
    GPIO = 0x05
    DATA_PROCESSOR = 0x09
    EVENT = 0x0A
    LOGGING = 0x0B
    TIMER = 0x0C
    MACRO = 0x0F
    SETTINGS = 0x11
    BAROMETER = 0x12
    GYRO = 0x13
    MAGNETOMETER = 0x15
    SENSOR_FUSION = 0x19
    DEBUG = 0xFE


BMI160 = "bmi160"
BMI270 = "bmi270"
CHIPS = (BMI160, BMI270)

# Module-discovery implementation bytes ([module, 0x80] reply byte 2).
ACC_IMPLEMENTATION = {1: BMI160, 4: BMI270}  # 3 = BMA255, dropped from the SDK in 2022
GYRO_IMPLEMENTATION = {0: BMI160, 1: BMI270}

ACC_ODR_HZ: dict[int, float] = {1: 0.78125, 2: 1.5625, 3: 3.125, 4: 6.25, 5: 12.5, 6: 25.0, 7: 50.0, 8: 100.0,
                                9: 200.0, 10: 400.0, 11: 800.0, 12: 1600.0}
GYRO_ODR_HZ: dict[int, float] = {6: 25.0, 7: 50.0, 8: 100.0, 9: 200.0, 10: 400.0, 11: 800.0, 12: 1600.0, 13: 3200.0}
ACC_RANGE_CODE = {BMI160: {2: 0x03, 4: 0x05, 8: 0x08, 16: 0x0C}, BMI270: {2: 0, 4: 1, 8: 2, 16: 3}}
GYRO_RANGE_CODE = {2000: 0, 1000: 1, 500: 2, 250: 3, 125: 4}
ACC_LSB_PER_G = {2: 16384.0, 4: 8192.0, 8: 4096.0, 16: 2048.0}
GYRO_LSB_PER_DPS = {2000: 16.4, 1000: 32.8, 500: 65.6, 250: 131.2, 125: 262.4}

# Data registers: (module, register) -> (chip or None for both, sensor, packed)
ACC_DATA, ACC_PACKED_BMI160, ACC_PACKED_BMI270 = 0x04, 0x1C, 0x05
GYRO_DATA = {BMI160: 0x05, BMI270: 0x04}
GYRO_PACKED = {BMI160: 0x07, BMI270: 0x05}
ACC_PACKED = {BMI160: ACC_PACKED_BMI160, BMI270: ACC_PACKED_BMI270}
REG_POWER, REG_DATA_INTERRUPT_ENABLE, REG_CONFIG = 0x01, 0x02, 0x03
READ_BIT = 0x80
_THREE_I16 = struct.Struct("<3h")


@dataclass(frozen=True, slots=True)
class MetaWearConfig:
    """Chip and ranges the decoder scales by (the SDK defaults: +-2 g, +-2000 deg/s)."""

    chip: str = BMI160
    accel_range_g: int = 2
    gyro_range_dps: int = 2000

    def __post_init__(self) -> None:
        if self.chip not in CHIPS:
            raise ValueError(f"chip {self.chip!r}: want one of {CHIPS}")
        if self.accel_range_g not in ACC_LSB_PER_G:
            raise ValueError(f"accel_range_g {self.accel_range_g}: want one of {sorted(ACC_LSB_PER_G)}")
        if self.gyro_range_dps not in GYRO_LSB_PER_DPS:
            raise ValueError(f"gyro_range_dps {self.gyro_range_dps}: want one of {sorted(GYRO_LSB_PER_DPS)}")


# --------------------------------------------------------------------------- data frames


def _frame_kind(module: int, register: int, chip: str) -> tuple[str, bool] | None:
    if module == Module.ACCELEROMETER:
        if register == ACC_DATA:
            return "acc", False
        if register == ACC_PACKED[chip]:
            return "acc", True
    elif module == Module.GYRO:
        if register == GYRO_DATA[chip]:
            return "gyro", False
        if register == GYRO_PACKED[chip]:
            return "gyro", True
    return None


def decode_frame(data: bytes, *, config: MetaWearConfig = MetaWearConfig(), state: None = None) -> DecodedFrame:
    """Decode one accelerometer or gyro data notification.

    Parameters
    ----------
    data : bytes
        Notification value: ``[module][register][x y z i16]`` (8 bytes) or packed
        ``[module][register][3 x (x y z i16)]`` (20 bytes).
    config : MetaWearConfig
        Chip (BMI160 and BMI270 use different registers) and the ranges written at configure.

    Raises
    ------
    DecodeError
        Too short, not a data register for this chip, or wrong length.
    """
    data = bytes(data)
    require_length(KIND, data, 2, "a MetaWear packet header (module, register)")
    module, register = data[0], data[1]
    fk = _frame_kind(module, register, config.chip)
    if fk is None:
        what = "a read response" if register & READ_BIT else "not an accelerometer/gyro data register"
        raise decode_error(KIND, 1, f"module 0x{module:02X} register 0x{register:02X}: {what} for {config.chip}")
    sensor, packed = fk
    want = 20 if packed else 8
    if len(data) != want:
        raise decode_error(KIND, min(len(data), want),
                           f"bad length: {'packed ' if packed else ''}{sensor} packet is {want} bytes, got {len(data)}")
    if not packed:  # one sample: scale in Python floats (float64), one array allocation
        x, y, z = _THREE_I16.unpack_from(data, 2)
        if sensor == "acc":
            s = config.accel_range_g / 32768.0
            return DecodedFrame(KIND, "acc", None, np.array(((x * s, y * s, z * s),), dtype=np.float32), None)
        d = GYRO_LSB_PER_DPS[config.gyro_range_dps]
        return DecodedFrame(KIND, "gyro", None, None, np.array(((x / d, y / d, z / d),), dtype=np.float32))
    raw = np.frombuffer(data, dtype="<i2", offset=2).reshape(3, 3)
    if sensor == "acc":
        accel = (raw * (config.accel_range_g / 32768.0)).astype(np.float32)
        return DecodedFrame(KIND, "acc_packed" if packed else "acc", None, accel, None)
    gyro = (raw / GYRO_LSB_PER_DPS[config.gyro_range_dps]).astype(np.float32)
    return DecodedFrame(KIND, "gyro_packed" if packed else "gyro", None, None, gyro)


def quantise_accel(accel_g: np.ndarray, range_g: int) -> np.ndarray:
    """int16 counts the chip would report for ``accel_g`` at ``range_g`` (rounded, saturated)."""
    return np.clip(np.rint(np.asarray(accel_g, dtype=np.float64) * ACC_LSB_PER_G[range_g]), -32768, 32767).astype(np.int16)


def quantise_gyro(gyro_dps: np.ndarray, range_dps: int) -> np.ndarray:
    """int16 counts the chip would report for ``gyro_dps`` at ``range_dps`` (rounded, saturated)."""
    return np.clip(np.rint(np.asarray(gyro_dps, dtype=np.float64) * GYRO_LSB_PER_DPS[range_dps]), -32768, 32767).astype(np.int16)


def encode_frame(*, accel_g: np.ndarray | None = None, gyro_dps: np.ndarray | None = None,
                 config: MetaWearConfig = MetaWearConfig()) -> bytes:
    """Build a data notification: 1 sample -> unpacked (8 bytes), 3 samples -> packed (20 bytes)."""
    if (accel_g is None) == (gyro_dps is None):
        raise ValueError("give exactly one of accel_g, gyro_dps")
    if accel_g is not None:
        counts = quantise_accel(np.atleast_2d(accel_g), config.accel_range_g)
        module, regs = Module.ACCELEROMETER, (ACC_DATA, ACC_PACKED[config.chip])
    else:
        counts = quantise_gyro(np.atleast_2d(gyro_dps), config.gyro_range_dps)
        module, regs = Module.GYRO, (GYRO_DATA[config.chip], GYRO_PACKED[config.chip])
    if counts.shape not in ((1, 3), (3, 3)):
        raise ValueError(f"1 sample (unpacked) or 3 samples (packed) of 3 axes, got {counts.shape}")
    reg = regs[0] if counts.shape[0] == 1 else regs[1]
    return bytes((module, reg)) + counts.astype("<i2").tobytes()


# --------------------------------------------------------------------------- commands


def _odr_code(table: dict[int, float], odr_hz: float, what: str) -> int:
    for code, hz in table.items():
        if abs(hz - odr_hz) < 1e-9 * max(1.0, hz):
            return code
    raise ValueError(f"{what} ODR {odr_hz} Hz not supported; choose one of {sorted(table.values())}")


def encode_accel_config(odr_hz: float = 100.0, range_g: int = 2, *, chip: str = BMI160) -> bytes:
    """``03 03 <acc_conf> <acc_range>``.

    BMI160: conf = ODR code | bwp << 4 | us << 7 (bwp 2 and us 0 at >= 12.5 Hz, bwp 0 and us 1 below).
    BMI270: conf = ODR code | 2 << 4 | filter_perf << 7 (filter_perf 1 at >= 12.5 Hz).
    """
    code = _odr_code(ACC_ODR_HZ, odr_hz, "accelerometer")
    if chip not in CHIPS:
        raise ValueError(f"chip {chip!r}: want one of {CHIPS}")
    if range_g not in ACC_RANGE_CODE[chip]:
        raise ValueError(f"range {range_g} g: want one of {sorted(ACC_RANGE_CODE[chip])}")
    fast = odr_hz >= 12.5
    if chip == BMI160:
        conf = code | ((2 if fast else 0) << 4) | ((0 if fast else 1) << 7)
    else:
        conf = code | (2 << 4) | ((1 if fast else 0) << 7)
    return bytes((Module.ACCELEROMETER, REG_CONFIG, conf, ACC_RANGE_CODE[chip][range_g]))


def parse_accel_config(data: bytes, *, chip: str = BMI160) -> tuple[float, int]:
    """Parse ``03 83 <acc_conf> <acc_range>`` (read reply) or ``03 03 ...`` -> (odr_hz, range_g)."""
    data = bytes(data)
    require_length(KIND, data, 4, "an accelerometer config (03 03/83 conf range)")
    if data[0] != Module.ACCELEROMETER or data[1] & 0x3F != REG_CONFIG:
        raise decode_error(KIND, 0, f"not an accelerometer config packet: {data[:2].hex(' ')}")
    code = data[2] & 0x0F
    if code not in ACC_ODR_HZ:
        raise decode_error(KIND, 2, f"reserved accelerometer ODR code {code}")
    rev = {v: k for k, v in ACC_RANGE_CODE[chip].items()}
    if data[3] not in rev:
        raise decode_error(KIND, 3, f"unknown {chip} accelerometer range code 0x{data[3]:02X}")
    return ACC_ODR_HZ[code], rev[data[3]]


def encode_accel_subscribe(*, packed: bool = False, chip: str = BMI160, enable: bool = True) -> bytes:
    """``03 04 01`` (unpacked) or packed ``03 1C 01`` (BMI160) / ``03 05 01`` (BMI270); ``00`` unsubscribes."""
    reg = ACC_PACKED[chip] if packed else ACC_DATA
    return bytes((Module.ACCELEROMETER, reg, 1 if enable else 0))


def encode_accel_sampling(enable: bool = True) -> bytes:
    """``03 02 01 00`` enables the data interrupt; ``03 02 00 01`` disables it."""
    return bytes((Module.ACCELEROMETER, REG_DATA_INTERRUPT_ENABLE) + ((1, 0) if enable else (0, 1)))


def encode_accel_start(*, chip: str = BMI160, odr_hz: float = 100.0) -> bytes:
    """``03 01 01``; the SDK sends ``03 01 02`` on BMI270 below 12.5 Hz (filter_perf 0)."""
    mode = 2 if chip == BMI270 and odr_hz < 12.5 else 1
    return bytes((Module.ACCELEROMETER, REG_POWER, mode))


def encode_accel_stop() -> bytes:
    """``03 01 00``."""
    return bytes((Module.ACCELEROMETER, REG_POWER, 0))


def encode_accel_read_config() -> bytes:
    """``03 83``."""
    return bytes((Module.ACCELEROMETER, REG_CONFIG | READ_BIT))


def encode_gyro_config(odr_hz: float = 100.0, range_dps: int = 2000) -> bytes:
    """``13 03 <gyr_conf> <gyr_range>``: conf = ODR code | bwp 2 << 4 (same bytes for BMI160 and BMI270)."""
    code = _odr_code(GYRO_ODR_HZ, odr_hz, "gyro")
    if range_dps not in GYRO_RANGE_CODE:
        raise ValueError(f"range {range_dps} deg/s: want one of {sorted(GYRO_RANGE_CODE)}")
    return bytes((Module.GYRO, REG_CONFIG, code | (2 << 4), GYRO_RANGE_CODE[range_dps]))


def parse_gyro_config(data: bytes) -> tuple[float, int]:
    """Parse ``13 03/83 <gyr_conf> <gyr_range>`` -> (odr_hz, range_dps)."""
    data = bytes(data)
    require_length(KIND, data, 4, "a gyro config (13 03/83 conf range)")
    if data[0] != Module.GYRO or data[1] & 0x3F != REG_CONFIG:
        raise decode_error(KIND, 0, f"not a gyro config packet: {data[:2].hex(' ')}")
    code = data[2] & 0x0F
    if code not in GYRO_ODR_HZ:
        raise decode_error(KIND, 2, f"reserved gyro ODR code {code}")
    rev = {v: k for k, v in GYRO_RANGE_CODE.items()}
    if data[3] not in rev:
        raise decode_error(KIND, 3, f"unknown gyro range code 0x{data[3]:02X}")
    return GYRO_ODR_HZ[code], rev[data[3]]


def encode_gyro_subscribe(*, packed: bool = False, chip: str = BMI160, enable: bool = True) -> bytes:
    """BMI160 ``13 05 01`` / packed ``13 07 01``; BMI270 ``13 04 01`` / packed ``13 05 01``."""
    reg = GYRO_PACKED[chip] if packed else GYRO_DATA[chip]
    return bytes((Module.GYRO, reg, 1 if enable else 0))


def encode_gyro_sampling(enable: bool = True) -> bytes:
    """``13 02 01 00`` / ``13 02 00 01``."""
    return bytes((Module.GYRO, REG_DATA_INTERRUPT_ENABLE) + ((1, 0) if enable else (0, 1)))


def encode_gyro_start() -> bytes:
    """``13 01 01``."""
    return bytes((Module.GYRO, REG_POWER, 1))


def encode_gyro_stop() -> bytes:
    """``13 01 00``."""
    return bytes((Module.GYRO, REG_POWER, 0))


def encode_connection_parameters(min_interval_ms: float = 7.5, max_interval_ms: float = 7.5, latency: int = 0,
                                 timeout_ms: float = 6000.0) -> bytes:
    """``11 09 <min u16> <max u16> <latency u16> <timeout u16>``; intervals in 1.25 ms, timeout in 10 ms."""
    vals = (int(min_interval_ms / 1.25), int(max_interval_ms / 1.25), int(latency), int(timeout_ms / 10.0))
    if any(not 0 <= v <= 0xFFFF for v in vals):
        raise ValueError(f"connection parameters out of u16 range: {vals}")
    return bytes((Module.SETTINGS, 0x09)) + b"".join(v.to_bytes(2, "little") for v in vals)


def encode_module_info_read(module: int) -> bytes:
    """``<module> 80``: discovery read; the board answers ``<module> 80 <impl> <rev> ...``."""
    return bytes((int(module), READ_BIT))


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """Module discovery reply; ``present`` is False for the 2-byte reply of an absent module."""

    module: int
    present: bool
    implementation: int | None = None
    revision: int | None = None
    extra: bytes = b""


def parse_module_info(data: bytes) -> ModuleInfo:
    """Parse ``<module> 80 [<impl> <rev> <extra...>]``."""
    data = bytes(data)
    require_length(KIND, data, 2, "a module info reply")
    if data[1] != READ_BIT:
        raise decode_error(KIND, 1, f"not a module info reply: register 0x{data[1]:02X}, want 0x80")
    if len(data) == 2:
        return ModuleInfo(data[0], False)
    require_length(KIND, data, 4, "a module info reply of a present module (impl, rev)")
    return ModuleInfo(data[0], True, data[2], data[3], data[4:])


def encode_module_info(module: int, implementation: int | None, revision: int = 0, extra: bytes = b"") -> bytes:
    """Discovery reply an emulated board sends (``implementation=None``: module absent)."""
    if implementation is None:
        return bytes((int(module), READ_BIT))
    return bytes((int(module), READ_BIT, implementation, revision)) + bytes(extra)


def chip_from_module_info(info: ModuleInfo) -> str:
    """BMI160 or BMI270 from an accelerometer or gyro discovery reply."""
    table = ACC_IMPLEMENTATION if info.module == Module.ACCELEROMETER else GYRO_IMPLEMENTATION
    if not info.present or info.implementation not in table:
        raise decode_error(KIND, 2, f"module 0x{info.module:02X} implementation {info.implementation} is not a supported IMU")
    return table[info.implementation]


def stream_start_commands(*, chip: str = BMI160, accel_odr_hz: float = 100.0, accel_range_g: int = 2,
                          gyro_odr_hz: float | None = None, gyro_range_dps: int = 2000, packed: bool = False,
                          connection_parameters: bool = True) -> list[bytes]:
    """Commands in the SDK examples' order: conn params, config, subscribe, enable sampling, start."""
    cmds = [encode_connection_parameters()] if connection_parameters else []
    cmds += [encode_accel_config(accel_odr_hz, accel_range_g, chip=chip),
             encode_accel_subscribe(packed=packed, chip=chip),
             encode_accel_sampling(True),
             encode_accel_start(chip=chip, odr_hz=accel_odr_hz)]
    if gyro_odr_hz is not None:
        cmds += [encode_gyro_config(gyro_odr_hz, gyro_range_dps),
                 encode_gyro_subscribe(packed=packed, chip=chip),
                 encode_gyro_sampling(True),
                 encode_gyro_start()]
    return cmds


def stream_stop_commands(*, chip: str = BMI160, packed: bool = False, gyro: bool = False) -> list[bytes]:
    """Teardown: stop, disable sampling, unsubscribe (accelerometer, then gyro)."""
    cmds = [encode_accel_stop(), encode_accel_sampling(False), encode_accel_subscribe(packed=packed, chip=chip, enable=False)]
    if gyro:
        cmds += [encode_gyro_stop(), encode_gyro_sampling(False), encode_gyro_subscribe(packed=packed, chip=chip, enable=False)]
    return cmds


def write_with_response(command: bytes) -> bool:
    """The SDK writes with response only for the macro module (byte 0 = 0x0F)."""
    return len(command) > 0 and command[0] == Module.MACRO
