"""The simulated station's device model, for ``ocppkit demo`` and ``ocppkit station``: the
components every 2.x station has (ChargingStation, OCPPCommCtrlr, DeviceDataCtrlr, ClockCtrlr,
SecurityCtrlr) and one EVSE with one connector, or 1.6's Core keys, validated by
:func:`ocppkit.devicemodel.config.load_config` like any configuration file."""

from __future__ import annotations

from typing import Any

from ..devicemodel import DeviceModel, MemoryStore
from ..devicemodel.config import load_config

__all__ = ["demo_device_model"]

_2X: dict[str, Any] = {
    "ChargingStation": {
        "AvailabilityState": "Available",
        "Available": True,
        "SupplyPhases": 3,
        "Model": "ocppkit-demo",
    },
    "OCPPCommCtrlr": {
        "ActiveNetworkProfile": 1,
        "FileTransferProtocols": "HTTPS",
        "HeartbeatInterval": 300,
        "MessageTimeout[Default]": 30,
        "MessageAttemptInterval[TransactionEvent]": 60,
        "MessageAttempts[TransactionEvent]": 3,
        "NetworkConfigurationPriority": "1",
        "NetworkProfileConnectionAttempts": 3,
        "OfflineThreshold": 120,
        "ResetRetries": 2,
        "UnlockOnEVSideDisconnect": True,
    },
    "DeviceDataCtrlr": {
        "BytesPerMessage[GetReport]": 65000,
        "BytesPerMessage[GetVariables]": 65000,
        "BytesPerMessage[SetVariables]": 65000,
        "ItemsPerMessage[GetReport]": 20,
        "ItemsPerMessage[GetVariables]": 50,
        "ItemsPerMessage[SetVariables]": 50,
    },
    "ClockCtrlr": {"DateTime": "2026-01-01T00:00:00Z", "TimeSource": "Heartbeat"},
    "SecurityCtrlr": {"CertificateEntries": 0, "OrganizationName": "ocppkit demo", "SecurityProfile": 1},
    "EVSE": [
        {
            "id": 1,
            "AvailabilityState": "Available",
            "Available": True,
            "Power": {"value": 0, "MaxSet": 22000, "max_limit": 22000},
            "SupplyPhases": 3,
            "Connector": [
                {
                    "id": 1,
                    "AvailabilityState": "Available",
                    "Available": True,
                    "ConnectorType": "cType2",
                    "SupplyPhases": 3,
                }
            ],
        }
    ],
}

_16: dict[str, Any] = {
    "profiles": ["Core"],
    "keys": {
        "AuthorizeRemoteTxRequests": True,
        "ClockAlignedDataInterval": 900,
        "ConnectionTimeOut": 120,
        "ConnectorPhaseRotation": "0.RST,1.RST",
        "GetConfigurationMaxKeys": 50,
        "HeartbeatInterval": 300,
        "LocalAuthorizeOffline": True,
        "LocalPreAuthorize": False,
        "MeterValuesAlignedData": "Energy.Active.Import.Register",
        "MeterValuesSampledData": "Energy.Active.Import.Register",
        "MeterValueSampleInterval": 60,
        "NumberOfConnectors": 1,
        "ResetRetries": 2,
        "StopTransactionOnEVSideDisconnect": True,
        "StopTransactionOnInvalidId": True,
        "StopTxnAlignedData": "",
        "StopTxnSampledData": "Energy.Active.Import.Register",
        "SupportedFeatureProfiles": "Core,SmartCharging",
        "TransactionMessageAttempts": 3,
        "TransactionMessageRetryInterval": 60,
        "UnlockConnectorOnEVSideDisconnect": True,
    },
}


def demo_device_model(version: str) -> DeviceModel:
    """The simulated station's :class:`~ocppkit.devicemodel.DeviceModel` (in memory)."""
    mapping = {"version": version, **(_16 if version == "1.6" else _2X)}
    return DeviceModel(version, MemoryStore(), load_config(mapping, version))
