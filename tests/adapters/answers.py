"""Valid responses built from the generated types: minimal (required fields only) or full (every
field), and a CSMS router that answers every action with them."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Collection, Mapping
from typing import Any

import msgspec.inspect as mi

import ocppkit
from ocppkit import CustomData

NOW = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.timezone.utc)


def module(version: str) -> Any:
    return importlib.import_module({"1.6": "ocppkit.v16", "2.0.1": "ocppkit.v201", "2.1": "ocppkit.v21"}[version])


def _number(t: Any, kind: type) -> Any:
    if t.ge is not None:
        return kind(t.ge)
    if t.gt is not None:
        return kind(t.gt + 1)
    value = kind(1)
    if t.le is not None and value > t.le:
        value = kind(t.le)
    if t.lt is not None and value >= t.lt:
        value = kind(t.lt - 1)
    return value


def value(t: mi.Type, *, full: bool, accept: bool = True) -> Any:
    """A valid value of ``t``. Enums with an ``Accepted`` member take it (``accept``) or the first
    other member (not ``accept``); other enums take their first member."""
    if isinstance(t, mi.StructType):
        return t.cls(**{f.name: value(f.type, full=full, accept=accept) for f in t.fields if f.required or full})
    if isinstance(t, mi.CustomType):
        assert t.cls is CustomData, t
        return CustomData("org.example.test", note="every field filled in")
    if isinstance(t, mi.EnumType):
        members = list(t.cls)
        accepted = [m for m in members if m.value == "Accepted"]
        if accepted:
            return accepted[0] if accept else next(m for m in members if m.value != "Accepted")
        return members[0]
    if isinstance(t, mi.UnionType):
        options = [o for o in t.types if not isinstance(o, mi.NoneType)]
        return value(options[0], full=full, accept=accept)
    if isinstance(t, mi.LiteralType):
        return t.values[0]
    if isinstance(t, mi.IntType):
        return _number(t, int)
    if isinstance(t, mi.FloatType):
        return _number(t, float)
    if isinstance(t, mi.StrType):
        text = "full-text-value" if full else "x"
        text = text * max(1, -(-(t.min_length or 0) // len(text)))
        return text[: t.max_length] if t.max_length is not None else text
    if isinstance(t, mi.BoolType):
        return True
    if isinstance(t, mi.DateTimeType):
        return NOW
    if isinstance(t, mi.ListType):
        n = max(1, t.min_length or 0, 2 if full else 1)
        if t.max_length is not None:
            n = min(n, t.max_length)
        return [value(t.item_type, full=full, accept=accept) for _ in range(n)]
    if isinstance(t, (mi.DictType, mi.AnyType)):
        return {"vendor": "data"}
    raise AssertionError(f"no builder for {t!r}")


def response(cls: type, *, full: bool, accept: bool = True) -> Any:
    return value(mi.type_info(cls), full=full, accept=accept)


def answering_router(
    version: str,
    *,
    full: bool,
    accept: bool = True,
    overrides: Mapping[str, Any] | None = None,
    without: Collection[str] = (),
) -> ocppkit.Router:
    """A router answering every action of ``version`` with a built response (``overrides``:
    action -> the response to give instead; ``without``: actions left without a handler)."""
    m = module(version)
    router = ocppkit.Router()
    for action, row in m.ACTIONS.items():
        if row.response is None or action in without:
            continue
        answer = (overrides or {}).get(action)
        if answer is None:
            answer = response(row.response, full=full, accept=accept)
        router.add(row.request, _constant(answer))
    return router


def _constant(answer: Any) -> Callable[[Any], Any]:
    return lambda req: answer
