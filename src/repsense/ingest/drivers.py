"""Per-device drivers: how to configure and start a band's streams, and how to decode them.

A driver holds what the session needs to know about one device kind: its data
characteristics, whether samples carry device time or a sequence number, and the command
exchange that starts streaming. All byte work is delegated to the pure codecs in
:mod:`repsense.protocols`; a driver only sequences the commands over a link and threads the
decoder state explicitly (``frame.state`` in, ``state=`` out).

Adding a device kind is one subclass registered in :data:`DRIVERS`; the pipeline never branches
on the kind.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

import numpy as np

from ..errors import DeviceError

__all__ = ["DRIVERS", "Driver", "Link", "driver_for", "known_kinds"]


class Link(Protocol):
    """What a driver needs from a connection (see :class:`repsense.ingest.transport_bleak.BleakLink`)."""

    mtu: int

    async def write(self, uuid: str, data: bytes, *, response: bool = True) -> None: ...
    async def read(self, uuid: str) -> bytes: ...
    async def subscribe(self, uuid: str) -> None: ...


class Driver:
    """Base driver. Subclasses set the class attributes and implement :meth:`start`.

    Parameters
    ----------
    sample_rate_hz : requested accelerometer rate (None: the kind's default).
    gyro : also stream the gyroscope when the device has one.
    """

    kind: ClassVar[str] = ""
    protocol_module: ClassVar[str] = ""
    default_rate_hz: ClassVar[float] = 100.0
    device_time: ClassVar[bool] = False  # samples carry device timestamps
    seq_modulo: ClassVar[int | None] = None  # frames carry a wrapping sequence number
    has_gyro: ClassVar[bool] = False
    configure_first: ClassVar[bool] = False  # configure before subscribing to data (data flows on subscribe)

    def __init__(self, sample_rate_hz: float | None = None, *, gyro: bool = True) -> None:
        self.sample_rate_hz = float(sample_rate_hz or self.default_rate_hz)
        self.gyro_rate_hz = self.sample_rate_hz
        self.gyro = gyro and self.has_gyro
        self.firmware = ""
        self._state: Any = None
        self._config: Any = None
        self.proto = importlib.import_module(self.protocol_module)

    @property
    def service_uuid(self) -> str:
        return str(self.proto.SERVICE_UUID).lower()

    @property
    def data_uuids(self) -> tuple[str, ...]:
        return (str(self.proto.DATA_UUID).lower(),)

    def rate_of(self, stream: str) -> float:
        return self.gyro_rate_hz if stream == "gyro" else self.sample_rate_hz

    async def start(self, link: Link, responses: asyncio.Queue[tuple[int, str, bytes] | None]) -> None:
        """Configure the device and start its streams (after :meth:`subscribe`)."""
        raise NotImplementedError

    async def stop(self, link: Link) -> None:
        """Stop streaming (best effort; the link may be going away)."""

    def reset_stream_state(self) -> None:
        """Forget decoder state carried between frames (a new connection starts a new stream)."""
        self._state = None

    def decode(self, uuid: str, data: bytes) -> Any:
        """One data notification -> ``DecodedFrame`` (raises ``DecodeError`` when malformed)."""
        frame = self.proto.decode_frame(data, config=self._config, state=self._state)
        self._state = frame.state
        return frame


async def _expect(queue: asyncio.Queue[tuple[int, str, bytes] | None], uuid: str, timeout_s: float,
                  accept: Callable[[bytes], Any]) -> Any:
    """Wait for a response notification on ``uuid`` that ``accept`` parses (other items are kept)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise DeviceError(f"no response on {uuid} within {timeout_s:.1f} s")
        try:
            item = await asyncio.wait_for(queue.get(), remaining)
        except TimeoutError:
            raise DeviceError(f"no response on {uuid} within {timeout_s:.1f} s") from None
        if item is None:
            raise DeviceError("link closed while waiting for a response")
        if item[1] == uuid:
            result = accept(item[2])
            if result is not None:
                return result


class PolarDriver(Driver):
    """Polar PMD (H10, OH1, Verity Sense): ACC (+ GYRO on Verity) with device timestamps."""

    kind = "polar_pmd"
    protocol_module = "repsense.protocols.polar_pmd"
    default_rate_hz = 52.0
    device_time = True
    has_gyro = True

    async def _cp(self, link: Link, responses: asyncio.Queue[tuple[int, str, bytes] | None], request: bytes,
                  op: int, mtype: int) -> Any:
        """Write a CP request and wait for its (possibly multi-part) response."""
        p = self.proto
        cp = p.CONTROL_POINT_UUID.lower()
        await link.write(cp, request, response=True)
        parts = []

        def accept(data: bytes) -> Any:
            try:
                msg = p.parse_cp_notification(data)
            except Exception:
                return None
            if isinstance(msg, p.ControlPointResponse) and msg.op_code == op and msg.measurement_type & 0x3F == mtype:
                return msg
            return None

        while True:
            msg = await _expect(responses, cp, 5.0, accept)
            parts.append(msg)
            if not msg.more:
                return p.merge_cp_responses(parts) if len(parts) > 1 else msg

    async def _rates(self, link: Link, responses: asyncio.Queue[tuple[int, str, bytes] | None], mt: int) -> tuple:
        p = self.proto
        resp = await self._cp(link, responses, p.encode_get_settings(mt), p.OpCode.GET_MEASUREMENT_SETTINGS, mt)
        if not resp.ok:
            raise DeviceError(f"Polar settings query for {p.MeasurementType(mt).name} failed: {resp.status.name}")
        return tuple(int(r) for r in resp.settings.get(p.SettingType.SAMPLE_RATE, ()))

    async def start(self, link: Link, responses: asyncio.Queue[tuple[int, str, bytes] | None]) -> None:
        p = self.proto
        cp = p.CONTROL_POINT_UUID.lower()
        await link.subscribe(cp)
        features = p.parse_features(await link.read(cp))
        mtypes = [p.MeasurementType.ACC]
        if self.gyro and features.supports(p.MeasurementType.GYRO):
            mtypes.append(p.MeasurementType.GYRO)
        else:
            self.gyro = False
        want = self.sample_rate_hz
        rates = await self._rates(link, responses, p.MeasurementType.ACC)
        if want not in rates and (not rates or want > max(rates)) and features.supports(p.MeasurementType.SDK_MODE):
            # higher rates need SDK mode (Verity Sense); it resets the sensors, so do it first
            resp = await self._cp(link, responses, p.encode_sdk_mode(True), p.OpCode.REQUEST_MEASUREMENT_START,
                                  p.MeasurementType.SDK_MODE)
            if resp.ok or resp.status == p.PmdError.ALREADY_IN_STATE:
                rates = await self._rates(link, responses, p.MeasurementType.ACC)
        if not rates:
            raise DeviceError("Polar reports no ACC sample rate")
        rate = min(rates, key=lambda r: (abs(r - want), -r))
        self.sample_rate_hz = self.gyro_rate_hz = float(rate)
        factors = {}
        for mt in mtypes:
            resp = await self._cp(link, responses, p.encode_start(mt, sample_rate_hz=rate),
                                  p.OpCode.REQUEST_MEASUREMENT_START, mt)
            if not resp.ok and resp.status != p.PmdError.ALREADY_IN_STATE:
                if mt == p.MeasurementType.GYRO:  # accel alone is enough for reps
                    self.gyro = False
                    continue
                raise DeviceError(f"Polar refused to start {p.MeasurementType(mt).name}: {resp.status.name}")
            factors[mt] = resp.factor
        self._config = p.PmdConfig(acc_sample_rate_hz=rate, acc_factor=factors.get(p.MeasurementType.ACC, 1.0),
                                   gyro_sample_rate_hz=rate, gyro_factor=factors.get(p.MeasurementType.GYRO, 1.0))
        self._state = None

    async def stop(self, link: Link) -> None:
        p = self.proto
        for mt in (p.MeasurementType.ACC, p.MeasurementType.GYRO):
            await link.write(p.CONTROL_POINT_UUID.lower(), p.encode_stop(mt), response=True)

    def decode(self, uuid: str, data: bytes) -> Any:
        if uuid != self.proto.DATA_UUID.lower():
            return None  # control point indications (e.g. an unsolicited stop) are not data
        frame = super().decode(uuid, data)
        t = frame.t_device_ns
        if t is not None and t.shape[0] > 1:
            # The SDK spreads a frame's samples from the previous frame's stamp to its own. After
            # a lost (or malformed) frame that spreads them over two frames' time; the frame stamp
            # is the last sample's time, so rebuild the frame at the nominal rate from it instead
            # and let the clock see the gap.
            rate = self.gyro_rate_hz if frame.gyro_dps is not None else self.sample_rate_hz
            period_ns = 1e9 / rate
            if (int(t[-1]) - int(t[0])) / (t.shape[0] - 1) > 1.5 * period_ns:
                n = t.shape[0]
                rebuilt = int(t[-1]) - np.round((n - 1 - np.arange(n)) * period_ns).astype(np.int64)
                frame = _replace(frame, t_device_ns=rebuilt, t_device_s=rebuilt / 1e9)
        return frame


class MetaWearDriver(Driver):
    """MbientLab MetaWear / MetaMotion: accelerometer (+ gyro), no device time, no sequence."""

    kind = "metawear"
    protocol_module = "repsense.protocols.metawear"
    default_rate_hz = 100.0
    has_gyro = True

    async def start(self, link: Link, responses: asyncio.Queue[tuple[int, str, bytes] | None]) -> None:
        p = self.proto
        chip = p.BMI160
        try:  # module discovery tells BMI160 from BMI270 (different registers)
            await link.write(p.COMMAND_UUID, p.encode_module_info_read(p.Module.ACCELEROMETER), response=False)
            info = await _expect(responses, p.NOTIFY_UUID.lower(), 3.0, _try(p.parse_module_info))
            chip = p.chip_from_module_info(info)
        except DeviceError:
            pass
        except Exception as exc:  # a DecodeError from an unknown implementation
            raise DeviceError(f"MetaWear module discovery failed: {exc}") from exc
        self._config = p.MetaWearConfig(chip=chip)
        # packed: 3 samples per notification, as the SDK streams at 100 Hz and above
        self._packed = self.sample_rate_hz >= 100.0
        for cmd in p.stream_start_commands(chip=chip, accel_odr_hz=self.sample_rate_hz, packed=self._packed,
                                           gyro_odr_hz=self.gyro_rate_hz if self.gyro else None):
            await link.write(p.COMMAND_UUID, cmd, response=p.write_with_response(cmd))

    async def stop(self, link: Link) -> None:
        p = self.proto
        for cmd in p.stream_stop_commands(chip=self._config.chip if self._config else p.BMI160, gyro=self.gyro,
                                          packed=getattr(self, "_packed", False)):
            await link.write(p.COMMAND_UUID, cmd, response=p.write_with_response(cmd))

    def decode(self, uuid: str, data: bytes) -> Any:
        if len(data) >= 2 and data[1] & self.proto.READ_BIT:
            return None  # a read response (module info), not data
        return super().decode(uuid, data)


class DiyDriver(Driver):
    """repsense open DIY profile: accel (+ gyro) frames with sequence number and device time."""

    kind = "diy"
    protocol_module = "repsense.protocols.diy"
    default_rate_hz = 100.0
    device_time = True
    seq_modulo = 1 << 16
    has_gyro = True

    async def start(self, link: Link, responses: asyncio.Queue[tuple[int, str, bytes] | None]) -> None:
        p = self.proto
        cfg_uuid = p.CONFIG_UUID.lower()
        await link.subscribe(cfg_uuid)
        cfg = p.DiyConfig(sample_rate_hz=self.sample_rate_hz, gyro=self.gyro)
        for op, cmd in ((p.ConfigOp.SET_CONFIG, p.encode_set_config(cfg)), (p.ConfigOp.START, p.encode_start())):
            await link.write(cfg_uuid, cmd, response=True)

            def accept(data: bytes, op: int = op) -> Any:
                try:
                    resp = p.parse_config_response(data)
                except Exception:
                    return None
                return resp if resp.op == op else None

            resp = await _expect(responses, cfg_uuid, 5.0, accept)
            if not resp.ok and resp.status != p.ConfigStatus.ALREADY_IN_STATE:
                raise DeviceError(f"DIY band refused {p.ConfigOp(op).name}: {resp.status.name}")

    async def stop(self, link: Link) -> None:
        await link.write(self.proto.CONFIG_UUID.lower(), self.proto.encode_stop(), response=True)

    def decode(self, uuid: str, data: bytes) -> Any:
        if uuid != self.proto.DATA_UUID.lower():
            return None
        return self.proto.decode_frame(data)


class Thingy52Driver(Driver):
    """Nordic Thingy:52 raw motion (accel + gyro, no device time); rate via the config characteristic."""

    kind = "thingy52"
    protocol_module = "repsense.protocols.thingy52"
    default_rate_hz = 100.0
    has_gyro = True
    configure_first = True  # raw motion flows as soon as it is subscribed: set the rate first

    async def start(self, link: Link, responses: asyncio.Queue[tuple[int, str, bytes] | None]) -> None:
        p = self.proto
        cfg = p.parse_config(await link.read(p.CONFIG_UUID))
        rate = int(round(min(200.0, max(5.0, self.sample_rate_hz))))
        self.sample_rate_hz = self.gyro_rate_hz = float(rate)
        new = p.MotionConfig(cfg.pedo_interval_ms, cfg.temp_interval_ms, cfg.compass_interval_ms, rate,
                             cfg.wake_on_motion)
        await link.write(p.CONFIG_UUID, p.encode_config(new), response=True)

    def decode(self, uuid: str, data: bytes) -> Any:
        frame = self.proto.decode_frame(data)
        return frame if self.gyro or frame.gyro_dps is None else _without_gyro(frame)


class InfiniTimeDriver(Driver):
    """PineTime / InfiniTime motion service: one accel sample per notification (~10 Hz), no device time."""

    kind = "infinitime"
    protocol_module = "repsense.protocols.infinitime"
    default_rate_hz = 10.0

    def __init__(self, sample_rate_hz: float | None = None, *, gyro: bool = True) -> None:
        super().__init__(None, gyro=False)  # the watch polls its sensor at a fixed ~10 Hz
        self._config = self.proto.InfiniTimeConfig()  # it notifies as soon as it is subscribed

    async def start(self, link: Link, responses: asyncio.Queue[tuple[int, str, bytes] | None]) -> None:
        self._config = self.proto.InfiniTimeConfig()


def _replace(frame: Any, **fields: Any) -> Any:
    """A copy of a decoded frame with some fields changed (named tuple or dataclass)."""
    if hasattr(frame, "_replace"):
        return frame._replace(**fields)
    import dataclasses
    return dataclasses.replace(frame, **fields)


def _without_gyro(frame: Any) -> Any:
    return _replace(frame, gyro_dps=None)


class MovesenseDriver(Driver):
    """Movesense with the GATT SensorData Protocol: /Meas/IMU6 (accel + gyro) with device time."""

    kind = "movesense"
    protocol_module = "repsense.protocols.movesense"
    default_rate_hz = 104.0
    device_time = True
    has_gyro = True
    REF = 0x63

    async def start(self, link: Link, responses: asyncio.Queue[tuple[int, str, bytes] | None]) -> None:
        p = self.proto
        rate = min(p.SAMPLE_RATES_HZ, key=lambda r: (abs(r - self.sample_rate_hz), -r))
        self.sample_rate_hz = self.gyro_rate_hz = float(rate)
        self._config = p.MovesenseConfig(resource="IMU6" if self.gyro else "Acc", sample_rate_hz=float(rate))
        await link.write(p.COMMAND_UUID, p.encode_subscribe(self.REF, self._config.path), response=True)

        def accept(data: bytes) -> Any:
            try:
                frame = p.decode_frame(data, config=self._config)
            except Exception:
                return None
            return frame if frame.status is not None and frame.stream_ref == self.REF else None

        # GSP answers a subscription with data, and only a failure with a COMMAND_RESULT
        try:
            result = await _expect(responses, p.DATA_UUID.lower(), 1.0, accept)
        except DeviceError:
            return
        if not 200 <= int(result.status) < 300:
            raise DeviceError(f"Movesense refused {self._config.path}: status {result.status}")

    async def stop(self, link: Link) -> None:
        await link.write(self.proto.COMMAND_UUID, self.proto.encode_unsubscribe(self.REF), response=True)

    def decode(self, uuid: str, data: bytes) -> Any:
        if len(data) >= 1 and data[0] == self.proto.ResponseType.COMMAND_RESULT:
            return None  # a command result, for start()
        return self.proto.decode_frame(data, config=self._config)


class BangleJsDriver(Driver):
    """Bangle.js 2 over the Nordic UART service: a small script prints ``A,t,x,y,z`` lines."""

    kind = "banglejs"
    protocol_module = "repsense.protocols.banglejs"
    default_rate_hz = 12.5
    device_time = True  # the script prints the watch's getTime()

    def __init__(self, sample_rate_hz: float | None = None, *, gyro: bool = True) -> None:
        super().__init__(sample_rate_hz, gyro=False)
        self._lines = None
        self.errors: list[str] = []

    async def start(self, link: Link, responses: asyncio.Queue[tuple[int, str, bytes] | None]) -> None:
        p = self.proto
        odr_25 = self.sample_rate_hz > 12.5
        self.sample_rate_hz = self.gyro_rate_hz = 25.0 if odr_25 else 12.5
        poll_ms = int(round(1000.0 / self.sample_rate_hz))
        for chunk in p.chunk_writes(p.stream_script(poll_interval_ms=poll_ms, odr_25hz=odr_25), link.mtu):
            await link.write(p.RX_UUID, chunk, response=False)

    async def stop(self, link: Link) -> None:
        p = self.proto
        for chunk in p.chunk_writes(p.stop_script(), link.mtu):
            await link.write(p.RX_UUID, chunk, response=False)

    def reset_stream_state(self) -> None:
        self._lines = None

    def decode(self, uuid: str, data: bytes) -> Any:
        """A notification is a piece of text: complete lines become samples, bad lines errors."""
        import numpy as np

        from ..errors import DecodeError

        p = self.proto
        lines, self._lines, overflow = p.split_lines(data, self._lines)
        if overflow:
            self.errors.append("line too long")
        frames = []
        for line in lines:
            if not line.strip():
                continue
            try:
                frames.append(p.decode_frame(line))
            except DecodeError as exc:
                self.errors.append(str(getattr(exc, "reason", exc)).split(":")[0][:60])
        if not frames:
            return _EMPTY
        timed = [f for f in frames if f.t_device_s is not None]
        if len(timed) != len(frames):  # an untimed line: no device time for this batch
            self.errors.extend(["untimed line"] * (len(frames) - len(timed)))
            frames = timed
            if not frames:
                return _EMPTY
        return _replace(frames[0], t_device_s=np.concatenate([f.t_device_s for f in frames]),
                        accel_g=np.concatenate([f.accel_g for f in frames]))


class _Empty:
    """A notification that carried no complete sample (e.g. half a text line)."""

    n_samples = 0


_EMPTY = _Empty()


def _try(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def accept(data: bytes) -> Any:
        try:
            return parse(data)
        except Exception:
            return None
    return accept


#: kind -> driver class. The kind names are the protocol module names.
DRIVERS: dict[str, type[Driver]] = {
    PolarDriver.kind: PolarDriver,
    MetaWearDriver.kind: MetaWearDriver,
    DiyDriver.kind: DiyDriver,
    Thingy52Driver.kind: Thingy52Driver,
    InfiniTimeDriver.kind: InfiniTimeDriver,
    MovesenseDriver.kind: MovesenseDriver,
    BangleJsDriver.kind: BangleJsDriver,
}


def known_kinds() -> list[str]:
    return sorted(DRIVERS)


def driver_for(kind: str, sample_rate_hz: float | None = None, *, gyro: bool = True) -> Driver:
    """A fresh driver for ``kind`` (raises DeviceError listing the known kinds)."""
    try:
        cls = DRIVERS[kind]
    except KeyError:
        raise DeviceError(f"no live driver for device kind {kind!r}; known: {', '.join(known_kinds())}") from None
    return cls(sample_rate_hz, gyro=gyro)
