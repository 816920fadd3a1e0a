"""Checked by mypy --strict (tests/test_typing.py), never executed: it pins the key inferences."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any, TypeVar, assert_type

import ocppkit
from ocppkit import v16, v21, v201

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

router = ocppkit.Router("2.0.1")
assert_type(router.version, "str | None")


@router.on(v201.HeartbeatRequest)
def on_heartbeat(req: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
    raise NotImplementedError


@router.on(v201.AuthorizeRequest)
async def on_authorize(req: v201.AuthorizeRequest) -> v201.AuthorizeResponse:
    raise NotImplementedError


@router.on(v201.StatusNotificationRequest)
def on_status(req: ocppkit.Request[Any]) -> v201.StatusNotificationResponse:
    """A handler may take any supertype of its request class."""
    raise NotImplementedError


# The decorator gives the handler back with its own type: tests can call it directly.
assert_type(on_heartbeat, Callable[[v201.HeartbeatRequest], v201.HeartbeatResponse])
assert_type(on_heartbeat(v201.HeartbeatRequest()).current_time, datetime)
assert_type(on_authorize, Callable[[v201.AuthorizeRequest], Awaitable[v201.AuthorizeResponse]])

router16 = ocppkit.Router()


@router16.on(v16.BootNotificationRequest)
async def on_boot16(req: v16.BootNotificationRequest) -> v16.BootNotificationResponse:
    raise NotImplementedError


router16.add(v16.HeartbeatRequest, lambda req: v16.HeartbeatResponse(current_time=datetime.now(timezone.utc)))


def either(req: v16.AuthorizeRequest) -> v16.AuthorizeResponse | Awaitable[v16.AuthorizeResponse]:
    raise NotImplementedError


router16.add(v16.AuthorizeRequest, either)


def register(r: ocppkit.Router, cls: type[ocppkit.Request[R]], handler: Callable[[ocppkit.Request[R]], R]) -> None:
    """A generic helper around ``add`` is typed per action too."""
    r.add(cls, handler)


# Frames: a CallResult of any response class is a Frame (its payload type is covariant).
codec = ocppkit.Codec("2.0.1")
hb_result = ocppkit.CallResult("1", v201.HeartbeatResponse(current_time=datetime.now(timezone.utc)))
assert_type(hb_result, ocppkit.CallResult[v201.HeartbeatResponse])
assert_type(codec.encode(hb_result), bytes)
codec.encode(ocppkit.Call("2", "Heartbeat", v201.HeartbeatRequest()))
frame: ocppkit.Frame = hb_result
results: list[ocppkit.CallResult[ocppkit.Response]] = [hb_result]
typed = codec.decode(b'[3,"1",{"currentTime":"2030-01-01T00:00:00Z"}]', action="Heartbeat")
if isinstance(typed, ocppkit.CallResult):
    assert_type(typed, ocppkit.CallResult[ocppkit.Response])
    if isinstance(typed.payload, v201.HeartbeatResponse):
        assert_type(typed.payload.current_time, datetime)
raw = codec.decode(b'[3,"1",{}]')
if isinstance(raw, ocppkit.CallResult):
    assert_type(raw, ocppkit.CallResult[ocppkit.RawPayload])
    assert_type(codec.decode_result(raw, "Heartbeat"), ocppkit.CallResult[ocppkit.Response])


conn = ocppkit.Connection("csms", "2.0.1", clock=lambda: 0.0)
assert_type(conn.call(v201.HeartbeatRequest()), str)
for event in conn.events():
    if isinstance(event, ocppkit.CallReceived):
        router.dispatch(conn, event)
