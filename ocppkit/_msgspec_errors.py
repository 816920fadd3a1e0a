"""msgspec's error messages, read in one place: which rule failed, where, and its bound.

msgspec reports a failed typed decode as text only, e.g.
``Expected `str` of length <= 20 - at `$.idTag```. Everything ocppkit does with such a failure
starts from the :class:`Fault` that :func:`classify` reads from that text: the
:class:`~ocppkit.PayloadError` the exact decoder raises, the relaxation a
:class:`~ocppkit.Policy` may apply, the second pass for draft-06 integral floats and leap
seconds. A change of msgspec's wording is therefore met here, and only here:
``tests/test_msgspec_errors.py`` raises every message mapped below with the installed msgspec
(``msgspec>=0.19,<0.23``) and fails, naming the message, when one no longer reads as expected.

Three sources of text are read:

- msgspec's own messages (``Object missing required field ...``, ``Expected `int` >= 0``, ...);
- messages ocppkit raises *inside* msgspec's decode, which msgspec wraps with the path: the
  generated 1.6 classes' ``__post_init__`` (``multipleOf``, ``uri``) and ``CustomData``'s
  decode hook (``... in field `vendorId```), both in ``ocppkit/_base.py``;
- ocppkit's own checks after msgspec's (open-value depth, RFC 3339 date-time text) raise
  :class:`FaultError`, which carries its :class:`Fault` and is never parsed.
"""

from __future__ import annotations

import re

import msgspec

from ._jsonpath import join

__all__ = ["Fault", "FaultError", "Kind", "classify"]


class Kind:
    """What failed: one name per message that ocppkit tells apart (``Fault.kind``)."""

    REQUIRED = "required"  # a required member is missing
    UNKNOWN_FIELD = "unknown field"  # a member the schema does not define
    MIN_ITEMS = "minItems"
    MAX_ITEMS = "maxItems"
    MAX_LENGTH = "maxLength"
    MINIMUM = "minimum"
    MAXIMUM = "maximum"
    ENUM = "enum"
    DATETIME = "datetime"  # not an RFC 3339 date-time
    NAIVE_DATETIME = "naive datetime"  # a date-time without its UTC offset
    MULTIPLE_OF = "multipleOf"  # 1.6 `multipleOf: 0.1`
    URI = "uri"  # 1.6 `format: uri`
    INT_FLOAT = "int got float"  # `3.0` (or `3.5`) where an integer is expected
    TYPE = "type"  # any other wrong JSON type
    RANGE = "range"  # a number beyond the range of a double (`1e999`)
    DEPTH = "depth"  # an open value nested deeper than the codec's max_depth
    JSON = "json"  # not JSON at all
    UNKNOWN = "unknown"  # a message no pattern here reads


#: Fault kind -> the JSON-schema keyword it breaks (``details["rule"]``).
RULES: dict[str, str] = {
    Kind.REQUIRED: "required",
    Kind.UNKNOWN_FIELD: "additionalProperties",
    Kind.MIN_ITEMS: "minItems",
    Kind.MAX_ITEMS: "maxItems",
    Kind.MAX_LENGTH: "maxLength",
    Kind.MINIMUM: "minimum",
    Kind.MAXIMUM: "maximum",
    Kind.ENUM: "enum",
    Kind.DATETIME: "format",
    Kind.NAIVE_DATETIME: "format",
    Kind.MULTIPLE_OF: "multipleOf",
    Kind.URI: "format",
    Kind.INT_FLOAT: "type",
    Kind.TYPE: "type",
    Kind.RANGE: "range",
    Kind.DEPTH: "maxDepth",
    Kind.JSON: "json",
    Kind.UNKNOWN: "unknown",
}


class Fault:
    """One failed rule, as read from a msgspec error.

    Attributes:
        kind: a :class:`Kind` name.
        rule: the JSON-schema keyword it breaks (``maxLength``, ``required``, ...).
        path: the JSON path of the offending value (for a missing or unknown member, the member's).
        at: the path msgspec reported: the object holding ``member``, or the value itself.
        member: the member's name, for a missing or unknown member (or a ``CustomData`` field).
        bound: the schema's bound as msgspec wrote it (``"20"`` for ``maxLength: 20``), or None.
        want: the expected msgspec type name, for a type fault (``int``, ``str``, ``object``).
        got: the received msgspec type name, for a type fault.
        message: the text read (msgspec's message without its path).
    """

    __slots__ = ("at", "bound", "got", "kind", "member", "message", "path", "rule", "want")

    def __init__(
        self,
        kind: str,
        at: str = "$",
        *,
        member: str | None = None,
        bound: str | None = None,
        want: str | None = None,
        got: str | None = None,
        message: str = "",
    ) -> None:
        self.kind = kind
        self.rule = RULES[kind]
        self.at = at
        self.member = member
        self.path = at if member is None else join(at, member)
        self.bound = bound
        self.want = want
        self.got = got
        self.message = message

    def __repr__(self) -> str:
        extra = "".join(f", {k}={getattr(self, k)!r}" for k in ("member", "bound", "want", "got") if getattr(self, k))
        return f"Fault({self.kind!r}, {self.path!r}{extra})"


class FaultError(msgspec.ValidationError):
    """A rule ocppkit checks after msgspec's decode failed: carries its :class:`Fault`, so
    nothing needs to read its text (which still reads like msgspec's)."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(f"{fault.message} - at `{fault.path}`")
        self.fault = fault


# ``<message> - at `<path>```; the path is absent for the payload itself.
_AT = re.compile(r"^(?P<msg>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.S)
# ``... in field `vendorId```: CustomData's hook names the member it checked (ocppkit/_base.py).
_IN_FIELD = re.compile(r" in field `(?P<f>[^`]*)`$")

# (pattern, kind) in the order they are tried; the first match wins. Named groups: ``f`` a
# member name, ``n`` the bound, ``want``/``got`` msgspec type names.
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Object missing required field `(?P<f>[^`]*)`$"), Kind.REQUIRED),
    (re.compile(r"Object contains unknown field `(?P<f>[^`]*)`$"), Kind.UNKNOWN_FIELD),
    (re.compile(r"Expected `array` of length >= (?P<n>\d+)$"), Kind.MIN_ITEMS),
    (re.compile(r"Expected `array` of length <= (?P<n>\d+)$"), Kind.MAX_ITEMS),
    (re.compile(r"Expected `str` of length <= (?P<n>\d+)$"), Kind.MAX_LENGTH),
    (re.compile(r"Expected `(?:int|float)` >= (?P<n>\S+)$"), Kind.MINIMUM),
    (re.compile(r"Expected `(?:int|float)` <= (?P<n>\S+)$"), Kind.MAXIMUM),
    (re.compile(r"Invalid enum value "), Kind.ENUM),
    (re.compile(r"Invalid RFC3339 encoded datetime$"), Kind.DATETIME),
    (re.compile(r"Expected `datetime` with a timezone component$"), Kind.NAIVE_DATETIME),
    (re.compile(r"Invalid value for `(?P<f>[^`]*)`: expected a multiple of (?P<n>\S+)$"), Kind.MULTIPLE_OF),
    (re.compile(r"Invalid value for `(?P<f>[^`]*)`: expected a URI"), Kind.URI),
    (re.compile(r"Expected `int`, got `float`$"), Kind.INT_FLOAT),
    (re.compile(r"Expected `(?P<want>[^`]*)`, got `(?P<got>[^`]*)`$"), Kind.TYPE),
    (re.compile(r"Number out of range$"), Kind.RANGE),
]


def classify(exc: msgspec.MsgspecError) -> Fault:
    """The :class:`Fault` a msgspec decode error reports (``Kind.UNKNOWN`` when none reads)."""
    if isinstance(exc, FaultError):
        return exc.fault
    if not isinstance(exc, msgspec.ValidationError):
        return Fault(Kind.JSON, message=str(exc))  # a DecodeError: malformed JSON
    m = _AT.match(str(exc))
    assert m is not None  # the pattern matches any text
    # msgspec writes `[...]` for a member of a free-form object: some member, unnamed.
    text, at = m.group("msg"), (m.group("path") or "$").replace("[...]", "[*]")
    field = _IN_FIELD.search(text)
    if field is not None:
        text, at = text[: field.start()], join(at, field.group("f"))
    for pattern, kind in _PATTERNS:
        hit = pattern.match(text)
        if hit is not None:
            g = hit.groupdict()
            if kind == Kind.INT_FLOAT:
                g = {"want": "int", "got": "float"}
            # ``f``: a member of the object at `at` (missing, unknown, or whose value broke a
            # 1.6 check); the fault's path is the member's.
            return Fault(
                kind, at, member=g.get("f"), bound=g.get("n"), want=g.get("want"), got=g.get("got"), message=text
            )
    return Fault(Kind.UNKNOWN, at, message=text)
