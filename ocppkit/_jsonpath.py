"""JSON paths as ocppkit writes them in errors: ``$.chargingStation.model``, ``$.data["a b"][0]``."""

from __future__ import annotations

__all__ = ["MAX_PATH", "clip", "join"]

#: Paths come from the peer's keys: keep them short in replies.
MAX_PATH = 200


def join(path: str, name: str) -> str:
    """The path of member ``name`` of the object at ``path``."""
    return f"{path}.{name}" if name.isidentifier() else f'{path}["{name}"]'


def clip(path: str) -> str:
    """``path``, cut to :data:`MAX_PATH` characters."""
    return path if len(path) <= MAX_PATH else path[: MAX_PATH - 1] + "…"
