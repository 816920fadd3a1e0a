"""ocpp-rpc (npm) for the interop tests: installed once per session, or the reason it cannot be."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SKIP_VARIABLE = "OCPPKIT_SKIP_NODE_INTEROP"
#: The JavaScript library under test: the latest 2.x release of mikuso's ocpp-rpc.
OCPP_RPC_SPEC = "ocpp-rpc@2"
NPM_INSTALL_TIMEOUT = 120.0


@dataclass
class NodeEnv:
    """Where ocpp-rpc was installed, or why it could not be (``problem``/``skip``)."""

    node: str | None = None
    node_modules: Path | None = None
    version: str | None = None
    install_seconds: float = 0.0
    problem: str | None = None
    skip: str | None = None

    def ready(self) -> NodeEnv:
        """Call first in every test that needs Node: fails (or skips, when asked to) with the
        reason the environment is not usable."""
        if self.skip is not None:
            pytest.skip(self.skip)
        if self.problem is not None:
            pytest.fail(self.problem, pytrace=False)
        return self

    @property
    def env(self) -> dict[str, str]:
        """Environment of a Node subprocess: ocpp-rpc resolvable by ``require``."""
        assert self.node_modules is not None
        return {"NODE_PATH": str(self.node_modules)}


def install(tmp: Path) -> NodeEnv:
    """Install ocpp-rpc into ``tmp`` with npm; never raises, the NodeEnv tells what happened."""
    if os.environ.get(SKIP_VARIABLE) == "1":
        return NodeEnv(skip=f"{SKIP_VARIABLE}=1 is set: the ocpp-rpc (Node.js) interop tests are skipped on request")
    node, npm = shutil.which("node"), shutil.which("npm")
    missing = [name for name, path in (("node", node), ("npm", npm)) if path is None]
    if missing:
        return NodeEnv(
            problem=(
                f"the ocpp-rpc interop tests need Node.js (node and npm on PATH); missing: {', '.join(missing)}. "
                f"Install Node.js >= 17.3 (e.g. `apt-get install nodejs npm`), or set {SKIP_VARIABLE}=1 "
                "to skip these tests explicitly."
            )
        )
    assert npm is not None
    started = time.monotonic()
    argv = [npm, "install", "--prefix", str(tmp), "--no-audit", "--no-fund", "--loglevel=error", OCPP_RPC_SPEC]
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=NPM_INSTALL_TIMEOUT,
            env={**os.environ, "npm_config_update_notifier": "false"},
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return NodeEnv(problem=f"`{' '.join(argv)}` did not finish within {NPM_INSTALL_TIMEOUT:.0f}s")
    elapsed = time.monotonic() - started
    package = tmp / "node_modules" / "ocpp-rpc" / "package.json"
    if done.returncode != 0 or not package.exists():
        return NodeEnv(
            problem=(
                f"`{' '.join(argv)}` failed (exit {done.returncode}) after {elapsed:.1f}s; "
                f"the npm registry must be reachable.\nstdout:\n{done.stdout[-2000:]}\nstderr:\n{done.stderr[-2000:]}"
            )
        )
    version = json.loads(package.read_text())["version"]
    return NodeEnv(node=node, node_modules=tmp / "node_modules", version=version, install_seconds=elapsed)
