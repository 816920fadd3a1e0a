"""Our CSMS mirror reads a station built with the ``ocpp`` package (mobilityhouse 2.1.0), over
real WebSockets on 127.0.0.1, in 2.0.1 and 2.1.

The ocpp package's ChargePoint plays a station with a scripted device model: it answers
GetBaseReport and then sends the NotifyReport parts (a few variables each, ``seqNo``/``tbc``)
from its ``@after`` hook, as a station does; it answers GetVariables and SetVariables from the
same model. ocppkit's CSMSServer has a :class:`MirrorBook` registered on its router;
``fetch_report`` collects the parts; the mirror must equal what the station reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ocpp.routing import after, on
from ocpp.v21 import ChargePoint as OcppChargePoint21
from ocpp.v21 import call as call21
from ocpp.v21 import call_result as result21
from ocpp.v201 import ChargePoint as OcppChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action
from websockets.asyncio.client import connect

import ocppkit
from ocppkit import Router
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.devicemodel_csms import MirrorBook, ReportRefused, ReportTimeout, fetch_report
from ocppkit.adapters.websockets import SUBPROTOCOLS
from ocppkit.devicemodel import Component, Definition
from ocppkit.devicemodel.mirror import ValueChange, VariableRef

from ..devicemodel.mirror_support import MODULES, expected_definitions, report_data, station_model
from ._support import STEP_TIMEOUT, ocppkit_csms, run, run_charge_point, stop_task, within

logging.getLogger("ocpp").setLevel(logging.CRITICAL)

VERSIONS = ["2.0.1", "2.1"]
COMM = Component("OCPPCommCtrlr")


def _key(component: dict[str, Any], variable: dict[str, Any], attribute: str | None) -> tuple[Any, ...]:
    """A variable attribute as the ocpp package hands it over (snake_case keys)."""
    evse = component.get("evse") or {}
    return (
        component["name"],
        component.get("instance"),
        evse.get("id"),
        evse.get("connector_id"),
        variable["name"],
        variable.get("instance"),
        attribute or "Actual",
    )


class _DeviceModelStation:
    """What both versions' stations share: the model, the report script, Get/SetVariables."""

    call_module: Any
    result_module: Any

    def setup(self, version: str, model: list[Definition], per_part: int) -> None:
        self.version = version
        self.model = model
        self.per_part = per_part
        self.base_status = "Accepted"
        self.skip_part: int | None = None  # a part never sent: the report stays incomplete
        self.sent_parts: list[int] = []
        self.values: dict[tuple[Any, ...], str] = {}
        self.mutability: dict[tuple[Any, ...], str] = {}
        for d in model:
            c, v = d.component, d.variable
            for a in v.attributes:
                key = (c.name, c.instance, c.evse_id, c.connector_id, v.name, v.instance, a)
                self.values[key] = d.values.get(a, "")
                self.mutability[key] = v.mutability

    def base_report(self, request_id: int, report_base: str, **kwargs: Any) -> Any:
        return self.result_module.GetBaseReport(status=self.base_status)

    async def send_report(self, request_id: int, report_base: str, **kwargs: Any) -> None:
        if self.base_status != "Accepted":
            return
        rows = [report_data(self.version, self._current(d)) for d in self.model]
        chunks = [rows[i : i + self.per_part] for i in range(0, len(rows), self.per_part)]
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        for seq, chunk in enumerate(chunks):
            if seq == self.skip_part:
                continue
            self.sent_parts.append(seq)
            await self.call(  # type: ignore[attr-defined]
                self.call_module.NotifyReport(
                    request_id=request_id, generated_at=now, seq_no=seq, report_data=chunk, tbc=seq < len(chunks) - 1
                )
            )

    def _current(self, d: Definition) -> Definition:
        c, v = d.component, d.variable
        values = {
            a: self.values[(c.name, c.instance, c.evse_id, c.connector_id, v.name, v.instance, a)] for a in v.attributes
        }
        return Definition(c, v, values)

    def get_variables(self, get_variable_data: list[dict[str, Any]], **kwargs: Any) -> Any:
        results = []
        for d in get_variable_data:
            key = _key(d["component"], d["variable"], d.get("attribute_type"))
            row: dict[str, Any] = {"component": d["component"], "variable": d["variable"], "attribute_type": key[-1]}
            if key not in self.values:
                row["attribute_status"] = "UnknownVariable"
            elif self.mutability[key] == "WriteOnly":
                row["attribute_status"] = "Rejected"
            else:
                row["attribute_status"] = "Accepted"
                row["attribute_value"] = self.values[key]
            results.append(row)
        return self.result_module.GetVariables(get_variable_result=results)

    def set_variables(self, set_variable_data: list[dict[str, Any]], **kwargs: Any) -> Any:
        results = []
        for d in set_variable_data:
            key = _key(d["component"], d["variable"], d.get("attribute_type"))
            if key not in self.values:
                status = "UnknownVariable"
            elif self.mutability[key] == "ReadOnly":
                status = "Rejected"
            else:
                status = "Accepted"
                self.values[key] = d["attribute_value"]
            results.append(
                {
                    "component": d["component"],
                    "variable": d["variable"],
                    "attribute_type": key[-1],
                    "attribute_status": status,
                }
            )
        return self.result_module.SetVariables(set_variable_result=results)


class Station201(_DeviceModelStation, OcppChargePoint201):
    call_module = call201
    result_module = result201

    @on(Action.get_base_report)
    def on_get_base_report(self, **kwargs: Any) -> Any:
        return self.base_report(**kwargs)

    @after(Action.get_base_report)
    async def after_get_base_report(self, **kwargs: Any) -> None:
        await self.send_report(**kwargs)

    @on(Action.get_variables)
    def on_get_variables(self, **kwargs: Any) -> Any:
        return self.get_variables(**kwargs)

    @on(Action.set_variables)
    def on_set_variables(self, **kwargs: Any) -> Any:
        return self.set_variables(**kwargs)


class Station21(_DeviceModelStation, OcppChargePoint21):
    call_module = call21
    result_module = result21

    @on(Action.get_base_report)
    def on_get_base_report(self, **kwargs: Any) -> Any:
        return self.base_report(**kwargs)

    @after(Action.get_base_report)
    async def after_get_base_report(self, **kwargs: Any) -> None:
        await self.send_report(**kwargs)

    @on(Action.get_variables)
    def on_get_variables(self, **kwargs: Any) -> Any:
        return self.get_variables(**kwargs)

    @on(Action.set_variables)
    def on_set_variables(self, **kwargs: Any) -> Any:
        return self.set_variables(**kwargs)


class BareStation201(OcppChargePoint201):
    """No device model at all: the ocpp package answers GetBaseReport with a CALLERROR."""


def csms_with_book(version: str) -> tuple[Router, MirrorBook]:
    m = MODULES[version]
    router = Router(version)
    router.add(
        m.BootNotificationRequest,
        lambda req: m.BootNotificationResponse(
            current_time=dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
            interval=300,
            status=m.RegistrationStatusEnumType.ACCEPTED,
        ),
    )
    book = MirrorBook()
    book.register(router)
    return router, book


@contextlib.asynccontextmanager
async def package_station(cls: type, port: int, version: str, identity: str) -> AsyncIterator[Any]:
    async with connect(
        f"ws://127.0.0.1:{port}/{identity}", subprotocols=[SUBPROTOCOLS[version]], open_timeout=STEP_TIMEOUT
    ) as ws:
        cp = cls(identity, ws, response_timeout=STEP_TIMEOUT)
        task = asyncio.ensure_future(run_charge_point(cp))
        try:
            yield cp
        finally:
            await ws.close()
            await stop_task(task)


@pytest.mark.parametrize("version", VERSIONS)
def test_our_mirror_equals_what_the_ocpp_package_station_reported(version: str) -> None:
    model = station_model(version)
    cls = Station201 if version == "2.0.1" else Station21

    async def main() -> None:
        router, book = csms_with_book(version)
        async with ocppkit_csms(version, router) as csms:
            async with package_station(cls, csms.server.port, version, "PKG-DM-1") as cp:
                cp.setup(version, model, per_part=3)
                boot = cp.call_module.BootNotification(
                    charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp"
                )
                assert (await within(cp.call(boot))).status == "Accepted"
                await within(csms.connected.get())

                mirror = await within(fetch_report(csms.server, "PKG-DM-1", report_base="FullInventory", timeout=8))
                assert cp.sent_parts == [0, 1, 2]  # 8 variables, 3 a part
                assert mirror is book.mirror("PKG-DM-1") and mirror.version == version
                assert list(mirror) == expected_definitions(model)
                assert not mirror.diff(model)
                parts = csms.received_requests(MODULES[version].NotifyReportRequest)
                assert [(p.seq_no, p.tbc) for p in parts] == [(0, True), (1, True), (2, False)]

                # GetVariables through the builders: the answer updates the mirror
                results = await within(
                    book.get_variables(
                        csms.server,
                        "PKG-DM-1",
                        [
                            (COMM, "HeartbeatInterval"),
                            (Component("FanCtrlr", "left"), "Speed", "Target"),
                            ("SecurityCtrlr", "BasicAuthPassword"),
                            ("TxCtrlr", "Nope"),
                        ],
                    )
                )
                assert [(r.status, r.value) for r in results] == [
                    ("Accepted", "300"),
                    ("Accepted", "1500"),
                    ("Rejected", None),  # WriteOnly
                    ("UnknownVariable", None),
                ]

                # SetVariables: Accepted values go into the mirror, the Rejected one does not
                results = await within(
                    book.set_variables(
                        csms.server,
                        "PKG-DM-1",
                        [(COMM, "HeartbeatInterval", "120"), ("SecurityCtrlr", "SecurityProfile", "3")],
                    )
                )
                assert [(r.status, r.applied) for r in results] == [("Accepted", True), ("Rejected", False)]
                assert mirror.value(COMM, "HeartbeatInterval") == "120"
                assert mirror.value("SecurityCtrlr", "SecurityProfile") == "1"

                # A second report: the same as the mirror now; the diff of the two reports is the Set.
                again = await within(fetch_report(csms.server, "PKG-DM-1", timeout=8))
                assert again is mirror
                first, second = mirror.report(1), mirror.report(2)
                assert first is not None and second is not None
                assert first.diff(second).values == (
                    ValueChange(VariableRef(COMM, "HeartbeatInterval"), "Actual", "300", "120"),
                )
                assert not second.diff(mirror)

    run(main())


def test_refusals_callerrors_and_missing_parts() -> None:
    version = "2.0.1"
    model = station_model(version)

    async def main() -> None:
        router, book = csms_with_book(version)
        async with ocppkit_csms(version, router) as csms:
            async with package_station(Station201, csms.server.port, version, "PKG-DM-2") as cp:
                cp.setup(version, model, per_part=2)
                await within(csms.connected.get())
                session = csms.server.sessions["PKG-DM-2"]

                cp.base_status = "NotSupported"
                with pytest.raises(ReportRefused, match="answered GetBaseReport NotSupported"):
                    await within(fetch_report(session, report_base="ConfigurationInventory", timeout=5))

                cp.base_status = "Accepted"
                cp.skip_part = 1  # seqNo 1 of 4 never comes
                with pytest.raises(
                    ReportTimeout, match=r"3 parts arrived up to the last \(seqNo 3\), missing seqNo 1$"
                ):
                    await within(fetch_report(session, timeout=1.5))
                mirror = book.mirror("PKG-DM-2")
                assert mirror is not None and len(mirror) == 0  # half a report never shows
                (pending,) = mirror.pending().values()
                assert pending.missing == (1,)

            async with package_station(BareStation201, csms.server.port, version, "PKG-DM-3"):
                await within(csms.connected.get())
                with pytest.raises(ocppkit.CallErrorResponse) as refused:
                    await within(fetch_report(csms.server, "PKG-DM-3", book=book, timeout=5))
                assert refused.value.code in ("NotImplemented", "NotSupported")

    run(main())


def test_wiring_mistakes_are_named() -> None:
    async def main() -> None:
        async with ocppkit_csms("2.0.1") as csms:  # the demo router: its own NotifyReport acknowledgement
            async with package_station(BareStation201, csms.server.port, "2.0.1", "PKG-DM-4"):
                await within(csms.connected.get())
                with pytest.raises(ValueError, match="book: the station's router has no MirrorBook NotifyReport"):
                    await fetch_report(csms.server, "PKG-DM-4")
        with pytest.raises(ValueError, match="already has a handler"):
            MirrorBook().register(csms_router("2.0.1"))
        with pytest.raises(ValueError, match=r"router: expected a Router\('2.0.1'\) or Router\('2.1'\)"):
            MirrorBook().register(Router("1.6"))

    run(main())


@pytest.mark.parametrize("version", VERSIONS)
def test_the_demo_csms_reads_and_sets_the_device_model_after_the_boot(version: str) -> None:
    """``csms_router(version, device_model=True)`` (the demo CSMS's device-model steps) against
    the ocpp package's station: a FullInventory report, then a SetVariables of HeartbeatInterval."""
    model = station_model(version)
    cls = Station201 if version == "2.0.1" else Station21

    async def main() -> list[str]:
        notes: list[str] = []
        done = asyncio.Event()

        def note(text: str) -> None:
            notes.append(text)
            if "SetVariables" in text:
                done.set()

        router = csms_router(version, device_model=True, on_note=note)
        async with ocppkit_csms(version, router) as csms:
            async with package_station(cls, csms.server.port, version, "PKG-DM-5") as cp:
                cp.setup(version, model, per_part=3)
                boot = cp.call_module.BootNotification(
                    charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp"
                )
                assert (await within(cp.call(boot))).status == "Accepted"
                await within(done.wait())
                called = [f for _, d, f in csms.frames if d == "out" and f.startswith(b"[2,")]  # the CSMS's CALLs
                assert [c.split(b",")[2] for c in called] == [b'"GetBaseReport"', b'"SetVariables"']
        return notes

    notes = run(main())
    assert notes == [
        "device model: PKG-DM-5 reported 8 variables of 6 components",
        "device model: SetVariables OCPPCommCtrlr.HeartbeatInterval=300 on PKG-DM-5: Accepted",
    ]
