"""BLE wearable protocols: pure decoders and command encoders, one module per protocol.

Every protocol module defines ``KIND``, ``NAME_PREFIXES``, ``SERVICE_UUID``, its characteristic
UUIDs (lower-case 128-bit strings as bleak prints them), ``MIN_MTU``,
``decode_frame(data, *, config=..., state=None) -> DecodedFrame`` and ``encode_frame(...)``,
plus the command encoders of that device. Nothing here does I/O or imports bleak.

================  ==========================================================
kind              device
================  ==========================================================
``polar_pmd``     Polar H10, OH1, Verity Sense, 360 (PMD service)
``metawear``      MbientLab MetaWear / MetaMotion (BMI160, BMI270)
``infinitime``    PineTime running InfiniTime (motion service)
``movesense``     Movesense with the GATT SensorData Protocol (GSP)
``thingy52``      Nordic Thingy:52 (motion service, raw data)
``banglejs``      Bangle.js 2 over the Nordic UART service (text lines)
``diy``           repsense open DIY profile (firmware_notes/diy-open-profile.md)
================  ==========================================================
"""

from __future__ import annotations

from types import ModuleType
from typing import Iterable

from repsense.protocols import banglejs, diy, infinitime, metawear, movesense, polar_pmd, thingy52
from repsense.protocols._frame import DecodedFrame, crc16_ccitt

__all__ = ["PROTOCOLS", "DecodedFrame", "identify", "crc16_ccitt"]

PROTOCOLS: dict[str, ModuleType] = {
    m.KIND: m for m in (polar_pmd, metawear, infinitime, movesense, thingy52, banglejs, diy)
}


def _norm_uuid(u: str) -> str:
    u = str(u).strip().lower()
    if len(u) == 4:  # 16-bit short form
        return f"0000{u}-0000-1000-8000-00805f9b34fb"
    if len(u) == 8:
        return f"{u}-0000-1000-8000-00805f9b34fb"
    return u


def identify(service_uuids: Iterable[str], name: str | None = None) -> str | None:
    """Protocol kind of a device from its advertised (or discovered) service UUIDs.

    Parameters
    ----------
    service_uuids : iterable of str
        UUIDs in any case, 16-bit short forms allowed.
    name : str, optional
        Advertised name. The Nordic UART service is used by many devices besides Bangle.js;
        when a name is given, a NUS-only match also requires a Bangle.js name prefix.

    Returns
    -------
    str or None
        A key of :data:`PROTOCOLS`, or None when nothing matches.
    """
    uuids = {_norm_uuid(u) for u in service_uuids}
    for kind, mod in PROTOCOLS.items():
        if mod.SERVICE_UUID in uuids:
            if kind == banglejs.KIND and name is not None and not name.startswith(mod.NAME_PREFIXES):
                continue
            return kind
    return None
