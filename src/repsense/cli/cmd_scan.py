"""``repsense scan``: list nearby bands (or emulated ones) and the kind each is recognised as."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from rich.console import Console
from rich.table import Table

NAME = "scan"
HELP = "list nearby BLE bands and their recognised kind"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", type=float, default=5.0, metavar="S", help="scan time (default 5 s)")
    p.add_argument("--name", help="only names containing this")
    p.add_argument("--service", action="append", default=[], help="only advertisers of this service UUID")
    p.add_argument("--emulate", action="append", default=[], metavar="KIND",
                   help="scan an emulated band of KIND instead of the radio (repeatable)")


async def _scan(args: argparse.Namespace, backend: Any) -> list:
    from ..ingest import scan
    return await scan(args.timeout, name=args.name, service_uuids=args.service or None, backend=backend)


def run(args: argparse.Namespace) -> int:
    from ..errors import RepsenseError
    from ..protocols import identify

    console = Console()
    try:
        if args.emulate:
            from ..live.emulated import import_emulate
            emulate = import_emulate()

            async def go() -> list:
                async with emulate.VirtualWorld() as world:
                    for kind in args.emulate:
                        world.add_device(kind)
                    await world.settle()
                    return await _scan(args, world.scanner_backend)
            found = asyncio.run(go())
        else:
            found = asyncio.run(_scan(args, None))
    except RepsenseError as exc:
        console.print(f"[red]error[/]: {exc}")
        return 1
    except ValueError as exc:
        console.print(f"[red]error[/]: {exc}")
        return 2
    except Exception as exc:  # bleak: no adapter, Bluetooth off, permission denied
        console.print(f"[red]error[/]: scanning failed: {type(exc).__name__}: {exc} "
                      "(is a Bluetooth adapter present and powered? try --emulate KIND without hardware)")
        return 1
    table = Table(title=f"{len(found)} advertiser(s)")
    for col in ("address", "name", "RSSI", "kind", "services"):
        table.add_column(col)
    for d in found:
        table.add_row(d.address, d.name, "" if d.rssi_dbm is None else str(d.rssi_dbm),
                      identify(d.service_uuids, d.name) or "-", " ".join(d.service_uuids))
    console.print(table)
    return 0
