"""The sans-IO connection facade: picks the compiled twin (``ocppkit._rpc_c``, the same source
as ``ocppkit/_rpc_py.py`` compiled by Cython) unless ``OCPPKIT_NO_EXTENSIONS`` is set.
``SLOT_TRANSITIONS`` and ``BOOT_TRANSITIONS`` are the tables both twins run
(``ocppkit/states.py``, drawn in docs/rpc.md). ``DEFAULT_ALLOWED_WHILE_PENDING`` is the
default of ``Connection(allowed_while_pending=...)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _rpc_py
from ._rpc_py import DEFAULT_ALLOWED_WHILE_PENDING, Role
from .codec import NO_EXTENSIONS
from .states import BOOT_TRANSITIONS, SLOT_TRANSITIONS

__all__ = [
    "BOOT_TRANSITIONS",
    "DEFAULT_ALLOWED_WHILE_PENDING",
    "IMPLEMENTATION",
    "SLOT_TRANSITIONS",
    "Connection",
    "PyConnection",
    "Role",
]

PyConnection = _rpc_py.Connection

if TYPE_CHECKING or NO_EXTENSIONS:
    Connection = _rpc_py.Connection
    IMPLEMENTATION = "py"
else:
    try:
        from ._rpc_c import Connection as Connection
    except ImportError:  # not built
        Connection = _rpc_py.Connection
        IMPLEMENTATION = "py"
    else:
        IMPLEMENTATION = "c"
