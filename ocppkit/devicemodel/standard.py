"""The standardized components and variables of OCPP 2.0.1 and 2.1, and the standard
configuration keys of OCPP 1.6, as a catalogue::

    from ocppkit.devicemodel import standard

    cat = standard.catalog("2.0.1")
    var = cat.find(*standard.OCPPCommCtrlr.HeartbeatInterval)
    var.spec.unit                                 # 's'
    [v.spec.name for v in cat.required("TxCtrlr")]
    standard.catalog("1.6").key("HeartbeatInterval").maps_to
    # ('OCPPCommCtrlr', 'HeartbeatInterval', None)

The data is generated (``ocppkit/devicemodel/_standard.py``) by ``python -m codegen`` from one
file per version, ``codegen/devicemodel/v16.toml``, ``v201.toml`` and ``v21.toml``. The typed
names (one class per standardized component, ``OCPP16Keys`` for the 1.6 keys) let a type
checker catch a misspelt variable. Sans-IO, standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ._standard import COMPONENTS as _COMPONENTS
from ._standard import (
    EVSE,
    AlignedDataCtrlr,
    AuthCacheCtrlr,
    AuthCtrlr,
    ChargingStation,
    ClockCtrlr,
    Connector,
    CustomizationCtrlr,
    DeviceDataCtrlr,
    DisplayMessageCtrlr,
    ISO15118Ctrlr,
    LocalAuthListCtrlr,
    MonitoringCtrlr,
    NetworkConfiguration,
    OCPP16Keys,
    OCPPCommCtrlr,
    ReservationCtrlr,
    SampledDataCtrlr,
    SecurityCtrlr,
    SmartChargingCtrlr,
    TariffCostCtrlr,
    TxCtrlr,
    V2XChargingCtrlr,
    VariableKey,
)
from ._standard import KEYS_16 as _KEYS_16
from ._standard import LISTS as _LISTS
from .spec import VariableSpec

__all__ = [
    "KEYS_COMPONENT",
    "VERSIONS",
    "AlignedDataCtrlr",
    "AuthCacheCtrlr",
    "AuthCtrlr",
    "Catalog",
    "ChargingStation",
    "ClockCtrlr",
    "ConfigKey",
    "Connector",
    "CustomizationCtrlr",
    "DeviceDataCtrlr",
    "DisplayMessageCtrlr",
    "EVSE",
    "ISO15118Ctrlr",
    "LocalAuthListCtrlr",
    "MonitoringCtrlr",
    "NetworkConfiguration",
    "OCPP16Keys",
    "OCPPCommCtrlr",
    "ReservationCtrlr",
    "SampledDataCtrlr",
    "Scope",
    "SecurityCtrlr",
    "SmartChargingCtrlr",
    "StandardVariable",
    "TariffCostCtrlr",
    "TxCtrlr",
    "V2XChargingCtrlr",
    "VariableKey",
    "catalog",
]

#: The versions that have a catalogue.
VERSIONS: tuple[str, ...] = ("1.6", "2.0.1", "2.1")
#: The component a 1.6 key without a 2.0.1 counterpart lives in (see :attr:`ConfigKey.location`).
KEYS_COMPONENT = "OCPP16"
#: Where a component sits: the station as a whole, an EVSE, or a connector of an EVSE.
Scope = Literal["station", "evse", "connector"]


@dataclass(frozen=True)
class StandardVariable:
    """A standardized variable of a component, as the specification defines it.

    Attributes:
        component: the component name (``"OCPPCommCtrlr"``).
        spec: its key and characteristics (name, instance, dataType, unit, limits, values
            list, mutability, attribute types, reboot_required, supports_monitoring).
        required: it must exist when its component (functional block) is implemented.
        block: the functional block the component serves (``"General"``, ``"SmartCharging"``).
        scope: where the component sits: ``"station"``, ``"evse"`` (one per EVSE) or
            ``"connector"`` (one per connector).
        limit_required: the station must state the variable's maxLimit (``EVSE.Power``, the
            ``Entries`` of the lists it keeps).
    """

    component: str
    spec: VariableSpec
    required: bool
    block: str | None
    scope: Scope
    limit_required: bool = False

    @property
    def key(self) -> VariableKey:
        """Its :class:`VariableKey` (component, variable, instance)."""
        return VariableKey(self.component, self.spec.name, self.spec.instance)


@dataclass(frozen=True)
class ConfigKey:
    """A standard OCPP 1.6 configuration key.

    Attributes:
        name: the key (``"HeartbeatInterval"``).
        spec: its characteristics: data_type ``"boolean"``, ``"integer"``, ``"string"`` or
            ``"MemberList"`` (a comma-separated list, CSL), mutability ``"ReadOnly"``,
            ``"ReadWrite"`` or ``"WriteOnly"`` (AuthorizationKey), unit, limits, the members a
            CSL may hold; ``spec.name`` is the key.
        required: the specification requires it when the station supports its profile.
        profile: its feature profile (``"Core"``, ``"SmartCharging"``, ``"Security"``, ...).
        maps_to: the 2.0.1 variable holding the same value (component, variable, instance), or
            None when 2.0.1 has none or writes the value differently.
        max_length_key: for a CSL, the key holding its longest length in items, or None.
    """

    name: str
    spec: VariableSpec
    required: bool
    profile: str
    maps_to: tuple[str, str, str | None] | None
    max_length_key: str | None = None

    @property
    def location(self) -> tuple[str, str, str | None]:
        """Where the key's value lives in a device model: ``maps_to``, or the variable named
        like the key in the component :data:`KEYS_COMPONENT`."""
        return self.maps_to if self.maps_to is not None else (KEYS_COMPONENT, self.name, None)


def _spec(
    name: str,
    instance: str | None,
    data_type: str,
    unit: str | None,
    low: float | None,
    high: float | None,
    values: int | None,
    mutability: str,
    attributes: tuple[str, ...],
    flags: str,
) -> VariableSpec:
    return VariableSpec(
        name=name,
        instance=instance,
        data_type=data_type,
        unit=unit,
        min_limit=low,
        max_limit=high,
        values_list=None if values is None else _LISTS[values],
        mutability=mutability,
        attributes=attributes,
        constant="c" in flags,
        reboot_required="b" in flags,
        supports_monitoring="m" in flags,
    )


class Catalog:
    """The standardized components and variables of one OCPP version (2.0.1, 2.1), or the
    standard configuration keys of 1.6. Get one with :func:`catalog`.

    Parameters:
        version: the OCPP version ("1.6", "2.0.1" or "2.1").

    Attributes:
        version: the OCPP version it describes.
    """

    def __init__(self, version: str) -> None:
        if version not in VERSIONS:
            raise ValueError(f"no standard catalogue for OCPP {version!r}: use one of {', '.join(VERSIONS)}")
        self.version = version
        self._components: dict[str, tuple[Any, ...]] = dict(_COMPONENTS.get(version, {}))
        self._variables: dict[str, list[StandardVariable]] = {}
        for name, (block, scope, _mandatory, _instanced, rows) in self._components.items():
            self._variables[name] = [
                StandardVariable(name, _spec(*row), "r" in row[9], block, scope, "l" in row[9]) for row in rows
            ]
        self._index = {(v.component, v.spec.name, v.spec.instance): v for vs in self._variables.values() for v in vs}
        self._keys: dict[str, ConfigKey] = {}
        if version == "1.6":
            for name, data_type, unit, low, high, values, mutability, flags, profile, maps_to, mlk in _KEYS_16:
                spec = _spec(name, None, data_type, unit, low, high, values, mutability, ("Actual",), flags)
                self._keys[name] = ConfigKey(name, spec, "r" in flags, profile, maps_to, mlk)

    def __repr__(self) -> str:
        return f"Catalog({self.version!r})"

    def components(self) -> list[str]:
        """The standardized component names, in the order of the data file (none for 1.6)."""
        return list(self._components)

    def variables(self, component: str) -> list[StandardVariable]:
        """The standardized variables of a component; ``[]`` for a component the standard
        does not define (a vendor's own)."""
        return list(self._variables.get(component, ()))

    def find(self, component: str, variable: str, instance: str | None = None) -> StandardVariable | None:
        """The standardized variable with this key, or None. ``find(*OCPPCommCtrlr.HeartbeatInterval)``."""
        return self._index.get((component, variable, instance))

    def required(self, component: str) -> list[StandardVariable]:
        """The variables a component must have when the station implements it."""
        return [v for v in self._variables.get(component, ()) if v.required]

    def blocks(self) -> dict[str, list[str]]:
        """Functional block -> the components serving it (``"General"``: every station)."""
        out: dict[str, list[str]] = {}
        for name, entry in self._components.items():
            out.setdefault(entry[0], []).append(name)
        return out

    def mandatory(self) -> list[str]:
        """The components every station has (the ChargingStation tier and the General and
        Security controllers); a configuration file must declare them."""
        return [name for name, entry in self._components.items() if entry[2]]

    def scope(self, component: str) -> Scope | None:
        """Where a standardized component sits, or None for a component the standard does not define."""
        entry = self._components.get(component)
        return None if entry is None else entry[1]

    def instanced(self, component: str) -> bool:
        """Whether the component exists once per instance (2.1 ``NetworkConfiguration``: one per slot)."""
        entry = self._components.get(component)
        return bool(entry and entry[3])

    def keys(self) -> list[ConfigKey]:
        """The standard 1.6 configuration keys, in the order of the specification (none for 2.x)."""
        return list(self._keys.values())

    def key(self, name: str) -> ConfigKey | None:
        """The standard 1.6 key with this name, or None (key names are case-sensitive)."""
        return self._keys.get(name)


_CATALOGS: dict[str, Catalog] = {}


def catalog(version: str) -> Catalog:
    """The catalogue of an OCPP version: "1.6", "2.0.1" or "2.1" (ValueError naming any other).
    Built once per version and shared: treat it as read-only."""
    found = _CATALOGS.get(version)
    if found is None:
        found = _CATALOGS[version] = Catalog(version)
    return found
