"""Plumbing shared by the interop tests: bounded awaits, subprocesses speaking JSON lines,
and a recording WebSocket wrapper for the ``ocpp`` package.

Every wait here has a deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import websockets

from ocppkit import Router, v16, v201
from ocppkit.adapters.asyncio import Session
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import CSMSServer
from ocppkit.events import CallReceived, ProtocolViolation

HERE = Path(__file__).resolve().parent
T = TypeVar("T")

#: Upper bound of one whole test (each test runs in its own event loop).
TEST_TIMEOUT = 30.0
#: Upper bound of one step inside a test (a call, a line from a subprocess, a connection).
STEP_TIMEOUT = 10.0
#: The token every session authorizes with.
ID_TAG = "04A2B3C4"


def run(coro: Coroutine[Any, Any, T], timeout: float = TEST_TIMEOUT) -> T:
    """Run ``coro`` in a fresh event loop, failing it after ``timeout`` seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def within(awaitable: Awaitable[T], timeout: float = STEP_TIMEOUT) -> T:
    return await asyncio.wait_for(awaitable, timeout)


# --------------------------------------------------------------------------- subprocesses


class JsonLinesProcess:
    """A subprocess that prints one JSON object per line on stdout and reads commands on stdin.

    Lines that are not JSON are kept as ``{"event": "text", "text": ...}`` (the ``ocppkit``
    CLI prints plain text). ``expect()`` waits for the first not yet consumed event matching a
    predicate, so events can be awaited in any order.
    """

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.name = name
        self.events: list[dict[str, Any]] = []
        self._consumed: set[int] = set()
        self._changed = asyncio.Condition()
        self._stderr = bytearray()
        self._eof = False
        self._tasks = [asyncio.ensure_future(self._read_stdout()), asyncio.ensure_future(self._read_stderr())]
        self._tags = 0

    @classmethod
    async def start(
        cls, argv: Sequence[str], *, name: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> JsonLinesProcess:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **(env or {})},
            cwd=str(cwd) if cwd else None,
        )
        return cls(proc, name)

    async def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            text = line.decode("utf-8", "replace").rstrip("\n")
            try:
                event = json.loads(text)
                if not isinstance(event, dict):
                    raise ValueError
            except ValueError:
                event = {"event": "text", "text": text}
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()
        async with self._changed:
            self._eof = True
            self._changed.notify_all()

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while True:
            chunk = await self.proc.stderr.read(4096)
            if not chunk:
                break
            self._stderr += chunk

    @property
    def stderr(self) -> str:
        return self._stderr.decode("utf-8", "replace")

    def describe(self) -> str:
        lines = "\n".join(json.dumps(e) for e in self.events[-30:])
        return f"{self.name}: stdout (last events):\n{lines}\nstderr:\n{self.stderr[-3000:]}"

    async def expect(
        self, match: str | Callable[[dict[str, Any]], bool], timeout: float = STEP_TIMEOUT
    ) -> dict[str, Any]:
        """The first unconsumed event whose ``event`` equals ``match`` (or satisfying it)."""
        pred = (lambda e: e.get("event") == match) if isinstance(match, str) else match

        def find() -> dict[str, Any] | None:
            for i, event in enumerate(self.events):
                if i not in self._consumed and pred(event):
                    self._consumed.add(i)
                    return event
            return None

        async def wait() -> dict[str, Any]:
            async with self._changed:
                while True:
                    found = find()
                    if found is not None:
                        return found
                    if self._eof:
                        raise AssertionError(f"{self.name} ended without the expected event\n{self.describe()}")
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.name}: no expected event within {timeout}s\n{self.describe()}") from None

    def matching(self, event: str) -> list[dict[str, Any]]:
        """Every event of that kind read so far (consumed or not)."""
        return [e for e in self.events if e.get("event") == event]

    async def wait_count(self, event: str, count: int, timeout: float = STEP_TIMEOUT) -> list[dict[str, Any]]:
        """Every event of that kind, once at least ``count`` of them were read. (What a peer
        printed before answering may still be in the pipe when its answer arrives.)"""

        async def wait() -> list[dict[str, Any]]:
            async with self._changed:
                while len(self.matching(event)) < count:
                    if self._eof:
                        raise AssertionError(f"{self.name} ended with fewer than {count} {event!r}\n{self.describe()}")
                    await self._changed.wait()
                return self.matching(event)

        try:
            return await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(
                f"{self.name}: fewer than {count} {event!r} within {timeout}s\n{self.describe()}"
            ) from None

    async def send(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await within(self.proc.stdin.drain())

    def _tag(self) -> str:
        self._tags += 1
        return f"t{self._tags}"

    async def call(self, method: str, params: dict[str, Any], timeout: float = STEP_TIMEOUT) -> dict[str, Any]:
        """Have the peer make an OCPP call; returns its ``result`` or ``error`` event."""
        tag = self._tag()
        await self.send({"cmd": "call", "tag": tag, "method": method, "params": params})
        return await self.expect(lambda e: e.get("tag") == tag and e.get("event") in ("result", "error"), timeout)

    async def raw(self, unique_id: str, frame: Any, timeout: float = STEP_TIMEOUT) -> list[Any]:
        """Have the peer send a raw frame (a JSON value, or a str sent as is); returns the
        CALLRESULT/CALLERROR frame that answered ``unique_id``."""
        tag = self._tag()
        text = frame if isinstance(frame, str) else json.dumps(frame, separators=(",", ":"))
        await self.send({"cmd": "raw", "tag": tag, "id": unique_id, "text": text})
        event = await self.expect(lambda e: e.get("tag") == tag and e.get("event") == "raw_reply", timeout)
        reply: list[Any] = event["reply"]
        return reply

    async def close(self, command: dict[str, Any] | None = None, timeout: float = STEP_TIMEOUT) -> int:
        """Ask the process to finish (a command, then end of stdin); kill it if it does not.
        Returns its exit code."""
        proc = self.proc
        if proc.returncode is None and proc.stdin is not None and not proc.stdin.is_closing():
            with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
                if command is not None:
                    await self.send(command)
                proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except asyncio.TimeoutError:
            await self.kill()
        await self._finish_readers()
        assert proc.returncode is not None
        return proc.returncode

    async def kill(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await asyncio.wait_for(self.proc.wait(), STEP_TIMEOUT)
        await self._finish_readers()

    async def interrupt(self, timeout: float = STEP_TIMEOUT) -> int:
        """SIGINT (as Ctrl-C would), then wait; kill after ``timeout``."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(__import__("signal").SIGINT)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except asyncio.TimeoutError:
                await self.kill()
        await self._finish_readers()
        assert self.proc.returncode is not None
        return self.proc.returncode

    async def _finish_readers(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        done, pending = await asyncio.wait(self._tasks, timeout=STEP_TIMEOUT)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()


def ocppkit_cli(*args: str) -> list[str]:
    """argv running the ocppkit command line of this interpreter."""
    return [sys.executable, "-m", "ocppkit", *args]


# --------------------------------------------------------------------------- the ocpp package


class RecordingWebSocket:
    """What the ``ocpp`` package's ChargePoint needs from a connection (``send(str)``,
    ``recv() -> str``) over a ``websockets`` connection, recording every frame received so a
    test can await the answer to a raw frame it sent through the same socket."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.received: list[Any] = []
        self.sent: list[str] = []
        self._changed = asyncio.Condition()

    async def send(self, message: str) -> None:
        self.sent.append(message)
        await self.ws.send(message)

    async def recv(self) -> str:
        message = await self.ws.recv()
        text = message if isinstance(message, str) else message.decode("utf-8")
        try:
            frame = json.loads(text)
        except ValueError:
            frame = text
        async with self._changed:
            self.received.append(frame)
            self._changed.notify_all()
        return text

    async def reply_to(self, unique_id: str, timeout: float = STEP_TIMEOUT) -> list[Any]:
        """The CALLRESULT or CALLERROR received for ``unique_id``."""

        def find() -> list[Any] | None:
            for frame in self.received:
                if isinstance(frame, list) and len(frame) > 1 and frame[0] in (3, 4) and frame[1] == unique_id:
                    return frame
            return None

        async def wait() -> list[Any]:
            async with self._changed:
                while (found := find()) is None:
                    await self._changed.wait()
                return found

        return await asyncio.wait_for(wait(), timeout)

    async def send_raw(self, unique_id: str, frame: Any) -> list[Any]:
        await self.send(frame if isinstance(frame, str) else json.dumps(frame, separators=(",", ":")))
        return await self.reply_to(unique_id)


async def run_charge_point(cp: Any) -> None:
    """``cp.start()`` until the WebSocket closes (the ocpp package lets ConnectionClosed out)."""
    with contextlib.suppress(websockets.ConnectionClosed):
        await cp.start()


async def stop_task(task: asyncio.Task[Any], timeout: float = STEP_TIMEOUT) -> None:
    """Wait for ``task`` to end by itself (its socket was closed), cancelling it after ``timeout``."""
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout)
    except asyncio.TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class FrameLog(list[tuple[str, str, bytes]]):
    """An ocppkit ``on_frame`` hook: records (identity, direction, data) and lets a test await
    the answer (CALLRESULT/CALLERROR) that arrives for a given unique id."""

    def __init__(self) -> None:
        super().__init__()
        self._waiters: dict[str, asyncio.Future[bytes]] = {}

    def __call__(self, identity: str, direction: str, data: bytes) -> None:
        self.append((identity, direction, data))
        if direction == "in" and self._waiters:
            uid = self._answered_id(data)
            waiter = self._waiters.pop(uid, None) if uid is not None else None
            if waiter is not None and not waiter.done():
                waiter.set_result(data)

    @staticmethod
    def _answered_id(data: bytes) -> str | None:
        try:
            frame = json.loads(data)
        except ValueError:
            return None
        if isinstance(frame, list) and len(frame) > 1 and frame[0] in (3, 4) and isinstance(frame[1], str):
            return frame[1]
        return None

    async def answer_to(self, unique_id: str, timeout: float = STEP_TIMEOUT) -> bytes:
        """The received frame answering ``unique_id`` (already received, or the next one)."""
        for _, direction, data in self:
            if direction == "in" and self._answered_id(data) == unique_id:
                return data
        waiter = self._waiters.setdefault(unique_id, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(waiter, timeout)


def frames_of(log: list[tuple[str, str, bytes]], direction: str) -> list[list[Any]]:
    """Frames an ocppkit ``on_frame`` hook recorded in one direction ("in" or "out")."""
    return [json.loads(data) for _, d, data in log if d == direction]


def answer_sent_for(log: list[tuple[str, str, bytes]], action: str, nth: int = 0) -> list[Any]:
    """The frame ocppkit sent in answer to the ``nth`` CALL of ``action`` it received."""
    calls = [f for f in frames_of(log, "in") if f[0] == 2 and f[2] == action]
    assert len(calls) > nth, f"no {action} CALL #{nth} received: {calls}"
    uid = calls[nth][1]
    answers = [f for f in frames_of(log, "out") if f[0] in (3, 4) and f[1] == uid]
    assert len(answers) == 1, f"expected one answer to {uid}, got {answers}"
    return answers[0]


# --------------------------------------------------------------------------- ocppkit's side


def now_z() -> str:
    """The current UTC time as OCPP writes it (RFC 3339, whole seconds, ``Z``)."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class OcppkitCsms:
    """ocppkit's CSMSServer on an ephemeral port, recording frames, events and sessions."""

    server: CSMSServer
    frames: FrameLog = field(default_factory=FrameLog)
    events: list[tuple[str, Any]] = field(default_factory=list)
    connected: asyncio.Queue[Session] = field(default_factory=asyncio.Queue)
    disconnected: asyncio.Queue[Session] = field(default_factory=asyncio.Queue)

    def received_requests(self, cls: type) -> list[Any]:
        return [e.request for _, e in self.events if isinstance(e, CallReceived) and isinstance(e.request, cls)]

    def violations(self) -> list[Any]:
        return [e for _, e in self.events if isinstance(e, ProtocolViolation)]


@contextlib.asynccontextmanager
async def ocppkit_csms(version: str, router: Router | None = None, **options: Any) -> AsyncIterator[OcppkitCsms]:
    """ocppkit's CSMSServer for ``version`` (``csms_router(version)`` unless ``router``)."""
    harness: OcppkitCsms
    server = CSMSServer(
        router if router is not None else csms_router(version),
        versions=[version],
        ping_interval=None,
        call_timeout=STEP_TIMEOUT,
        on_frame=lambda identity, direction, data: harness.frames(identity, direction, data),
        on_event=lambda session, event: harness.events.append((session.identity, event)),
        on_connect=lambda session: harness.connected.put_nowait(session),
        on_disconnect=lambda session: harness.disconnected.put_nowait(session),
        **options,
    )
    harness = OcppkitCsms(server)
    await within(server.start("127.0.0.1", 0))
    try:
        yield harness
    finally:
        await within(server.close())


def station_router(version: str, handled: list[Any]) -> Router:
    """Our station's handlers for what a CSMS calls: 1.6 GetConfiguration, ChangeConfiguration,
    Reset; 2.0.1 GetVariables, SetVariables, Reset. UnlockConnector is deliberately missing.
    Every request handled is appended to ``handled``."""
    r = Router()
    if version == "1.6":
        config = {"HeartbeatInterval": "300"}

        def get_configuration(req: v16.GetConfigurationRequest) -> v16.GetConfigurationResponse:
            handled.append(req)
            keys = list(req.key) if req.key is not msgspec.UNSET else list(config)
            unknown = [k for k in keys if k not in config]
            return v16.GetConfigurationResponse(
                configuration_key=[v16.KeyValue(key=k, readonly=False, value=config[k]) for k in keys if k in config],
                unknown_key=unknown if unknown else msgspec.UNSET,
            )

        def change_configuration(req: v16.ChangeConfigurationRequest) -> v16.ChangeConfigurationResponse:
            handled.append(req)
            if req.key not in config:
                return v16.ChangeConfigurationResponse(status=v16.ConfigurationStatus.NOT_SUPPORTED)
            config[req.key] = req.value
            return v16.ChangeConfigurationResponse(status=v16.ConfigurationStatus.ACCEPTED)

        async def reset(req: v16.ResetRequest) -> v16.ResetResponse:  # an async handler
            handled.append(req)
            return v16.ResetResponse(status=v16.ResetStatus.ACCEPTED)

        r.add(v16.GetConfigurationRequest, get_configuration)
        r.add(v16.ChangeConfigurationRequest, change_configuration)
        r.add(v16.ResetRequest, reset)
        return r

    variables = {("OCPPCommCtrlr", "HeartbeatInterval"): "300"}

    def get_variables(req: v201.GetVariablesRequest) -> v201.GetVariablesResponse:
        handled.append(req)
        out = []
        for d in req.get_variable_data:
            value = variables.get((d.component.name, d.variable.name))
            status = v201.GetVariableStatusEnumType
            out.append(
                v201.GetVariableResultType(
                    attribute_status=status.ACCEPTED if value is not None else status.UNKNOWN_VARIABLE,
                    attribute_value=value if value is not None else msgspec.UNSET,
                    component=d.component,
                    variable=d.variable,
                )
            )
        return v201.GetVariablesResponse(get_variable_result=out)

    def set_variables(req: v201.SetVariablesRequest) -> v201.SetVariablesResponse:
        handled.append(req)
        out = []
        for d in req.set_variable_data:
            key = (d.component.name, d.variable.name)
            known = key in variables
            if known:
                variables[key] = d.attribute_value
            status = v201.SetVariableStatusEnumType
            out.append(
                v201.SetVariableResultType(
                    attribute_status=status.ACCEPTED if known else status.UNKNOWN_VARIABLE,
                    component=d.component,
                    variable=d.variable,
                )
            )
        return v201.SetVariablesResponse(set_variable_result=out)

    async def reset201(req: v201.ResetRequest) -> v201.ResetResponse:
        handled.append(req)
        return v201.ResetResponse(status=v201.ResetStatusEnumType.ACCEPTED)

    r.add(v201.GetVariablesRequest, get_variables)
    r.add(v201.SetVariablesRequest, set_variables)
    r.add(v201.ResetRequest, reset201)
    return r


def invalid_call_cases(version: str) -> list[tuple[str, list[Any], str]]:
    """Schema-breaking CALLs a station may send a CSMS, with the CALLERROR code ocppkit answers
    (OCPP_REFERENCE.md 1.7/1.9; docs/errors.md), spelt as ``version`` spells it:
    (unique id, frame, errorCode)."""
    v16_ = version == "1.6"
    format_violation = "FormationViolation" if v16_ else "FormatViolation"
    token = {"idToken": ID_TAG, "type": "ISO14443"}
    return [
        (
            "missing",
            [2, "missing", "Authorize", {}],
            "OccurenceConstraintViolation" if v16_ else "OccurrenceConstraintViolation",
        ),
        ("extra", [2, "extra", "Heartbeat", {"vendorField": 1}], format_violation),
        (
            "type",
            [2, "type", "Authorize", {"idTag": 42} if v16_ else {"idToken": {**token, "idToken": 42}}],
            "TypeConstraintViolation",
        ),
        (
            "enum",
            [2, "enum", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"}]
            if v16_
            else [
                2,
                "enum",
                "StatusNotification",
                {"timestamp": now_z(), "connectorStatus": "Sleeping", "evseId": 1, "connectorId": 1},
            ],
            "PropertyConstraintViolation",
        ),
        (
            "too-long",
            [2, "too-long", "Authorize", {"idTag": "X" * 21} if v16_ else {"idToken": {**token, "idToken": "X" * 37}}],
            "PropertyConstraintViolation",
        ),
        ("unknown", [2, "unknown", "FlyToTheMoon", {}], "NotImplemented"),
        ("not-a-payload", [2, "not-a-payload", "Heartbeat", []], format_violation),
        ("action", [2, "action", 42, {}], "FormationViolation" if v16_ else "RpcFrameworkError"),
    ]
