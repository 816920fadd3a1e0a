"""An accepted ASGI WebSocket (its ``receive`` and ``send`` callables) as a Session's
:class:`~ocppkit.adapters.asyncio.Transport`. Only ``ocppkit.adapters.asgi`` imports it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._text import printable

__all__ = ["ASGITransport", "Receive", "Send"]

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class ASGITransport:
    """The ASGI messages of one accepted WebSocket as a Session transport.

    - ``recv``: a ``websocket.receive`` text message as ``str`` (the server checked its UTF-8);
      a binary one closes with 1003 unless ``accept_binary``; a message over ``max_size`` bytes
      closes with 1009 (the server has already read it: set the server's own limit too, uvicorn's
      ``ws_max_size``); ``websocket.disconnect`` raises ``ConnectionError``.
    - ``send``: a ``websocket.send`` text message; any failure of the server's ``send`` (the
      connection is gone) is a ``ConnectionError``.
    - ``abort``: ASGI cannot drop a TCP connection. The transport stops at once: the ``recv`` and
      ``send`` waiting on it raise ``ConnectionError`` (their tasks are interrupted), the session
      ends and the application returns, after which the server closes the connection.
    """

    __slots__ = ("_aborted", "_closed", "_receive", "_send", "_waiting", "accept_binary", "max_size")

    def __init__(self, receive: Receive, send: Send, max_size: int, accept_binary: bool = False) -> None:
        self._receive = receive
        self._send = send
        self.max_size = max_size
        self.accept_binary = accept_binary
        self._closed = False
        self._aborted = False
        self._waiting: set[asyncio.Task[Any]] = set()

    async def _await(self, step: Awaitable[Any]) -> Any:
        """``step`` (a receive or a send), interruptible by :meth:`abort`."""
        if self._aborted:
            if asyncio.iscoroutine(step):
                step.close()
            raise ConnectionError("the connection was aborted")
        task = asyncio.current_task()
        assert task is not None
        self._waiting.add(task)
        try:
            return await step
        except asyncio.CancelledError:
            if not self._aborted:
                raise
            uncancel = getattr(task, "uncancel", None)  # 3.11+: the task is not being cancelled
            if uncancel is not None:
                uncancel()
            raise ConnectionError("the connection was aborted") from None
        finally:
            self._waiting.discard(task)

    async def recv(self) -> bytes | str:
        message = await self._await(self._receive())
        kind = message["type"]
        if kind == "websocket.receive":
            text = message.get("text")
            if text is not None:
                # A str of n characters holds at most 4n bytes of UTF-8: count only when it may be over.
                if len(text) * 4 > self.max_size and len(text.encode()) > self.max_size:
                    await self._too_big()
                return str(text)
            data = message.get("bytes") or b""
            if not self.accept_binary:
                await self.close(1003, "OCPP-J messages are text frames")
                raise ConnectionError("a binary frame: closed with 1003 (OCPP-J messages are text frames)")
            if len(data) > self.max_size:
                await self._too_big()
            return bytes(data)
        if kind == "websocket.disconnect":
            self._closed = True
            code = message.get("code", 1005)
            reason = message.get("reason") or ""
            # the reason is the peer's text: escaped, as everything from the wire in a log line
            raise ConnectionError(f"closed with code {code}" + (f" ({printable(str(reason))[:123]})" if reason else ""))
        raise ConnectionError(f"unexpected ASGI message {ascii(kind)}")

    async def _too_big(self) -> None:
        await self.close(1009, "Message too big")
        raise ConnectionError(f"a message over {self.max_size} bytes: closed with 1009")

    async def send(self, data: bytes) -> None:
        if self._closed:
            raise ConnectionError("the connection is closed")
        try:
            await self._await(self._send({"type": "websocket.send", "text": data.decode()}))
        except ConnectionError:
            raise
        except (OSError, RuntimeError) as exc:  # uvicorn: ClientDisconnected (an OSError); others a RuntimeError
            self._closed = True
            raise ConnectionError(f"the connection is closed ({type(exc).__name__})") from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._send({"type": "websocket.close", "code": code, "reason": reason})
        except (OSError, RuntimeError):  # already gone: nothing left to close
            pass

    def abort(self) -> None:
        self._aborted = True
        self._closed = True
        for task in list(self._waiting):
            task.cancel()
