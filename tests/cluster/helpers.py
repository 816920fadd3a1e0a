"""Stations for the cluster tests: a DataTransfer that echoes, and records order and overlap."""

from __future__ import annotations

import asyncio
from typing import Any

from ocppkit import Router, v16, v201
from ocppkit.adapters.asyncio import SessionOptions
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import ChargingStation

STATUS = v201.DataTransferStatusEnumType


class EchoStation:
    """A station whose DataTransfer handler answers ``{"from": identity, "echo": data}``;
    ``vendor_id`` "reject" answers Rejected, "slow" sleeps ``delay`` first, "never" never
    answers. ``seen`` is the order of the data received; ``overlaps`` counts calls that arrived
    while another was being handled (must stay 0: one CALL in flight)."""

    def __init__(self, url: str, identity: str, version: str = "2.0.1", delay: float = 0.0) -> None:
        self.identity = identity
        self.delay = delay
        self.seen: list[Any] = []
        self.in_flight = 0
        self.overlaps = 0
        router = Router(version)
        if version == "1.6":
            router.add(v16.DataTransferRequest, self._echo16)
        else:
            router.add(v201.DataTransferRequest, self._echo201)
        # no rate limit on the CSMS's calls: the tests call faster than a real CSMS would
        options = SessionOptions(max_call_rate=0)
        self.station = ChargingStation(url + identity, router, versions=(version,), options=options)

    async def _enter(self, vendor: str, data: Any) -> None:
        if self.in_flight:
            self.overlaps += 1
        self.in_flight += 1
        self.seen.append(data)
        try:
            if vendor == "slow":
                await asyncio.sleep(self.delay)
            elif vendor == "never":
                await asyncio.sleep(3600)
        finally:
            self.in_flight -= 1

    async def _echo201(self, req: v201.DataTransferRequest) -> v201.DataTransferResponse:
        await self._enter(req.vendor_id, req.data)
        status = STATUS.REJECTED if req.vendor_id == "reject" else STATUS.ACCEPTED
        return v201.DataTransferResponse(status=status, data={"from": self.identity, "echo": req.data})

    async def _echo16(self, req: v16.DataTransferRequest) -> v16.DataTransferResponse:
        await self._enter(req.vendor_id, req.data)
        return v16.DataTransferResponse(status=v16.DataTransferStatus.ACCEPTED, data=f"{self.identity}:{req.data}")

    async def __aenter__(self) -> EchoStation:
        await self.station.start()
        await self.station.wait_connected(10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.station.close()


def dt(data: Any, vendor: str = "test") -> v201.DataTransferRequest:
    return v201.DataTransferRequest(vendor_id=vendor, data=data)


def routers() -> dict[str, Router]:
    return {"2.0.1": csms_router("2.0.1"), "1.6": csms_router("1.6")}
