"""The one place where the Struct options of every generated class are chosen.

Generated classes subclass :class:`OcppStruct` (datatypes), :class:`Request`,
:class:`Response` or :class:`SendPayload` (message payloads). Options:

- ``kw_only``: fields are passed by name, so schema order and required-ness are independent.
- ``forbid_unknown_fields``: every OCPP object except ``customData`` is closed
  (``additionalProperties: false``).
- ``omit_defaults`` with ``UNSET`` defaults: an absent optional field stays absent on the
  wire, never ``null``; schema ``default`` values are never injected.
- ``gc=False``: payload structs hold no reference cycles, so the collector can skip them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, TypeVar

import msgspec

__all__ = [
    "ActionTypes",
    "CustomData",
    "MessageInfo",
    "OcppStruct",
    "Request",
    "Response",
    "SendPayload",
]


class OcppStruct(
    msgspec.Struct,
    kw_only=True,
    forbid_unknown_fields=True,
    omit_defaults=True,
    repr_omit_defaults=True,
    gc=False,
):
    """Base of every generated datatype and payload."""


class MessageInfo(NamedTuple):
    """What a payload class is: its OCPP version, action and role (``cls.__ocpp__``).

    Attributes:
        version: ``"1.6"``, ``"2.0.1"`` or ``"2.1"``.
        action: the action name (``"BootNotification"``).
        role: ``"request"``, ``"response"`` or ``"send"``.
        integral_floats: the schema is draft-06, where ``3.0`` is a valid ``integer``; draft-04
            (1.6 core) rejects it.
    """

    version: str
    action: str
    role: str  # "request" | "response" | "send"
    #: The schema is draft-06, where ``3.0`` is a valid ``integer``; draft-04 (1.6 core) rejects it.
    integral_floats: bool


ResponseT = TypeVar("ResponseT", bound="Response", covariant=True)


class Response(OcppStruct):
    """Base of every ``<Action>Response`` payload."""

    __ocpp__: ClassVar[MessageInfo]


if TYPE_CHECKING:

    class Request(OcppStruct, Generic[ResponseT]):
        """Base of every ``<Action>Request`` payload; ``ResponseT`` is its response class.

        ``def call(request: Request[R]) -> R`` is therefore typed per action without overloads.
        """

        __ocpp__: ClassVar[MessageInfo]

        def __ocpp_response__(self) -> ResponseT:
            """For type checkers only (absent at run time): exposes ``ResponseT`` on the class
            object, so ``Router.on(cls)`` can check a handler's argument and return type at once."""
            raise NotImplementedError

else:

    class Request(OcppStruct):
        """Base of every ``<Action>Request`` payload; ``Request[X]`` names its response class.

        Generic for type checkers only: at run time ``Request[X]`` is ``Request`` itself, which
        spares the typing machinery on each of the ~150 request classes at import.
        """

        def __class_getitem__(cls, item: object) -> type[Request]:
            return cls


class SendPayload(OcppStruct):
    """Base of payloads carried by a 2.1 SEND frame (unconfirmed: no response)."""

    __ocpp__: ClassVar[MessageInfo]


class ActionTypes(NamedTuple):
    """One row of a version's ``ACTIONS`` table.

    Attributes:
        action: the action name.
        request: the request class (or, for a 2.1 SEND action, the SEND payload class).
        response: the response class; None for a SEND action.
    """

    action: str
    request: type[Request[Any]] | type[SendPayload]
    response: type[Response] | None


class CustomData:
    """The open ``customData`` object of OCPP 2.0.1 and 2.1 (``CustomDataType``).

    ``vendor_id`` is the required ``vendorId`` (at most 255 characters); every other member
    is kept verbatim in ``extra`` under its wire name, survives decode and encode unchanged,
    and may hold any JSON value::

        CustomData("com.example.meter", mainMeterValue=12345)

    Parameters:
        vendor_id: the required ``vendorId``, at most 255 characters.
        extra: the other members, under their wire names, with any JSON values.
    """

    __slots__ = ("extra", "vendor_id")

    def __init__(self, vendor_id: str, **extra: Any) -> None:
        if not isinstance(vendor_id, str):
            raise TypeError(f"customData.vendorId: expected str, got {type(vendor_id).__name__}")
        if len(vendor_id) > 255:
            raise ValueError("customData.vendorId: longer than 255 characters")
        if "vendorId" in extra:
            raise ValueError("customData: pass vendorId as vendor_id")
        self.vendor_id = vendor_id
        self.extra: dict[str, Any] = extra

    def to_wire(self) -> dict[str, Any]:
        """The JSON object this stands for: ``vendorId`` and the other members."""
        return {"vendorId": self.vendor_id, **self.extra}

    @classmethod
    def from_wire(cls, obj: object) -> CustomData:
        """Build from a decoded JSON value; the errors read like msgspec's."""
        if not isinstance(obj, dict):
            raise TypeError(f"Expected `object`, got `{_json_type(obj)}`")
        vendor_id = obj.get("vendorId", _MISSING)
        if vendor_id is _MISSING:
            raise TypeError("Object missing required field `vendorId`")
        if not isinstance(vendor_id, str):
            raise TypeError(f"Expected `str`, got `{_json_type(vendor_id)}` in field `vendorId`")
        if len(vendor_id) > 255:
            raise ValueError("Expected `str` of length <= 255 in field `vendorId`")
        self = cls.__new__(cls)
        self.vendor_id = vendor_id
        self.extra = {k: v for k, v in obj.items() if k != "vendorId"}
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CustomData):
            return NotImplemented
        return self.vendor_id == other.vendor_id and self.extra == other.extra

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.extra.items())
        return f"CustomData({self.vendor_id!r}{extra})"


_MISSING = object()


def _json_type(obj: object) -> str:
    if obj is None:
        return "null"
    if isinstance(obj, bool):
        return "bool"
    if isinstance(obj, int):
        return "int"
    if isinstance(obj, float):
        return "float"
    if isinstance(obj, str):
        return "str"
    if isinstance(obj, list):
        return "array"
    return "object"


def _check_multiple_of(value: object, step: str, wire: str) -> None:
    """``multipleOf`` judged on the decimal value (8.1 is a multiple of 0.1; binary floats say no).

    The value is the shortest decimal that round-trips to the same double (``repr``), which is
    the text the peer sent for any number of up to 15 significant digits.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        from decimal import Decimal, InvalidOperation  # only 1.6 charging profiles get here

        try:
            ok = Decimal(repr(value)) % Decimal(step) == 0
        except InvalidOperation:  # inf, nan
            ok = False
        if not ok:
            raise ValueError(f"Invalid value for `{wire}`: expected a multiple of {step}")


# RFC 3986 "URI" (scheme ":" hier-part [ "?" query ] [ "#" fragment ]), syntax only.
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|{_PCT})"


def _uri_pattern() -> re.Pattern[str]:
    return re.compile(
        rf"[A-Za-z][A-Za-z0-9+\-.]*:"
        rf"(?://(?:(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|{_PCT})*@)?"
        rf"(?:\[[0-9A-Fa-f:.vV]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|{_PCT})*)"
        rf"(?::[0-9]*)?(?:/{_PCHAR}*)*"
        rf"|/?(?:{_PCHAR}+(?:/{_PCHAR}*)*)?)"
        rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?",
    )


_URI: re.Pattern[str] | None = None


def _check_uri(value: object, wire: str) -> None:
    """``format: uri`` (OCPP 1.6 ``location`` fields): an absolute URI per RFC 3986."""
    global _URI
    if _URI is None:
        _URI = _uri_pattern()
    if isinstance(value, str) and _URI.fullmatch(value) is None:
        raise ValueError(f"Invalid value for `{wire}`: expected a URI (RFC 3986)")
