"""Checked by mypy --strict (tests/test_typing.py), never executed: it pins the key inferences."""

from __future__ import annotations

from typing import TypeVar, assert_type

import ocppkit
from ocppkit import v16, v201, v21

R = TypeVar("R", bound=ocppkit.Response)


def call(request: ocppkit.Request[R]) -> R:
    """What an adapter's `call` looks like: one signature, typed per action."""
    raise NotImplementedError


boot = v201.BootNotificationRequest(
    charging_station=v201.ChargingStationType(model="M1", vendor_name="ACME"),
    reason=v201.BootReasonEnumType.POWER_UP,
)
assert_type(call(boot), v201.BootNotificationResponse)
assert_type(call(v201.HeartbeatRequest()), v201.HeartbeatResponse)
assert_type(call(v16.HeartbeatRequest()), v16.HeartbeatResponse)
assert_type(call(v21.HeartbeatRequest()), v21.HeartbeatResponse)
assert_type(call(v16.AuthorizeRequest(id_tag="ABC")).id_tag_info.status, v16.AuthorizationStatus)

resp = call(boot)
assert_type(resp.interval, int)
assert_type(resp.status, v201.RegistrationStatusEnumType)

decoded = ocppkit.decode_payload(b"{}", v201.HeartbeatRequest)
assert_type(decoded, v201.HeartbeatRequest)
assert_type(ocppkit.encode_payload(decoded), bytes)

row = v201.ACTIONS["Heartbeat"]
assert_type(row.response, "type[ocppkit.Response] | None")

router = ocppkit.Router()


@router.on(v201.HeartbeatRequest)
def on_heartbeat(req: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
    raise NotImplementedError


@router.on(v16.BootNotificationRequest)
async def on_boot16(req: v16.BootNotificationRequest) -> v16.BootNotificationResponse:
    raise NotImplementedError


conn = ocppkit.Connection("csms", "2.0.1", clock=lambda: 0.0)
assert_type(conn.call(v201.HeartbeatRequest()), str)
for event in conn.events():
    if isinstance(event, ocppkit.CallReceived):
        router.dispatch(conn, event)
