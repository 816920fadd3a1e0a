"""Fixtures of the interop suite: ocpp-rpc (npm) installed once per test session."""

from __future__ import annotations

import pytest

from ._node import NodeEnv, install

_INSTALLED: list[NodeEnv] = []


@pytest.fixture(scope="session")
def ocpp_rpc(tmp_path_factory: pytest.TempPathFactory) -> NodeEnv:
    """ocpp-rpc installed from npm into a temporary folder, once per test session.

    Never fails itself: a test calls ``ocpp_rpc.ready()`` so that a missing Node.js makes each
    such test FAIL with the reason (or skip, with OCPPKIT_SKIP_NODE_INTEROP=1).
    """
    env = install(tmp_path_factory.mktemp("ocpp-rpc"))
    _INSTALLED.append(env)
    return env


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for env in _INSTALLED:
        if env.version is not None and env.tools is not None:
            terminalreporter.write_line(
                f"interop: ocpp-rpc {env.version} installed from npm in {env.install_seconds:.1f}s"
                f" (Node.js {env.tools.version} from {env.tools.origin})"
            )
