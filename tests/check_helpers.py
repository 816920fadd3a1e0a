"""Recorded OCPP sessions for the `ocppkit check` tests.

A session is a list of :class:`Entry` (time, sender, frame text), recorded from a real exchange
between two ``ocppkit.Connection`` objects (``tests.helpers.Pair``: a station and a CSMS back to
back on a fake clock), or from any other source (a later test can record the frames of a real
WebSocket session into the same list). Writers turn a session into a JSON Lines log, a text log
or a pcap/pcapng capture; fault injectors edit it. Positions in the written file are derived from
the entry index, so the tests can assert exact line or packet numbers.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import msgspec

import ocppkit
from ocppkit import CallReceived, v16, v21, v201
from tests.helpers import Pair

EPOCH = dt.datetime(2030, 1, 1, 8, 0, tzinfo=dt.timezone.utc).timestamp()  # log time of clock 1000.0


@dataclass(frozen=True)
class Entry:
    time: float  # seconds since the epoch
    sender: str  # "station" | "csms"
    text: str


def iso(t: float) -> str:
    d = dt.datetime.fromtimestamp(t, dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


class Recorder:
    """Drives a station and a CSMS ``Connection`` and records every frame that crosses."""

    def __init__(self, version: str, **options: Any) -> None:
        self.version = version
        self.pair = Pair(version, **options)
        self.entries: list[Entry] = []
        self.mod: Any = {"1.6": v16, "2.0.1": v201, "2.1": v21}[version]
        self.after_frame: Callable[[], None] | None = None  # called once each frame is delivered

    @property
    def now(self) -> float:
        return EPOCH + self.pair.clock.now - 1000.0

    def advance(self, seconds: float) -> None:
        self.pair.clock.advance(seconds)

    def _flush(self) -> list[Any]:
        events: list[Any] = []
        p = self.pair
        while True:
            up = p.station.data_to_send()
            down = p.csms.data_to_send()
            if not up and not down:
                return events
            for data in up:
                self.entries.append(Entry(self.now, "station", data.decode()))
                p.csms.receive_data(data)
                if self.after_frame is not None:
                    self.after_frame()
            for data in down:
                self.entries.append(Entry(self.now, "csms", data.decode()))
                p.station.receive_data(data)
                if self.after_frame is not None:
                    self.after_frame()
            events += list(p.station.events()) + list(p.csms.events())

    def payload(self, name: str, body: dict[str, Any]) -> Any:
        return ocppkit.decode_payload(json.dumps(body), getattr(self.mod, name))

    def station_call(self, request: str, body: dict[str, Any], response: Any, delay: float = 0.05) -> str:
        uid = self.pair.station.call(self.payload(request + "Request", body))
        self._answer(self.pair.csms, request, response, delay)
        return uid

    def csms_call(self, request: str, body: dict[str, Any], response: Any, delay: float = 0.08) -> str:
        uid = self.pair.csms.call(self.payload(request + "Request", body))
        self._answer(self.pair.station, request, response, delay)
        return uid

    def _answer(self, callee: Any, action: str, response: dict[str, Any] | tuple[str, str], delay: float) -> None:
        events = self._flush()
        calls = [e for e in events if isinstance(e, CallReceived)]
        if not calls:  # the connection refused the call itself (boot gating): its CALLERROR went out
            return
        assert len(calls) == 1, events
        self.advance(delay)
        if isinstance(response, tuple):  # (error code, description): answer with a CALLERROR
            callee.send_error(calls[0].unique_id, response[0], response[1])
        else:
            callee.send_result(calls[0].unique_id, self.payload(action + "Response", response))
        self._flush()

    def send(self, action: str, body: dict[str, Any]) -> str:
        uid = self.pair.station.send(self.payload(action + "Request", body))
        self._flush()
        return uid


def session_201(heartbeats: int = 2) -> list[Entry]:
    """A correct 2.0.1 session: boot, status, a transaction with meter values, a CSMS GetVariables."""
    r = Recorder("2.0.1")
    t = lambda: iso(r.now)  # noqa: E731
    r.station_call(
        "BootNotification",
        {"reason": "PowerUp", "chargingStation": {"model": "M1", "vendorName": "V"}},
        {"currentTime": t(), "interval": 300, "status": "Accepted"},
    )
    r.advance(1)
    r.station_call(
        "StatusNotification", {"timestamp": t(), "connectorStatus": "Available", "evseId": 1, "connectorId": 1}, {}
    )
    r.advance(2)
    r.csms_call(
        "GetVariables",
        {"getVariableData": [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]},
        {
            "getVariableResult": [
                {
                    "attributeStatus": "Accepted",
                    "attributeValue": "300",
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"},
                }
            ]
        },
    )
    r.advance(5)
    tx = {"transactionId": "tx-1", "chargingState": "Charging"}
    r.station_call(
        "TransactionEvent",
        {
            "eventType": "Started",
            "timestamp": t(),
            "triggerReason": "Authorized",
            "seqNo": 0,
            "transactionInfo": tx,
            "evse": {"id": 1, "connectorId": 1},
            "idToken": {"idToken": "TAG1", "type": "ISO14443"},
        },
        {"idTokenInfo": {"status": "Accepted"}},
        delay=0.12,
    )
    for i in range(heartbeats):
        r.advance(60)
        r.station_call("Heartbeat", {}, {"currentTime": t()}, delay=0.02 + 0.01 * i)
    r.advance(10)
    r.station_call(
        "MeterValues",
        {
            "evseId": 1,
            "meterValue": [
                {
                    "timestamp": t(),
                    "sampledValue": [
                        {
                            "value": 1234.5,
                            "measurand": "Energy.Active.Import.Register",
                            "unitOfMeasure": {"unit": "Wh"},
                        },
                        {"value": 7200, "measurand": "Power.Active.Import"},
                    ],
                }
            ],
        },
        {},
    )
    r.advance(30)
    r.station_call(
        "TransactionEvent",
        {
            "eventType": "Ended",
            "timestamp": t(),
            "triggerReason": "StopAuthorized",
            "seqNo": 1,
            "transactionInfo": {"transactionId": "tx-1", "stoppedReason": "Local"},
        },
        {},
    )
    return r.entries


def session_16() -> list[Entry]:
    r = Recorder("1.6")
    t = lambda: iso(r.now)  # noqa: E731
    r.station_call(
        "BootNotification",
        {"chargePointVendor": "V", "chargePointModel": "M"},
        {"status": "Accepted", "currentTime": t(), "interval": 300},
    )
    r.advance(1)
    r.station_call("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}, {})
    r.advance(3)
    r.station_call(
        "StartTransaction",
        {"connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": t()},
        {"transactionId": 42, "idTagInfo": {"status": "Accepted"}},
    )
    r.advance(60)
    r.station_call(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": 42,
            "meterValue": [
                {"timestamp": t(), "sampledValue": [{"value": "1500", "measurand": "Energy.Active.Import.Register"}]}
            ],
        },
        {},
    )
    r.advance(2)
    r.csms_call("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "60"}, {"status": "Accepted"})
    r.advance(60)
    r.station_call(
        "StopTransaction",
        {"transactionId": 42, "meterStop": 3000, "timestamp": t()},
        {"idTagInfo": {"status": "Accepted"}},
    )
    r.advance(60)
    r.station_call("Heartbeat", {}, {"currentTime": t()})
    return r.entries


def session_21() -> list[Entry]:
    r = Recorder("2.1")
    t = lambda: iso(r.now)  # noqa: E731
    r.station_call(
        "BootNotification",
        {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}},
        {"currentTime": t(), "interval": 300, "status": "Accepted"},
    )
    r.advance(1)
    r.station_call("Heartbeat", {}, {"currentTime": t()})
    r.advance(1)
    r.send(
        "NotifyPeriodicEventStream",
        {"id": 1, "pending": 0, "basetime": t(), "data": [{"t": 0, "v": "230.4"}, {"t": 5, "v": "230.2"}]},
    )
    r.advance(1)
    r.station_call("Heartbeat", {}, {"currentTime": t()})
    return r.entries


# ------------------------------------------------------------------------- fault injection


def frame(entry: Entry) -> list[Any]:
    return json.loads(entry.text)


def with_frame(entry: Entry, f: list[Any]) -> Entry:
    return replace(entry, text=json.dumps(f, separators=(",", ":")))


def index_of(entries: Sequence[Entry], action: str, nth: int = 0) -> int:
    """The index of the nth CALL of ``action``."""
    hits = [i for i, e in enumerate(entries) if frame(e)[0] == 2 and frame(e)[2] == action]
    return hits[nth]


def answer_of(entries: Sequence[Entry], call_index: int) -> int:
    uid = frame(entries[call_index])[1]
    sender = entries[call_index].sender
    return next(i for i, e in enumerate(entries) if e.sender != sender and frame(e)[0] in (3, 4) and frame(e)[1] == uid)


def edit(entries: Sequence[Entry], i: int, fn: Callable[[list[Any]], Any]) -> list[Entry]:
    out = list(entries)
    f = frame(out[i])
    fn(f)
    out[i] = with_frame(out[i], f)
    return out


# ------------------------------------------------------------------------- writers


def write_jsonl(
    entries: Sequence[Entry],
    path: Any,
    *,
    station: str | None = "CS001",
    style: str = "csms",
    version: str | None = None,
    embed: bool = False,
) -> None:
    """One object per frame. style "csms": direction in/out as the CSMS saw it; "absolute":
    station->csms / csms->station; "epoch": time as epoch milliseconds, `dir` rx/tx."""
    with open(path, "w") as f:
        for e in entries:
            obj: dict[str, Any] = {}
            if style == "epoch":
                obj["ts"] = int(round(e.time * 1000))
                obj["dir"] = "rx" if e.sender == "station" else "tx"
            else:
                obj["timestamp"] = iso(e.time)
                if style == "absolute":
                    obj["direction"] = "station->csms" if e.sender == "station" else "csms->station"
                else:
                    obj["direction"] = "in" if e.sender == "station" else "out"
            if station is not None:
                obj["chargePointId"] = station
            if version is not None:
                obj["protocol"] = f"ocpp{version}"
            obj["message"] = json.loads(e.text) if embed else e.text
            f.write(json.dumps(obj) + "\n")


def write_text(
    entries: Sequence[Entry],
    path: Any,
    *,
    markers: tuple[str, str] = ("<<", ">>"),
    recorder: str = "csms",
    station: str | None = None,
    preamble: Sequence[str] = (),
) -> None:
    """`TIME [station=X] MARKER FRAME`; markers = (received, sent) from ``recorder``'s side."""
    with open(path, "w") as f:
        for line in preamble:
            f.write(line + "\n")
        for e in entries:
            received = (e.sender == "station") == (recorder == "csms")
            mark = markers[0] if received else markers[1]
            who = f" station={station}" if station else ""
            f.write(f"{iso(e.time).replace('T', ' ').replace('Z', '')} INFO{who} {mark} {e.text}\n")


# ------------------------------------------------------------------------- pcap

CLIENT = ("10.0.0.2", 50322)
SERVER = ("10.0.0.1", 9000)


@dataclass
class PcapPlan:
    """How to put a session on the wire."""

    path: str = "/ocpp/CS001"
    offered: str = "ocpp2.0.1, ocpp1.6"
    chosen: str | None = "ocpp2.0.1"
    deflate: bool = False
    fragment: Sequence[int] = ()  # entry indexes sent as 3 WebSocket frames (continuation frames)
    split: Sequence[int] = ()  # entry indexes whose bytes are cut across 3 TCP segments
    reorder: Sequence[int] = ()  # entry indexes whose TCP segments are sent last-first (with split)
    retransmit: Sequence[int] = ()  # entry indexes whose first segment is sent twice
    status: int = 101
    handshake: bool = True
    client: tuple[str, int] = CLIENT
    server: tuple[str, int] = SERVER


class PcapWriter:
    """Writes Ethernet/IPv4/TCP packets with dpkt; returns packet numbers per entry."""

    def __init__(self, path: Any, ng: bool = False) -> None:
        import dpkt

        self.dpkt = dpkt
        self.f = open(path, "wb")  # noqa: SIM115
        self.w = dpkt.pcapng.Writer(self.f, snaplen=65535) if ng else dpkt.pcap.Writer(self.f, snaplen=65535)
        self.n = 0

    def packet(
        self, t: float, src: tuple[str, int], dst: tuple[str, int], seq: int, ack: int, flags: int, payload: bytes = b""
    ) -> int:
        dpkt = self.dpkt
        import socket

        tcp = dpkt.tcp.TCP(sport=src[1], dport=dst[1], seq=seq, ack=ack, flags=flags, win=65535, data=payload)
        tcp.off = 5
        ip = dpkt.ip.IP(
            src=socket.inet_aton(src[0]), dst=socket.inet_aton(dst[0]), p=dpkt.ip.IP_PROTO_TCP, ttl=64, data=tcp
        )
        ip.len = 20 + len(bytes(tcp))
        eth = dpkt.ethernet.Ethernet(
            src=b"\x02\x00\x00\x00\x00\x02", dst=b"\x02\x00\x00\x00\x00\x01", type=dpkt.ethernet.ETH_TYPE_IP, data=ip
        )
        self.w.writepkt(bytes(eth), ts=t)
        self.n += 1
        return self.n

    def close(self) -> None:
        self.w.close() if hasattr(self.w, "close") else None
        self.f.close()


def write_pcap(
    entries: Sequence[Entry],
    path: Any,
    plan: PcapPlan | None = None,
    *,
    ng: bool = False,
    writer: PcapWriter | None = None,
    start: float | None = None,
) -> list[int]:
    """Write one TCP connection carrying ``entries``; return, per entry, the number of the packet
    that completes its WebSocket message (what the checker reports as its position)."""
    from wsproto.extensions import PerMessageDeflate
    from wsproto.frame_protocol import FrameProtocol

    plan = plan or PcapPlan()
    own = writer is None
    w = writer or PcapWriter(path, ng=ng)
    dpkt = w.dpkt
    SYN, ACK, PSH, FIN = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_PUSH, dpkt.tcp.TH_FIN
    t0 = (entries[0].time if entries else EPOCH) - 0.01 if start is None else start
    cseq, sseq = 1000, 5000
    c, s = plan.client, plan.server
    if plan.handshake:
        w.packet(t0, c, s, cseq, 0, SYN)
        w.packet(t0, s, c, sseq, cseq + 1, SYN | ACK)
        cseq += 1
        sseq += 1
        w.packet(t0, c, s, cseq, sseq, ACK)
        lines = [
            f"GET {plan.path} HTTP/1.1",
            f"Host: {s[0]}:{s[1]}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13",
        ]
        if plan.offered:
            lines.append(f"Sec-WebSocket-Protocol: {plan.offered}")
        if plan.deflate:
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        req = ("\r\n".join(lines) + "\r\n\r\n").encode()
        w.packet(t0, c, s, cseq, sseq, ACK | PSH, req)
        cseq += len(req)
        reason = "Switching Protocols" if plan.status == 101 else "Not Found"
        lines = [f"HTTP/1.1 {plan.status} {reason}"]
        if plan.status == 101:
            lines += ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]
            if plan.chosen:
                lines.append(f"Sec-WebSocket-Protocol: {plan.chosen}")
            if plan.deflate:
                lines.append("Sec-WebSocket-Extensions: permessage-deflate")
        resp = ("\r\n".join(lines) + "\r\n\r\n").encode()
        w.packet(t0, s, c, sseq, cseq, ACK | PSH, resp)
        sseq += len(resp)
    exts_c = [PerMessageDeflate()] if plan.deflate else []
    exts_s = [PerMessageDeflate()] if plan.deflate else []
    for e in exts_c + exts_s:
        e.finalize("permessage-deflate")
    station_fp = FrameProtocol(client=True, extensions=exts_c)  # masks its frames
    csms_fp = FrameProtocol(client=False, extensions=exts_s)
    positions: list[int] = []
    for i, e in enumerate(entries):
        from_station = e.sender == "station"
        fp = station_fp if from_station else csms_fp
        if i in plan.fragment:
            k = max(1, len(e.text) // 3)
            parts = [e.text[:k], e.text[k : 2 * k], e.text[2 * k :]]
            wire = b"".join(bytes(fp.send_data(p, fin=j == 2)) for j, p in enumerate(parts))
        else:
            wire = bytes(fp.send_data(e.text, fin=True))
        src, dst = (c, s) if from_station else (s, c)
        seq = cseq if from_station else sseq
        ack = sseq if from_station else cseq
        if i in plan.split or i in plan.reorder:
            k = max(1, len(wire) // 3)
            segs = [(seq, wire[:k]), (seq + k, wire[k : 2 * k]), (seq + 2 * k, wire[2 * k :])]
        else:
            segs = [(seq, wire)]
        if i in plan.reorder:
            segs = segs[::-1]
        last = 0
        for j, (sq, data) in enumerate(segs):
            last = w.packet(e.time, src, dst, sq, ack, ACK | PSH, data)
            if j == 0 and i in plan.retransmit:  # a copy: the message is not completed by it
                w.packet(e.time, src, dst, sq, ack, ACK | PSH, data)
        positions.append(last if i not in plan.reorder else last)
        if from_station:
            cseq += len(wire)
        else:
            sseq += len(wire)
    tend = (entries[-1].time if entries else t0) + 0.01
    w.packet(tend, c, s, cseq, sseq, FIN | ACK)
    w.packet(tend, s, c, sseq, cseq + 1, FIN | ACK)
    w.packet(tend, c, s, cseq + 1, sseq + 1, ACK)
    if own:
        w.close()
    return positions


def ws_frame(payload: bytes, opcode: int = 1, mask: bytes | None = None, fin: bool = True) -> bytes:
    """A raw WebSocket frame, for frames wsproto would refuse to build (e.g. an unmasked client frame)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def dumps(obj: Any) -> str:
    return msgspec.json.encode(obj).decode()
