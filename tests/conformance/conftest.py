"""The conformance suite's fixtures: ``transport`` (every entry of the table, see table.py) and
``tls_transport`` (the entries whose CSMS listens itself, for security profiles 2 and 3)."""

from __future__ import annotations

from collections.abc import Awaitable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from ocppkit import Router

from .table import Entry, Server, discover, required, run_on

ENTRIES = discover()


class Harness:
    """What a test gets: the transport's name, ``serve(routers, **csms_kwargs)`` (an async
    context manager of ``(csms, base_url)``) and ``run(coro)`` on the transport's loop."""

    def __init__(self, name: str, server: Server) -> None:
        self.name = name
        self.server = server
        self.listens = server.listens
        self.loop = server.loop

    def serve(self, routers: Router | dict[str, Router], **csms_kwargs: Any) -> AbstractAsyncContextManager[Any]:
        return self.server.serve({"routers": routers, **csms_kwargs})

    def run(self, coro: Awaitable[Any], timeout: float = 30.0) -> Any:
        return run_on(self.loop, coro, timeout)

    def __repr__(self) -> str:
        return f"<transport {self.name} on {self.loop}>"


def _params(tls: bool) -> list[Any]:
    params = []
    for entry in ENTRIES:
        if tls and entry.server is not None and not entry.server.listens:
            continue  # served behind another server: TLS is that server's
        marks: Any = ()
        if entry.unavailable and not required():
            marks = pytest.mark.skip(reason=f"transport {entry.name}: {entry.unavailable}")
        params.append(pytest.param(entry, id=entry.name, marks=marks))
    return params


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for name, tls in (("transport", False), ("tls_transport", True)):
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, _params(tls), indirect=True)


def _harness(entry: Entry) -> Harness:
    if entry.broken:
        pytest.fail(f"transport {entry.name}: {entry.broken}", pytrace=False)
    if entry.unavailable or entry.server is None:  # under CI every transport must be there
        pytest.fail(f"transport {entry.name}: {entry.unavailable} (CI installs every transport)", pytrace=False)
    return Harness(entry.name, entry.server)


@pytest.fixture
def transport(request: pytest.FixtureRequest) -> Harness:
    return _harness(request.param)


@pytest.fixture
def tls_transport(request: pytest.FixtureRequest) -> Harness:
    return _harness(request.param)
