"""Applying a :class:`~ocppkit.Policy`: decoding a payload the strict decode refused.

The exact payload decode (``ocppkit._payload.typed_decode``) calls :func:`relax` only after
msgspec, the draft-06 and leap-second passes have refused a payload and the codec has a
lenient policy. The payload is then decoded untyped and converted again and again: each
failure is read (:func:`ocppkit._msgspec_errors.classify`), and where the policy permits a
relaxation at that path it is applied to the tree and recorded, until the payload converts or a
failure is not covered (that failure is raised). Every other rule stays strict; so do the
RFC 3339 text check and the draft-06 integral floats, which are applied here too.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ._base import CustomData
from ._datetimes import Suspect, check_datetimes
from ._jsonpath import steps as path_steps
from ._msgspec_errors import Kind, classify
from ._wire import dec_hook
from .frames import Relaxation
from .policy import Policy

__all__ = ["relax"]

_MAX_RELAXATIONS = 256  # conversions tried per payload: beyond, the first failure stands


def _node(tree: Any, steps: list[str | int]) -> Any:
    for s in steps:
        tree = tree[s]
    return tree


def _type_at(cls: type, steps: list[str | int]) -> Any:
    # msgspec.inspect leaves UNSET out of optional fields, so no unions appear here.
    t: Any = msgspec.inspect.type_info(cls)
    for s in steps:
        t = t.item_type if isinstance(s, int) else next(f.type for f in t.fields if f.encode_name == s)
    return t


def _set_back(obj: Any, steps: list[str | int], value: Any) -> None:
    """Put ``value`` back at ``steps`` of the decoded object (a string the policy accepted)."""
    for s in steps[:-1]:
        obj = obj[s] if isinstance(s, int) else _get(obj, s)
    last = steps[-1]
    if isinstance(last, int):
        obj[last] = value
    elif isinstance(obj, CustomData):
        if last == "vendorId":
            obj.vendor_id = value
        else:
            obj.extra[last] = value
    else:
        setattr(obj, _attr(obj, last), value)


def _get(obj: Any, wire: str) -> Any:
    if isinstance(obj, CustomData):
        return obj.vendor_id if wire == "vendorId" else obj.extra[wire]
    return getattr(obj, _attr(obj, wire))


def _attr(obj: Any, wire: str) -> str:
    return str(obj.__struct_fields__[obj.__struct_encode_fields__.index(wire)])


def relax(
    policy: Policy,
    cls: type,
    data: bytes,
    action: str,
    first: msgspec.ValidationError,
    suspect: Suspect,
) -> tuple[Any, tuple[Relaxation, ...]]:
    """Decode ``data`` into ``cls`` applying ``policy``; re-raise the first failure it does not
    cover (``first`` when the payload is not even JSON). ``suspect`` is the codec's date-time
    guard."""
    try:
        tree = msgspec.json.decode(data)
    except msgspec.DecodeError:
        raise first from None
    relaxed: list[Relaxation] = []
    restore: list[tuple[list[str | int], Any]] = []
    draft6 = cls.__ocpp__.integral_floats  # type: ignore[attr-defined]
    obj: Any = None
    for _ in range(_MAX_RELAXATIONS):
        try:
            obj = msgspec.convert(tree, cls, dec_hook=dec_hook)
            break
        except msgspec.ValidationError as exc:
            fault = classify(exc)
            kind, path = fault.kind, fault.path
            steps = path_steps(path)
            if kind == Kind.UNKNOWN_FIELD and fault.member is not None:
                choice = policy.setting("unknown_properties", action, path)
                if choice == "reject":
                    raise exc from None
                value = _node(tree, path_steps(fault.at)).pop(fault.member)
                relaxed.append(
                    Relaxation(
                        path,
                        "additionalProperties",
                        "dropped" if choice == "drop" else "kept",
                        value if choice == "keep" else None,
                    )
                )
            elif kind == Kind.MAX_LENGTH and fault.bound is not None and steps:
                choice = policy.setting("overlong_strings", action, path)
                if choice == "reject":
                    raise exc from None
                parent, original = _node(tree, steps[:-1]), _node(tree, steps)
                parent[steps[-1]] = original[: int(fault.bound)]
                if choice == "accept":
                    restore.append((steps, original))
                relaxed.append(
                    Relaxation(path, "maxLength", "accepted" if choice == "accept" else "truncated", original)
                )
            elif kind == Kind.ENUM and steps:
                if policy.setting("unknown_enum_values", action, path) == "reject":
                    raise exc from None
                enum_cls = _type_at(cls, steps).cls
                parent, original = _node(tree, steps[:-1]), _node(tree, steps)
                parent[steps[-1]] = next(iter(enum_cls)).value
                restore.append((steps, original))
                relaxed.append(Relaxation(path, "enum", "accepted", original))
            elif kind == Kind.NAIVE_DATETIME and steps:
                if policy.setting("naive_datetimes", action, path) == "reject":
                    raise exc from None
                parent, original = _node(tree, steps[:-1]), _node(tree, steps)
                parent[steps[-1]] = original + "Z"
                relaxed.append(Relaxation(path, "format", "assumed UTC", original))
            elif draft6 and kind == Kind.INT_FLOAT and steps:
                parent, value = _node(tree, steps[:-1]), _node(tree, steps)
                if not (isinstance(value, float) and value.is_integer()):
                    raise exc from None
                parent[steps[-1]] = int(value)  # valid in draft-06: not a relaxation
            else:
                raise exc from None
    else:
        raise first
    for steps, value in restore:
        _set_back(obj, steps, value)
    if suspect(data):
        check_datetimes(obj, tree, "$")
    return obj, tuple(relaxed)
