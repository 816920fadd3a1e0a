"""Must FAIL mypy --strict: each line marked `# E:` is an error mypy has to report."""

from __future__ import annotations

from typing import TypeVar

import ocppkit
from ocppkit import v201

R = TypeVar("R", bound=ocppkit.Response)


def call(request: ocppkit.Request[R]) -> R:
    raise NotImplementedError


wrong: v201.AuthorizeResponse = call(v201.HeartbeatRequest())  # E: assignment
v201.HeartbeatRequest(current_time="x")  # E: call-arg
station = v201.ChargingStationType(model=1, vendor_name="A")  # E: arg-type
v201.BootNotificationRequest(charging_station=v201.ChargingStationType(model="M", vendor_name="A"))  # E: call-arg
v201.BootReasonEnumType.POWERUP  # E: attr-defined
router = ocppkit.Router()


@router.on(v201.HeartbeatRequest)  # E: arg-type
def on_heartbeat(req: v201.HeartbeatRequest) -> v201.AuthorizeResponse:
    raise NotImplementedError
