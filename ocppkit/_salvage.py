"""Reading the envelope of a frame that is well-formed JSON but that msgspec refuses to decode.

Two things make msgspec give up on a frame that RFC 8259's grammar accepts:

- an escaped lone surrogate (``"\\ud800"``): grammatical JSON, but no Unicode character, so
  no UTF-8 and no Python ``str`` (I-JSON, RFC 7493 2.1, forbids it);
- nesting deeper than the decoder's stack guard (about the interpreter's recursion limit).

The frame's message id (and action) are still readable then, so the reply can carry the id
instead of ``"-1"`` (docs/errors.md). :func:`salvage` returns the frame's elements as
``msgspec.Raw``, with an :class:`Unreadable` in place of each element that holds the fault;
the exact decoder (``_exact.decode_exact``) then applies its usual rules to them.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from ._jsonpath import clip, join
from .frames import MessageType

__all__ = ["Unreadable", "lone_surrogate_path", "salvage"]

_LIST_RAW = msgspec.json.Decoder(list[msgspec.Raw])
_ANY = msgspec.json.Decoder()
_FAULTS = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


class Unreadable:
    """A frame element that cannot be decoded; ``rule`` is ``unicode`` or ``maxDepth``."""

    __slots__ = ("is_object", "path", "rule", "what")

    def __init__(self, rule: str, is_object: bool, path: str = "$", what: str | None = None) -> None:
        self.rule = rule
        self.is_object = is_object
        self.path = path
        if what is None:
            what = "Lone surrogate (not a Unicode character)" if rule == "unicode" else "Nested too deeply"
        self.what = what

    def __repr__(self) -> str:
        return f"Unreadable({self.rule!r}, {self.path!r})"


def salvage(data: bytes, exc: BaseException) -> list[Any] | None:
    """The elements of ``data`` (whose decoding raised ``exc``), or None if it is not JSON.

    ``[]`` means well-formed JSON that is not an array.
    """
    if isinstance(exc, RecursionError):
        return _deep(data)
    variants = _surrogate_variants(data)
    if variants is None:
        return None
    try:
        a, b = _LIST_RAW.decode(variants[0]), _LIST_RAW.decode(variants[1])
    except msgspec.ValidationError:
        return []  # JSON, but not an array
    except RecursionError:
        return _deep(data)
    except _FAULTS:
        return None  # something else is wrong too: not JSON
    return [x if bytes(x) == bytes(y) else _lone(x, y) for x, y in zip(a, b, strict=True)]


# ------------------------------------------------------------------ lone surrogates

# A surrogate escape that is not half of a pair: right wherever every "\uD..." is an escape.
# (It starts with the literal "\u", so the regex engine scans for it at C speed.)
_LONE = re.compile(
    rb"\\u(?:[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2}\\u)[dD][c-fC-F][0-9a-fA-F]{2})"
)
# A run of backslashes and a \uD800-\uDFFF: an escape when the run is odd (the last backslash
# starts it), literal text when even.
_SURROGATE = re.compile(rb"(\\+)u([dD][89a-fA-F][0-9a-fA-F]{2})")
#: Surrogate escapes looked at one by one (only where an escaped backslash precedes "uD..");
#: beyond, the frame is treated as unreadable.
_MAX_SLOW = 4096


def _surrogate_variants(data: bytes) -> tuple[bytes, bytes] | None:
    """``data`` with every lone surrogate escape replaced by ``\\ufffd`` and by ``\\ufffe``: the
    elements that differ between the two hold one. None if there is none."""
    if b"\\\\u" not in data:  # no backslash before a "\u": every "\u" starts an escape
        a, n = _LONE.subn(b"\\\\ufffd", data)  # at C speed, whatever the number
        return (a, _LONE.sub(b"\\\\ufffe", data)) if n else None
    return _variants_one_by_one(data)


def _variants_one_by_one(data: bytes) -> tuple[bytes, bytes] | None:
    """:func:`_surrogate_variants` for any input, looking at each surrogate escape in turn."""
    lone: list[int] = []  # offsets of the 6-byte escapes
    high = -1  # offset of a high surrogate escape waiting for its low half
    for k, m in enumerate(_SURROGATE.finditer(data)):
        if k >= _MAX_SLOW:
            return None
        if len(m.group(1)) % 2 == 0:
            continue  # an escaped backslash, then the text "uD..."
        at = m.end(1) - 1
        is_high = m.group(2)[1] in b"89abAB"
        if high >= 0:
            if not is_high and at == high + 6:
                high = -1  # a valid pair
                continue
            lone.append(high)
            high = -1
        if is_high:
            high = at
        else:
            lone.append(at)
    if high >= 0:
        lone.append(high)
    if not lone:
        return None
    pieces: list[bytes] = []
    last = 0
    for at in lone:
        pieces.append(data[last:at])
        last = at + 6
    pieces.append(data[last:])
    return b"\\ufffd".join(pieces), b"\\ufffe".join(pieces)


def _lone(x: msgspec.Raw, y: msgspec.Raw) -> Unreadable:
    try:
        a, b = _ANY.decode(x), _ANY.decode(y)
    except _FAULTS:  # pragma: no cover - both decoded as part of the frame
        return Unreadable("unicode", bytes(x)[:1] == b"{")
    return Unreadable("unicode", isinstance(a, dict), clip(_first_difference(a, b, "$") or "$"))


def lone_surrogate_path(data: bytes) -> str | None:
    """Where the first lone surrogate of the JSON text ``data`` is, if that is what stops it from
    decoding (None: it has none, or is not grammatical JSON anyway)."""
    variants = _surrogate_variants(data)
    if variants is None:
        return None
    try:
        a, b = _ANY.decode(variants[0]), _ANY.decode(variants[1])
    except _FAULTS:
        return None
    return clip(_first_difference(a, b, "$") or "$")


def _first_difference(a: Any, b: Any, path: str) -> str | None:
    """Where two decodings differ: the string (or the object whose member name) with the surrogate."""
    if isinstance(a, dict) and isinstance(b, dict):
        for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=False):
            if ka != kb:
                return path  # in a member name: the object that has it
            found = _first_difference(va, vb, join(path, ka))
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (va, vb) in enumerate(zip(a, b, strict=False)):
            found = _first_difference(va, vb, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    return path if a != b else None


# ------------------------------------------------------------------ depth

_WS = rb"[ \t\n\r]*"
_STRING = rb'"(?:[^"\\\x00-\x1f]|\\.)*"'
_HEAD = re.compile(
    _WS + rb"\[" + _WS + rb"(-?[0-9]+)" + _WS + rb"," + _WS + rb"(" + _STRING + rb")" + _WS + rb"," + _WS
)
_NEXT_STRING = re.compile(rb"(" + _STRING + rb")" + _WS + rb"," + _WS)


def _deep(data: bytes) -> list[Any] | None:
    """A frame whose nesting hit the decoder's guard after its head ``[type, "id",`` was read.

    The decoder stopped there, as a streaming parser would: what comes after the deep value is
    not looked at. Returns the elements up to the payload, the payload as Unreadable, or None
    when even the head cannot be read.
    """
    m = _HEAD.match(data)
    if m is None:
        return None
    type_id = int(m.group(1))
    head: list[Any] = [msgspec.Raw(m.group(1)), msgspec.Raw(m.group(2))]
    start = m.end()
    if type_id in (MessageType.CALL, MessageType.SEND):
        a = _NEXT_STRING.match(data, start)
        if a is None:  # the action itself is the deep value: not a string
            return [*head, Unreadable("maxDepth", False), Unreadable("maxDepth", False)]
        return [*head, msgspec.Raw(a.group(1)), *_deep_payload(data, a.end())]
    if type_id == MessageType.CALLRESULT:
        return [*head, *_deep_payload(data, start)]
    if type_id in (MessageType.CALLERROR, MessageType.CALLRESULTERROR):
        return [*head, *(Unreadable("maxDepth", False) for _ in range(3))]
    return [*head, Unreadable("maxDepth", False)]  # an unknown message type: only its id matters


def _deep_payload(data: bytes, start: int) -> list[Unreadable]:
    """The payload as Unreadable, or two of them when the deep value comes after the payload
    (the frame then has too many elements)."""
    is_object = data[start : start + 1] == b"{"
    try:
        _ANY.decode(data[start:])  # the payload, then "," or "]": never decodes as a whole
    except RecursionError:
        return [Unreadable("maxDepth", is_object)]
    except _FAULTS:
        pass
    return [Unreadable("maxDepth", is_object), Unreadable("maxDepth", False)]
