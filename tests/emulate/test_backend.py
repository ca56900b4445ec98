"""The bleak backend over the emulated radio, exercised only through BleakScanner / BleakClient."""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError

from repsense.emulate import BumbleClient, BumbleScanner, Faults


async def test_scan_reports_name_services_rssi_and_calls_back(world, echo):
    a = world.add_device(echo.cls, name="Echo A", rssi_dbm=-42)
    world.add_device(echo.cls, name="Echo B", rssi_dbm=-77)
    seen: list[tuple[str, int]] = []
    scanner = BleakScanner(lambda d, ad: seen.append((ad.local_name, ad.rssi)), backend=world.scanner_backend)
    assert scanner.backend_id == "BumbleScanner"
    async with scanner:
        found = await BleakScanner.find_device_by_name("Echo B", timeout=2.0, backend=world.scanner_backend)
        await asyncio.sleep(0.2)
    assert found is not None and found.name == "Echo B"
    found_ad = scanner.discovered_devices_and_advertisement_data
    dev_a, ad_a = found_ad[a.address]
    assert dev_a.address == a.address and ad_a.local_name == "Echo A"
    assert ad_a.service_uuids == [echo.SERVICE]
    assert ("Echo A", -42) in seen and ("Echo B", -77) in seen


async def test_scan_service_filter_excludes_other_bands(world, echo):
    class OtherBand(echo.cls):
        def advertised_service_uuids(self):
            return ["6e6f6f70-0000-4000-8000-00000000f000"]

    world.add_device(OtherBand, name="Other")
    e = world.add_device(echo.cls)
    devices = await BleakScanner.discover(timeout=0.3, return_adv=True, service_uuids=[echo.SERVICE],
                                          backend=world.scanner_backend)
    assert list(devices) == [e.address]


async def test_connect_mtu_discover_read_write_notify(world, echo):
    dev = world.add_device(echo.cls)
    got: list[bytes] = []
    client = BleakClient(dev.address, backend=world.client_backend, timeout=5.0)
    assert client.backend_id == "BumbleClient"
    async with client:
        assert client.is_connected
        assert client.mtu_size == 247  # asked 517 like BlueZ, the band caps at 247
        char = client.services.get_characteristic(echo.CONTROL)
        assert sorted(char.properties) == ["write", "write-without-response"]
        assert char.max_write_without_response_size == 244
        await client.start_notify(echo.DATA, lambda _c, data: got.append(bytes(data)))
        await client.write_gatt_char(echo.CONTROL, b"\x01\x02\x03", response=True)
        await client.write_gatt_char(echo.CONTROL, b"abc", response=False)
        for _ in range(100):
            if len(got) == 2:
                break
            await asyncio.sleep(0.01)
        assert got == [b"\x03\x02\x01", b"cba"]
        assert await client.read_gatt_char(echo.BLOB) == echo.BLOB_VALUE  # long read past one MTU
        with pytest.raises(BleakGATTProtocolError) as err:
            await client.read_gatt_char(echo.SECRET)
        assert err.value.code == 0x02  # Read Not Permitted, raised by the band, not by bumble
        await client.stop_notify(echo.DATA)
        await client.write_gatt_char(echo.CONTROL, b"zz", response=True)
        await asyncio.sleep(0.05)
        assert got == [b"\x03\x02\x01", b"cba"]  # nothing after stop_notify
    assert not client.is_connected


async def test_write_without_response_larger_than_mtu_is_refused(world, echo):
    dev = world.add_device(echo.cls)
    async with BleakClient(dev.address, backend=world.client_backend) as client:
        with pytest.raises(BleakError, match="exceeds MTU"):
            await client.write_gatt_char(echo.CONTROL, bytes(245), response=False)


async def test_injected_att_errors(world, echo):
    dev = world.add_device(echo.cls, faults=Faults(att_error_on_write={echo.CONTROL: 0x80},
                                                   att_error_on_read={echo.BLOB: 0x0E}))
    async with BleakClient(dev.address, backend=world.client_backend) as client:
        with pytest.raises(BleakGATTProtocolError) as err:
            await client.write_gatt_char(echo.CONTROL, b"\x00", response=True)
        assert err.value.code == 0x80
        with pytest.raises(BleakGATTProtocolError) as err:
            await client.read_gatt_char(echo.BLOB)
        assert err.value.code == 0x0E
    assert dev.tally["att_error_write"] == 1 and dev.tally["att_error_read"] == 1


async def test_link_drop_fires_callback_then_reconnect(world, echo):
    dev = world.add_device(echo.cls)
    dropped = asyncio.Event()
    client = BleakClient(dev.address, disconnected_callback=lambda c: dropped.set(), backend=world.client_backend)
    await client.connect()
    assert world.drop_link(dev.address)
    await asyncio.wait_for(dropped.wait(), 2.0)
    assert not client.is_connected
    with pytest.raises(BleakError):
        _ = client.services
    dropped.clear()
    await client.connect()  # reconnect on the same client
    assert client.is_connected and client.mtu_size == 247
    got: list[bytes] = []
    await client.start_notify(echo.DATA, lambda _c, d: got.append(bytes(d)))
    await client.write_gatt_char(echo.CONTROL, b"hi", response=True)
    await asyncio.sleep(0.05)
    assert got == [b"ih"]
    await client.disconnect()
    await asyncio.wait_for(dropped.wait(), 2.0)  # BlueZ-like: fires on a requested disconnect too
    assert dev.n_connections == 2


async def test_connect_to_absent_band_times_out_and_adapter_recovers(world, echo):
    dev = world.add_device(echo.cls)
    with pytest.raises(BleakDeviceNotFoundError):
        await BleakClient("D0:5E:00:00:FF:FF", backend=world.client_backend, timeout=0.5).connect()
    # a known band out of range: the connect must time out, not hang
    dev.set_in_range(False)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    with pytest.raises(TimeoutError):
        await BleakClient(dev.address, backend=world.client_backend, timeout=0.5).connect()
    assert loop.time() - t0 < 5.0  # bounded by the 0.5 s timeout, not hanging (generous for a loaded CI)
    other = world.add_device(echo.cls)
    async with BleakClient(other.address, backend=world.client_backend, timeout=2.0) as client:
        assert client.is_connected  # the pending connection was really cancelled


async def test_refused_connection_raises_and_counts(world, echo):
    dev = world.add_device(echo.cls, faults=Faults(refuse_connections=True))
    with pytest.raises(BleakError):
        await BleakClient(dev.address, backend=world.client_backend, timeout=2.0).connect()
    assert dev.tally["refused"] == 1


async def test_unbound_backends_find_the_world_of_the_task(world, echo):
    dev = world.add_device(echo.cls, name="Unbound")
    found = await BleakScanner.find_device_by_name("Unbound", timeout=2.0, backend=BumbleScanner)
    assert found is not None
    async with BleakClient(found, backend=BumbleClient) as client:  # a BLEDevice from our scanner
        assert client.address == dev.address and client.is_connected


async def test_several_bands_connected_at_once(world, echo):
    devs = [world.add_device(echo.cls) for _ in range(4)]
    clients = [BleakClient(d.address, backend=world.client_backend) for d in devs]
    await asyncio.gather(*(c.connect() for c in clients))  # connects are serialised by the adapter
    got: dict[int, list[bytes]] = {i: [] for i in range(4)}
    for i, c in enumerate(clients):
        await c.start_notify(echo.DATA, lambda _c, d, i=i: got[i].append(bytes(d)))
        await c.write_gatt_char(echo.CONTROL, bytes([i, 9]), response=True)
    await asyncio.sleep(0.05)
    assert got == {i: [bytes([9, i])] for i in range(4)}
    await asyncio.gather(*(c.disconnect() for c in clients))


async def test_backend_without_world_says_so():
    with pytest.raises(BleakError, match="no running VirtualWorld"):
        BleakClient("D0:5E:00:00:00:01", backend=BumbleClient)
