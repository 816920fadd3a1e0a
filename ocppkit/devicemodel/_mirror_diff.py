"""The difference between two device models (:class:`ReportDiff`), for
:meth:`ocppkit.devicemodel.mirror.DeviceModelMirror.diff`.

Both sides are read as :class:`~ocppkit.devicemodel.Definition` rows plus, per variable,
whether its characteristics are known (a mirror fed only by GetVariables knows values, not
characteristics).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from ._mirror_wire import VariableRef
from .spec import Definition, VariableSpec

__all__ = ["COMPARED_FIELDS", "ReportDiff", "SpecChange", "ValueChange", "Side", "diff_sides", "side_of"]

#: The VariableSpec fields a report carries, hence those a diff compares (``reboot_required`` is
#: never on the wire; ``name`` and ``instance`` are the key).
COMPARED_FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(VariableSpec) if f.name not in ("name", "instance", "reboot_required")
)


@dataclass(frozen=True)
class ValueChange:
    """One attribute whose value differs.

    Attributes:
        ref: the variable.
        attribute: the attribute type (``"Actual"``, ...).
        old: its value on the first side (None: that side has no such attribute).
        new: its value on the second side (None: that side has no such attribute).
    """

    ref: VariableRef
    attribute: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class SpecChange:
    """One variable whose characteristics differ.

    Attributes:
        ref: the variable.
        old: its spec on the first side.
        new: its spec on the second side.
        fields: the names of the VariableSpec fields that differ.
    """

    ref: VariableRef
    old: VariableSpec
    new: VariableSpec
    fields: tuple[str, ...]


@dataclass(frozen=True)
class ReportDiff:
    """What changed from one device model (a mirror, a report) to another. False when nothing did.

    Attributes:
        added: the variables only the second side has.
        removed: the variables only the first side has.
        values: the attribute values that differ (WriteOnly variables are never compared: a
            report carries no value for them).
        specs: the variables whose characteristics differ (compared when both sides know them).
    """

    added: tuple[VariableRef, ...] = ()
    removed: tuple[VariableRef, ...] = ()
    values: tuple[ValueChange, ...] = ()
    specs: tuple[SpecChange, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.values or self.specs)


@dataclass(frozen=True)
class Side:
    """One variable of one side: its spec when known, its values, and whether it is WriteOnly."""

    spec: VariableSpec | None
    values: Mapping[str, str | None]
    write_only: bool


def side_of(definitions: Iterable[Definition]) -> dict[VariableRef, Side]:
    """A side read from Definitions (a station's model): every supported attribute has a value,
    ``""`` when it has none."""
    out: dict[VariableRef, Side] = {}
    for d in definitions:
        if not isinstance(d, Definition):
            raise TypeError(f"other: expected a DeviceModelMirror or Definitions, got an item {type(d).__name__}")
        spec = d.variable
        ref = VariableRef(d.component, spec.name, spec.instance)
        values = {a: d.values.get(a, "") for a in spec.attributes}
        out[ref] = Side(spec, values, spec.mutability == "WriteOnly")
    return out


def _spec_fields(old: VariableSpec, new: VariableSpec) -> tuple[str, ...]:
    return tuple(name for name in COMPARED_FIELDS if getattr(old, name) != getattr(new, name))


def diff_sides(first: Mapping[VariableRef, Side], second: Mapping[VariableRef, Side]) -> ReportDiff:
    """The :class:`ReportDiff` from ``first`` to ``second``."""
    added = tuple(sorted(r for r in second if r not in first))
    removed = tuple(sorted(r for r in first if r not in second))
    values: list[ValueChange] = []
    specs: list[SpecChange] = []
    for ref in sorted(r for r in first if r in second):
        a, b = first[ref], second[ref]
        if a.spec is not None and b.spec is not None:
            changed = _spec_fields(a.spec, b.spec)
            if changed:
                specs.append(SpecChange(ref, a.spec, b.spec, changed))
        if a.write_only or b.write_only:
            continue
        for attribute in sorted(set(a.values) | set(b.values)):
            old, new = a.values.get(attribute), b.values.get(attribute)
            if old != new:
                values.append(ValueChange(ref, attribute, old, new))
    return ReportDiff(added, removed, tuple(values), tuple(specs))
