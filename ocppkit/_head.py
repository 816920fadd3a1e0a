"""A frame's head, read from its first bytes without decoding it.

``read_head('[2,"19223201","BootNotification",{...}]')`` is ``Head(2, "19223201",
"BootNotification")``: the message type id, the unique id and the third element when it is a
string (a CALL's or SEND's action, a CALLERROR's or CALLRESULTERROR's error code). For a frame
too large to decode, a frame that failed to decode, or a frame not worth decoding yet: the head
says what the frame claims to be, never that it is valid.

Rules (the same for ``str`` and ``bytes``):

- only the first :data:`WINDOW` characters (bytes) are read; whitespace is JSON's (space, tab,
  line feed, carriage return);
- the head is ``[``, a message type id (digits), ``,`` and a string (the id); without these,
  every part is None;
- ``unique_id`` is the id when it is a valid OCPP message id as written (printable ASCII without
  ``"`` or ``\\``, at most 36 characters), else None, though the message type and the name are
  still read;
- ``name`` is the next element when it is a string of at most 64 characters without ``"`` or
  ``\\`` (``[3,"id",{...}]`` has none).

Text read from bytes is decoded as UTF-8, an invalid sequence becoming U+FFFD.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["WINDOW", "Head", "read_head"]

#: How many characters (bytes) of a frame the head is read from.
WINDOW = 256

_WS = r"[ \t\n\r]*"
_PATTERN = (
    _WS + r"\[" + _WS + r"([0-9]+)" + _WS + "," + _WS + r'"((?:[^"\\]|\\.){0,64})"'
    r"(?:" + _WS + "," + _WS + r'"([^"\\]{0,64})")?'
)
_HEAD_S = re.compile(_PATTERN)
_HEAD_B = re.compile(_PATTERN.encode())
_ID = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]{0,36}")


class Head(NamedTuple):
    """What a frame's first bytes say it is; every part None when they cannot be read.

    Attributes:
        message_type: the message type id (2 CALL ... 6 SEND; any number as written).
        unique_id: the message id, when it is a valid OCPP id as written.
        name: a CALL's or SEND's action, or a CALLERROR's or CALLRESULTERROR's error code.
    """

    message_type: int | None
    unique_id: str | None
    name: str | None


_NOTHING = Head(None, None, None)


def read_head(data: str | bytes) -> Head:
    """The :class:`Head` of a frame (``str`` or ``bytes``), from its first :data:`WINDOW` characters."""
    if isinstance(data, str):
        m = _HEAD_S.match(data, 0, WINDOW)
        if m is None:
            return _NOTHING
        type_id, uid, name = m.groups()
    else:
        mb = _HEAD_B.match(data, 0, WINDOW)
        if mb is None:
            return _NOTHING
        raw_type, raw_uid, raw_name = mb.groups()
        type_id = raw_type.decode("ascii")
        uid = raw_uid.decode("utf-8", "replace")
        name = raw_name.decode("utf-8", "replace") if raw_name is not None else None
    return Head(int(type_id), uid if _ID.fullmatch(uid) else None, name)
