"""The state of :mod:`ocppkit.devicemodel.mirror`: one variable's attributes and
characteristics as reported, a report's parts while they arrive, and the conversions from the
wire (ReportDataType) and to :class:`~ocppkit.devicemodel.VariableSpec`."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from msgspec import UNSET

from . import _mirror_wire as _w
from ._mirror_wire import VariableRef
from .spec import ATTRIBUTE_TYPES, VariableSpec

__all__ = ["Attr", "Chars", "Entry", "Pending", "copy_entry", "entry_of", "spec_of", "text"]

_MISSING_SHOWN = 100  # ReportProgress.missing lists at most these


@dataclass
class Attr:
    value: str | None
    mutability: str | None  # None: not reported (known from GetVariables/SetVariables only)
    persistent: bool = False
    constant: bool = False


@dataclass(frozen=True)
class Chars:
    data_type: str
    unit: str | None
    min_limit: float | None
    max_limit: float | None
    values_list: tuple[str, ...] | None
    supports_monitoring: bool
    max_elements: int | None


@dataclass
class Entry:
    attributes: dict[str, Attr] = field(default_factory=dict)
    chars: Chars | None = None


@dataclass
class Pending:
    parts: dict[int, Any] = field(default_factory=dict)
    last: int | None = None
    top: int = -1  # the highest seqNo held
    count: int = 0  # the variables of the parts held

    def add(self, seq: int, part: Any) -> None:
        self.parts[seq] = part
        self.top = max(self.top, seq)
        self.count += 0 if part.report_data is UNSET else len(part.report_data)

    def whole(self) -> bool:
        return self.last is not None and len(self.parts) == self.last + 1

    def missing(self) -> tuple[int, ...]:
        top = self.last if self.last is not None else self.top
        if len(self.parts) == top + 1:
            return ()
        gaps = (n for n in range(top + 1) if n not in self.parts)
        return tuple(itertools.islice(gaps, _MISSING_SHOWN))


def text(value: Any) -> str:
    return str(getattr(value, "value", value))


def chars_of(vc: Any) -> Chars:
    values = None if vc.values_list is UNSET else tuple(v.strip() for v in vc.values_list.split(","))
    max_elements = getattr(vc, "max_elements", UNSET)  # 2.1 only
    return Chars(
        data_type=text(vc.data_type),
        unit=None if vc.unit is UNSET else vc.unit,
        min_limit=None if vc.min_limit is UNSET else float(vc.min_limit),
        max_limit=None if vc.max_limit is UNSET else float(vc.max_limit),
        values_list=values,
        supports_monitoring=bool(vc.supports_monitoring),
        max_elements=None if max_elements is UNSET else max_elements,
    )


def entry_of(rd: Any) -> Entry:
    entry = Entry(chars=None if rd.variable_characteristics is UNSET else chars_of(rd.variable_characteristics))
    for va in rd.variable_attribute:
        mutability = "ReadWrite" if va.mutability is UNSET else text(va.mutability)
        entry.attributes[_w.attribute_of(va.type)] = Attr(
            # A WriteOnly value (a password) is never kept, even when a station reports one.
            value=None if va.value is UNSET or mutability == "WriteOnly" else va.value,
            mutability=mutability,
            persistent=va.persistent is True,
            constant=va.constant is True,
        )
    return entry


def copy_entry(entry: Entry) -> Entry:
    return Entry(
        {a: Attr(v.value, v.mutability, v.persistent, v.constant) for a, v in entry.attributes.items()}, entry.chars
    )


def spec_of(ref: VariableRef, entry: Entry) -> VariableSpec:
    attrs = entry.attributes
    first = attrs.get("Actual") or next(iter(attrs.values()), None)
    chars = entry.chars
    return VariableSpec(
        name=ref.variable,
        instance=ref.instance,
        data_type=chars.data_type if chars else "string",
        unit=chars.unit if chars else None,
        min_limit=chars.min_limit if chars else None,
        max_limit=chars.max_limit if chars else None,
        values_list=chars.values_list if chars else None,
        mutability=(first.mutability if first is not None and first.mutability else "ReadWrite"),
        attributes=tuple(a for a in ATTRIBUTE_TYPES if a in attrs),
        persistent=first.persistent if first is not None else False,
        constant=first.constant if first is not None else False,
        reboot_required=False,
        supports_monitoring=chars.supports_monitoring if chars else False,
    )
