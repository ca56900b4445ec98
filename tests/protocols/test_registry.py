"""The protocol registry and the module contract the emulation layer relies on."""

from __future__ import annotations

import re

import pytest

from repsense.protocols import PROTOCOLS, DecodedFrame, identify

UUID128 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_registry_has_every_protocol():
    assert set(PROTOCOLS) == {"polar_pmd", "metawear", "infinitime", "movesense", "thingy52", "banglejs", "diy"}


@pytest.mark.parametrize("kind", sorted(PROTOCOLS))
def test_module_contract(kind):
    mod = PROTOCOLS[kind]
    assert mod.KIND == kind
    assert mod.NAME_PREFIXES and all(isinstance(n, str) for n in mod.NAME_PREFIXES)
    assert UUID128.match(mod.SERVICE_UUID) and UUID128.match(mod.DATA_UUID)
    for name in dir(mod):
        if name.endswith("_UUID"):
            assert UUID128.match(getattr(mod, name)), name
    assert isinstance(mod.MIN_MTU, int) and mod.MIN_MTU >= 23
    assert callable(mod.decode_frame) and callable(mod.encode_frame)


def test_service_uuids_are_distinct():
    uuids = [m.SERVICE_UUID for m in PROTOCOLS.values()]
    assert len(set(uuids)) == len(uuids)


def test_identify():
    assert identify(["FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8"]) == "polar_pmd"
    assert identify(["0000180a-0000-1000-8000-00805f9b34fb", "326A9000-85CB-9195-D9DD-464CFBBAE75A"]) == "metawear"
    assert identify(["180a", "180f"]) is None
    assert identify(["6e400001-b5a3-f393-e0a9-e50e24dcca9e"], name="Bangle.js 1a2b") == "banglejs"
    assert identify(["6e400001-b5a3-f393-e0a9-e50e24dcca9e"], name="SomeUARTThing") is None
    assert identify(["e44be100-d9ec-40db-9e7b-bf772be820a6"]) == "diy"


def test_decoded_frame_counts_samples():
    import numpy as np

    f = DecodedFrame("x", "y", None, np.zeros((4, 3), np.float32), None)
    assert f.n_samples == 4 and DecodedFrame("x", "status", None, None, None).n_samples == 0
