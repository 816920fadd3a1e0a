"""What both codec twins are configured with: a :class:`CodecConfig`, built once per codec.

It holds the codec's edition (``ocppkit.edition``: every rule that differs between OCPP
versions reads it), the action tables of its version, its limits and policy, and the helpers
the running twin supplies to the exact decoder (its date-time guard). The twins
(``_codec_py`` and the Cython ``_codec_c``) build one and hand it to the exact decoder
(``_exact``) and the exact encoder (``_encode``).
"""

from __future__ import annotations

import importlib

from ._base import OcppStruct
from ._datetimes import Suspect, datetime_suspect
from .edition import Edition, edition
from .errors import ErrorCode
from .frames import Call, CallError, CallResult, CallResultError, Frame, MessageType
from .policy import Policy

__all__ = ["DEFAULT_MAX_DEPTH", "DEFAULT_MAX_FRAME_SIZE", "NO_RELAXATIONS", "CodecConfig", "Parts", "frame_parts"]

#: Default frame size limit. OCPP sets none; the largest schema-valid 2.x messages in practice
#: (NotifyReport pages, 1024-period profiles, 10 000-character certificate chains) stay far
#: below 1 MiB, while a bound keeps a hostile peer from making us parse arbitrary amounts.
DEFAULT_MAX_FRAME_SIZE = 1 << 20
#: Default nesting limit for the open values of a payload (``customData`` members, 2.x
#: ``DataTransfer.data``), the only places where a schema-valid payload can nest freely.
DEFAULT_MAX_DEPTH = 32

#: A frame as the codecs hand it to ``ocppkit.Connection`` (``Codec._receive``): one flat tuple
#: ``(message type, unique id, a, b, c)`` instead of a frame object, so that the connection reads
#: the parts without attribute lookups and the fast path builds no frame it would only take apart:
#:
#: - CALL ``(2, id, action, request, relaxations)``; SEND ``(6, id, action, payload, relaxations)``;
#: - CALLRESULT ``(3, id, None, response, relaxations)`` (a :data:`RawPayload` without ``action=``);
#: - CALLERROR ``(4, id, code, description, details)``; CALLRESULTERROR ``(5, id, code, description, details)``.
Parts = tuple[int, str, object, object, object]
#: The relaxations of a frame decoded strictly (the fast paths): none.
NO_RELAXATIONS: tuple[()] = ()


class CodecConfig:
    """Per-codec settings, the edition and the action tables of its version (built once).

    ``suspect`` is the date-time guard of the twin that builds it (the pure one by default; the
    C twin passes its own): the exact decoder calls it, nothing swaps it behind its back.
    """

    def __init__(
        self,
        version: str,
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        max_depth: int = DEFAULT_MAX_DEPTH,
        policy: Policy | None = None,
        suspect: Suspect = datetime_suspect,
    ) -> None:
        ed: Edition = edition(version)  # ValueError naming the known versions
        if not isinstance(max_frame_size, int) or max_frame_size < 64:
            raise ValueError(f"max_frame_size: expected an int >= 64, got {max_frame_size!r}")
        if not isinstance(max_depth, int) or max_depth < 1:
            raise ValueError(f"max_depth: expected an int >= 1, got {max_depth!r}")
        if policy is not None and not isinstance(policy, Policy):
            raise TypeError(f"policy: expected an ocppkit.Policy, got {type(policy).__name__}")
        self.edition = ed
        self.version = version
        self.max_frame_size = max_frame_size
        self.max_depth = max_depth
        self.policy = policy if policy is not None and not policy.is_strict() else None
        self.suspect = suspect
        self.types = ed.message_types
        self.has_send = MessageType.SEND in ed.message_types
        #: The code answering a broken frame or CALL envelope (1.6 FormatViolation, 2.x RpcFrameworkError).
        self.frame_error = ErrorCode(ed.frame_error)
        actions = importlib.import_module(ed.package).ACTIONS
        self.requests: dict[str, type[OcppStruct]] = {}
        self.responses: dict[str, type[OcppStruct]] = {}
        self.sends: dict[str, type[OcppStruct]] = {}
        for name, row in actions.items():
            if row.response is None:
                self.sends[name] = row.request
            else:
                self.requests[name] = row.request
                self.responses[name] = row.response


def frame_parts(frame: Frame) -> Parts:
    """A decoded frame as :data:`Parts` (the exact decoder's frames, for ``Codec._receive``)."""
    if isinstance(frame, Call):
        return (2, frame.unique_id, frame.action, frame.payload, frame.relaxations)
    if isinstance(frame, CallResult):
        return (3, frame.unique_id, None, frame.payload, frame.relaxations)
    if isinstance(frame, CallError):
        return (4, frame.unique_id, frame.error_code, frame.error_description, frame.error_details)
    if isinstance(frame, CallResultError):
        return (5, frame.unique_id, frame.error_code, frame.error_description, frame.error_details)
    return (6, frame.unique_id, frame.action, frame.payload, frame.relaxations)
