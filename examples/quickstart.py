"""A CALL and its CALLRESULT through the codec, as a CSMS sees them (no network needed).

python examples/quickstart.py
"""

from __future__ import annotations

import datetime as dt

import ocppkit
from ocppkit import v201

csms = ocppkit.Codec("2.0.1")
station = ocppkit.Codec("2.0.1")

# The station builds a typed request and encodes it: invalid values never reach the wire.
boot = v201.BootNotificationRequest(
    charging_station=v201.ChargingStationType(model="M1", vendor_name="ACME"),
    reason=v201.BootReasonEnumType.POWER_UP,
)
wire = station.encode(ocppkit.Call("19223201", "BootNotification", boot))
print("station -> csms", wire.decode())

# The CSMS decodes it into the same typed object and answers.
call = csms.decode(wire)
assert isinstance(call, ocppkit.Call) and call.payload == boot
answer = v201.BootNotificationResponse(
    current_time=dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
    interval=300,
    status=v201.RegistrationStatusEnumType.ACCEPTED,
)
reply: ocppkit.CallResult[ocppkit.Response] = ocppkit.CallResult(call.unique_id, answer)
wire = csms.encode(reply)
print("csms -> station", wire.decode())
result = station.decode(wire, action="BootNotification")  # a frame: narrow it, then its payload
assert isinstance(result, ocppkit.CallResult) and isinstance(result.payload, v201.BootNotificationResponse)
print("station got", result.payload.status.value, "heartbeat every", result.payload.interval, "s")

# A broken frame gets the CALLERROR the specification asks for.
try:
    csms.decode(b'[2,"19223202","BootNotification",{"reason":"PowerUp"}]')
except ocppkit.OcppError as exc:
    print("csms replies   ", exc.reply.decode() if exc.reply else None)
print("codec implementation:", ocppkit.IMPLEMENTATION)
