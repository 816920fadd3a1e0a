"""The picows adapters over real loopback sockets: our websockets station against the picows
server and the picows station against both servers, subprotocol negotiation (none: 1002), the
identity rules (404), permessage-deflate negotiated and used, fragmentation, 1003/1007/1009,
keep-alive pings against a silent peer, graceful close."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from ocppkit import Router, v201
from ocppkit.adapters import picows as pw
from ocppkit.adapters import websockets as wsa
from ocppkit.adapters.demo import csms_router
from ocppkit.v201 import DataTransferRequest, DataTransferResponse
from tests.adapters.aio import run, until

V201: Any = ["ocpp2.0.1"]


def boot() -> v201.BootNotificationRequest:
    return v201.BootNotificationRequest(
        charging_station=v201.ChargingStationType(model="M", vendor_name="V"), reason=v201.BootReasonEnumType.POWER_UP
    )


def station_router() -> Router:
    router = Router("2.0.1")

    @router.on(DataTransferRequest)
    def data_transfer(request: DataTransferRequest) -> DataTransferResponse:
        return DataTransferResponse(status="Accepted", data=(request.data or "")[::-1])

    return router


async def picows_csms(**kw: Any) -> pw.CSMSServer:
    csms = pw.CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), **kw)
    await csms.start("127.0.0.1", 0)
    return csms


async def closed_with(ws: ClientConnection) -> tuple[int | None, str | None]:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    except ConnectionClosed:
        pass
    return ws.close_code, ws.close_reason


def write_frames(ws: ClientConnection, *frames: Frame) -> None:
    """Frames websockets' send() would not make (bad UTF-8, a raw fragment sequence)."""
    for frame in frames:
        ws.protocol.send_frame(frame)
    for data in ws.protocol.data_to_send():
        ws.transport.write(data)


@pytest.mark.parametrize("station", [wsa.ChargingStation, pw.ChargingStation])
def test_stations_of_both_libraries_against_the_picows_server(station: type[wsa.ChargingStation]) -> None:
    async def scenario() -> None:
        csms = await picows_csms()
        try:
            url = f"ws://127.0.0.1:{csms.port}/CS1"
            async with station(url, station_router(), versions=("2.0.1",)) as cs:
                answer = await cs.call(boot())
                assert answer.status == v201.RegistrationStatusEnumType.ACCEPTED
                reply = await csms.call("CS1", DataTransferRequest(vendor_id="x", data="abc"))
                assert reply.data == "cba"  # the CSMS calls the station over the same connection
                session = csms.sessions["CS1"]
                assert session.version == "2.0.1" and type(session.transport).__name__ == "PicowsTransport"
                assert [s.identity for s in csms.stations()] == ["CS1"]
            await until(lambda: "CS1" not in csms.sessions)
            assert "received 1000" in session.close_reason  # the station closed gracefully
        finally:
            await csms.close()

    run(scenario())


def test_the_picows_station_against_the_websockets_server_reconnects() -> None:
    async def scenario() -> None:
        csms = wsa.CSMSServer(csms_router("2.0.1"), versions=("2.0.1",))
        await csms.start("127.0.0.1", 0)
        backoff = wsa.RetryBackOff(wait_minimum=0.05, random_range=0, repeat_times=2)
        try:
            url = f"ws://127.0.0.1:{csms.port}/CS1"
            async with pw.ChargingStation(url, station_router(), versions=("2.0.1",), reconnect=backoff) as cs:
                assert (await cs.call(boot())).status == v201.RegistrationStatusEnumType.ACCEPTED
                assert cs.session is not None and cs.session.transport.deflate is not None  # type: ignore[attr-defined]
                assert (await csms.call("CS1", DataTransferRequest(vendor_id="x", data="ab"))).data == "ba"
                await csms.disconnect("CS1", code=4001, reason="go away")
                await until(lambda: cs.connections == 2 and "CS1" in csms.sessions)  # it came back
                assert (await cs.call(v201.HeartbeatRequest())).current_time is not None
        finally:
            await csms.close()

    run(scenario())


def test_negotiation_picks_the_station_preference_and_closes_1002_without_one() -> None:
    async def scenario() -> None:
        csms = pw.CSMSServer({v: csms_router(v) for v in ("2.0.1", "1.6")})
        await csms.start("127.0.0.1", 0)
        try:
            offers: Any = ["ocpp1.6", "ocpp2.0.1"]
            async with connect(f"ws://127.0.0.1:{csms.port}/CS1", subprotocols=offers) as ws:
                assert ws.subprotocol == "ocpp1.6"
                await ws.send('[2,"1","Heartbeat",{}]')
                assert json.loads(await ws.recv())[:2] == [3, "1"]
            none: Any = ["ocpp2.1"]
            ws = await connect(f"ws://127.0.0.1:{csms.port}/CS2", subprotocols=none)
            assert ws.subprotocol is None
            assert await closed_with(ws) == (1002, "No supported OCPP subprotocol")
            ws = await connect(f"ws://127.0.0.1:{csms.port}/CS3")  # offering none at all
            assert await closed_with(ws) == (1002, "No supported OCPP subprotocol")
        finally:
            await csms.close()

    run(scenario())


def test_identity_rules_refuse_with_404_before_the_upgrade() -> None:
    async def scenario() -> None:
        csms = await picows_csms(path_prefix="/ocpp/")
        try:
            for path in ("/CS1", "/ocpp/a/CS1", "/ocpp/", "/ocpp/bad%20id"):
                with pytest.raises(websockets.exceptions.InvalidStatus) as info:
                    await connect(f"ws://127.0.0.1:{csms.port}{path}", subprotocols=V201)
                assert info.value.response.status_code == 404
                assert info.value.response.body == b"Unknown charging station\n"
            assert csms.refusals["path"] == 3 and csms.refusals["identity"] == 1
            async with connect(f"ws://127.0.0.1:{csms.port}/ocpp/CS%7C1", subprotocols=V201) as ws:
                await ws.send('[2,"1","Heartbeat",{}]')
                await ws.recv()
                assert "CS|1" in csms.sessions  # percent-decoded
        finally:
            await csms.close()

    run(scenario())


def test_deflate_is_negotiated_with_the_small_window_and_used() -> None:
    async def scenario() -> None:
        seen: list[bytes] = []
        csms = await picows_csms(on_frame=lambda identity, direction, data: seen.append(data))
        try:
            async with connect(f"ws://127.0.0.1:{csms.port}/CS1", subprotocols=V201) as ws:
                (extension,) = ws.protocol.extensions
                assert extension.name == "permessage-deflate"
                assert (extension.local_max_window_bits, extension.remote_max_window_bits) == (11, 11)
                payload = "x" * 5000
                await ws.send(f'[2,"1","DataTransfer",{{"vendorId":"v","data":"{payload}"}}]')
                answer = json.loads(await ws.recv())
                assert answer[:2] == [3, "1"] and answer[2]["status"]
                assert payload.encode() in seen[0]  # decompressed on the way in
                # the bytes on the wire were compressed: websockets saw rsv1 frames (it decoded them)
                assert csms.sessions["CS1"].transport.deflate is not None  # type: ignore[attr-defined]
            async with connect(f"ws://127.0.0.1:{csms.port}/CS2", subprotocols=V201, compression=None) as ws:
                assert ws.protocol.extensions == []
                await ws.send('[2,"1","Heartbeat",{}]')
                assert json.loads(await ws.recv())[0] == 3
        finally:
            await csms.close()
        off = await picows_csms(compression=None)
        try:
            async with connect(f"ws://127.0.0.1:{off.port}/CS1", subprotocols=V201) as ws:
                assert ws.protocol.extensions == []  # offered, not accepted
        finally:
            await off.close()

    run(scenario())


def test_a_raw_compressed_frame_on_the_wire_is_inflated() -> None:
    """The rsv1 frame as bytes on the wire: a text message deflated by hand is inflated and
    answered where the extension was agreed, and is a protocol error (1002) where it was not."""
    import os
    import zlib

    def masked(first: int, payload: bytes) -> bytes:
        key = os.urandom(4)
        assert len(payload) < 126
        return bytes([first, 0x80 | len(payload)]) + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))

    async def scenario() -> None:
        csms = await picows_csms()
        try:
            for offer, expected in ((b"permessage-deflate; client_max_window_bits\r\n", b"answer"), (b"", b"1002")):
                reader, writer = await asyncio.open_connection("127.0.0.1", csms.port)
                writer.write(
                    b"GET /CS1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                    b"Sec-WebSocket-Protocol: ocpp2.0.1\r\n"
                    + (b"Sec-WebSocket-Extensions: " + offer if offer else b"")
                    + b"\r\n"
                )
                head = await reader.readuntil(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 101")
                assert (b"permessage-deflate" in head) == bool(offer)
                squeeze = zlib.compressobj(wbits=-11)
                body = squeeze.compress(b'[2,"1","Heartbeat",{}]') + squeeze.flush(zlib.Z_SYNC_FLUSH)
                writer.write(masked(0xC1, body[:-4]))  # FIN, RSV1, text
                first = await asyncio.wait_for(reader.readexactly(2), 5)
                payload = await reader.readexactly(first[1] & 0x7F)
                if expected == b"answer":
                    assert first[0] == 0xC1  # the answer is compressed too
                    text = zlib.decompressobj(wbits=-11).decompress(payload + b"\x00\x00\xff\xff")
                    assert json.loads(text)[:2] == [3, "1"]
                else:
                    assert first[0] == 0x88 and int.from_bytes(payload[:2], "big") == 1002
                writer.close()
        finally:
            await csms.close()

    run(scenario())


def test_fragmented_messages_are_reassembled_up_to_max_frame_size() -> None:
    async def scenario() -> None:
        csms = await picows_csms(max_frame_size=4096)
        try:
            for compression in ("deflate", None):
                async with connect(f"ws://127.0.0.1:{csms.port}/CS1", subprotocols=V201, compression=compression) as ws:
                    await ws.send(['[2,"1","Heart', 'beat"', ",{}]"])  # three fragments
                    assert json.loads(await ws.recv())[:2] == [3, "1"]
                    big = f'[2,"2","DataTransfer",{{"vendorId":"v","data":"{"y" * 5000}"}}]'
                    await ws.send([big[:3000], big[3000:]])  # each fragment fits, the message does not
                    code, _ = await closed_with(ws)
                    assert code == 1009
            async with connect(f"ws://127.0.0.1:{csms.port}/CS1", subprotocols=V201, compression=None) as ws:
                await ws.send("z" * 5000)  # one frame over the limit: picows refuses it
                assert (await closed_with(ws))[0] == 1009
            async with connect(f"ws://127.0.0.1:{csms.port}/CS1", subprotocols=V201, compression=None) as ws:
                write_frames(ws, Frame(Opcode.CONT, b"orphan"))  # nothing to continue
                assert (await closed_with(ws))[0] == 1002
        finally:
            await csms.close()

    run(scenario())


def test_binary_closes_1003_unless_accepted_and_bad_utf8_closes_1007() -> None:
    async def scenario() -> None:
        csms = await picows_csms()
        try:
            async with connect(f"ws://127.0.0.1:{csms.port}/CS1", subprotocols=V201) as ws:
                await ws.send(b'[2,"1","Heartbeat",{}]')
                assert await closed_with(ws) == (1003, "OCPP-J messages are text frames")
            await until(lambda: "CS1" not in csms.sessions)
            for frames in (
                [Frame(Opcode.TEXT, b'[2,"1","DataTransfer",{"vendorId":"\xff"}]')],
                [Frame(Opcode.TEXT, b'[2,"1","Data\xc3', fin=False), Frame(Opcode.CONT, b'\x28"]', fin=True)],
            ):
                async with connect(f"ws://127.0.0.1:{csms.port}/CS1", subprotocols=V201, compression=None) as ws:
                    write_frames(ws, *frames)
                    assert (await closed_with(ws))[0] == 1007
            async with connect(f"ws://127.0.0.1:{csms.port}/CS1", subprotocols=V201, compression=None) as ws:
                # a character split across two fragments is valid UTF-8 once reassembled
                write_frames(
                    ws,
                    Frame(Opcode.TEXT, b'[2,"7","DataTransfer",{"vendorId":"\xc3', fin=False),
                    Frame(Opcode.CONT, b'\xa9"}]', fin=True),
                )
                assert json.loads(await ws.recv())[:2] == [3, "7"]
        finally:
            await csms.close()
        accepting = await picows_csms(accept_binary=True)
        try:
            async with connect(f"ws://127.0.0.1:{accepting.port}/CS1", subprotocols=V201) as ws:
                await ws.send(b'[2,"1","Heartbeat",{}]')
                assert json.loads(await ws.recv())[:2] == [3, "1"]
        finally:
            await accepting.close()

    run(scenario())


def test_pings_keep_a_live_peer_and_drop_a_silent_one() -> None:
    async def scenario() -> None:
        csms = await picows_csms(ping_interval=0.2, options=wsa_options(ping_timeout=0.2))
        try:
            async with connect(f"ws://127.0.0.1:{csms.port}/LIVE", subprotocols=V201) as ws:
                await asyncio.sleep(0.8)  # idle, but websockets answers the pings
                await ws.send('[2,"1","Heartbeat",{}]')
                assert json.loads(await ws.recv())[0] == 3
            # A peer that completes the upgrade and then reads and answers nothing.
            reader, writer = await asyncio.open_connection("127.0.0.1", csms.port)
            writer.write(
                b"GET /SILENT HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                b"Sec-WebSocket-Protocol: ocpp2.0.1\r\n\r\n"
            )
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 101") and b"ocpp2.0.1" in head
            await until(lambda: "SILENT" in csms.sessions)
            session = csms.sessions["SILENT"]
            started = asyncio.get_running_loop().time()
            await asyncio.wait_for(session.closed.wait(), 3)
            assert asyncio.get_running_loop().time() - started < 1.5
            rest = await asyncio.wait_for(reader.read(), 3)  # a ping, then the close frame (1001), then EOF
            assert b"\x88" in rest
            writer.close()
        finally:
            await csms.close()

    run(scenario())


def wsa_options(**fields: Any) -> Any:
    from ocppkit.adapters.asyncio import SessionOptions

    return SessionOptions(**fields)


def test_graceful_close_of_the_server_and_of_one_station() -> None:
    async def scenario() -> None:
        csms = await picows_csms()
        a = await connect(f"ws://127.0.0.1:{csms.port}/A", subprotocols=V201)
        b = await connect(f"ws://127.0.0.1:{csms.port}/B", subprotocols=V201)
        await until(lambda: len(csms.sessions) == 2)
        port = csms.port
        assert await csms.disconnect("A", code=4000, reason="maintenance")
        assert await closed_with(a) == (4000, "maintenance")
        assert "A" not in csms.sessions
        await csms.close()
        assert await closed_with(b) == (1001, "CSMS shutting down")
        with pytest.raises(OSError):  # no longer listening
            socket.create_connection(("127.0.0.1", port), timeout=1).close()

    run(scenario())


def test_an_upgrade_that_never_finishes_is_cut_and_a_bad_request_is_400() -> None:
    async def scenario() -> None:
        csms = await picows_csms()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", csms.port)
            writer.write(b"POST /CS1 HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), 5)
            assert answer.startswith(b"HTTP/1.1 400 ")
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", csms.port)
            writer.write(b"GET /CS1 HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"p" * 17000)
            answer = await asyncio.wait_for(reader.read(), 5)
            assert answer.startswith(b"HTTP/1.1 431 ")
            writer.close()
            # not a WebSocket upgrade: 426 before the CSMS is asked (as the aiohttp front door)
            reader, writer = await asyncio.open_connection("127.0.0.1", csms.port)
            writer.write(b"GET /CS1 HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), 5)
            assert answer.startswith(b"HTTP/1.1 426 ") and b"Upgrade: websocket" in answer
            writer.close()
            assert csms.sessions == {}
        finally:
            await csms.close()

    run(scenario())


def test_cli_serve_and_station_on_picows() -> None:
    import signal
    import subprocess
    import sys

    from tests.adapters.aio import free_port, spawn_cli, wait_for_line

    port = free_port()
    serve = spawn_cli("serve", "--port", str(port), "--transport", "picows", "--quiet")
    try:
        line = wait_for_line(serve, "CSMS listening")
        assert "picows" in line
        for transport in ("picows", "websockets"):
            station = subprocess.run(
                [sys.executable, "-m", "ocppkit", "station", "--url", f"ws://127.0.0.1:{port}/CLI-{transport}"]
                + ["--version", "2.0.1", "--transport", transport],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert station.returncode == 0, station.stdout + station.stderr
            assert "session completed as expected" in station.stdout
        serve.send_signal(signal.SIGTERM)
        assert "CSMS closed properly" in wait_for_line(serve, "CSMS closed")
        assert serve.wait(10) == 0
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        if serve.stdout is not None:
            serve.stdout.close()


def test_the_conformance_helper_starts_a_picows_server() -> None:
    from tests.conformance.servers_picows import start_picows

    async def scenario() -> None:
        server, url = await start_picows(versions=("2.0.1",), path_prefix="/ocpp/")
        try:
            assert url == f"ws://127.0.0.1:{server.port}/ocpp/"
            async with connect(url + "CS1", subprotocols=V201) as ws:
                await ws.send('[2,"1","Heartbeat",{}]')
                assert json.loads(await ws.recv())[:2] == [3, "1"]
        finally:
            await server.close()

    run(scenario())


UPGRADE = (
    b"GET /{id} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Protocol: ocpp2.0.1\r\n\r\n"
)


def test_a_peer_that_never_reads_is_aborted_after_send_timeout() -> None:
    import os
    import time

    router = Router("2.0.1")

    @router.on(DataTransferRequest)
    def data_transfer(request: DataTransferRequest) -> DataTransferResponse:
        return DataTransferResponse(status="Accepted", data=os.urandom(100_000).hex())

    @router.on(v201.HeartbeatRequest)
    def heartbeat(request: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
        import datetime

        return v201.HeartbeatResponse(current_time=datetime.datetime.now(datetime.timezone.utc))

    async def scenario() -> None:
        csms = pw.CSMSServer(router, send_timeout=1.0, ping_interval=None, compression=None)
        await csms.start("127.0.0.1", 0)
        try:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", csms.port))
            reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 30)
            writer.write(UPGRADE.replace(b"{id}", b"STUCK"))
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
            writer.transport.pause_reading()  # from now on it reads nothing
            call = b'[2,"%d","DataTransfer",{"vendorId":"x"}]'
            for i in range(60):  # 60 answers of 200 kB, never read
                payload = call % i
                writer.write(bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            await until(lambda: "STUCK" in csms.sessions)
            stuck = csms.sessions["STUCK"]
            started = time.monotonic()
            async with connect(f"ws://127.0.0.1:{csms.port}/GOOD", subprotocols=V201) as good:
                await good.send('[2,"g","Heartbeat",{}]')  # served meanwhile
                assert json.loads(await asyncio.wait_for(good.recv(), 2))[:2] == [3, "g"]
                await asyncio.wait_for(stuck.closed.wait(), 10)
            assert 0.5 < time.monotonic() - started < 6.0
            assert stuck.close_reason == "the peer read nothing for 1 s (send buffer full)"
            writer.transport.abort()
        finally:
            await csms.close()

    run(scenario())


def test_a_close_the_peer_never_answers_is_bounded() -> None:
    async def scenario() -> None:
        csms = await picows_csms(options=wsa_options(ping_timeout=0.5), ping_interval=None)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", csms.port)
            writer.write(UPGRADE.replace(b"{id}", b"MUTE"))
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
            await until(lambda: "MUTE" in csms.sessions)
            loop = asyncio.get_running_loop()
            started = loop.time()
            assert await csms.disconnect("MUTE", code=1000, reason="bye")  # the peer never answers
            assert loop.time() - started < 2.0  # min(10 s, ping_timeout) and then aborted
            rest = await asyncio.wait_for(reader.read(), 3)
            assert rest[:1] == b"\x88" and rest[4:7] == b"bye"  # our close frame, then EOF
            writer.close()
        finally:
            await csms.close()

    run(scenario())


def test_the_picows_station_reads_a_compressed_call_sent_with_the_101_and_closes_1007_on_bad_text() -> None:
    from websockets.asyncio.server import serve

    answers: list[Any] = []

    async def handler(ws: Any) -> None:
        # the first frame leaves with the handshake's answer: deflated (the station offered it)
        if ws.request.path.endswith("/GOOD"):
            await ws.send('[2,"c1","DataTransfer",{"vendorId":"v","data":"' + "ab" * 300 + '"}]')
            answers.append(json.loads(await ws.recv()))
        else:
            ws.protocol.send_frame(Frame(Opcode.TEXT, b'[2,"c2","DataTransfer",{"vendorId":"\xff"}]'))
            for data in ws.protocol.data_to_send():
                ws.transport.write(data)
        await ws.wait_closed()

    async def scenario() -> None:
        async with serve(handler, "127.0.0.1", 0, subprotocols=V201) as server:
            port = server.sockets[0].getsockname()[1]
            cs = pw.ChargingStation(f"ws://127.0.0.1:{port}/GOOD", station_router(), versions=("2.0.1",))
            session = await cs.connect_once()
            await until(lambda: bool(answers))
            assert answers[0] == [3, "c1", {"status": "Accepted", "data": "ba" * 300}]
            assert session.transport.deflate is not None  # type: ignore[attr-defined]
            await session.close(2)
            bad = pw.ChargingStation(f"ws://127.0.0.1:{port}/BAD", station_router(), versions=("2.0.1",))
            session = await bad.connect_once()
            await asyncio.wait_for(session.closed.wait(), 5)
            assert session.close_reason == "sent 1007 (a text message that is not UTF-8)"

    run(scenario())


def test_the_picows_station_notices_a_silent_csms_by_its_pings() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        import base64
        import hashlib

        head = await reader.readuntil(b"\r\n\r\n")
        key = [
            line.split(b":", 1)[1].strip()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key")
        ]
        accept = base64.b64encode(hashlib.sha1(key[0] + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\nSec-WebSocket-Protocol: ocpp2.0.1\r\n\r\n"
        )
        await reader.read()  # reads, never answers a ping
        writer.close()

    async def scenario() -> None:
        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            options = wsa_options(ping_interval=0.2, ping_timeout=0.2, compression=None)
            cs = pw.ChargingStation(f"ws://127.0.0.1:{port}/CS1", versions=("2.0.1",), options=options)
            session = await cs.connect_once()
            started = asyncio.get_running_loop().time()
            await asyncio.wait_for(session.closed.wait(), 3)
            assert asyncio.get_running_loop().time() - started < 1.5
            assert "1001" in session.close_reason  # picows' auto-ping gave up
        finally:
            server.close()
            await server.wait_closed()

    run(scenario())


def test_receive_buffer_backlog_and_reuse_port_reach_the_sockets() -> None:
    async def scenario() -> None:
        first = await picows_csms(receive_buffer=4096, reuse_port=True, backlog=16)
        second = pw.CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), reuse_port=True)
        try:
            await second.start("127.0.0.1", first.port)  # SO_REUSEPORT: the same port twice
            assert second.port == first.port
            async with connect(f"ws://127.0.0.1:{first.port}/CS1", subprotocols=V201, compression=None) as ws:
                await ws.send('[2,"1","Heartbeat",{}]')
                await ws.recv()
                session = (first.sessions or second.sessions)["CS1"]
                sock = session.transport.ws.underlying_transport.get_extra_info("socket")  # type: ignore[attr-defined]
                size = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
                assert size <= 2 * 4096 if "CS1" in first.sessions else size > 2 * 4096  # Linux doubles it
        finally:
            await second.close()
            await first.close()

    run(scenario())
