"""The codecs that connections share: one per distinct set of codec settings, a bounded number.

A :class:`~ocppkit.Connection` built without ``codec=`` takes its codec from here, so a
thousand connections of one version share one codec (its action tables and decoders are built
once). Settings are compared by value (:class:`~ocppkit.Policy` compares and hashes by its
settings, and a strict policy is the same as none); at most :data:`MAX_SHARED` codecs are kept,
the least recently used going first, so connections that each bring their own policy cannot make
the process hold a codec per connection. A connection keeps its own codec alive as long as it
lives, whether or not the cache still holds it.

A codec given as ``Connection(codec=...)`` goes through :func:`connection_codec`: ocppkit's
codecs as they are, any other object with ``encode`` and ``decode`` wrapped so that the
connection's internal entry points call its ``decode`` and ``encode``.
"""

from __future__ import annotations

from typing import Any

from ._codec_common import Parts, frame_parts
from .codec import Codec
from .frames import Call, CallResult
from .policy import Policy

__all__ = ["MAX_SHARED", "connection_codec", "shared_codec"]

#: How many codecs are kept for reuse at most.
MAX_SHARED = 64

# (version, max_frame_size, max_depth, policy) -> codec, least recently used first.
_CODECS: dict[tuple[Any, ...], Any] = {}


def shared_codec(version: str, max_frame_size: int, max_depth: int, policy: Any) -> Any:
    """The codec for these settings: a kept one, or a new one (then kept)."""
    if isinstance(policy, Policy) and policy.is_strict():
        policy = None  # decodes exactly as no policy does
    key = (version, max_frame_size, max_depth, policy)
    try:
        codec = _CODECS.pop(key, None)
    except TypeError:  # something unhashable: not a valid setting, the Codec says why
        return Codec(version, max_frame_size=max_frame_size, max_depth=max_depth, policy=policy)
    if codec is None:
        codec = Codec(version, max_frame_size=max_frame_size, max_depth=max_depth, policy=policy)
        while len(_CODECS) >= MAX_SHARED:
            _CODECS.pop(next(iter(_CODECS)), None)
    _CODECS[key] = codec  # (re)inserted last: the most recently used
    return codec


class _PlainCodec:
    """A ``codec=`` with only the public methods (``encode``, ``decode``): the internal entry
    points the connection uses, in terms of ``decode`` and ``encode`` (ocppkit's codecs have their own)."""

    __slots__ = ("_codec", "_entry_points", "decode", "encode", "version")

    def __init__(self, codec: Any) -> None:
        self._codec = codec
        self.version = codec.version
        self.encode = codec.encode
        self.decode = codec.decode
        self._entry_points = (self._receive, self._encode_call, self._encode_result)

    def _receive(self, data: bytes | str, action: str | None = None) -> Parts:
        return frame_parts(self.decode(data) if action is None else self.decode(data, action))

    def _encode_call(self, unique_id: str, action: str, payload: Any) -> bytes:
        return self.encode(Call(unique_id, action, payload))  # type: ignore[no-any-return]

    def _encode_result(self, unique_id: str, payload: Any) -> bytes:
        return self.encode(CallResult(unique_id, payload))  # type: ignore[no-any-return]


def connection_codec(codec: Any) -> Any:
    """``codec`` if it is one of ocppkit's twins (they have the connection's entry points,
    ``_receive``, ``_encode_call`` and ``_encode_result``, bound once in ``_entry_points``), else
    ``codec`` wrapped to provide them through its ``decode`` and ``encode``."""
    return codec if hasattr(codec, "_encode_call") else _PlainCodec(codec)
