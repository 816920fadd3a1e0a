"""msgspec's encoder and the cached typed decoders of the generated classes, with ocppkit's hooks.

The one place where payload bytes meet msgspec: every decode of a payload into its class (both
twins' fast paths, the exact decoder, the policy's relaxations) uses :func:`decoder`, and every
encode uses :data:`ENCODER`. The hooks turn the open ``customData`` object into
:class:`~ocppkit.CustomData` and back.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from ._base import CustomData

__all__ = ["ENCODER", "dec_hook", "decoder"]

T = TypeVar("T")


def dec_hook(tp: type, obj: Any) -> Any:
    """msgspec's decode hook: a ``customData`` JSON object -> :class:`~ocppkit.CustomData`."""
    if tp is CustomData:
        return CustomData.from_wire(obj)
    raise NotImplementedError


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, CustomData):
        return obj.to_wire()
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


#: Encodes any payload object as compact JSON with the schema's wire names.
ENCODER = msgspec.json.Encoder(enc_hook=_enc_hook)
_DECODERS: dict[type, msgspec.json.Decoder[Any]] = {}


def decoder(cls: type[T]) -> msgspec.json.Decoder[T]:
    """The msgspec decoder of ``cls``, built on first use (it resolves the class's annotations,
    which builds the enums it needs) and kept for the process."""
    dec = _DECODERS.get(cls)
    if dec is None:
        dec = _DECODERS[cls] = msgspec.json.Decoder(cls, dec_hook=dec_hook)
    return dec
