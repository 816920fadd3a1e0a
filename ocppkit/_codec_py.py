"""The pure-Python codec: the twin of the Cython ``ocppkit._codec_c``.

Both twins define :class:`Codec` with the same constructor, methods and exceptions. Their
fast path accepts a frame that is well formed with a valid payload; everything else goes to
the exact decoder (``_exact.decode_exact``, the specification of decoding), so the two can only
differ in speed. ``ocppkit.codec`` picks one (``OCPPKIT_NO_EXTENSIONS=1`` forces this one).
"""

from __future__ import annotations

import re
from typing import Any, overload

import msgspec

from ._base import Request, Response
from ._codec_common import DEFAULT_MAX_DEPTH, DEFAULT_MAX_FRAME_SIZE, NO_RELAXATIONS, CodecConfig, Parts, frame_parts
from ._datetimes import datetime_suspect, has_datetimes
from ._encode import encode_frame
from ._exact import decode_exact, decode_result_payload
from ._wire import decoder
from .frames import Call, CallError, CallResult, CallResultError, Frame, MessageType, RawPayload, Send
from .policy import Policy

__all__ = ["Codec"]

# `[2,"<id>","<Action>",` / `[3,"<id>",` / `[6,"<id>","<Action>",`: ids of printable ASCII
# without quote or backslash (anything else takes the exact path), JSON whitespace only.
_HEAD = re.compile(
    rb'[ \t\n\r]*\[[ \t\n\r]*([236])[ \t\n\r]*,[ \t\n\r]*"([\x20\x21\x23-\x5b\x5d-\x7e]{1,36})"[ \t\n\r]*,'
    rb'[ \t\n\r]*(?:"([A-Za-z0-9_\-]{1,64})"[ \t\n\r]*,[ \t\n\r]*)?'
)
_WS = b" \t\n\r"
# The message types the fast path takes, as plain ints (compared on every frame).
_CALL, _CALLRESULT = int(MessageType.CALL), int(MessageType.CALLRESULT)


class Codec:
    """Decode and encode OCPP-J frames of one OCPP version, validating every payload.

    ``Codec("2.0.1")``. Every failure raises :class:`ocppkit.OcppError`, whose ``reply`` holds
    the frame to send back (or None where the specification says to stay silent).

    Parameters:
        version: the OCPP version: ``"1.6"``, ``"2.0.1"`` or ``"2.1"``.
        max_frame_size: the largest frame in bytes (default 1 MiB); larger frames are refused
            unread.
        max_depth: the nesting limit for the open values of a payload (``customData`` members,
            2.x ``DataTransfer.data``), default 32.
        policy: an :class:`ocppkit.Policy` relaxing chosen rules on decoding; None is strict.

    Attributes:
        version: the version given.
        implementation: ``"py"`` for this twin, ``"c"`` for the compiled one.
    """

    implementation = "py"

    def __init__(
        self,
        version: str,
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        max_depth: int = DEFAULT_MAX_DEPTH,
        policy: Policy | None = None,
    ) -> None:
        self._cfg = CodecConfig(
            version, max_frame_size=max_frame_size, max_depth=max_depth, policy=policy, suspect=datetime_suspect
        )
        self.version = version
        #: The connection's entry points, bound once (every connection on this codec calls them).
        self._entry_points = (self._receive, self._encode_call, self._encode_result)

    def __repr__(self) -> str:
        return f"Codec({self.version!r})"

    # ---------------------------------------------------------------- decode

    @overload
    def decode(self, data: bytes | str) -> Call | CallResult[RawPayload] | CallError | CallResultError | Send: ...
    @overload
    def decode(
        self, data: bytes | str, action: str
    ) -> Call | CallResult[Response] | CallError | CallResultError | Send: ...

    def decode(self, data: bytes | str, action: str | None = None) -> Frame:
        """Decode one WebSocket text message.

        ``action`` types the payload of a CALLRESULT as that action's response; without it a
        CALLRESULT keeps its payload as :data:`ocppkit.RawPayload` (see :meth:`decode_result`).
        """
        return self._decode(data, action, False)  # type: ignore[return-value]

    def _receive(self, data: bytes | str, action: str | None = None) -> Parts:
        """``decode`` for ``ocppkit.Connection``: the frame as :data:`~ocppkit._codec_common.Parts`
        (same frames, same errors; the fast path builds the tuple, not the frame)."""
        return self._decode(data, action, True)  # type: ignore[return-value]

    def _decode(self, data: bytes | str, action: str | None, parts: bool) -> Frame | Parts:
        if action is not None and type(action) is not str:
            raise TypeError(f"action: expected str, got {type(action).__name__}")
        if isinstance(data, str):
            # Lone surrogates become invalid UTF-8, which the exact path then reports.
            data = data.encode("utf-8", "surrogatepass")
        elif type(data) is not bytes:
            data = bytes(data)
        cfg = self._cfg
        if len(data) <= cfg.max_frame_size and cfg.policy is None:
            m = _HEAD.match(data)
            if m is not None:
                frame = self._fast(cfg, data, m, action, parts)
                if frame is not None:
                    return frame
        frame = decode_exact(cfg, data, action)
        return frame_parts(frame) if parts else frame

    def _fast(
        self, cfg: CodecConfig, data: bytes, m: re.Match[bytes], action: str | None, parts: bool
    ) -> Frame | Parts | None:
        type_id = m.group(1)[0] - 48
        act = m.group(3)
        end = len(data)
        while end and data[end - 1] in _WS:
            end -= 1
        start = m.end()
        if end - start < 3 or data[end - 1] != 93 or data[start] != 123:  # `]`, `{`
            return None
        stop = end - 1
        while data[stop - 1] in _WS:
            stop -= 1
        payload = data[start:stop]
        if type_id == _CALL:
            if act is None:
                return None
            name = act.decode()
            cls = cfg.requests.get(name)
        elif type_id == _CALLRESULT:
            if act is not None:
                return None
            if action is None:
                try:
                    msgspec.json.decode(payload)  # well-formed and a single value
                except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
                    return None
                uid, raw = m.group(2).decode(), msgspec.Raw(payload)
                return (3, uid, None, raw, NO_RELAXATIONS) if parts else CallResult(uid, raw)
            name = action
            cls = cfg.responses.get(name)
        else:
            if act is None or not cfg.has_send:
                return None
            name = act.decode()
            cls = cfg.sends.get(name)
        if cls is None:
            return None
        if name == "DataTransfer" or b'"customData"' in payload:
            return None  # the exact path checks the depth of open values
        if has_datetimes(cls) and datetime_suspect(payload):
            return None  # the exact path checks date-time text
        try:
            obj = decoder(cls).decode(payload)
        except (msgspec.MsgspecError, UnicodeDecodeError, RecursionError):
            return None
        uid = m.group(2).decode()
        if parts:
            return (type_id, uid, None if type_id == _CALLRESULT else name, obj, NO_RELAXATIONS)
        if type_id == _CALL:
            return Call(uid, name, obj)  # type: ignore[arg-type]
        if type_id == _CALLRESULT:
            return CallResult(uid, obj)  # type: ignore[return-value]
        return Send(uid, name, obj)  # type: ignore[arg-type]

    def decode_result(self, result: CallResult[RawPayload], action: str) -> CallResult[Response]:
        """Type and validate the payload of a CALLRESULT decoded without ``action=``."""
        return decode_result_payload(self._cfg, result, action)

    # ---------------------------------------------------------------- encode

    def encode(self, frame: Frame) -> bytes:
        """Encode a frame; a payload the schema forbids raises :class:`ocppkit.LocalProtocolError`."""
        return encode_frame(self._cfg, frame)

    def _encode_call(self, uid: str, action: str, payload: Request[Any]) -> bytes:
        """``encode(Call(uid, action, payload))`` (the C twin skips building the frame)."""
        return encode_frame(self._cfg, Call(uid, action, payload))

    def _encode_result(self, uid: str, payload: Response) -> bytes:
        """``encode(CallResult(uid, payload))``, likewise."""
        return encode_frame(self._cfg, CallResult(uid, payload))
