"""The codec facade: the one place that chooses between the C extension and the pure twin.

``ocppkit.Codec`` is the Cython class from ``ocppkit._codec_c`` when it is built and
``OCPPKIT_NO_EXTENSIONS`` is unset (or "0"); otherwise it is the pure-Python class from
``ocppkit._codec_py``. Both have the same names, signatures, results and exceptions.
``IMPLEMENTATION`` says which one is running: ``"c"`` or ``"py"``.
"""

from __future__ import annotations

import os
import platform
from typing import TYPE_CHECKING

from . import _codec_py

__all__ = ["IMPLEMENTATION", "NO_EXTENSIONS", "Codec", "PyCodec"]

#: Set when the environment asks for the pure-Python twin.
NO_EXTENSIONS = os.environ.get("OCPPKIT_NO_EXTENSIONS", "") not in ("", "0") or (
    platform.python_implementation() != "CPython"
)

PyCodec = _codec_py.Codec

if TYPE_CHECKING or NO_EXTENSIONS:
    Codec = _codec_py.Codec
    #: The codec twin in use: ``"c"`` (the compiled extension) or ``"py"`` (the pure twin).
    IMPLEMENTATION = "py"
else:
    try:
        from ._codec_c import Codec as Codec
    except ImportError:  # not built: an sdist installed without a compiler, or a source checkout
        Codec = _codec_py.Codec
        IMPLEMENTATION = "py"
    else:
        from . import _codec_c, _payload

        IMPLEMENTATION = "c"
        _payload._suspect = _codec_c.datetime_suspect
