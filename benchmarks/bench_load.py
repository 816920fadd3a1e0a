"""Load benchmark: many simulated charging stations on 127.0.0.1 against one CSMS server process.

``python -m benchmarks load [--quick] [--stations N] [--duration S] [--rounds R] [--version V]``

Three kinds of process, all on this machine, all bounded in time:

server (``python -m benchmarks.bench_load --serve KIND``, one of :data:`SERVERS`), one at a time
    ``ocppkit``: :class:`ocppkit.adapters.websockets.CSMSServer` with
    :func:`ocppkit.adapters.demo.csms_router` (asyncio, websockets, ``ocppkit.Connection``).
    ``ocppkit-picows``: the same CSMS on :class:`ocppkit.adapters.picows.CSMSServer` (picows).
    ``ocppkit-uvicorn`` / ``ocppkit-aiohttp``: the same CSMS (a plain
    :class:`ocppkit.adapters.csms.CSMS`) behind uvicorn (:class:`ocppkit.adapters.asgi.ASGIApp`)
    or an ``aiohttp.web`` application (:class:`ocppkit.adapters.aiohttp.WebSocketHandler`), from
    ``benchmarks/servers_frameworks.py``.
    ``ocpp``: a CSMS built the documented way with the ``ocpp`` package (2.1.0): one
    ``ocpp.v201.ChargePoint`` (``ocpp.v16.ChargePoint`` for 1.6) subclass per connection, served by
    ``websockets.serve`` with the same subprotocol, its handlers (``@on``) for BootNotification,
    Heartbeat and TransactionEvent (1.6: MeterValues) answering what the ocppkit demo answers.
    Both use websockets' defaults (keepalive ping every 20 s, permessage-deflate offered only to
    clients that ask for it: this client does not) and the default asyncio event loop.
    A server prints ``READY <port>`` and stops when its stdin closes, on SIGTERM, or after
    ``--max-seconds``.

load generator (``python -m benchmarks.bench_load --generate ...``), one process
    A minimal RFC 6455 client on ``asyncio.Protocol`` (no websockets library, no coroutine per
    message): it performs the opening handshake (checks the 101, ``Sec-WebSocket-Accept`` and the
    subprotocol), sends pre-encoded text frames (the payloads of the codec benchmark; each call
    gets a fresh id ``<station>-<n>``; the masking key is all zeros, so the client does no
    per-byte work while the server still unmasks every frame) and matches each answer by its id.
    Every station waits for the answer to its call before sending the next (one outstanding
    call per station, as OCPP-J requires): a closed loop. It answers pings and close frames.
    It runs on uvloop where installed (``--generator-loop``, default uvloop, else asyncio): on
    asyncio's loop it needed as much CPU per call as the fastest server, and on a 2-core
    machine set that server's pace; every server meets the same generator.

the parent (``python -m benchmarks load``)
    starts a server, then the generator, collects the generator's JSON, stops the server.
    Servers alternate (ocppkit, ocppkit-picows, ocpp, then the reverse order in a second round, ...).

The generator, per server:

1. a warm-up station boots, sends a Heartbeat and a TransactionEvent (loads schemas, caches), leaves;
2. ``VmRSS`` of the server (``/proc/<pid>/status``) is read: the baseline;
3. ``--stations`` stations connect (at most 50 handshakes at a time) and each sends a
   BootNotification; once all are booted and idle for 1 s, ``VmRSS`` again: the difference / N
   is the memory per connected station, WebSocket, session and connection included;
4. all stations loop Heartbeat, TransactionEvent (2.0.1; 1.6: MeterValues), Heartbeat, ... with
   no pause: after a warm-up (1 s; 0.5 s quick) a window of ``--duration`` seconds counts every
   answer that arrives in it (throughput: calls answered per second, each a CALL and its
   CALLRESULT) and its latency (send to answer, ``perf_counter``); the server's CPU time
   (``/proc/<pid>/stat``) and the generator's are read at both ends of the window;
5. the stations stop calling, wait for their last answers, and disconnect.

With every station in a closed loop and no think time the server is saturated: throughput is its
capacity for this mix, and latency is the queueing delay at that load (by Little's law about
stations / throughput). Both servers get the same number of stations, i.e. the same number of
calls in flight, so the server with the higher throughput also has the lower latency: its
throughput "at the same p99" is at least the measured figure (a p99 as high as the other
server's would need more calls in flight; a saturated server does not get faster from that).
The CPU columns show who was the bottleneck: a server near 100 % of one core was saturated; the
generator needs far less per call than either server.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import base64
import datetime as _dt
import hashlib
import json
import os
import resource
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import _loops

__all__ = [
    "TARGET_BYTES_PER_STATION",
    "TARGET_PICOWS_BYTES",
    "TARGET_PICOWS_BYTES_DEFLATE",
    "TARGET_PICOWS_CPU_PER_CALL",
    "TARGET_PICOWS_RATIO",
    "TARGET_THROUGHPUT_RATIO",
    "run",
    "target_lines",
]

TARGET_THROUGHPUT_RATIO = 10.0  # ocppkit calls/s / ocpp calls/s, same stations, p99 no higher
TARGET_BYTES_PER_STATION = 50 * 1024  # server RSS per connected station, WebSocket included
# issue 14: the picows server against the websockets one, same stations and generator
TARGET_PICOWS_RATIO = 2.5  # ocppkit-picows calls/s / ocppkit calls/s, p99 no higher
TARGET_PICOWS_CPU_PER_CALL = 45e-6  # seconds of server CPU per call
TARGET_PICOWS_BYTES = 20 * 1024  # per idle connection
TARGET_PICOWS_BYTES_DEFLATE = 50 * 1024  # ... with permessage-deflate agreed

ROOT = Path(__file__).resolve().parent.parent
SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}
SERVERS = ("ocppkit", "ocppkit-picows", "ocppkit-uvicorn", "ocppkit-aiohttp", "ocpp")
#: the servers that put the CSMS behind a framework's server (benchmarks/servers_frameworks.py)
FRAMEWORK_SERVERS = {"ocppkit-uvicorn": "uvicorn", "ocppkit-aiohttp": "aiohttp"}
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
CONNECT_CONCURRENCY = 50
_DEFLATE_OFFER = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"  # as browsers offer it


def _raise_fd_limit(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def _now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


# ------------------------------------------------------------------------------ servers


def _ocpp_charge_point(version: str) -> type:
    """A CSMS-side ChargePoint built with the ``ocpp`` package, answering like the ocppkit demo."""
    from ocpp.routing import on  # type: ignore[import-untyped]

    if version == "1.6":
        from ocpp.v16 import ChargePoint, call_result  # type: ignore[import-untyped]

        class CSMS16(ChargePoint):  # type: ignore[misc]
            @on("BootNotification")  # type: ignore[untyped-decorator]
            def on_boot_notification(self, charge_point_vendor: str, charge_point_model: str, **kw: Any) -> Any:
                return call_result.BootNotification(current_time=_now_iso(), interval=300, status="Accepted")

            @on("Heartbeat")  # type: ignore[untyped-decorator]
            def on_heartbeat(self) -> Any:
                return call_result.Heartbeat(current_time=_now_iso())

            @on("MeterValues")  # type: ignore[untyped-decorator]
            def on_meter_values(self, connector_id: int, meter_value: list[Any], **kw: Any) -> Any:
                return call_result.MeterValues()

        return CSMS16

    from ocpp.v201 import ChargePoint, call_result  # type: ignore[import-untyped]

    class CSMS201(ChargePoint):  # type: ignore[misc]
        @on("BootNotification")  # type: ignore[untyped-decorator]
        def on_boot_notification(self, charging_station: Any, reason: str, **kw: Any) -> Any:
            return call_result.BootNotification(current_time=_now_iso(), interval=300, status="Accepted")

        @on("Heartbeat")  # type: ignore[untyped-decorator]
        def on_heartbeat(self) -> Any:
            return call_result.Heartbeat(current_time=_now_iso())

        @on("TransactionEvent")  # type: ignore[untyped-decorator]
        def on_transaction_event(
            self,
            event_type: str,
            timestamp: str,
            trigger_reason: str,
            seq_no: int,
            transaction_info: Any,
            id_token: Any = None,
            **kw: Any,
        ) -> Any:
            return call_result.TransactionEvent(id_token_info={"status": "Accepted"} if id_token else None)

    return CSMS201


async def _serve(kind: str, version: str, max_seconds: float, profile: str | None = None) -> None:
    _raise_fd_limit(65536)
    loop = asyncio.get_running_loop()
    if kind in ("ocppkit", "ocppkit-picows"):
        from ocppkit.adapters import picows, websockets
        from ocppkit.adapters.demo import csms_router

        # The generator's stations connect as /ocpp/<id>; a benchmark lifts the per-connection
        # call limit (the security defaults are for hostile peers, not for a measured load).
        # Quiet: no on_frame printer (it alone costs more CPU per call than serving).
        adapter: Any = picows if kind == "ocppkit-picows" else websockets
        csms = adapter.CSMSServer(csms_router(version), versions=(version,), path_prefix="/ocpp/", max_call_rate=0)
        await csms.start("127.0.0.1", 0)
        port = csms.port
    else:
        import websockets

        charge_point = _ocpp_charge_point(version)

        async def on_connect(ws: Any) -> None:
            if ws.subprotocol != SUBPROTOCOL[version]:
                await ws.close()
                return
            cp = charge_point(ws.request.path.rstrip("/").rsplit("/", 1)[-1], ws)
            try:
                await cp.start()
            except websockets.exceptions.ConnectionClosed:
                pass

        server = await websockets.serve(on_connect, "127.0.0.1", 0, subprotocols=[SUBPROTOCOL[version]])  # type: ignore[list-item]
        port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()

    def on_stdin() -> None:
        if not os.read(sys.stdin.fileno(), 4096):  # the parent went away or closed our stdin
            loop.remove_reader(sys.stdin.fileno())
            stop.set()

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    print(f"READY {port}", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), max_seconds)
    except asyncio.TimeoutError:
        print("max-seconds reached, stopping", file=sys.stderr, flush=True)
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    os._exit(0)  # no graceful close of every connection: the run is over


# ------------------------------------------------------------------------ load generator


def _frames(version: str) -> dict[str, tuple[bytes, bytes]]:
    """action -> (b'","<Action>",', payload + b']'): a CALL is b'[2,"' + id + these two."""
    from .data import frames

    by_name = {f.name: f for f in frames()}
    if version == "1.6":
        boot, meter, meter_action = by_name["v16 BootNotification"], by_name["v16 MeterValues"], "MeterValues"
    else:
        boot, meter, meter_action = (
            by_name["v201 BootNotification"],
            by_name["v201 TransactionEvent"],
            "TransactionEvent",
        )
    return {
        "BootNotification": (b'","BootNotification",', boot.payload + b"]"),
        "Heartbeat": (b'","Heartbeat",', b"{}]"),
        meter_action: (f'","{meter_action}",'.encode(), meter.payload + b"]"),
    }


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame: FIN, masked with an all-zero key (so the payload goes out as is)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload


class _Station(asyncio.Protocol):
    """One simulated charging station: handshake, then one call at a time, answers matched by id."""

    def __init__(self, gen: _Generator, index: int) -> None:
        self.gen = gen
        self.name = f"CS{index:05d}"
        self.index = index
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.open = False
        self.key = base64.b64encode(os.urandom(16))
        self.inflate: Any = None  # zlib decompressobj when permessage-deflate was agreed
        self.inflate_wbits = 0  # and a fresh one per message when the server takes no context over
        self.opened: asyncio.Future[None] = gen.loop.create_future()
        self.answered: asyncio.Future[bytes] | None = None  # for calls awaited one by one
        self.seq = 0
        self.prefix = b""  # b'[3,"<id>"' of the outstanding call
        self.action = ""
        self.sent_at = 0.0
        self.looping = False
        self.step = 0
        self.closed = False

    # -- transport
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        req = (
            f"GET /ocpp/{self.name} HTTP/1.1\r\nHost: 127.0.0.1:{self.gen.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {self.key.decode()}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {SUBPROTOCOL[self.gen.version]}\r\n"
            + (_DEFLATE_OFFER if self.gen.deflate else "")
            + "\r\n"
        )
        transport.write(req.encode())  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"{self.name}: closed during the handshake"))
        if self.answered is not None and not self.answered.done():
            self.answered.set_exception(ConnectionError(f"{self.name}: closed"))
        if self.looping and not self.gen.stopping:
            self.gen.errors["closed"] += 1

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).decode("latin-1").split("\r\n")
            del buf[: end + 4]
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
            accept = base64.b64encode(hashlib.sha1(self.key + _GUID).digest()).decode()
            if not head[0].startswith("HTTP/1.1 101") or headers.get("sec-websocket-accept") != accept:
                self.opened.set_exception(ConnectionError(f"{self.name}: handshake refused: {head[0]}"))
                self.transport.close()  # type: ignore[union-attr]
                return
            if headers.get("sec-websocket-protocol") != SUBPROTOCOL[self.gen.version]:
                self.opened.set_exception(ConnectionError(f"{self.name}: no subprotocol agreed"))
                self.transport.close()  # type: ignore[union-attr]
                return
            ext = headers.get("sec-websocket-extensions", "")
            if ext:
                params = dict(p.strip().partition("=")[::2] for p in ext.split(";")[1:])
                if not ext.startswith("permessage-deflate") or not self.gen.deflate:
                    self.opened.set_exception(ConnectionError(f"{self.name}: unexpected extension {ext!r}"))
                    self.transport.close()  # type: ignore[union-attr]
                    return
                wbits = int(params.get("server_max_window_bits") or 15)
                self.inflate = zlib.decompressobj(-wbits)
                self.inflate_wbits = -wbits if "server_no_context_takeover" in params else 0
            self.open = True
            self.opened.set_result(None)
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            n = b1 & 0x7F
            pos = 2
            if n == 126:
                if len(buf) < 4:
                    return
                n = int.from_bytes(buf[2:4], "big")
                pos = 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n = int.from_bytes(buf[2:10], "big")
                pos = 10
            if b1 & 0x80:  # servers must not mask
                self.gen.errors["masked frame from server"] += 1
                pos += 4
            if len(buf) < pos + n:
                return
            payload = bytes(buf[pos : pos + n])
            del buf[: pos + n]
            opcode = b0 & 0x0F
            if opcode == 1 and b0 & 0x80:
                if b0 & 0x40:  # RSV1: a compressed message (permessage-deflate)
                    if self.inflate_wbits:
                        self.inflate = zlib.decompressobj(self.inflate_wbits)
                    payload = self.inflate.decompress(payload + b"\x00\x00\xff\xff")
                self.on_message(payload)
            elif opcode == 9:
                self.transport.write(_ws_frame(0xA, payload))  # type: ignore[union-attr]
            elif opcode == 8:
                if not self.closed:
                    self.transport.write(_ws_frame(0x8, payload[:2]))  # type: ignore[union-attr]
                    self.transport.close()  # type: ignore[union-attr]
                    self.closed = True
            elif opcode != 0xA:
                self.gen.errors[f"unexpected opcode {opcode} (fin {b0 >> 7})"] += 1

    # -- OCPP
    def send_call(self, action: str) -> None:
        self.seq += 1
        uid = f"{self.index}-{self.seq}".encode()
        middle, tail = self.gen.frames[action]
        self.prefix = b'[3,"' + uid + b'"'
        self.action = action
        self.sent_at = time.perf_counter()
        self.transport.write(_ws_frame(1, b'[2,"' + uid + middle + tail))  # type: ignore[union-attr]

    def on_message(self, payload: bytes) -> None:
        now = time.perf_counter()
        gen = self.gen
        if not payload.startswith(self.prefix) or self.sent_at == 0.0:
            gen.bad_answer(self, payload)
            return
        latency = now - self.sent_at
        self.sent_at = 0.0
        if self.answered is not None:
            fut, self.answered = self.answered, None
            fut.set_result(payload)
            return
        if gen.recording:
            gen.latencies[self.action].append(latency)
        if self.looping and not gen.stopping:
            self.step += 1
            self.send_call(gen.cycle[self.step & 1])
        else:
            self.looping = False
            gen.idle_stations += 1
            if gen.stopping and gen.idle_stations == gen.looping_stations:
                gen.all_idle.set()

    async def call(self, action: str, timeout: float = 30.0) -> bytes:
        self.answered = self.gen.loop.create_future()
        self.send_call(action)
        return await asyncio.wait_for(self.answered, timeout)


class _ErrorCounter(dict[str, int]):
    def __missing__(self, key: str) -> int:
        return 0


def _proc_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _proc_threads(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def _proc_cpu(pid: int) -> tuple[float, float]:
    """(user, system) CPU time of a process (all its threads), seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


class _Generator:
    def __init__(
        self,
        port: int,
        server_pid: int,
        version: str,
        stations: int,
        duration: float,
        warmup: float,
        deflate: bool = False,
        memory_only: bool = False,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.port = port
        self.server_pid = server_pid
        self.version = version
        self.n = stations
        self.duration = duration
        self.warmup = warmup
        self.deflate = deflate
        self.memory_only = memory_only
        self.frames = _frames(version)
        meter = "MeterValues" if version == "1.6" else "TransactionEvent"
        self.cycle = ("Heartbeat", meter)
        self.latencies: dict[str, array.array[float]] = {a: array.array("d") for a in self.cycle}
        self.recording = False
        self.stopping = False
        self.errors = _ErrorCounter()
        self.looping_stations = 0
        self.idle_stations = 0
        self.all_idle = asyncio.Event()

    def bad_answer(self, station: _Station, payload: bytes) -> None:
        kind = payload[:3].decode("latin-1", "replace")
        self.errors[f"answer {kind}... to {station.action}"] += 1
        if len(self.errors) < 20:
            print(f"{station.name}: unexpected answer to {station.action}: {payload[:200]!r}", file=sys.stderr)
        # keep the station going: treat it as answered
        station.sent_at = 0.0
        if station.answered is not None:
            fut, station.answered = station.answered, None
            fut.set_result(payload)
        elif station.looping and not self.stopping:
            station.step += 1
            station.send_call(self.cycle[station.step & 1])

    async def connect(self, index: int) -> _Station:
        _, station = await self.loop.create_connection(lambda: _Station(self, index), "127.0.0.1", self.port)
        await asyncio.wait_for(station.opened, 30)
        return station

    async def boot(self, station: _Station) -> float:
        t0 = time.perf_counter()
        answer = await station.call("BootNotification")
        if not answer.startswith(b"[3,") or b'"Accepted"' not in answer:
            raise RuntimeError(f"{station.name}: boot not accepted: {answer[:200]!r}")
        return time.perf_counter() - t0

    async def run(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "stations": self.n,
            "duration_s": self.duration,
            "warmup_s": self.warmup,
            "version": self.version,
            "mix": list(self.cycle),
        }
        pid = self.server_pid
        # 1. warm-up station
        w = await self.connect(99999)
        await self.boot(w)
        for action in self.cycle:
            answer = await w.call(action)
            if not answer.startswith(b"[3,"):
                raise RuntimeError(f"warm-up: {action} answered {answer[:200]!r}")
        w.transport.close()  # type: ignore[union-attr]
        await asyncio.sleep(0.5)
        out["server_rss_start"] = _proc_rss(pid)

        # 2. connect and boot every station
        sem = asyncio.Semaphore(CONNECT_CONCURRENCY)
        boot_times: list[float] = []

        async def bring_up(i: int) -> _Station:
            async with sem:
                st = await self.connect(i)
                boot_times.append(await self.boot(st))
                return st

        t0 = time.perf_counter()
        stations = await asyncio.gather(*(bring_up(i) for i in range(self.n)))
        out["connect_and_boot_s"] = time.perf_counter() - t0
        out["boot_latency_p50_s"] = statistics.median(boot_times)
        await asyncio.sleep(1.0)
        out["server_rss_idle"] = _proc_rss(pid)
        out["server_threads_idle"] = _proc_threads(pid)
        out["bytes_per_station"] = (out["server_rss_idle"] - out["server_rss_start"]) / self.n

        out["deflate_offered"] = self.deflate
        out["deflate_agreed"] = sum(st.inflate is not None for st in stations)
        if self.memory_only:
            for st in stations:
                st.transport.close()  # type: ignore[union-attr]
            await asyncio.sleep(0.2)
            return out

        # 3. closed-loop load
        self.looping_stations = self.n
        for st in stations:
            st.looping = True
            st.step = 0
            st.send_call(self.cycle[0])
        await asyncio.sleep(self.warmup)
        self.recording = True
        cpu0, gcpu0, t0 = _proc_cpu(pid), _proc_cpu(os.getpid()), time.perf_counter()
        await asyncio.sleep(self.duration)
        self.recording = False
        cpu1, gcpu1, t1 = _proc_cpu(pid), _proc_cpu(os.getpid()), time.perf_counter()
        window = t1 - t0
        self.stopping = True
        try:
            await asyncio.wait_for(self.all_idle.wait(), 30)
        except asyncio.TimeoutError:
            self.errors["no answer within 30 s after the window"] += self.n - self.idle_stations
        out["server_rss_after_load"] = _proc_rss(pid)
        out["server_threads_after_load"] = _proc_threads(pid)
        for st in stations:
            if st.transport is not None:
                st.transport.close()
        await asyncio.sleep(0.2)

        all_lat = sorted(x for a in self.cycle for x in self.latencies[a])
        count = len(all_lat)
        out.update(
            window_s=window,
            calls=count,
            calls_per_s=count / window,
            frames_per_s=2 * count / window,
            server_cpu_fraction=(sum(cpu1) - sum(cpu0)) / window,
            server_user_fraction=(cpu1[0] - cpu0[0]) / window,
            server_system_fraction=(cpu1[1] - cpu0[1]) / window,
            server_cpu_per_call_s=(sum(cpu1) - sum(cpu0)) / max(count, 1),
            calls_per_server_cpu_s=count / max(sum(cpu1) - sum(cpu0), 1e-9),
            generator_cpu_fraction=(sum(gcpu1) - sum(gcpu0)) / window,
            generator_system_fraction=(gcpu1[1] - gcpu0[1]) / window,
            latency_s=_percentiles(all_lat),
            latency_by_action_s={a: _percentiles(sorted(self.latencies[a])) for a in self.cycle},
            calls_by_action={a: len(self.latencies[a]) for a in self.cycle},
            errors=dict(self.errors),
        )
        return out


def _percentiles(xs: list[float]) -> dict[str, float]:
    if not xs:
        return {"p50": float("nan"), "p90": float("nan"), "p99": float("nan"), "max": float("nan")}
    n = len(xs)

    def q(p: float) -> float:
        return xs[min(n - 1, int(p * n))]

    return {"p50": q(0.50), "p90": q(0.90), "p99": q(0.99), "max": xs[-1], "mean": sum(xs) / n}


async def _generate(
    port: int,
    server_pid: int,
    version: str,
    stations: int,
    duration: float,
    warmup: float,
    deadline: float,
    deflate: bool = False,
    memory_only: bool = False,
) -> dict[str, Any]:
    _raise_fd_limit(stations + 1024)
    gen = _Generator(port, server_pid, version, stations, duration, warmup, deflate, memory_only)
    return await asyncio.wait_for(gen.run(), deadline)


# --------------------------------------------------------------------------------- parent


def default_generator_loop() -> str:
    """The load generator's event loop: uvloop where it is installed (its C transports cost the
    generator about 40 % less CPU per call than asyncio's, so that on a 2-core machine the fastest
    server, not the generator, sets the pace), else asyncio. Every server meets the same one."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def cpu_plan(pin: bool) -> tuple[int | None, int | None]:
    """(server CPU, generator CPU): two different CPUs when pinning and at least two are usable.

    Without pinning, the scheduler tends to run a process woken through a loopback socket on the
    CPU of the process that woke it, so server and generator can end up taking turns on one core
    while the other idles; pinning keeps the generator off the server's core, as if it ran on
    another machine.
    """
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return None, None
    if not pin or len(cpus) < 2:
        return None, None
    return cpus[-1], cpus[0]


def _cpu_args(cpu: int | None) -> list[str]:
    return [] if cpu is None else ["--cpu", str(cpu)]


def _start_server(
    kind: str, version: str, max_seconds: float, log: Any, profile: str | None = None, cpu: int | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_load",
            "--serve",
            kind,
            "--version",
            version,
            "--max-seconds",
            str(max_seconds),
            *(["--profile", profile] if profile else []),
            *_cpu_args(cpu),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline().decode() if ready else ""
    if not line.startswith("READY "):
        _stop(proc)
        raise RuntimeError(f"{kind} server did not start (got {line!r}); see its stderr")
    return proc, int(line.split()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_one(
    kind: str,
    *,
    version: str,
    stations: int,
    duration: float,
    warmup: float,
    profile: str | None = None,
    deflate: bool = False,
    memory_only: bool = False,
    pin: bool = True,
    generator_loop: str | None = None,
) -> dict[str, Any]:
    budget = 60 + stations * 0.05 + warmup + duration + 60  # connect, boot, load, drain: generous
    server_cpu, generator_cpu = cpu_plan(pin)
    with tempfile.TemporaryFile() as log:
        server, port = _start_server(kind, version, budget + 30, log, profile, server_cpu)
        try:
            gen = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.bench_load",
                    "--generate",
                    "--port",
                    str(port),
                    "--server-pid",
                    str(server.pid),
                    "--version",
                    version,
                    "--stations",
                    str(stations),
                    "--duration",
                    str(duration),
                    "--warmup",
                    str(warmup),
                    "--deadline",
                    str(budget),
                    *(["--deflate"] if deflate else []),
                    *(["--memory-only"] if memory_only else []),
                    *_cpu_args(generator_cpu),
                    "--generator-loop",
                    generator_loop or default_generator_loop(),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=budget + 15,
            )
            alive = server.poll() is None
        finally:
            _stop(server)
        log.seek(0)
        server_log = log.read().decode(errors="replace")
    if gen.returncode != 0 or not alive:
        raise RuntimeError(
            f"{kind}: generator exit {gen.returncode}, server alive {alive}\n"
            f"generator stderr:\n{gen.stderr[-3000:]}\nserver stderr:\n{server_log[-3000:]}"
        )
    result: dict[str, Any] = json.loads(gen.stdout.strip().splitlines()[-1])
    result["server"] = kind
    result["server_cpu_pinned"] = server_cpu
    result["generator_cpu_pinned"] = generator_cpu
    result["generator_stderr"] = gen.stderr[-2000:]
    result["server_stderr_tail"] = server_log[-2000:]
    return result


def run(
    *,
    quick: bool,
    stations: int | None = None,
    duration: float | None = None,
    rounds: int | None = None,
    version: str = "2.0.1",
    profile_dir: str | None = None,
    deflate_memory: bool | None = None,
    pin: bool = True,
    generator_loop: str | None = None,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    generator_loop = generator_loop or default_generator_loop()
    stations = stations or (100 if quick else 1000)
    duration = duration or (3.0 if quick else 15.0)
    rounds = rounds or (1 if quick else 2)
    warmup = 0.5 if quick else 1.0
    deflate_memory = (not quick) if deflate_memory is None else deflate_memory
    out(
        f"Load ({version}): {stations} stations on 127.0.0.1, closed loop (Heartbeat, "
        f"{'MeterValues' if version == '1.6' else 'TransactionEvent'}, ...), {duration:g} s window after "
        f"{warmup:g} s warm-up, per server; {rounds} round(s), servers alternating; "
        f"{os.cpu_count()} CPU(s); "
        + (
            "server pinned to CPU {}, generator to CPU {}".format(*cpu_plan(pin))
            if cpu_plan(pin)[0] is not None
            else "server and generator not pinned"
        )
        + f"; generator on {generator_loop}"
    )
    runs: list[dict[str, Any]] = []
    for r in range(rounds):
        order = SERVERS if r % 2 == 0 else SERVERS[::-1]
        for kind in order:
            profile = str(Path(profile_dir) / f"{kind}-round{r}.pstats") if profile_dir else None
            res = run_one(
                kind,
                version=version,
                stations=stations,
                duration=duration,
                warmup=warmup,
                profile=profile,
                pin=pin,
                generator_loop=generator_loop,
            )
            res["round"] = r
            runs.append(res)
            _print_run(res, out)
            if profile:
                _print_profile(profile, out)
    by_round: dict[int, dict[str, dict[str, Any]]] = {}
    for res in runs:
        by_round.setdefault(res["round"], {})[res["server"]] = res
    ratios = [rr["ocppkit"]["calls_per_s"] / rr["ocpp"]["calls_per_s"] for rr in by_round.values()]
    ratio = statistics.median(ratios)
    pw_ratios = [rr["ocppkit-picows"]["calls_per_s"] / rr["ocppkit"]["calls_per_s"] for rr in by_round.values()]
    pw_ratio = statistics.median(pw_ratios)
    pw_p99_ok = all(
        rr["ocppkit-picows"]["latency_s"]["p99"] <= rr["ocppkit"]["latency_s"]["p99"] for rr in by_round.values()
    )
    cpu_ratios = [
        rr["ocpp"]["server_cpu_per_call_s"] / rr["ocppkit"]["server_cpu_per_call_s"] for rr in by_round.values()
    ]
    deflate: dict[str, Any] = {}
    if deflate_memory:
        out(f"  memory with permessage-deflate offered by every station ({stations} stations, no load):")
        for kind in SERVERS:
            res = run_one(
                kind,
                version=version,
                stations=stations,
                duration=duration,
                warmup=warmup,
                deflate=True,
                memory_only=True,
                pin=pin,
            )
            deflate[kind] = res
            out(
                f"    {kind:<14} {res['bytes_per_station'] / 1024:6.1f} KB/station (deflate agreed by "
                f"{res['deflate_agreed']} of {stations})"
            )

    def med(kind: str, f: Callable[[dict[str, Any]], float]) -> float:
        return statistics.median(f(x) for x in runs if x["server"] == kind)

    summary: dict[str, dict[str, Any]] = {
        kind: {
            "calls_per_s": med(kind, lambda x: x["calls_per_s"]),
            "p50_s": med(kind, lambda x: x["latency_s"]["p50"]),
            "p99_s": med(kind, lambda x: x["latency_s"]["p99"]),
            "bytes_per_station": med(kind, lambda x: x["bytes_per_station"]),
            "server_cpu_per_call_s": med(kind, lambda x: x["server_cpu_per_call_s"]),
            "bytes_per_station_deflate": deflate[kind]["bytes_per_station"] if deflate else None,
            "server_cpu_fraction": med(kind, lambda x: x["server_cpu_fraction"]),
            "errors": sum(sum(x["errors"].values()) for x in runs if x["server"] == kind),
        }
        for kind in SERVERS
    }
    p99_ok = all(rr["ocppkit"]["latency_s"]["p99"] <= rr["ocpp"]["latency_s"]["p99"] for rr in by_round.values())
    results = {
        "version": version,
        "stations": stations,
        "duration_s": duration,
        "warmup_s": warmup,
        "rounds": rounds,
        "pinning": dict(zip(("server_cpu", "generator_cpu"), cpu_plan(pin), strict=True)),
        "generator_loop": generator_loop,
        "runs": runs,
        "throughput_ratio_per_round": ratios,
        "throughput_ratio": ratio,
        "server_cpu_per_call_ratio_per_round": cpu_ratios,
        "server_cpu_per_call_ratio": statistics.median(cpu_ratios),
        "deflate_memory_runs": deflate,
        "ocppkit_p99_not_higher": p99_ok,
        "picows_ratio_per_round": pw_ratios,
        "picows_ratio": pw_ratio,
        "picows_p99_not_higher": pw_p99_ok,
        "summary": summary,
        "targets": {
            "throughput_ge_10x_at_p99_not_higher": ratio >= TARGET_THROUGHPUT_RATIO and p99_ok,
            "ocppkit_bytes_per_station_lt_50k": summary["ocppkit"]["bytes_per_station"] < TARGET_BYTES_PER_STATION,
            "picows_ge_2.5x_websockets_at_p99_not_higher": pw_ratio >= TARGET_PICOWS_RATIO and pw_p99_ok,
            "picows_cpu_per_call_le_45us": summary["ocppkit-picows"]["server_cpu_per_call_s"]
            <= TARGET_PICOWS_CPU_PER_CALL,
            "picows_bytes_per_station_le_20k": summary["ocppkit-picows"]["bytes_per_station"] <= TARGET_PICOWS_BYTES,
            "picows_bytes_per_station_deflate_le_50k": (
                None
                if not deflate
                else summary["ocppkit-picows"]["bytes_per_station_deflate"] <= TARGET_PICOWS_BYTES_DEFLATE
            ),
        },
    }
    out("")
    out(
        f"  {'server':<14} {'calls/s':>9} {'p50':>9} {'p99':>9} {'KB/station':>11} {'server CPU':>11} "
        f"{'CPU/call':>9} {'errors':>7}"
    )
    for kind, sm in summary.items():
        out(
            f"  {kind:<14} {sm['calls_per_s']:>9,.0f} {sm['p50_s'] * 1e3:>7.1f}ms {sm['p99_s'] * 1e3:>7.1f}ms "
            f"{sm['bytes_per_station'] / 1024:>10.1f}K {sm['server_cpu_fraction'] * 100:>10.0f}% "
            f"{sm['server_cpu_per_call_s'] * 1e6:>7.0f}us {sm['errors']:>7}"
        )
    out(
        f"  ocppkit / ocpp throughput = {ratio:.1f}x (per round: {', '.join(f'{x:.1f}x' for x in ratios)}); "
        f"ocppkit p99 <= ocpp p99 in every round: {p99_ok}; target >= {TARGET_THROUGHPUT_RATIO:g}x: "
        f"{'PASS' if results['targets']['throughput_ge_10x_at_p99_not_higher'] else 'MISS'}"
    )
    out(
        f"  server CPU per call, ocpp / ocppkit = {results['server_cpu_per_call_ratio']:.1f}x (per round: "
        f"{', '.join(f'{x:.1f}x' for x in cpu_ratios)}; no target: the contention-proof view of the same ratio)"
    )
    t = results["targets"]
    out(
        f"  ocppkit-picows / ocppkit throughput = {pw_ratio:.2f}x (per round: "
        f"{', '.join(f'{x:.2f}x' for x in pw_ratios)}); picows p99 <= websockets p99 in every round: {pw_p99_ok}; "
        f"target >= {TARGET_PICOWS_RATIO:g}x: {'PASS' if t['picows_ge_2.5x_websockets_at_p99_not_higher'] else 'MISS'}"
    )
    cpu = summary["ocppkit-picows"]["server_cpu_per_call_s"]
    out(
        f"  ocppkit-picows server CPU per call = {cpu * 1e6:.0f} us; "
        f"target <= {TARGET_PICOWS_CPU_PER_CALL * 1e6:g} us: {'PASS' if t['picows_cpu_per_call_le_45us'] else 'MISS'}"
    )
    for kind in SERVERS:
        b = summary[kind]["bytes_per_station"]
        bd = summary[kind]["bytes_per_station_deflate"]
        limit = {"ocppkit": TARGET_BYTES_PER_STATION, "ocppkit-picows": TARGET_PICOWS_BYTES}.get(kind)
        out(
            f"  {kind} memory per connected station = {b / 1024:.1f} KB"
            + (f" ({bd / 1024:.1f} KB with deflate)" if bd is not None else "")
            + (
                f"; target {'<' if kind == 'ocppkit' else '<='} {limit // 1024} KB: {'PASS' if b <= limit else 'MISS'}"
                if limit is not None
                else " (no target)"
            )
            + (
                f"; with deflate <= {TARGET_PICOWS_BYTES_DEFLATE // 1024} KB: "
                f"{'PASS' if bd <= TARGET_PICOWS_BYTES_DEFLATE else 'MISS'}"
                if kind == "ocppkit-picows" and bd is not None
                else ""
            )
        )
    return results


def _print_run(res: dict[str, Any], out: Callable[[str], None]) -> None:
    lat = res["latency_s"]
    errs = sum(res["errors"].values())
    out(
        f"  round {res['round']} {res['server']:<14} {res['calls_per_s']:>9,.0f} calls/s  "
        f"p50 {lat['p50'] * 1e3:7.1f} ms"
        f"  p99 {lat['p99'] * 1e3:7.1f} ms  max {lat['max'] * 1e3:7.1f} ms  server CPU "
        f"{res['server_cpu_fraction'] * 100:3.0f}% (system {res['server_system_fraction'] * 100:.0f}%; "
        f"{res['server_cpu_per_call_s'] * 1e6:.0f} us/call)  "
        f"generator CPU {res['generator_cpu_fraction'] * 100:3.0f}%  "
        f"{res['bytes_per_station'] / 1024:5.1f} KB/station  connect+boot {res['connect_and_boot_s']:.1f} s"
        + (f"  ERRORS {res['errors']}" if errs else "")
    )


def _print_profile(path: str, out: Callable[[str], None], top: int = 30) -> None:
    import io
    import pstats

    buf = io.StringIO()
    stats = pstats.Stats(path, stream=buf)
    stats.sort_stats("tottime").print_stats(top)
    out(f"  cProfile of the server ({path}), top {top} by own time:")
    for line in buf.getvalue().splitlines():
        if line.strip():
            out("    " + line)


def target_lines(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    s = results["summary"]
    return [
        (
            f"load {results['stations']} stations: ocppkit/ocpp throughput >= {TARGET_THROUGHPUT_RATIO:g}x, "
            f"p99 not higher",
            f"{results['throughput_ratio']:.1f}x",
            results["targets"]["throughput_ge_10x_at_p99_not_higher"],
        ),
        (
            f"load: ocppkit server memory per connected station < {TARGET_BYTES_PER_STATION // 1024} KB",
            f"{s['ocppkit']['bytes_per_station'] / 1024:.1f} KB",
            results["targets"]["ocppkit_bytes_per_station_lt_50k"],
        ),
        (
            f"load: picows/websockets server throughput >= {TARGET_PICOWS_RATIO:g}x, p99 not higher",
            f"{results['picows_ratio']:.2f}x",
            results["targets"]["picows_ge_2.5x_websockets_at_p99_not_higher"],
        ),
        (
            f"load: picows server CPU per call <= {TARGET_PICOWS_CPU_PER_CALL * 1e6:g} us",
            f"{s['ocppkit-picows']['server_cpu_per_call_s'] * 1e6:.0f} us",
            results["targets"]["picows_cpu_per_call_le_45us"],
        ),
        (
            f"load: picows server memory per idle connection <= {TARGET_PICOWS_BYTES // 1024} KB",
            f"{s['ocppkit-picows']['bytes_per_station'] / 1024:.1f} KB",
            results["targets"]["picows_bytes_per_station_le_20k"],
        ),
    ] + (
        [
            (
                f"load: picows memory per idle connection with deflate <= {TARGET_PICOWS_BYTES_DEFLATE // 1024} KB",
                f"{s['ocppkit-picows']['bytes_per_station_deflate'] / 1024:.1f} KB",
                bool(results["targets"]["picows_bytes_per_station_deflate_le_50k"]),
            )
        ]
        if s["ocppkit-picows"]["bytes_per_station_deflate"] is not None
        else []
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_load", description=__doc__.split("\n")[0])
    parser.add_argument("--serve", choices=SERVERS, help="run a server process (internal)")
    parser.add_argument("--generate", action="store_true", help="run the load generator (internal)")
    parser.add_argument("--version", default="2.0.1", choices=sorted(SUBPROTOCOL))
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--port", type=int)
    parser.add_argument("--server-pid", type=int)
    parser.add_argument("--stations", type=int)
    parser.add_argument("--duration", type=float)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--deadline", type=float, default=300.0)
    parser.add_argument("--deflate", action="store_true", help="generator: offer permessage-deflate")
    parser.add_argument("--memory-only", action="store_true", help="generator: connect, boot, measure memory, leave")
    parser.add_argument("--cpu", type=int, help="server, generator: run on this CPU only (internal)")
    parser.add_argument(
        "--no-pin", dest="pin", action="store_false", help="do not pin the server and the generator to different CPUs"
    )
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--deflate-memory",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also measure memory per station with permessage-deflate (default: full run only)",
    )
    parser.add_argument("--profile", metavar="FILE", help="server: write cProfile stats to FILE when stopping")
    parser.add_argument(
        "--generator-loop",
        choices=_loops.LOOPS,
        help="the load generator's event loop (default: uvloop where installed, else asyncio)",
    )
    parser.add_argument(
        "--profile-server",
        metavar="DIR",
        help="profile each server with cProfile (slows it down): DIR/<server>.pstats; prints the top functions",
    )
    _loops.add_loop_option(parser)
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    if args.serve in FRAMEWORK_SERVERS:
        from . import servers_frameworks

        _loops.run(servers_frameworks.serve(FRAMEWORK_SERVERS[args.serve], args.version, args.max_seconds))
        return 0
    if args.serve:
        _loops.run(_serve(args.serve, args.version, args.max_seconds, args.profile))
        return 0
    if args.generate:
        result = _loops.run(
            _generate(
                args.port,
                args.server_pid,
                args.version,
                args.stations,
                args.duration,
                args.warmup,
                args.deadline,
                args.deflate,
                args.memory_only,
            ),
            args.generator_loop or default_generator_loop(),
        )
        print(json.dumps(result))
        return 0
    if args.profile_server:
        Path(args.profile_server).mkdir(parents=True, exist_ok=True)
    run(
        quick=args.quick,
        stations=args.stations,
        duration=args.duration,
        rounds=args.rounds,
        version=args.version,
        profile_dir=args.profile_server,
        deflate_memory=args.deflate_memory,
        pin=args.pin,
        generator_loop=args.generator_loop,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
