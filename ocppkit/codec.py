"""The codec facade: the one place that chooses between the C extension and the pure twin.

``ocppkit.Codec`` is the Cython class from ``ocppkit._codec_c`` when it is built and
``OCPPKIT_NO_EXTENSIONS`` is unset (or "0"); otherwise it is the pure-Python class from
``ocppkit._codec_py``. Both have the same names, signatures, results and exceptions.
``IMPLEMENTATION`` says which one is running: ``"c"`` or ``"py"``.

The running twin's date-time guard also serves :func:`decode_payload`, passed in explicitly
(each codec holds its own in its configuration; nothing is swapped in another module).
:func:`read_head` reads a frame's message type, id and action (or error code) from its first
bytes without decoding it, for tools that must look at frames the codec refuses.
"""

from __future__ import annotations

import os
import platform
from typing import TYPE_CHECKING

from . import _codec_py
from ._datetimes import Suspect
from ._datetimes import datetime_suspect as _py_suspect
from ._head import Head, read_head
from ._payload import payload_decoder

__all__ = ["IMPLEMENTATION", "NO_EXTENSIONS", "Codec", "Head", "PyCodec", "decode_payload", "read_head"]

#: Set when the environment asks for the pure-Python twin.
NO_EXTENSIONS = os.environ.get("OCPPKIT_NO_EXTENSIONS", "") not in ("", "0") or (
    platform.python_implementation() != "CPython"
)

PyCodec = _codec_py.Codec
_suspect: Suspect = _py_suspect

if TYPE_CHECKING or NO_EXTENSIONS:
    Codec = _codec_py.Codec
    #: The codec twin in use: ``"c"`` (the compiled extension) or ``"py"`` (the pure twin).
    IMPLEMENTATION = "py"
else:
    try:
        from ._codec_c import Codec as Codec
        from ._codec_c import datetime_suspect as _c_suspect
    except ImportError:  # not built: an sdist installed without a compiler, or a source checkout
        Codec = _codec_py.Codec
        IMPLEMENTATION = "py"
    else:
        IMPLEMENTATION = "c"
        _suspect = _c_suspect


#: Decode and validate one payload into its generated class (``ocppkit.decode_payload``), with
#: the running twin's date-time guard.
decode_payload = payload_decoder(_suspect)
