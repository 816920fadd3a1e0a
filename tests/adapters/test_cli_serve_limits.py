"""``ocppkit serve`` applies the limits it takes as options, in a real process over loopback:
the path prefix, the call rate and the disconnect after refused calls, the duplicate policy."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .aio import free_port, run, send_at_once, spawn_cli, wait_for_line

V201: Any = ["ocpp2.0.1"]


def test_serve_takes_the_prefix_the_rate_limits_and_the_duplicate_policy() -> None:
    port = free_port()
    serve = spawn_cli(
        "serve",
        "--port",
        str(port),
        "--version",
        "2.0.1",
        "--path-prefix",
        "/ocpp/",
        "--max-call-rate",
        "0.5",
        "--max-call-burst",
        "2",
        "--max-excess-calls",
        "3",
        "--duplicates",
        "reject",
        "--send-timeout",
        "5",
        "--backlog",
        "512",
    )

    async def scenario() -> None:
        base = f"ws://127.0.0.1:{port}"
        with pytest.raises(websockets.InvalidStatus) as refused:
            await connect(f"{base}/CS1", subprotocols=V201)  # no prefix: not a station URL
        assert refused.value.response.status_code == 404
        async with connect(f"{base}/ocpp/CS1", subprotocols=V201) as ws:
            with pytest.raises(websockets.InvalidStatus) as duplicate:
                await connect(f"{base}/ocpp/CS1", subprotocols=V201)
            assert duplicate.value.response.status_code == 409  # --duplicates reject
            send_at_once(ws, [f'[2,"{i}","Heartbeat",{{}}]' for i in range(6)])
            answers = []
            try:
                while True:
                    answers.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            except ConnectionClosed:
                pass
            # the first call found the server waiting (free), the burst of 2, then refusals
            assert [a[0] for a in answers] == [3, 3, 3, 4, 4, 4]
            assert {a[2] for a in answers[3:]} == {"GenericError"}
            assert ws.close_code == 1008  # after --max-excess-calls refusals

    try:
        line = wait_for_line(serve, "CSMS listening")
        assert f"ws://127.0.0.1:{port}/ocpp/<identity>" in line
        run(scenario())
    finally:
        serve.terminate()
        serve.communicate(timeout=10)


def test_serve_quiet_prints_no_frames() -> None:
    port = free_port()
    serve = spawn_cli("serve", "--port", str(port), "--version", "2.0.1", "--quiet")

    async def scenario() -> None:
        async with connect(f"ws://127.0.0.1:{port}/Q1", subprotocols=V201) as ws:
            await ws.send('[2,"1","Heartbeat",{}]')
            assert json.loads(await ws.recv())[0] == 3

    try:
        wait_for_line(serve, "CSMS listening")
        run(scenario())
    finally:
        serve.terminate()
        out, _ = serve.communicate(timeout=10)
    assert "Heartbeat" not in out and "CSMS closed properly" in out
