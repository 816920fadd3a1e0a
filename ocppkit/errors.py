"""OCPP RPC error codes, their spelling per version, and the exception hierarchy.

Every failure ocppkit reports is an :class:`OcppError`. It carries the OCPP error code spelled
as the version in use spells it (``code``), a description of at most 255 characters, and a
JSON-object ``details`` that names the offending field and the rule it broke. It never echoes
the payload or the schema.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from .edition import EDITIONS

__all__ = [
    "ErrorCode",
    "LocalProtocolError",
    "OcppError",
    "PayloadError",
    "RemoteProtocolError",
    "parse_error_code",
    "spell_error_code",
]


class ErrorCode(str, Enum):
    """The RPC error codes of all versions, under their 2.x spelling.

    Use :func:`spell_error_code` for the wire spelling of a version and
    :func:`parse_error_code` to read either spelling.
    """

    FORMAT_VIOLATION = "FormatViolation"
    GENERIC_ERROR = "GenericError"
    INTERNAL_ERROR = "InternalError"
    MESSAGE_TYPE_NOT_SUPPORTED = "MessageTypeNotSupported"
    NOT_IMPLEMENTED = "NotImplemented"
    NOT_SUPPORTED = "NotSupported"
    OCCURRENCE_CONSTRAINT_VIOLATION = "OccurrenceConstraintViolation"
    PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
    PROTOCOL_ERROR = "ProtocolError"
    RPC_FRAMEWORK_ERROR = "RpcFrameworkError"
    SECURITY_ERROR = "SecurityError"
    TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"


# Each edition spells some codes its own way (OCPP-J 1.6 keeps two misspelt codes, confirmed by
# its errata as "will not be fixed") and stands in for codes it lacks (1.6 has neither
# RpcFrameworkError nor MessageTypeNotSupported): ``Edition.spellings``. A spelling that is no
# ErrorCode value is another name of its code, read back by parse_error_code; a stand-in
# (``ProtocolError``) is a code of its own.
_VALUES = {c.value: c for c in ErrorCode}
_READ = _VALUES | {
    text: ErrorCode(code) for ed in EDITIONS.values() for code, text in ed.spellings.items() if text not in _VALUES
}


def spell_error_code(code: ErrorCode, version: str) -> str:
    """The wire spelling of ``code`` in ``version`` ("1.6", "2.0.1" or "2.1"), as its edition
    (:func:`ocppkit.edition`) spells it.

    1.6 has no ``RpcFrameworkError`` or ``MessageTypeNotSupported``; they become ``ProtocolError``.
    A version ocppkit has no edition of spells every code as 2.x does.
    """
    ed = EDITIONS.get(version)
    return code.value if ed is None else ed.spell(code.value)


def parse_error_code(text: str) -> ErrorCode | None:
    """Read an error code in either spelling (``FormationViolation`` or ``FormatViolation``, ...).

    Returns None for a code that no version defines.
    """
    return _READ.get(text)


class OcppError(Exception):
    """Base of every ocppkit error.

    Parameters:
        error_code: the OCPP error code, an :class:`ErrorCode`.
        description: what went wrong; cut to 255 characters.
        details: a JSON object naming the offending field (JSON path) and the rule broken.
        version: the OCPP version whose spelling ``code`` takes (default ``"2.0.1"``).
        unique_id: the frame's message id, or None where it cannot be read.
        reply: the bytes to send back, or None where the spec says to send nothing.

    Attributes:
        code: the OCPP error code, spelt as the version in use spells it (the parameters are
            kept as attributes of the same names).
        message_type: the offending frame's message type id, when it could be read.
    """

    def __init__(
        self,
        error_code: ErrorCode,
        description: str,
        details: dict[str, Any] | None = None,
        *,
        version: str = "2.0.1",
        unique_id: str | None = None,
        reply: bytes | None = None,
    ) -> None:
        description = description if len(description) <= 255 else description[:254] + "…"
        super().__init__(description)
        self.error_code = error_code
        self.code = spell_error_code(error_code, version)
        self.description = description
        self.details: dict[str, Any] = details if details is not None else {}
        self.version = version
        self.unique_id = unique_id
        self.reply = reply
        #: The message type id of the offending frame (2 CALL, 3 CALLRESULT, ...) when readable.
        self.message_type: int | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, description={self.description!r}, details={self.details!r})"


class RemoteProtocolError(OcppError):
    """The peer sent something that breaks the protocol or the schema."""


class LocalProtocolError(OcppError):
    """We were asked to send something invalid; nothing went on the wire."""


class PayloadError(RemoteProtocolError):
    """A payload does not match its schema.

    ``path`` is the JSON path of the offending value (``$.chargingStation.model``) and
    ``rule`` the schema keyword it breaks (``maxLength``, ``required``, ``type``, ...).
    Both are also in ``details``.
    """

    @property
    def path(self) -> str:
        """The JSON path of the offending value (``$`` for the whole payload)."""
        return str(self.details.get("path", "$"))

    @property
    def rule(self) -> str:
        """The schema keyword the value breaks (``maxLength``, ``required``, ``type``, ...)."""
        return str(self.details.get("rule", ""))


# ------------------------------------------------------------------ the adapters' errors
# (raised by ``Session.call`` and the websockets adapters; ``ocppkit.adapters.asyncio`` re-exports them)

__all__ += ["CallErrorResponse", "CallTimeout"]


class CallErrorResponse(RemoteProtocolError):
    """The peer answered our call with a CALLERROR; raised by ``Session.call``.

    Parameters:
        code: the error code as the peer spelt it, kept as ``code`` (``error_code`` holds it as
            an :class:`ErrorCode`, ``GenericError`` for a code no version defines).
        description: the peer's description.
        details: the peer's details object.
        version: the OCPP version of the session.
        unique_id: the id of our call.
    """

    def __init__(self, code: str, description: str, details: dict[str, Any], *, version: str, unique_id: str) -> None:
        parsed = parse_error_code(code) or ErrorCode.GENERIC_ERROR
        super().__init__(parsed, description, details, version=version, unique_id=unique_id)
        self.code = code


class CallTimeout(OcppError, TimeoutError):
    """The peer did not answer our call before its deadline (the connection's ``call_timeout``,
    counted from when the call went on the wire); raised by ``Session.call``.

    Also a ``TimeoutError`` (``except TimeoutError`` catches it; on Python 3.11 and later so does
    ``except asyncio.TimeoutError``). ``error_code`` is ``GenericError`` (OCPP has no code for
    a call never answered), ``details`` is ``{"rule": "callTimeout", "action": <action>}`` and
    ``unique_id`` the id of our call.

    Parameters:
        action: the action of the call that went unanswered (kept as ``action``).
        unique_id: the id of our call.
        version: the OCPP version of the session.
    """

    def __init__(self, action: str, unique_id: str, *, version: str = "2.0.1") -> None:
        super().__init__(
            ErrorCode.GENERIC_ERROR,
            f"No answer to {action} {unique_id} before the call timeout",
            {"rule": "callTimeout", "action": action},
            version=version,
            unique_id=unique_id,
        )
        self.action = action


__all__ += ["CallErrorReply"]


class CallErrorReply(OcppError):
    """Raise it in a handler to answer the call with this CALLERROR (spelt for the connection's
    version) instead of a response: ``raise CallErrorReply(ErrorCode.NOT_SUPPORTED, "No smart
    charging here")``. Any other exception in a handler is answered ``InternalError``.

    Parameters:
        error_code: the OCPP error code, an :class:`ErrorCode`.
        description: what the peer reads; cut to 255 characters.
        details: a JSON object naming the offending field and the rule.
    """

    def __init__(self, error_code: ErrorCode, description: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(error_code, description, details)
