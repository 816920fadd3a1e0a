"""A small station's definitions for the device-model tests (the standard catalogue lands
separately; these are written out by hand)."""

from __future__ import annotations

from ocppkit.devicemodel import Component, Definition, VariableSpec

COMM = Component("OCPPCommCtrlr")
DATA = Component("DeviceDataCtrlr")
SEC = Component("SecurityCtrlr")
STATION = Component("ChargingStation")
EVSE1 = Component("EVSE", evse_id=1)
CONN11 = Component("Connector", evse_id=1, connector_id=1)
TX = Component("TxCtrlr")


def spec(name: str, **kw: object) -> VariableSpec:
    return VariableSpec(name, **kw)  # type: ignore[arg-type]


def station(
    items: int | None = None, report_items: int | None = None, report_bytes: int | None = None
) -> list[Definition]:
    """OCPPCommCtrlr, SecurityCtrlr, DeviceDataCtrlr, TxCtrlr, the station, one EVSE, one connector."""
    defs = [
        Definition(COMM, spec("HeartbeatInterval", data_type="integer", unit="s", min_limit=1), {"Actual": "300"}),
        Definition(
            COMM,
            spec("MessageTimeout", instance="Default", data_type="integer", unit="s", min_limit=1),
            {"Actual": "30"},
        ),
        Definition(COMM, spec("OfflineThreshold", data_type="integer", unit="s", min_limit=0), {"Actual": "600"}),
        Definition(
            COMM,
            spec("MessageAttempts", instance="TransactionEvent", data_type="integer", min_limit=1),
            {"Actual": "3"},
        ),
        Definition(
            COMM,
            spec("MessageAttemptInterval", instance="TransactionEvent", data_type="integer", unit="s", min_limit=0),
            {"Actual": "60"},
        ),
        Definition(
            COMM,
            spec("FileTransferProtocols", data_type="MemberList", values_list=("FTP", "FTPS", "HTTP", "HTTPS")),
            {"Actual": "HTTPS"},
        ),
        Definition(
            COMM, spec("NetworkProfileConnectionAttempts", data_type="integer", reboot_required=True), {"Actual": "3"}
        ),
        Definition(SEC, spec("SecurityProfile", data_type="integer", mutability="ReadOnly"), {"Actual": "1"}),
        Definition(
            SEC,
            spec("BasicAuthPassword", data_type="string", mutability="WriteOnly", max_limit=40),
            {"Actual": "s3cret-password-16ch"},
        ),
        Definition(SEC, spec("OrganizationName", data_type="string", max_limit=20), {"Actual": "ocppkit"}),
        Definition(
            TX,
            spec(
                "TxStartPoint",
                data_type="MemberList",
                values_list=("ParkingBayOccupancy", "EVConnected", "Authorized", "PowerPathClosed", "EnergyTransfer"),
            ),
            {"Actual": "PowerPathClosed"},
        ),
        Definition(TX, spec("StopTxOnInvalidId", data_type="boolean"), {"Actual": "true"}),
        Definition(
            STATION,
            spec(
                "AvailabilityState",
                data_type="OptionList",
                mutability="ReadOnly",
                values_list=("Available", "Occupied", "Reserved", "Unavailable", "Faulted"),
            ),
            {"Actual": "Available"},
        ),
        Definition(STATION, spec("Available", data_type="boolean", mutability="ReadOnly"), {"Actual": "true"}),
        Definition(STATION, spec("Model", data_type="string", mutability="ReadOnly"), {"Actual": "KitBox"}),
        Definition(
            EVSE1,
            spec(
                "AvailabilityState",
                data_type="OptionList",
                mutability="ReadOnly",
                values_list=("Available", "Occupied", "Faulted"),
            ),
            {"Actual": "Available"},
        ),
        Definition(EVSE1, spec("Available", data_type="boolean", mutability="ReadOnly"), {"Actual": "true"}),
        Definition(
            EVSE1,
            spec(
                "Power",
                data_type="decimal",
                unit="W",
                mutability="ReadOnly",
                max_limit=22000,
                attributes=("Actual", "MaxSet"),
            ),
            {"Actual": "0", "MaxSet": "22000"},
        ),
        Definition(EVSE1, spec("Problem", data_type="boolean", mutability="ReadOnly"), {"Actual": "false"}),
        Definition(
            CONN11,
            spec(
                "AvailabilityState",
                data_type="OptionList",
                mutability="ReadOnly",
                values_list=("Available", "Occupied", "Faulted"),
            ),
            {"Actual": "Available"},
        ),
        Definition(CONN11, spec("Available", data_type="boolean", mutability="ReadOnly"), {"Actual": "false"}),
        Definition(CONN11, spec("Problem", data_type="boolean", mutability="ReadOnly"), {"Actual": "true"}),
        Definition(CONN11, spec("ConnectorType", data_type="string", mutability="ReadOnly"), {"Actual": "cType2"}),
    ]
    limits = {"GetVariables": items, "SetVariables": items, "GetReport": report_items}
    for which, most in limits.items():
        if most is not None:
            defs.append(
                Definition(
                    DATA,
                    spec("ItemsPerMessage", instance=which, data_type="integer", mutability="ReadOnly"),
                    {"Actual": str(most)},
                )
            )
    if report_bytes is not None:
        defs.append(
            Definition(
                DATA,
                spec("BytesPerMessage", instance="GetReport", data_type="integer", mutability="ReadOnly"),
                {"Actual": str(report_bytes)},
            )
        )
    defs.append(
        Definition(DATA, spec("ConfigurationValueSize", data_type="integer", mutability="ReadOnly"), {"Actual": "100"})
    )
    return defs
