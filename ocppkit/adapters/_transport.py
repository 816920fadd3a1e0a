"""What a :class:`~ocppkit.adapters.asyncio.Session` needs from a WebSocket library: the
:class:`Transport` protocol every transport adapter implements, and the optional
:class:`DirectTransport` of a library that writes without waiting and hands messages to a
callback (picows). Re-exported by ``ocppkit.adapters.asyncio``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

__all__ = ["DirectTransport", "Transport"]


class Transport(Protocol):
    """What a Session needs from a WebSocket: text messages in and out, and a close.

    A transport adapter translates its library's exceptions at this boundary: ``send`` and
    ``recv`` raise ``ConnectionError`` (or ``EOFError``) once the connection has closed, with the
    reason as its message, and nothing else for a close.
    """

    async def send(self, data: bytes) -> None:
        """Send one text message (UTF-8 JSON); ``ConnectionError`` when the connection has closed."""
        ...

    async def recv(self) -> bytes | str:
        """The next text message; raises ``ConnectionError`` (or ``EOFError``) when the connection
        has closed."""
        ...

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection with a WebSocket close code and reason."""
        ...

    def abort(self) -> None:
        """Drop the connection at once, without a close handshake (the peer may never answer
        one); a ``send`` or ``recv`` waiting on it then raises ``ConnectionError``."""
        ...


class DirectTransport(Transport, Protocol):
    """A :class:`Transport` whose library writes without waiting and hands messages to a
    callback (picows): the session then writes without a coroutine per message and processes a
    message in the transport's callback when nothing in it needs to wait. Optional: the session
    uses these when the transport has ``write_now``.
    """

    def write_now(self, data: bytes) -> bool:
        """Write one message at once; True when the buffer is then full (await ``drained()``)."""
        ...

    @property
    def writable(self) -> bool:
        """Whether a message written now would find room in the buffer."""
        ...

    async def drained(self) -> None:
        """Return once the buffer has room again; ``ConnectionError`` if it closed meanwhile."""
        ...

    def set_receiver(self, receiver: Callable[[bytes | str], bool] | None) -> None:
        """While set, a message that arrives while ``recv()`` waits, with none queued, is first
        offered to ``receiver``; True: it was processed (not queued)."""
        ...
