"""Running the application's connection hooks (``on_connect``, ``on_disconnect``) so that their
failures are logged and never end a connection."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from ._text import printable
from .asyncio import Session

__all__ = ["ConnectionHook", "run_hook"]

log = logging.getLogger("ocppkit")

#: ``hook(session)``, a plain function or a coroutine function.
ConnectionHook = Callable[[Session], "Awaitable[None] | None"]


async def run_hook(hook: ConnectionHook | None, session: Session, name: str) -> None:
    """Run ``hook(session)`` (awaiting it if it is a coroutine); an exception is logged with the
    session's identity escaped, and goes no further."""
    if hook is None:
        return
    try:
        done = hook(session)
        if isinstance(done, Awaitable):
            await done
    except Exception:  # a hook's failure is logged and never ends the connection
        log.exception("%s: the %s hook failed", printable(session.identity), name)
