"""The station's device model: variables, their values and the OCPP requests that read and set
them (GetVariables, SetVariables, GetBaseReport, GetReport; 1.6 GetConfiguration and
ChangeConfiguration). Sans-IO: the store does the I/O, the caller gives the time.

.. code-block:: python

    model = DeviceModel("2.0.1", MemoryStore(), definitions)
    response = model.get_variables(request)              # a v201.GetVariablesResponse
    response, parts = model.base_report(req, generated_at=now)   # parts: NotifyReportRequests
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, overload

import msgspec

from .. import encode_payload
from ..edition import VERSIONS, edition
from ..errors import CallErrorReply, ErrorCode
from . import _ocpp16, _reports, _rules
from ._ocpp16 import ConfigKey, MapsTo
from ._store import SOURCES, MemoryStore, Store, VariableKey, describe, sync_state
from ._validate import validate_value
from .spec import Component, Definition, VariableSpec
from .standard import catalog

if TYPE_CHECKING:
    from .. import v16, v21, v201

__all__ = ["ChangeCallback", "DeviceModel"]

#: ``callback(component, variable, attribute, old, new)``, after an Accepted/RebootRequired set.
ChangeCallback = Callable[[Component, VariableSpec, str, str, str], None]


class DeviceModel:
    """A station's device model on a store, answering the CSMS's device-model requests.

    Opening syncs the store with ``definitions`` (when given; see ``sync_state``: new variables
    added, specs updated, values set by the CSMS or the application kept, variables no longer
    defined removed), then serves from memory and writes every change through to the store.

    Parameters:
        version: the OCPP version served: ``"2.0.1"``/``"2.1"`` (the B-block messages) or
            ``"1.6"`` (GetConfiguration/ChangeConfiguration).
        store: a :class:`MemoryStore` (default), :class:`SqliteStore` or any :class:`Store`.
        definitions: the station's variables and initial values (a configuration file's
            :class:`Definition` list); None opens the store as it is.
        keys: the 1.6 key table: :class:`ConfigKey` records or ``{key: (spec, maps_to)}``
            (default for 1.6: the standard keys of ``ocppkit.devicemodel.standard.catalog("1.6")``).
        supported_criteria: the GetReport componentCriteria answered (others: NotSupported).
        validate: ``validate(spec, value) -> reason | None``, the value check of sets.

    Attributes:
        version: the OCPP version served.
        store: the store (the parameters are kept as attributes of the same names).
    """

    def __init__(
        self,
        version: str,
        store: Store | None = None,
        definitions: Iterable[Definition] | None = None,
        *,
        keys: Iterable[ConfigKey] | Mapping[str, tuple[VariableSpec | None, MapsTo | None]] | None = None,
        supported_criteria: Iterable[str] = _reports.CRITERIA,
        validate: Callable[[VariableSpec, str], str | None] = validate_value,
    ) -> None:
        if version not in VERSIONS:
            raise ValueError(f"version: expected one of {', '.join(VERSIONS)}, got {version!r}")
        self.version = version
        self.store: Store = store if store is not None else MemoryStore()
        self.validate = validate
        self.supported_criteria = tuple(supported_criteria)
        for c in self.supported_criteria:
            if c not in _reports.CRITERIA:
                raise ValueError(f"supported_criteria: {c!r} is not one of {', '.join(_reports.CRITERIA)}")
        if keys is None and version == "1.6":  # the standard keys of the catalogue
            keys = {k.name: (k.spec, k.maps_to) for k in catalog("1.6").keys()}
        self.keys = _ocpp16.key_table(keys)
        self._m: Any = importlib.import_module(edition(version).package)
        state = self.store.load()
        if definitions is not None:
            synced = sync_state(state, definitions)
            if synced != state:
                self.store.replace(synced)
            state = self.store.load()
        self._specs = state.specs
        self._values = state.values
        self._components = {key[0] for key in self._specs}
        self._callbacks: list[ChangeCallback] = []

    @property
    def types(self) -> Any:
        """The generated module of the version served (``ocppkit.v201``, ``ocppkit.v21``,
        ``ocppkit.v16``)."""
        return self._m

    # ------------------------------------------------------------------ reading and setting
    def variables(self) -> list[tuple[Component, VariableSpec]]:
        """Every variable, with its component, in the store's order."""
        return [(key[0], spec) for key, spec in self._specs.items()]

    def components(self) -> list[Component]:
        """Every component, each once."""
        return list(dict.fromkeys(key[0] for key in self._specs))

    def _key(self, component: Component | str, variable: str, instance: str | None) -> VariableKey:
        comp = Component(component) if isinstance(component, str) else component
        key: VariableKey = (comp, variable, instance)
        if key not in self._specs:
            raise KeyError(f"no variable {describe(key)} in this device model")
        return key

    def has(self, component: Component | str, variable: str, *, instance: str | None = None) -> bool:
        """Whether the model has this variable."""
        comp = Component(component) if isinstance(component, str) else component
        return (comp, variable, instance) in self._specs

    def spec(self, component: Component | str, variable: str, *, instance: str | None = None) -> VariableSpec:
        """The spec of a variable; KeyError naming it when the model has none."""
        return self._specs[self._key(component, variable, instance)]

    def get(
        self, component: Component | str, variable: str, attribute: str = "Actual", *, instance: str | None = None
    ) -> str:
        """The value of an attribute (``""`` when supported but unset; WriteOnly values too: this
        is the station's own access). KeyError for an unknown variable or unsupported attribute."""
        key = self._key(component, variable, instance)
        if attribute not in self._specs[key].attributes:
            raise KeyError(f"{describe(key)} has no {attribute} attribute")
        return self._values.get((key, attribute), ("", ""))[0]

    def source(
        self, component: Component | str, variable: str, attribute: str = "Actual", *, instance: str | None = None
    ) -> str:
        """Where the value came from: ``"config"``, ``"csms"`` or ``"station"``."""
        key = self._key(component, variable, instance)
        return self._values.get((key, attribute), ("", "config"))[1]

    def set(
        self,
        component: Component | str,
        variable: str,
        value: str,
        attribute: str = "Actual",
        *,
        instance: str | None = None,
        source: str = "station",
    ) -> None:
        """Set an attribute from the station itself (any mutability: the station updates its
        ReadOnly values), checked by ``validate``: ValueError naming the variable and the rule.
        Change callbacks do not run (they are for the CSMS's changes)."""
        key = self._key(component, variable, instance)
        spec = self._specs[key]
        if attribute not in spec.attributes:
            raise KeyError(f"{describe(key)} has no {attribute} attribute")
        if source not in SOURCES:
            raise ValueError(f"source: expected one of {', '.join(SOURCES)}, got {source!r}")
        problem = self.validate(spec, value) if value != "" else None
        if problem is not None:
            raise ValueError(f"{describe(key)} {attribute}: {value[:50]!r}: {problem}")
        self._write(key, attribute, value, source)

    def _write(self, key: VariableKey, attribute: str, value: str, source: str) -> None:
        self.store.write(key, attribute, value, source)
        self._values[(key, attribute)] = (value, source)

    def on_change(self, callback: ChangeCallback) -> ChangeCallback:
        """Register ``callback(component, variable_spec, attribute, old, new)``; it runs after
        each Accepted or RebootRequired SetVariables entry (and 1.6 ChangeConfiguration), once the
        response is built. An exception in it is logged, the answer stays. Returns ``callback``
        (usable as a decorator)."""
        self._callbacks.append(callback)
        return callback

    def _notify(self, changes: list[tuple[VariableKey, str, str, str]]) -> None:
        for key, attribute, old, new in changes:
            for callback in self._callbacks:
                try:
                    callback(key[0], self._specs[key], attribute, old, new)
                except Exception:  # the CSMS has its answer; the application's failure is logged
                    import logging  # here only: logging imports threading, the core does not

                    logging.getLogger("ocppkit").exception(
                        "device model: the change callback of %s failed", describe(key)
                    )

    def limit(self, variable: str, instance: str | None = None, component: str = "DeviceDataCtrlr") -> int | None:
        """An integer limit of the model (``limit("ItemsPerMessage", "GetVariables")``), or None
        when the model has no such variable or it is unset."""
        key: VariableKey = (Component(component), variable, instance)
        if key not in self._specs:
            return None
        text = self._values.get((key, "Actual"), ("", ""))[0]
        try:
            return int(text)
        except ValueError:
            return None

    def _reporting_size(self) -> int:
        """The longest value reported: ``DeviceDataCtrlr.ReportingValueSize``, at most 2500 (the
        schema's bound of attributeValue)."""
        most = self.limit("ReportingValueSize")
        return 2500 if most is None or most < 0 else min(most, 2500)

    def _check_size(self, request: Any, items: int, which: str, field: str) -> None:
        most = self.limit("ItemsPerMessage", which)
        if most is not None and items > most:
            raise CallErrorReply(
                ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
                f"{field}: {items} entries, more than ItemsPerMessage[{which}] {most}",
                {"path": f"$.{field}", "rule": f"ItemsPerMessage[{which}]", "limit": most},
            )
        most = self.limit("BytesPerMessage", which)
        if most is not None:
            size = len(self._encode(request))
            if size > most:
                raise CallErrorReply(
                    ErrorCode.FORMAT_VIOLATION,
                    f"the request is {size} bytes, more than BytesPerMessage[{which}] {most}",
                    {"path": "$", "rule": f"BytesPerMessage[{which}]", "limit": most},
                )

    @staticmethod
    def _encode(payload: Any) -> bytes:
        return encode_payload(payload, validate=False)

    def _need(self, versions: tuple[str, ...], what: str) -> None:
        if self.version not in versions:
            raise TypeError(f"{what} is an OCPP {'/'.join(versions)} request; this model serves {self.version}")

    def _result_parts(self, entry: Any, status: str, reason: str | None) -> dict[str, Any]:
        m = self._m
        info = msgspec.UNSET
        if reason is not None:
            code = reason if reason in ("ReadOnly", "WriteOnly") else "InvalidValue"
            info = m.StatusInfoType(
                reason_code=code, additional_info=reason[:512] if code == "InvalidValue" else msgspec.UNSET
            )
        return {
            "component": entry.component,
            "variable": entry.variable,
            "attribute_type": entry.attribute_type,
            "attribute_status_info": info,
        }

    # ------------------------------------------------------------------ 2.x requests
    @overload
    def get_variables(self, request: v201.GetVariablesRequest) -> v201.GetVariablesResponse: ...
    @overload
    def get_variables(self, request: v21.GetVariablesRequest) -> v21.GetVariablesResponse: ...
    def get_variables(self, request: Any) -> Any:
        """Answer a GetVariables: one result per entry, in order, with the status of §3.3
        (UnknownComponent, UnknownVariable, NotSupportedAttributeType, Rejected for WriteOnly,
        Accepted with the value, ``""`` when unset; cut to ReportingValueSize). More entries
        than ItemsPerMessage[GetVariables] raises ``CallErrorReply``
        OccurrenceConstraintViolation; more bytes than
        BytesPerMessage[GetVariables] (the payload re-encoded compactly), FormatViolation."""
        self._need(("2.0.1", "2.1"), "GetVariables")
        m = self._m
        entries = request.get_variable_data
        self._check_size(request, len(entries), "GetVariables", "getVariableData")
        results = []
        size = self._reporting_size()
        for entry in entries:
            status, key, attribute, reason = _rules.get_status(self._components, self._specs, entry)
            value: Any = msgspec.UNSET
            if status == "Accepted" and key is not None:
                value = self._values.get((key, attribute), ("", ""))[0][:size]
            results.append(
                m.GetVariableResultType(
                    attribute_status=m.GetVariableStatusEnumType(status),
                    attribute_value=value,
                    **self._result_parts(entry, status, reason),
                )
            )
        return m.GetVariablesResponse(get_variable_result=results)

    @overload
    def set_variables(self, request: v201.SetVariablesRequest) -> v201.SetVariablesResponse: ...
    @overload
    def set_variables(self, request: v21.SetVariablesRequest) -> v21.SetVariablesResponse: ...
    def set_variables(self, request: Any) -> Any:
        """Answer a SetVariables: one result per entry, in order, with the status of §3.3
        (UnknownComponent, UnknownVariable, NotSupportedAttributeType, Rejected for ReadOnly,
        Rejected for a bad value with the reason in ``attributeStatusInfo``, RebootRequired,
        Accepted). Accepted and RebootRequired values are stored (source ``csms``), then the
        change callbacks run. Limits as for :meth:`get_variables` ([SetVariables])."""
        self._need(("2.0.1", "2.1"), "SetVariables")
        m = self._m
        entries = request.set_variable_data
        self._check_size(request, len(entries), "SetVariables", "setVariableData")
        size = self.limit("ConfigurationValueSize")
        results = []
        changes: list[tuple[VariableKey, str, str, str]] = []
        for entry in entries:
            status, key, attribute, reason = _rules.set_status(
                self._components, self._specs, entry, self.validate, size
            )
            if status in ("Accepted", "RebootRequired") and key is not None:
                old = self._values.get((key, attribute), ("", ""))[0]
                self._write(key, attribute, entry.attribute_value, "csms")
                changes.append((key, attribute, old, entry.attribute_value))
            results.append(
                m.SetVariableResultType(
                    attribute_status=m.SetVariableStatusEnumType(status), **self._result_parts(entry, status, reason)
                )
            )
        response = m.SetVariablesResponse(set_variable_result=results)
        self._notify(changes)
        return response

    @overload
    def base_report(
        self, request: v201.GetBaseReportRequest, *, generated_at: dt.datetime
    ) -> tuple[v201.GetBaseReportResponse, list[v201.NotifyReportRequest]]: ...
    @overload
    def base_report(
        self, request: v21.GetBaseReportRequest, *, generated_at: dt.datetime
    ) -> tuple[v21.GetBaseReportResponse, list[v21.NotifyReportRequest]]: ...
    def base_report(self, request: Any, *, generated_at: dt.datetime) -> tuple[Any, list[Any]]:
        """Answer a GetBaseReport: the response (Accepted, or EmptyResultSet with no parts) and
        the NotifyReport requests to send after it, paged within ItemsPerMessage and
        BytesPerMessage [GetReport], stamped ``generated_at``."""
        self._need(("2.0.1", "2.1"), "GetBaseReport")
        base = str(getattr(request.report_base, "value", request.report_base))
        keys = _reports.select_base(self._specs, self._values, base)
        return self._report(request.request_id, keys, generated_at)

    @overload
    def report(
        self, request: v201.GetReportRequest, *, generated_at: dt.datetime
    ) -> tuple[v201.GetReportResponse, list[v201.NotifyReportRequest]]: ...
    @overload
    def report(
        self, request: v21.GetReportRequest, *, generated_at: dt.datetime
    ) -> tuple[v21.GetReportResponse, list[v21.NotifyReportRequest]]: ...
    def report(self, request: Any, *, generated_at: dt.datetime) -> tuple[Any, list[Any]]:
        """Answer a GetReport: componentVariable filters and componentCriteria (OR-combined;
        with both, the named variables of components meeting a criterion). NotSupported for a
        criterion outside ``supported_criteria``; EmptyResultSet when nothing matches; more
        componentVariable entries than ItemsPerMessage[GetReport] raises ``CallErrorReply``
        OccurrenceConstraintViolation."""
        self._need(("2.0.1", "2.1"), "GetReport")
        m = self._m
        wanted = [] if request.component_variable is msgspec.UNSET else request.component_variable
        criteria = (
            []
            if request.component_criteria is msgspec.UNSET
            else [str(getattr(c, "value", c)) for c in request.component_criteria]
        )
        most = self.limit("ItemsPerMessage", "GetReport")
        if most is not None and len(wanted) > most:
            raise CallErrorReply(
                ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
                f"componentVariable: {len(wanted)} entries, more than ItemsPerMessage[GetReport] {most}",
                {"path": "$.componentVariable", "rule": "ItemsPerMessage[GetReport]", "limit": most},
            )
        unsupported = [c for c in criteria if c not in self.supported_criteria]
        if unsupported:
            info = m.StatusInfoType(
                reason_code="UnsupportedParam", additional_info=f"criterion {unsupported[0]} is not supported"
            )
            return m.GetReportResponse(status=m.GenericDeviceModelStatusEnumType("NotSupported"), status_info=info), []
        keys = _reports.select_report(self._specs, self._values, wanted, criteria)
        response, parts = self._report(request.request_id, keys, generated_at)
        return m.GetReportResponse(status=response.status), parts

    def _report(self, request_id: int, keys: list[VariableKey], generated_at: dt.datetime) -> tuple[Any, list[Any]]:
        m = self._m
        if not isinstance(generated_at, dt.datetime) or generated_at.utcoffset() is None:
            raise ValueError(f"generated_at: expected a timezone-aware datetime, got {generated_at!r}")
        if not keys:
            return m.GetBaseReportResponse(status=m.GenericDeviceModelStatusEnumType("EmptyResultSet")), []
        data = _reports.report_data(m, self._specs, self._values, keys, self._reporting_size())
        parts = _reports.notify_parts(
            m,
            request_id,
            generated_at,
            data,
            self.limit("ItemsPerMessage", "GetReport"),
            self.limit("BytesPerMessage", "GetReport"),
            self._encode,
        )
        return m.GetBaseReportResponse(status=m.GenericDeviceModelStatusEnumType("Accepted")), parts

    # ------------------------------------------------------------------ 1.6
    def _find16(self, component: str, variable: str, instance: str | None) -> VariableKey | None:
        key: VariableKey = (Component(component), variable, instance)
        return key if key in self._specs else None

    def key_variable(self, key: str) -> tuple[Component, VariableSpec] | None:
        """1.6: the model variable that ``key`` is (see ``ConfigKey``), or None."""
        found = _ocpp16.resolve(key, self.keys, self._find16)
        return None if found is None else (found[0], self._specs[found])

    def _key_spec(self, key: str, found: VariableKey) -> VariableSpec:
        entry = self.keys.get(key)
        return entry.spec if entry is not None and entry.spec is not None else self._specs[found]

    def get_configuration(self, request: v16.GetConfigurationRequest) -> v16.GetConfigurationResponse:
        """1.6 GetConfiguration: the known keys asked for (no list: all keys) with their readonly
        flag and value; unknown ones in ``unknownKey``. A WriteOnly key (AuthorizationKey) is
        never reported: asked for, it is listed as unknown. More keys than the model's
        ``GetConfigurationMaxKeys`` raises ``CallErrorReply`` OccurrenceConstraintViolation."""
        self._need(("1.6",), "GetConfiguration")
        m = self._m
        asked = None if request.key is msgspec.UNSET else list(request.key)
        most = self._max_keys()
        if asked is not None and most is not None and len(asked) > most:
            raise CallErrorReply(
                ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
                f"key: {len(asked)} keys, more than GetConfigurationMaxKeys {most}",
                {"path": "$.key", "rule": "GetConfigurationMaxKeys", "limit": most},
            )
        names = asked
        if names is None:
            own = [k[1] for k in self._specs if k[0] == _ocpp16.KEYS_COMPONENT and k[2] is None]
            names = _ocpp16.all_keys(self.keys, own)
        known, unknown = [], []
        for name in names:
            found = _ocpp16.resolve(name, self.keys, self._find16)
            spec = None if found is None else self._key_spec(name, found)
            if found is None or spec is None or spec.mutability == "WriteOnly":
                if asked is not None:
                    unknown.append(name)
                continue
            value = self._values.get((found, "Actual"), ("", ""))[0]
            known.append(m.KeyValue(key=name, readonly=spec.mutability == "ReadOnly", value=value))
        response: v16.GetConfigurationResponse = m.GetConfigurationResponse(
            configuration_key=known if known or not unknown else msgspec.UNSET,
            unknown_key=unknown if unknown else msgspec.UNSET,
        )
        return response

    def _change_status(self, key: str, value: str, found: VariableKey | None) -> str:
        if found is None:
            return "NotSupported"
        spec = self._key_spec(key, found)
        if spec.mutability == "ReadOnly" or self.validate(spec, value) is not None:
            return "Rejected"
        if spec is not self._specs[found] and self.validate(self._specs[found], value) is not None:
            return "Rejected"
        return "RebootRequired" if spec.reboot_required else "Accepted"

    def _max_keys(self) -> int | None:
        found = _ocpp16.resolve("GetConfigurationMaxKeys", self.keys, self._find16)
        if found is None:
            return None
        try:
            return int(self._values.get((found, "Actual"), ("", ""))[0])
        except ValueError:
            return None

    def change_configuration(self, request: v16.ChangeConfigurationRequest) -> v16.ChangeConfigurationResponse:
        """1.6 ChangeConfiguration: NotSupported (unknown key), Rejected (readonly, or a value its
        spec refuses), RebootRequired (the spec says so; the value is stored), Accepted. The
        change callbacks run after RebootRequired/Accepted."""
        self._need(("1.6",), "ChangeConfiguration")
        m = self._m
        found = _ocpp16.resolve(request.key, self.keys, self._find16)
        status = self._change_status(request.key, request.value, found)
        response: v16.ChangeConfigurationResponse = m.ChangeConfigurationResponse(status=m.ConfigurationStatus(status))
        if found is not None and status in ("Accepted", "RebootRequired"):
            old = self._values.get((found, "Actual"), ("", ""))[0]
            self._write(found, "Actual", request.value, "csms")
            self._notify([(found, "Actual", old, request.value)])
        return response
