"""The clients of the conformance suite: raw websockets connections (to send what a station
should not), the HTTP status of a refused upgrade, and the close code a connection ended with."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

import ocppkit
from ocppkit import v201

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
V201: Any = ["ocpp2.0.1"]


def boot201() -> v201.BootNotificationRequest:
    return v201.BootNotificationRequest(
        charging_station=v201.ChargingStationType(model="M", vendor_name="V"), reason=v201.BootReasonEnumType.POWER_UP
    )


async def open_raw(url: str, subprotocols: Any = V201, **kwargs: Any) -> ClientConnection:
    return await connect(url, subprotocols=subprotocols, open_timeout=5, **kwargs)


async def refused(url: str, subprotocols: Any = V201, **kwargs: Any) -> Any:
    """The HTTP response refusing the upgrade of ``url`` (AssertionError when it is accepted)."""
    try:
        ws = await open_raw(url, subprotocols, **kwargs)
    except websockets.InvalidStatus as exc:
        return exc.response
    await ws.close()
    raise AssertionError(f"{url}: the upgrade was accepted")


async def status(url: str, subprotocols: Any = V201, **kwargs: Any) -> int:
    """101 when the upgrade of ``url`` succeeds (the connection is then closed), else the HTTP
    status of the refusal."""
    try:
        ws = await open_raw(url, subprotocols, **kwargs)
    except websockets.InvalidStatus as exc:
        return int(exc.response.status_code)
    await ws.close()
    return 101


async def call(ws: ClientConnection, frame: str) -> Any:
    await ws.send(frame)
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def closed_with(ws: ClientConnection, timeout: float = 8.0) -> tuple[int | None, str | None]:
    """Read (discarding) until the connection closes: the close code and reason we received
    (None: no close frame, the connection was dropped)."""

    async def drain() -> None:
        while True:
            await ws.recv()

    try:
        await asyncio.wait_for(drain(), timeout)
    except ConnectionClosed:
        pass
    return (ws.close_code, ws.close_reason) if ws.protocol.close_rcvd is not None else (None, None)


def station_router() -> ocppkit.Router:
    """A 2.0.1 station: ClearCache accepted, DataTransfer echoes its data."""
    r = ocppkit.Router("2.0.1")
    r.add(v201.ClearCacheRequest, lambda req: v201.ClearCacheResponse(status=v201.ClearCacheStatusEnumType.ACCEPTED))
    r.add(
        v201.DataTransferRequest,
        lambda req: v201.DataTransferResponse(status=v201.DataTransferStatusEnumType.ACCEPTED, data=req.data),
    )
    return r
