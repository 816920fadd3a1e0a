"""The station's device model over real loopback WebSockets: our CSMSServer asks our
ChargingStation (bind_station) GetBaseReport (several NotifyReport parts after the CALLRESULT,
in order), GetVariables/SetVariables (the station's settings follow), GetReport; 1.6
GetConfiguration/ChangeConfiguration."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from ocppkit import Router, v16, v201
from ocppkit.adapters.devicemodel import bind_station
from ocppkit.adapters.websockets import ChargingStation, CSMSServer
from ocppkit.devicemodel import KEYS_COMPONENT, Definition, DeviceModel, MemoryStore, VariableSpec
from tests.adapters.aio import run, until
from tests.devicemodel.dm_station import COMM, station

AT = dt.datetime(2026, 12, 2, 4, 0, tzinfo=dt.timezone.utc)


def csms_router(version: str, notified: list[Any], interval: int = 300) -> Router:
    m: Any = v16 if version == "1.6" else v201
    r = Router(version)
    r.add(
        m.BootNotificationRequest,
        lambda req: (
            m.BootNotificationResponse(current_time=AT, interval=interval, status=m.RegistrationStatus("Accepted"))
            if version == "1.6"
            else m.BootNotificationResponse(
                current_time=AT, interval=interval, status=m.RegistrationStatusEnumType("Accepted")
            )
        ),
    )
    r.add(m.HeartbeatRequest, lambda req: (notified.append(req), m.HeartbeatResponse(current_time=AT))[1])
    if version != "1.6":
        r.add(m.NotifyReportRequest, lambda req: (notified.append(req), m.NotifyReportResponse())[1])
    return r


def boot201() -> v201.BootNotificationRequest:
    return v201.BootNotificationRequest(
        charging_station=v201.ChargingStationType(model="KitBox", vendor_name="ocppkit"),
        reason=v201.BootReasonEnumType.POWER_UP,
    )


def sv(component: str, variable: str, value: str, instance: str | None = None) -> v201.SetVariableDataType:
    var = v201.VariableType(name=variable) if instance is None else v201.VariableType(name=variable, instance=instance)
    return v201.SetVariableDataType(component=v201.ComponentType(name=component), variable=var, attribute_value=value)


def test_base_report_variables_and_settings_over_websockets() -> None:
    async def main() -> None:
        notified: list[Any] = []
        frames: list[tuple[str, Any]] = []
        csms = CSMSServer(csms_router("2.0.1", notified, interval=1), versions=("2.0.1",))
        await csms.start("127.0.0.1", 0)
        model = DeviceModel("2.0.1", MemoryStore(), station(report_items=4))
        st = ChargingStation(
            f"ws://127.0.0.1:{csms.port}/CS-DM",
            Router("2.0.1"),
            versions=["2.0.1"],
            on_frame=lambda ident, direction, data: frames.append((direction, json.loads(data))),
        )
        binding = bind_station(st, model, clock=lambda: AT)
        assert st.call_timeout == 30 and st.outbox.core.settings.attempts == 3  # from the model
        assert st.outbox.core.settings.retry_interval == 60
        try:
            async with st:
                # -- GetBaseReport: the CALLRESULT, then the parts in order, tbc on all but the last
                response = await csms.call(
                    "CS-DM", v201.GetBaseReportRequest(request_id=5, report_base=v201.ReportBaseEnumType.FULL_INVENTORY)
                )
                assert response.status.value == "Accepted"
                total = len(model.variables())
                expected = -(-total // 4)
                await until(lambda: len(notified) == expected)
                await binding.service.reports_sent()
                assert [n.seq_no for n in notified] == list(range(expected))
                assert [n.tbc for n in notified] == [True] * (expected - 1) + [False]
                assert all(n.request_id == 5 and n.generated_at == AT for n in notified)
                assert sum(len(n.report_data) for n in notified) == total
                out = [f for d, f in frames if d == "out"]
                first_notify = next(i for i, f in enumerate(out) if f[0] == 2 and f[2] == "NotifyReport")
                assert any(f[0] == 3 and f[2] == {"status": "Accepted"} for f in out[:first_notify])
                assert len(binding.service.sent) == expected
                notified.clear()

                # -- GetVariables / SetVariables
                got = await csms.call(
                    "CS-DM",
                    v201.GetVariablesRequest(
                        get_variable_data=[
                            v201.GetVariableDataType(
                                component=v201.ComponentType(name="OCPPCommCtrlr"),
                                variable=v201.VariableType(name="MessageTimeout", instance="Default"),
                            ),
                            v201.GetVariableDataType(
                                component=v201.ComponentType(name="SecurityCtrlr"),
                                variable=v201.VariableType(name="BasicAuthPassword"),
                            ),
                        ]
                    ),
                )
                assert [(r.attribute_status.value, r.attribute_value) for r in got.get_variable_result][0] == (
                    "Accepted",
                    "30",
                )
                assert got.get_variable_result[1].attribute_status.value == "Rejected"
                result = await csms.call(
                    "CS-DM",
                    v201.SetVariablesRequest(
                        set_variable_data=[
                            sv("OCPPCommCtrlr", "MessageTimeout", "12", "Default"),
                            sv("OCPPCommCtrlr", "MessageAttempts", "5", "TransactionEvent"),
                            sv("OCPPCommCtrlr", "MessageAttemptInterval", "7", "TransactionEvent"),
                            sv("SecurityCtrlr", "SecurityProfile", "3"),
                        ]
                    ),
                )
                assert [r.attribute_status.value for r in result.set_variable_result] == [
                    "Accepted",
                    "Accepted",
                    "Accepted",
                    "Rejected",
                ]
                assert st.call_timeout == 12  # the next connection's sessions
                assert (st.outbox.core.settings.attempts, st.outbox.core.settings.retry_interval) == (5, 7)

                # -- heartbeats: the BootNotification's interval, then a SetVariables of it
                boot = await binding.boot(boot201())
                assert boot.interval == 1 and model.get(COMM, "HeartbeatInterval") == "1"
                assert model.source(COMM, "HeartbeatInterval") == "csms"
                await until(lambda: binding.heartbeats >= 1, timeout=5)
                result = await csms.call(
                    "CS-DM",
                    v201.SetVariablesRequest(set_variable_data=[sv("OCPPCommCtrlr", "HeartbeatInterval", "3600")]),
                )
                assert result.set_variable_result[0].attribute_status.value == "Accepted"
                beats = binding.heartbeats
                assert binding.heartbeat_interval == 3600 and binding.offline_threshold == 600

                # -- GetReport with a criterion
                response = await csms.call(
                    "CS-DM",
                    v201.GetReportRequest(request_id=6, component_criteria=[v201.ComponentCriterionEnumType.PROBLEM]),
                )
                assert response.status.value == "Accepted"
                await until(lambda: any(isinstance(n, v201.NotifyReportRequest) for n in notified))
                reports = [n for n in notified if isinstance(n, v201.NotifyReportRequest)]
                assert {r.component.name for n in reports for r in n.report_data} == {"Connector"}
                response = await csms.call(
                    "CS-DM",
                    v201.GetReportRequest(request_id=7, component_criteria=[v201.ComponentCriterionEnumType.ACTIVE]),
                )
                assert response.status.value == "EmptyResultSet"
                assert binding.heartbeats == beats  # re-timed to an hour: no more heartbeats
        finally:
            await binding.close()
            await csms.close()

    run(main(), timeout=30)


def test_ocpp16_configuration_over_websockets() -> None:
    async def main() -> None:
        notified: list[Any] = []
        csms = CSMSServer(csms_router("1.6", notified), versions=("1.6",))
        await csms.start("127.0.0.1", 0)
        defs = [
            Definition(
                KEYS_COMPONENT, VariableSpec("HeartbeatInterval", data_type="integer", min_limit=0), {"Actual": "300"}
            ),
            Definition(
                KEYS_COMPONENT,
                VariableSpec("TransactionMessageAttempts", data_type="integer", min_limit=1),
                {"Actual": "4"},
            ),
            Definition(
                KEYS_COMPONENT, VariableSpec("AuthorizationKey", mutability="WriteOnly"), {"Actual": "00112233"}
            ),
            Definition(
                KEYS_COMPONENT,
                VariableSpec("NumberOfConnectors", data_type="integer", mutability="ReadOnly"),
                {"Actual": "1"},
            ),
        ]
        model = DeviceModel("1.6", MemoryStore(), defs)
        st = ChargingStation(f"ws://127.0.0.1:{csms.port}/CS-16", Router("1.6"), versions=["1.6"])
        binding = bind_station(st, model)
        assert st.outbox.core.settings.attempts == 4
        try:
            async with st:
                got = await csms.call("CS-16", v16.GetConfigurationRequest())
                assert {k.key: (k.readonly, k.value) for k in got.configuration_key} == {
                    "HeartbeatInterval": (False, "300"),
                    "TransactionMessageAttempts": (False, "4"),
                    "NumberOfConnectors": (True, "1"),
                }
                got = await csms.call("CS-16", v16.GetConfigurationRequest(key=["AuthorizationKey", "Nope"]))
                assert got.unknown_key == ["AuthorizationKey", "Nope"]
                for key, value, status in (
                    ("TransactionMessageAttempts", "2", "Accepted"),
                    ("NumberOfConnectors", "2", "Rejected"),
                    ("HeartbeatInterval", "-5", "Rejected"),
                    ("Nope", "1", "NotSupported"),
                ):
                    changed = await csms.call("CS-16", v16.ChangeConfigurationRequest(key=key, value=value))
                    assert changed.status.value == status, key
                assert st.outbox.core.settings.attempts == 2
                boot = await binding.boot(
                    v16.BootNotificationRequest(charge_point_model="KitBox", charge_point_vendor="ocppkit")
                )
                assert boot.status.value == "Accepted" and model.get(KEYS_COMPONENT, "HeartbeatInterval") == "300"
        finally:
            await binding.close()
            await csms.close()

    run(main(), timeout=30)


def test_a_router_of_another_version_is_refused() -> None:
    from ocppkit.adapters.devicemodel import DeviceModelService

    with pytest.raises(ValueError, match="serves OCPP 1.6; the device model is 2.0.1"):
        DeviceModelService(DeviceModel("2.0.1", MemoryStore(), station())).register(Router("1.6"))


def test_ocpp21_base_report_and_variables_over_websockets() -> None:
    from ocppkit import v21

    async def main() -> None:
        notified: list[Any] = []
        router = Router("2.1")
        router.add(v21.NotifyReportRequest, lambda req: (notified.append(req), v21.NotifyReportResponse())[1])
        csms = CSMSServer(router, versions=("2.1",))
        await csms.start("127.0.0.1", 0)
        model = DeviceModel("2.1", MemoryStore(), station(report_items=10))
        st = ChargingStation(f"ws://127.0.0.1:{csms.port}/CS-21", Router("2.1"), versions=["2.1"])
        binding = bind_station(st, model, clock=lambda: AT)
        try:
            async with st:
                response = await csms.call(
                    "CS-21",
                    v21.GetBaseReportRequest(request_id=2, report_base=v21.ReportBaseEnumType.SUMMARY_INVENTORY),
                )
                assert response.status.value == "Accepted"
                await until(lambda: len(notified) == 1)
                assert [r.variable.name for r in notified[0].report_data] == ["AvailabilityState"] * 3 + ["Problem"]
                got = await csms.call(
                    "CS-21",
                    v21.GetVariablesRequest(
                        get_variable_data=[
                            v21.GetVariableDataType(
                                component=v21.ComponentType(name="Connector", evse=v21.EVSEType(id=1, connector_id=1)),
                                variable=v21.VariableType(name="ConnectorType"),
                            )
                        ]
                    ),
                )
                assert got.get_variable_result[0].attribute_value == "cType2"
        finally:
            await binding.close()
            await csms.close()

    run(main(), timeout=30)


def test_a_refused_notify_report_stops_the_parts_and_is_logged_escaped(caplog: pytest.LogCaptureFixture) -> None:
    import ocppkit

    async def main() -> None:
        seen: list[int] = []

        def notify(req: v201.NotifyReportRequest) -> v201.NotifyReportResponse:
            seen.append(req.seq_no)
            if req.seq_no == 1:
                raise ocppkit.CallErrorReply(ocppkit.ErrorCode.GENERIC_ERROR, "no more\x1b[31m please")
            return v201.NotifyReportResponse()

        router = Router("2.0.1")
        router.add(v201.NotifyReportRequest, notify)
        csms = CSMSServer(router, versions=("2.0.1",))
        await csms.start("127.0.0.1", 0)
        model = DeviceModel("2.0.1", MemoryStore(), station(report_items=2))
        st = ChargingStation(f"ws://127.0.0.1:{csms.port}/CS-NO", Router("2.0.1"), versions=["2.0.1"])
        binding = bind_station(st, model)
        try:
            async with st:
                request = v201.GetBaseReportRequest(request_id=1, report_base=v201.ReportBaseEnumType.FULL_INVENTORY)
                assert (await csms.call("CS-NO", request)).status.value == "Accepted"
                await until(lambda: len(seen) == 2)
                await binding.service.reports_sent()
                assert seen == [0, 1] and [p.seq_no for p in binding.service.sent] == [0]
        finally:
            await binding.close()
            await csms.close()

    run(main(), timeout=30)
    line = next(r.getMessage() for r in caplog.records if "NotifyReport 1/" in r.getMessage())
    assert "no more\\x1b[31m please" in line and "\x1b" not in line


def test_the_smart_charging_capabilities_come_from_the_device_model() -> None:
    from pathlib import Path

    from ocppkit import smartcharging as sc
    from ocppkit.adapters.devicemodel import smart_charging_capabilities
    from ocppkit.devicemodel import DeviceModel, MemoryStore
    from ocppkit.devicemodel.config import load_config

    examples = Path(__file__).resolve().parents[2] / "examples" / "devicemodel"
    model201 = DeviceModel("2.0.1", MemoryStore(), load_config(examples / "station-201.toml", "2.0.1"))
    caps = smart_charging_capabilities(model201)
    assert (caps.rate_units, caps.max_stack_level, caps.max_periods) == (("A", "W"), 8, 48)
    assert (caps.evse_ids, caps.supply_phases, caps.phase_switching) == ((1, 2), 3, False)
    # a profile above ProfileStackLevel is refused by the station that reads it from its model
    station = sc.StationProfiles("2.0.1", evses=(1, 2), capabilities=caps)
    assert station.capabilities.max_stack_level == 8
    model16 = DeviceModel("1.6", MemoryStore(), load_config(examples / "station-16.toml", "1.6"))
    caps16 = smart_charging_capabilities(model16)
    assert (caps16.rate_units, caps16.max_stack_level, caps16.max_periods, caps16.evse_ids) == (
        ("A", "W"),
        8,
        48,
        (1, 2),
    )
