"""Typed routing facade: the compiled twin (``ocppkit._router_c``, the same source as
``ocppkit/_router_py.py`` compiled by Cython) unless ``OCPPKIT_NO_EXTENSIONS`` is set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _router_py
from .codec import NO_EXTENSIONS

__all__ = ["Router"]

if TYPE_CHECKING or NO_EXTENSIONS:
    Router = _router_py.Router
else:
    try:
        from ._router_c import Router as Router
    except ImportError:  # not built
        Router = _router_py.Router
