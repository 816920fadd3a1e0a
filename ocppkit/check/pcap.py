"""pcap / pcapng captures of unencrypted ``ws://`` OCPP traffic.

Packets are read with dpkt (Ethernet, Linux cooked v1/v2, BSD loopback and raw IP link
types; IPv4 and IPv6), every TCP stream is reassembled in sequence order (retransmissions and
overlaps trimmed, out-of-order segments held back), the HTTP upgrade is parsed for the
station identity (the last segment of the request path), the negotiated
``Sec-WebSocket-Protocol`` (the OCPP version) and ``permessage-deflate``, and the WebSocket
frames of each direction are taken apart with wsproto's frame decoder (masking, fragmentation,
continuation frames, compression). Each complete text message becomes one record whose
position is the number of the packet that completed it, as Wireshark counts packets.

A stream whose handshake is not in the capture is still read when its first bytes look like a
WebSocket frame: the masked direction is the station's (clients mask, servers do not).

Needs the ``pcap`` extra: ``pip install ocppkit[pcap]`` (dpkt, wsproto).
"""

from __future__ import annotations

import importlib
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

from .records import CLOSE, FROM_CSMS, FROM_STATION, NOTE, OPEN, ConnInfo, Note, Record, Source
from .versions import version_from_text

__all__ = ["PcapSource", "load_pcap_libraries"]

_MAX_HEADER = 64 * 1024  # an HTTP upgrade larger than this is not one
_MAX_HELD = 4 << 20  # out-of-order bytes held back per direction before declaring a gap
_SEQ = 1 << 32


def load_pcap_libraries() -> tuple[Any, Any, Any]:
    """(dpkt, wsproto.frame_protocol, wsproto.extensions), or ImportError naming the extra."""
    try:
        dpkt = importlib.import_module("dpkt")
        fp = importlib.import_module("wsproto.frame_protocol")
        ext = importlib.import_module("wsproto.extensions")
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"reading pcap/pcapng captures needs the 'pcap' extra: pip install 'ocppkit[pcap]' ({exc})"
        ) from None
    return dpkt, fp, ext


def _headers(block: bytes) -> tuple[str, dict[str, str]]:
    lines = block.decode("latin-1").split("\r\n")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            fields[key] = f"{fields[key]}, {value.strip()}" if key in fields else value.strip()
    return lines[0], fields


class _Half:
    """One direction of a TCP stream: reassembly, then HTTP, then WebSocket."""

    __slots__ = ("next", "held", "held_bytes", "buf", "fp", "parts", "dead", "fin", "client")

    def __init__(self) -> None:
        self.next: int | None = None  # next expected sequence number
        self.held: dict[int, bytes] = {}  # out-of-order segments by sequence number
        self.held_bytes = 0
        self.buf = b""  # bytes before the WebSocket decoder exists (HTTP, early frames)
        self.fp: Any = None  # wsproto FrameProtocol
        self.parts: list[str] = []  # pieces of the text message in progress
        self.dead = False  # stop decoding (a gap or a WebSocket protocol error)
        self.fin = False
        self.client: bool | None = None


class _Flow:
    __slots__ = (
        "key",
        "ends",
        "halves",
        "state",
        "station",
        "version",
        "deflate",
        "detail",
        "request",
        "opened",
        "client",
    )

    def __init__(self, key: str, a: tuple[str, int], b: tuple[str, int]) -> None:
        self.key = key
        self.ends = (a, b)
        self.halves = (_Half(), _Half())  # index 0: from ends[0], 1: from ends[1]
        self.state = "http"  # http -> ws | ignore
        self.station = ""
        self.version: str | None = None
        self.deflate: str | None = None
        self.detail = ""
        self.request: tuple[str, dict[str, str]] | None = None
        self.opened = False
        self.client: int | None = None  # index of the client (station) end


class PcapSource(Source):
    """A pcap or pcapng capture; one connection per TCP stream."""

    kind = "pcap"
    unit = "packet"

    def __init__(self, path: str, default_station: str | None = None) -> None:
        super().__init__(path, default_station)
        self._dpkt, self._fp, self._ext = load_pcap_libraries()
        self.streams = 0

    def records(self) -> Iterator[Record]:
        dpkt = self._dpkt
        raw = open(self.path, "rb", buffering=1 << 20)  # noqa: SIM115
        self._raw = raw
        try:
            magic = raw.read(4)
            raw.seek(0)
            reader = dpkt.pcapng.Reader(raw) if magic == b"\x0a\x0d\x0d\x0a" else dpkt.pcap.Reader(raw)
            link = reader.datalink()
            flows: dict[tuple[Any, ...], tuple[_Flow, int]] = {}
            closed: dict[tuple[Any, ...], None] = {}
            tcp_type = dpkt.tcp.TCP
            n = 0
            for n, (ts, buf) in enumerate(reader, 1):  # noqa: B007
                ip = self._ip(link, buf)
                if ip is None or type(ip.data) is not tcp_type:
                    self.skipped += 1
                    continue
                tcp = ip.data
                src = (self._addr(ip.src), tcp.sport)
                dst = (self._addr(ip.dst), tcp.dport)
                entry = flows.get((src, dst))
                if entry is None:
                    if (src, dst) in closed and not tcp.flags & dpkt.tcp.TH_SYN:
                        continue  # the last ACKs of a connection already closed
                    self.streams += 1
                    flow = _Flow(f"{self.path}#tcp{self.streams}", src, dst)
                    flows[(src, dst)] = (flow, 0)
                    flows[(dst, src)] = (flow, 1)
                    entry = (flow, 0)
                flow, side = entry
                payload = bytes(tcp.data)
                expected = self._payload_length(ip, tcp)
                yield from self._segment(flow, side, tcp, payload, expected, n, float(ts))
                if flow.state == "closed":
                    del flows[(src, dst)]
                    flows.pop((dst, src), None)
                    closed[(src, dst)] = closed[(dst, src)] = None
                    if len(closed) > 4096:  # remember the latest closed connections only
                        for key in list(closed)[:2048]:
                            del closed[key]
            for flow, side in list(flows.values()):
                if side == 0 and flow.opened:
                    yield Record(n, None, CLOSE, flow.key, "end of capture")
        finally:
            raw.close()

    # ------------------------------------------------------------------ packets

    def _ip(self, link: int, buf: bytes) -> Any:
        dpkt = self._dpkt
        try:
            if link == 1:  # Ethernet
                pkt = dpkt.ethernet.Ethernet(buf).data
            elif link in (0, 108):  # BSD loopback / OpenBSD loop
                pkt = dpkt.loopback.Loopback(buf).data
            elif link == 113:  # Linux cooked v1
                pkt = dpkt.sll.SLL(buf).data
            elif link == 276:  # Linux cooked v2
                pkt = dpkt.sll2.SLL2(buf).data
            elif link in (101, 12, 14, 228, 229):  # raw IP
                pkt = dpkt.ip6.IP6(buf) if buf[:1] and buf[0] >> 4 == 6 else dpkt.ip.IP(buf)
            else:
                return None
        except (dpkt.UnpackError, IndexError, ValueError):
            return None
        if isinstance(pkt, (dpkt.ip.IP, dpkt.ip6.IP6)):
            return pkt
        return None

    @staticmethod
    def _addr(raw: bytes) -> str:
        return socket.inet_ntop(socket.AF_INET6 if len(raw) == 16 else socket.AF_INET, raw)

    def _payload_length(self, ip: Any, tcp: Any) -> int | None:
        if isinstance(ip, self._dpkt.ip.IP):
            return int(ip.len) - int(ip.hl) * 4 - int(tcp.off) * 4
        if ip.nxt == 6 and ip.plen:  # no extension headers
            return int(ip.plen) - int(tcp.off) * 4
        return None

    # ------------------------------------------------------------------ TCP

    def _segment(
        self, flow: _Flow, side: int, tcp: Any, payload: bytes, expected: int | None, n: int, ts: float
    ) -> Iterator[Record]:
        dpkt = self._dpkt
        half = flow.halves[side]
        flags = tcp.flags
        if flags & dpkt.tcp.TH_SYN:
            half.next = (tcp.seq + 1) % _SEQ
            if flow.client is None:
                flow.client = 1 - side if flags & dpkt.tcp.TH_ACK else side
            return
        if flow.state in ("ignore", "closed"):
            if flags & (dpkt.tcp.TH_FIN | dpkt.tcp.TH_RST):
                half.fin = True
                if flags & dpkt.tcp.TH_RST or flow.halves[1 - side].fin:
                    flow.state = "closed"
            return
        if payload:
            if expected is not None and len(payload) < expected and not half.dead:
                half.dead = True
                yield Record(
                    n,
                    ts,
                    NOTE,
                    flow.key,
                    Note(
                        "capture-gap",
                        f"packet {n} was captured truncated "
                        f"({len(payload)} of {expected} bytes): this direction is not "
                        "decoded further",
                        {"side": self._role(flow, side)},
                    ),
                )
            if not half.dead:
                yield from self._reassemble(flow, side, half, tcp.seq, payload, n, ts)
        if flags & (dpkt.tcp.TH_FIN | dpkt.tcp.TH_RST):
            half.fin = True
            if flags & dpkt.tcp.TH_RST or flow.halves[1 - side].fin:
                if flow.opened:
                    reason = "TCP reset" if flags & dpkt.tcp.TH_RST else "TCP connection closed"
                    yield Record(n, ts, CLOSE, flow.key, reason)
                flow.state = "closed"

    def _reassemble(
        self, flow: _Flow, side: int, half: _Half, seq: int, payload: bytes, n: int, ts: float
    ) -> Iterator[Record]:
        if half.next is None:
            half.next = seq  # the capture began after the SYN
        delta = ((seq - half.next + (1 << 31)) % _SEQ) - (1 << 31)
        if delta > 0:
            if seq not in half.held:
                half.held[seq] = payload
                half.held_bytes += len(payload)
            if half.held_bytes > _MAX_HELD:
                half.dead = True
                half.held.clear()
                yield Record(
                    n,
                    ts,
                    NOTE,
                    flow.key,
                    Note(
                        "capture-gap",
                        "bytes missing from the capture: this direction is not decoded further",
                        {"side": self._role(flow, side)},
                    ),
                )
            return
        if delta < 0:
            if -delta >= len(payload):
                return  # a retransmission of bytes already seen
            payload = payload[-delta:]
        half.next = (half.next + len(payload)) % _SEQ
        chunks = [payload]
        while half.held:
            progressed = False
            for hseq in list(half.held):
                d = ((hseq - half.next + (1 << 31)) % _SEQ) - (1 << 31)
                if d <= 0:
                    data = half.held.pop(hseq)
                    half.held_bytes -= len(data)
                    if -d < len(data):
                        chunks.append(data[-d:])
                        half.next = (half.next + len(data) + d) % _SEQ
                        progressed = True
            if not progressed:
                break
        yield from self._stream(flow, side, half, b"".join(chunks), n, ts)

    # ------------------------------------------------------------------ HTTP and WebSocket

    def _role(self, flow: _Flow, side: int) -> str:
        if flow.client is None:
            return "?"
        return "station" if side == flow.client else "csms"

    def _stream(self, flow: _Flow, side: int, half: _Half, data: bytes, n: int, ts: float) -> Iterator[Record]:
        if flow.state == "ws" and half.fp is not None:
            yield from self._frames(flow, side, half, data, n, ts)
            return
        half.buf += data
        if flow.state != "http":
            return
        if half.buf[:4] == b"GET ":
            flow.client = side
        elif half.buf[:5] == b"HTTP/" or flow.client is not None:
            pass
        elif len(half.buf) >= 2 and self._looks_like_ws(half.buf):
            yield from self._open_without_handshake(flow, side, n, ts)
            return
        else:
            flow.state = "ignore"
            return
        end = half.buf.find(b"\r\n\r\n")
        if end < 0:
            if len(half.buf) > _MAX_HEADER:
                flow.state = "ignore"
            return
        head, rest = half.buf[:end], half.buf[end + 4 :]
        if side == flow.client:
            start, fields = _headers(head)
            if "websocket" not in fields.get("upgrade", "").lower():
                flow.state = "ignore"
                return
            flow.request = (start, fields)
            half.buf = rest
            return
        # the server's answer
        status, fields = _headers(head)
        half.buf = rest
        yield from self._accept(flow, status, fields, n, ts)

    def _accept(self, flow: _Flow, status: str, fields: dict[str, str], n: int, ts: float) -> Iterator[Record]:
        client = flow.client if flow.client is not None else 0
        start, req = flow.request or ("GET / HTTP/1.1", {})
        target = start.split(" ")[1] if start.count(" ") >= 2 else "/"
        path = urlsplit(target).path.rstrip("/")
        identity = unquote(path.rsplit("/", 1)[-1]) if path else ""
        c_ip, c_port = flow.ends[client]
        s_ip, s_port = flow.ends[1 - client]
        flow.station = identity or f"{c_ip}:{c_port}"
        offered = req.get("sec-websocket-protocol", "")
        chosen = fields.get("sec-websocket-protocol", "")
        flow.detail = f"{c_ip}:{c_port} -> {s_ip}:{s_port} GET {target}"
        parts = status.split(" ", 2)
        code = parts[1] if len(parts) > 1 else "?"
        if code != "101":
            flow.state = "ignore"
            yield Record(
                n,
                ts,
                NOTE,
                flow.key,
                Note(
                    "handshake",
                    f"WebSocket upgrade for {flow.station} refused: {status}",
                    {"status": code, "station": flow.station},
                ),
            )
            return
        flow.version = version_from_text(chosen)
        if chosen:
            flow.detail += f" ({chosen})"
        extensions = fields.get("sec-websocket-extensions", "")
        if "permessage-deflate" in extensions:
            flow.deflate = next(e.strip() for e in extensions.split(",") if "permessage-deflate" in e)
        flow.state = "ws"
        flow.opened = True
        yield Record(n, ts, OPEN, flow.key, ConnInfo(flow.station, flow.version, flow.detail))
        if not chosen:
            yield Record(
                n,
                ts,
                NOTE,
                flow.key,
                Note(
                    "handshake",
                    "the CSMS accepted the WebSocket without choosing an OCPP "
                    f"subprotocol (offered: {offered or 'none'}); it should have closed it",
                    {"offered": offered, "station": flow.station},
                ),
            )
        elif offered and chosen not in [p.strip() for p in offered.split(",")]:
            yield Record(
                n,
                ts,
                NOTE,
                flow.key,
                Note(
                    "handshake",
                    f"the CSMS chose subprotocol {chosen!r}, which the station did not offer ({offered})",
                    {"offered": offered, "chosen": chosen},
                ),
            )
        for index in (client, 1 - client):
            half = flow.halves[index]
            half.client = index == client
            half.fp = self._decoder(flow, half.client)
            early, half.buf = half.buf, b""
            if early:
                yield from self._frames(flow, index, half, early, n, ts)

    def _decoder(self, flow: _Flow, from_client: bool) -> Any:
        extensions = []
        if flow.deflate is not None:
            pmd = self._ext.PerMessageDeflate()
            pmd.finalize(flow.deflate)
            extensions.append(pmd)
        # wsproto's FrameProtocol(client=False) is a server: it reads the client's masked frames.
        return self._fp.FrameProtocol(client=not from_client, extensions=extensions)

    @staticmethod
    def _looks_like_ws(buf: bytes) -> bool:
        b0 = buf[0]
        return b0 & 0x70 == 0 and (b0 & 0x0F) in (0, 1, 2, 8, 9, 10)

    def _open_without_handshake(self, flow: _Flow, side: int, n: int, ts: float) -> Iterator[Record]:
        half = flow.halves[side]
        masked = bool(half.buf[1] & 0x80)
        client = side if masked else 1 - side
        flow.client = client
        c_ip, c_port = flow.ends[client]
        s_ip, s_port = flow.ends[1 - client]
        flow.station = f"{c_ip}:{c_port}"
        flow.detail = f"{c_ip}:{c_port} -> {s_ip}:{s_port} (no handshake in the capture)"
        flow.state = "ws"
        flow.opened = True
        yield Record(n, ts, OPEN, flow.key, ConnInfo(flow.station, None, flow.detail))
        for index in (0, 1):
            h = flow.halves[index]
            h.client = index == client
            h.fp = self._decoder(flow, h.client)
            early, h.buf = h.buf, b""
            if early:
                yield from self._frames(flow, index, h, early, n, ts)

    def _frames(self, flow: _Flow, side: int, half: _Half, data: bytes, n: int, ts: float) -> Iterator[Record]:
        if half.dead:
            return
        fp = self._fp
        half.fp.receive_bytes(data)
        code = FROM_STATION if half.client else FROM_CSMS
        try:
            for frame in half.fp.received_frames():
                op = frame.opcode
                if op is fp.Opcode.TEXT:
                    half.parts.append(frame.payload)
                    if frame.message_finished:
                        text = "".join(half.parts)
                        half.parts = []
                        self.frames += 1
                        yield Record(n, ts, code, flow.key, text)
                elif op is fp.Opcode.BINARY:
                    if frame.message_finished:
                        yield Record(
                            n,
                            ts,
                            NOTE,
                            flow.key,
                            Note(
                                "binary-message",
                                "a binary WebSocket message: OCPP-J sends text messages only",
                                {"side": self._role(flow, side)},
                            ),
                        )
                elif op is fp.Opcode.CLOSE:
                    close_code, reason = frame.payload
                    if int(close_code) not in (1000, 1001, 1005):
                        yield Record(
                            n,
                            ts,
                            NOTE,
                            flow.key,
                            Note(
                                "websocket-close",
                                f"WebSocket closed with code {int(close_code)} {reason!r}".rstrip(),
                                {"side": self._role(flow, side), "code": int(close_code)},
                            ),
                        )
        except fp.ParseFailed as exc:
            half.dead = True
            yield Record(
                n,
                ts,
                NOTE,
                flow.key,
                Note(
                    "websocket-error",
                    f"WebSocket protocol error: {exc}; this direction is not decoded further",
                    {"side": self._role(flow, side)},
                ),
            )
