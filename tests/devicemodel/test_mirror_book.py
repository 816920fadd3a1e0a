"""MirrorBook and fetch_report over loopback WebSockets, with a station of ours (ChargingStation
and a Router) whose report parts the test scripts: out of order, repeated, contradicting,
empty; a Session as the target; the wiring and the errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import pytest

import ocppkit
from ocppkit import Router, v201
from ocppkit.adapters.asyncio import current_session
from ocppkit.adapters.devicemodel_csms import MirrorBook, ReportRefused, ReportTimeout, fetch_report
from ocppkit.adapters.registry import StationNotConnected
from ocppkit.adapters.websockets import ChargingStation, CSMSServer
from ocppkit.devicemodel import Component

from .mirror_support import expected_definitions, notify_parts, station_model

VERSION = "2.0.1"
COMM = Component("OCPPCommCtrlr")


def run(coro: Any, timeout: float = 30.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


def reporting_station(
    script: Callable[[int], list[Any]],
    status: str = "Accepted",
    acks: list[Any] | None = None,
    seen: list[Any] | None = None,
) -> Router:
    """A station answering GetBaseReport and GetReport with ``status``, then sending
    ``script(request_id)``'s parts one after the other (each CALLRESULT is kept in ``acks``,
    each GetReport request in ``seen``)."""
    if seen is None:
        seen = []
    router = Router(VERSION)
    tasks: set[asyncio.Task[Any]] = set()

    async def send(request_id: int) -> None:
        session = current_session()
        for part in script(request_id):
            answer = await session.call(part)
            if acks is not None:
                acks.append(answer)

    def get_base_report(req: v201.GetBaseReportRequest) -> v201.GetBaseReportResponse:
        if status == "Accepted":
            task = asyncio.get_running_loop().create_task(send(req.request_id))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        return v201.GetBaseReportResponse(status=v201.GenericDeviceModelStatusEnumType(status))

    def get_report(req: v201.GetReportRequest) -> v201.GetReportResponse:
        seen.append(req)
        if status == "Accepted":
            task = asyncio.get_running_loop().create_task(send(req.request_id))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        return v201.GetReportResponse(status=v201.GenericDeviceModelStatusEnumType(status))

    router.add(v201.GetBaseReportRequest, get_base_report)
    router.add(v201.GetReportRequest, get_report)
    return router


async def with_station(station_router: Router, body: Callable[[CSMSServer, MirrorBook], Any]) -> Any:
    router = Router(VERSION)
    book = MirrorBook()
    book.register(router)
    async with CSMSServer(router, ping_interval=None) as csms:
        await csms.start("127.0.0.1", 0)
        url = f"ws://127.0.0.1:{csms.port}/OURS-1"
        async with ChargingStation(url, station_router, versions=[VERSION], ping_interval=None):
            await csms.wait_for("OURS-1", timeout=10)
            return await body(csms, book)


def test_parts_out_of_order_and_repeated_make_one_report() -> None:
    model = station_model(VERSION)
    acks: list[Any] = []

    def script(rid: int) -> list[Any]:
        p0, p1, p2 = notify_parts(VERSION, model, per_part=3, request_id=rid)
        return [p2, p0, p0, p1]  # the last first, part 0 twice

    async def body(csms: CSMSServer, book: MirrorBook) -> None:
        mirror = await fetch_report(csms, "OURS-1", timeout=10)
        assert list(mirror) == expected_definitions(model)
        assert not mirror.diff(model)
        assert book.identities() == ["OURS-1"]

    run(with_station(reporting_station(script, acks=acks), body))
    assert acks == [v201.NotifyReportResponse()] * 4  # every part acknowledged, the repeat too


def test_a_session_as_the_target_and_an_empty_result_set() -> None:
    async def body(csms: CSMSServer, book: MirrorBook) -> None:
        session = csms.sessions["OURS-1"]
        mirror = await fetch_report(session, report_base="SummaryInventory", timeout=5)
        assert len(mirror) == 0 and mirror.pending() == {}  # EmptyResultSet: no report to wait for
        with pytest.raises(ValueError, match="identity: the session is station 'OURS-1', not 'OTHER'"):
            await fetch_report(session, "OTHER")
        with pytest.raises(StationNotConnected, match="station 'NOBODY' is not connected"):
            await fetch_report(csms, "NOBODY")
        with pytest.raises(StationNotConnected):
            await book.fetch(csms, "NOBODY")

    run(with_station(reporting_station(lambda rid: [], status="EmptyResultSet"), body))


def test_a_contradicting_part_is_logged_and_acknowledged_and_the_report_times_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    model = station_model(VERSION)
    acks: list[Any] = []

    def script(rid: int) -> list[Any]:
        first = notify_parts(VERSION, model, per_part=4, request_id=rid)
        other = notify_parts(VERSION, model[1:], per_part=4, request_id=rid)
        return [first[0], other[0]]  # part 0 twice, differently; part 1 never

    async def body(csms: CSMSServer, book: MirrorBook) -> None:
        with pytest.raises(ReportTimeout, match=r"incomplete: 1 parts arrived, the last \(tbc false\) not yet$"):
            await fetch_report(csms, "OURS-1", timeout=1.0)
        mirror = book.mirror("OURS-1")
        assert mirror is not None and len(mirror) == 0

    with caplog.at_level(logging.WARNING, logger="ocppkit"):
        run(with_station(reporting_station(script, acks=acks), body))
    assert acks == [v201.NotifyReportResponse()] * 2
    (refused,) = [r.getMessage() for r in caplog.records if "NotifyReport" in r.getMessage()]
    assert refused == "NotifyReport of OURS-1 refused: seqNo: report 1 already has a different part 0"


def test_get_report_with_filters_merges_into_the_mirror_and_refusals_name_it() -> None:
    model = station_model(VERSION)
    seen: list[Any] = []

    def script(rid: int) -> list[Any]:
        return notify_parts(VERSION, [d for d in model if d.component == COMM], per_part=1, request_id=rid)

    async def body(csms: CSMSServer, book: MirrorBook) -> None:
        mirror = await book.get_report(csms, "OURS-1", components=[COMM], criteria=["Enabled"], timeout=10)
        assert [str(r) for r in mirror.variables(COMM)] == [
            "OCPPCommCtrlr.HeartbeatInterval",
            "OCPPCommCtrlr.MessageTimeout[Default]",
        ]
        (request,) = seen
        assert request.component_variable[0].component.name == "OCPPCommCtrlr"
        assert [c.value for c in request.component_criteria] == ["Enabled"]
        report = mirror.report(request.request_id)
        assert report is not None and len(report) == 2

    run(with_station(reporting_station(script, seen=seen), body))

    async def refused(csms: CSMSServer, book: MirrorBook) -> None:
        with pytest.raises(ReportRefused, match="station 'OURS-1' answered GetReport NotSupported"):
            await book.get_report(csms, "OURS-1", criteria=["Problem"], timeout=5)

    run(with_station(reporting_station(script, status="NotSupported"), refused))


def test_a_station_that_comes_back_with_another_version_gets_a_new_mirror() -> None:
    book = MirrorBook()
    (part,) = notify_parts("2.0.1", station_model("2.0.1")[:1], per_part=1)
    progress = book.feed("CS-9", part)
    assert progress is not None and progress.complete
    old = book.mirror("CS-9")
    assert old is not None and old.version == "2.0.1" and len(old) == 1
    (part21,) = notify_parts("2.1", station_model("2.1")[:2], per_part=2)
    book.feed("CS-9", part21)
    new = book.mirror("CS-9")
    assert new is not None and new is not old and new.version == "2.1" and len(new) == 2
    book.forget("CS-9")
    assert book.mirror("CS-9") is None and book.identities() == []


def test_waiting_for_a_report_that_never_comes() -> None:
    async def main() -> None:
        book = MirrorBook()
        with pytest.raises(ReportTimeout, match="report 5 of station 'CS-1' incomplete: no NotifyReport part arrived"):
            await book.wait_report("CS-1", 5, 0.05)

    run(main())


def test_generated_at_is_kept() -> None:
    (part,) = notify_parts(VERSION, station_model(VERSION)[:1], per_part=1)
    book = MirrorBook()
    book.feed("CS-1", part)
    mirror = book.mirror("CS-1")
    assert mirror is not None and mirror.generated_at == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


def test_a_station_that_answers_too_late_is_a_call_timeout_through_a_session() -> None:
    router = Router(VERSION)
    release = asyncio.Event()

    async def late(req: v201.GetBaseReportRequest) -> v201.GetBaseReportResponse:
        await release.wait()  # answers only after the CSMS gave up (a late response)
        return v201.GetBaseReportResponse(status=v201.GenericDeviceModelStatusEnumType.ACCEPTED)

    router.add(v201.GetBaseReportRequest, late)

    async def body(csms: CSMSServer, book: MirrorBook) -> None:
        with pytest.raises(ocppkit.CallTimeout, match="No answer to GetBaseReport within 0.5 s"):
            await book.fetch(csms.sessions["OURS-1"], timeout=0.5)
        mirror = book.mirror("OURS-1")
        assert mirror is not None and mirror.pending() == {}
        release.set()

    run(with_station(router, body))
