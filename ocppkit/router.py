"""Typed routing facade: the compiled twin (``ocppkit._router_c``, the same source as
``ocppkit/_router_py.py`` compiled by Cython) unless ``OCPPKIT_NO_EXTENSIONS`` is set.

:class:`Router` maps request classes to handlers; :func:`answer` turns a handler's outcome into
the answer on the wire (the one policy every adapter uses; :data:`NO_HANDLER` is the outcome of
an action without a handler)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _router_py
from .codec import NO_EXTENSIONS

__all__ = ["NO_HANDLER", "Router", "answer"]

if TYPE_CHECKING or NO_EXTENSIONS:
    Router = _router_py.Router
    answer = _router_py.answer
    NO_HANDLER = _router_py.NO_HANDLER
else:
    try:  # the three come from one twin: answer recognises its own NO_HANDLER
        from ._router_c import NO_HANDLER as NO_HANDLER
        from ._router_c import Router as Router
        from ._router_c import answer as answer
    except ImportError:  # not built
        Router = _router_py.Router
        answer = _router_py.answer
        NO_HANDLER = _router_py.NO_HANDLER
