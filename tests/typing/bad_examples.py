"""Must FAIL mypy --strict: each line marked `# E:` is an error mypy has to report."""

from __future__ import annotations

from typing import TypeVar

import ocppkit
from ocppkit import v16, v201

R = TypeVar("R", bound=ocppkit.Response)


def call(request: ocppkit.Request[R]) -> R:
    raise NotImplementedError


wrong: v201.AuthorizeResponse = call(v201.HeartbeatRequest())  # E: assignment
v201.HeartbeatRequest(current_time="x")  # E: call-arg
station = v201.ChargingStationType(model=1, vendor_name="A")  # E: arg-type
v201.BootNotificationRequest(charging_station=v201.ChargingStationType(model="M", vendor_name="A"))  # E: call-arg
v201.BootReasonEnumType.POWERUP  # noqa: B018  # E: attr-defined
router = ocppkit.Router()


@router.on(v201.HeartbeatRequest)  # E: arg-type
def on_heartbeat(req: v201.HeartbeatRequest) -> v201.AuthorizeResponse:
    raise NotImplementedError


@router.on(v201.HeartbeatRequest)  # E: arg-type
def takes_another_request(req: v201.AuthorizeRequest) -> v201.HeartbeatResponse:
    raise NotImplementedError


@router.on(v201.HeartbeatRequest)  # E: arg-type
async def async_takes_another_request(req: v201.AuthorizeRequest) -> v201.HeartbeatResponse:
    raise NotImplementedError


@router.on(v201.HeartbeatRequest)  # E: arg-type
async def async_returns_another_response(req: v201.HeartbeatRequest) -> v201.AuthorizeResponse:
    raise NotImplementedError


@router.on(v201.HeartbeatRequest)  # E: arg-type
def other_version_request(req: v16.HeartbeatRequest) -> v201.HeartbeatResponse:
    raise NotImplementedError


def by_add(req: v201.AuthorizeRequest) -> v201.HeartbeatResponse:
    raise NotImplementedError


router.add(v201.HeartbeatRequest, by_add)  # E: arg-type
router.on(v201.HeartbeatResponse)  # E: arg-type
ocppkit.Router(version=2)  # E: arg-type

# Frames: a payload of the wrong role, a result read without narrowing.
codec = ocppkit.Codec("2.0.1")
codec.encode(ocppkit.CallResult("1", v201.HeartbeatRequest()))  # E: arg-type
frame = codec.decode(b'[3,"1",{}]', action="Heartbeat")
payload = frame.payload  # E: union-attr
