"""The table of server transports the conformance suite runs against.

A transport is one :class:`Server` entry: ``serve(csms_kwargs)``, an async context manager that
builds its CSMS from the keyword arguments (``routers`` included), serves it on 127.0.0.1 on a
free port, yields ``(csms, base_url)`` (``ws://127.0.0.1:PORT``, or ``wss://`` when
``csms_kwargs`` has an ``ssl_context``) and closes everything on exit.

Entries come from the modules ``tests/conformance/servers_<extra>.py``, found by that name: each
defines ``SERVERS``, a dict of entry name -> :class:`Server`, or in short a ``serve`` function
(one entry named ``<extra>``; ``LISTENS = True`` when its CSMS listens itself and takes TLS).
``<extra>`` names the ocppkit extra the module needs (``servers_picows.py`` needs
``ocppkit[picows]``): when one of that extra's distributions is not installed, its entries are
reported as unavailable (a skip saying what to install; under CI, where every extra is
installed, a failure). A module whose extra is installed
but that cannot be imported, or an entry that cannot start, fails its tests: nothing is skipped
silently.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import os
import re
import traceback
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Entry", "Server", "discover", "missing_distributions", "run_on"]

HERE = Path(__file__).resolve().parent
#: ServeFn(csms_kwargs) -> async context manager of (csms, base_url)
ServeFn = Callable[[dict[str, Any]], AbstractAsyncContextManager[tuple[Any, str]]]


@dataclass(frozen=True)
class Server:
    """One way of serving a CSMS.

    Attributes:
        serve: ``serve(csms_kwargs)``, see the module's text.
        listens: whether its CSMS listens itself and so takes ``ssl_context`` (profiles 2 and
            3 run against it).
        loop: the event loop the tests run on: ``"asyncio"`` or ``"uvloop"``.
    """

    serve: ServeFn
    listens: bool = False
    loop: str = "asyncio"


@dataclass(frozen=True)
class Entry:
    """A row of the table: a usable :class:`Server`, or why there is none (``unavailable``: an
    extra not installed; ``broken``: the module failed to import)."""

    name: str
    server: Server | None = None
    unavailable: str = ""
    broken: str = ""


def _extra_requirements(extra: str) -> list[str]:
    """The distributions ocppkit's ``extra`` needs, from the installed metadata."""
    try:
        lines = importlib.metadata.requires("ocppkit") or []
    except importlib.metadata.PackageNotFoundError:
        return []
    names = []
    for line in lines:
        if re.search(r"""extra\s*==\s*["']""" + re.escape(extra) + r"""["']""", line):
            match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
            if match:
                names.append(match.group(0))
    return names


def missing_distributions(extra: str) -> list[str]:
    """The distributions of ocppkit's ``extra`` that are not installed (none for an extra that
    does not exist: such a module's imports decide)."""
    missing = []
    for name in _extra_requirements(extra):
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def _loop_missing(server: Server) -> str:
    if server.loop == "uvloop":
        gone = missing_distributions("uvloop") or ([] if _importable("uvloop") else ["uvloop"])
        if gone:
            return "uvloop is not installed (pip install 'ocppkit[uvloop]'; not on Windows)"
    elif server.loop != "asyncio":
        raise ValueError(f"loop: expected 'asyncio' or 'uvloop', got {server.loop!r}")
    return ""


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def discover(folder: Path = HERE, package: str = "tests.conformance") -> list[Entry]:
    """Every entry of every ``servers_*.py`` module in ``folder``, in name order."""
    entries: list[Entry] = []
    for path in sorted(folder.glob("servers_*.py")):
        extra = path.stem[len("servers_") :]
        missing = missing_distributions(extra)
        if missing:
            why = f"ocppkit[{extra}] is not installed (missing: {', '.join(missing)})"
            entries.append(Entry(extra, unavailable=why))
            continue
        try:
            module = importlib.import_module(f"{package}.{path.stem}")
            servers: Mapping[str, Server] = getattr(module, "SERVERS", None) or {}
            if not servers and callable(getattr(module, "serve", None)):  # the short form: one entry
                servers = {extra: Server(module.serve, listens=bool(getattr(module, "LISTENS", False)))}
            if not servers or not all(isinstance(s, Server) for s in servers.values()):
                raise TypeError(f"{path.name}: SERVERS must be a non-empty dict of name -> Server (or define serve)")
        except Exception:
            entries.append(Entry(extra, broken=f"{path.name} cannot be imported:\n{traceback.format_exc()}"))
            continue
        for name, server in servers.items():
            entries.append(Entry(name, server, unavailable=_loop_missing(server)))
    return entries


def required() -> bool:
    """Whether an unavailable transport fails rather than skips: under CI (``CI`` set, as
    .ci/run's machine has it), or with ``OCPPKIT_ALL_TRANSPORTS=1``."""
    return any(os.environ.get(v, "").lower() not in ("", "0", "false") for v in ("CI", "OCPPKIT_ALL_TRANSPORTS"))


def run_on(loop: str, coro: Awaitable[Any], timeout: float) -> Any:
    """Run ``coro`` on a new event loop of kind ``loop``, bounded by ``timeout`` seconds."""

    async def main() -> Any:
        return await asyncio.wait_for(coro, timeout)

    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())
