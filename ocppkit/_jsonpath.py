"""JSON paths as ocppkit writes them in errors: ``$.chargingStation.model``, ``$.data["a b"][0]``."""

from __future__ import annotations

import re

__all__ = ["MAX_PATH", "clip", "join", "parent", "steps"]

#: Paths come from the peer's keys: keep them short in replies.
MAX_PATH = 200

# One step of a path: `.name`, `[0]` or `["any name"]`.
_STEP = re.compile(r'\.([^.\[]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def join(path: str, name: str) -> str:
    """The path of member ``name`` of the object at ``path``."""
    return f"{path}.{name}" if name.isidentifier() else f'{path}["{name}"]'


def clip(path: str) -> str:
    """``path``, cut to :data:`MAX_PATH` characters."""
    return path if len(path) <= MAX_PATH else path[: MAX_PATH - 1] + "…"


def parent(path: str) -> str:
    """The path of the object or array holding the value at ``path`` (``$`` for ``$``)."""
    found = list(_STEP.finditer(path))
    return path[: found[-1].start()] if found else path


def steps(path: str) -> list[str | int]:
    """The member names and indexes leading from ``$`` to the value at ``path``."""
    out: list[str | int] = []
    for m in _STEP.finditer(path[1:]):
        out.append(m.group(1) if m.group(1) is not None else int(m.group(2)) if m.group(2) is not None else m.group(3))
    return out
