"""The station side of smart charging, sans-IO: :class:`StationProfiles` answers the CSMS's
SetChargingProfile, ClearChargingProfile, GetChargingProfiles and GetCompositeSchedule from a
:class:`~ocppkit.smartcharging.ProfileStore`, and says what each EVSE may draw now
(:meth:`StationProfiles.limits`). It reads no clock: every ``now`` is the caller's.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import importlib
from collections.abc import Sequence
from typing import Any, NamedTuple

import msgspec

from ..errors import CallErrorReply, ErrorCode
from ._api import composite, composite_schedule
from ._model import VERSIONS, ActiveTransaction, UnconstrainedError
from ._normalize import _PURPOSE_16
from ._store import MemoryProfileStore, ProfileStore, StoredProfile
from ._validate import Capabilities, Verdict, validate_profile

__all__ = ["EvseLimit", "Limit", "StationProfiles"]

_PACKAGES = {"1.6": "ocppkit.v16", "2.0.1": "ocppkit.v201", "2.1": "ocppkit.v21"}
_EXTERNAL = "ChargingStationExternalConstraints"


def _ends_by(valid_to: Any, now: _dt.datetime) -> bool:
    return isinstance(valid_to, _dt.datetime) and valid_to.tzinfo is not None and valid_to <= now


class Limit(NamedTuple):
    """What an EVSE may draw: the composite schedule's value at one instant.

    Attributes:
        value: the limit in ``unit``, or None where no profile limits (the EVSE's own maximum
            applies).
        unit: "A" (per phase) or "W" (all phases).
        number_phases: the phases to use, when a profile says (None: not said).
    """

    value: float | None
    unit: str
    number_phases: int | None = None


class EvseLimit(NamedTuple):
    """An EVSE's limit now, and when it changes next.

    Attributes:
        limit: the :class:`Limit` now.
        next_change: when the composite schedule changes next (None: not within the horizon).
    """

    limit: Limit
    next_change: _dt.datetime | None


class StationProfiles:
    """A station's charging profiles and its answers to the CSMS's smart-charging calls, for
    one OCPP version; sans-IO (no clock, no socket: the caller passes ``now``).

    Each handler takes the version's typed request and returns its typed response:
    :meth:`set_charging_profile`, :meth:`clear_charging_profile`, :meth:`get_charging_profiles`
    (2.x; it also gives the ReportChargingProfiles requests to send after the answer) and
    :meth:`get_composite_schedule`. The application tells it about transactions
    (:meth:`transaction_started`, :meth:`transaction_ended`: a transaction's TxProfiles go with
    it) and reads :meth:`limits`. With ``enabled=False`` every handler raises
    :class:`ocppkit.CallErrorReply` ``NotSupported`` (K01.FR.29).

    Parameters:
        version: "1.6", "2.0.1" or "2.1".
        store: where the profiles are kept (:class:`MemoryProfileStore` by default, or a
            :class:`SqliteProfileStore`); what it holds is loaded now.
        evses: the EVSE ids (1.6: connector ids), 0 excluded.
        capabilities: what the station supports (:class:`Capabilities`); its ``evse_ids``
            default to ``evses``.
        supply_voltage: the nominal voltage for A <-> W.
        phases: the supply's phases (numberPhases where no profile sets it).
        max_current: the EVSE's maximum in A per phase: the value reported where no profile
            limits (None: 2.1 omits ``limit`` there; 1.6 and 2.0.1 then answer Rejected).
        report_size: at most this many profiles per ReportChargingProfiles message.
        max_profiles: at most this many installed profiles (1.6 ``MaxChargingProfilesInstalled``,
            2.x ``Entries[ChargingProfiles]``): one more is Rejected (``OutOfStorage``); None: no
            bound.
        enabled: False: the station has no smart charging (every handler: NotSupported).
    """

    def __init__(
        self,
        version: str,
        store: ProfileStore | None = None,
        *,
        evses: Sequence[int] = (1,),
        capabilities: Capabilities | None = None,
        supply_voltage: float = 230.0,
        phases: int = 3,
        max_current: float | None = None,
        report_size: int = 8,
        max_profiles: int | None = None,
        enabled: bool = True,
    ) -> None:
        if version not in VERSIONS:
            raise ValueError(f"version: must be one of {', '.join(VERSIONS)} (got {version!r})")
        if any(not isinstance(e, int) or e <= 0 for e in evses):
            raise ValueError(f"evses: EVSE ids must be integers > 0 (got {list(evses)!r})")
        if report_size < 1:
            raise ValueError(f"report_size: must be at least 1 (got {report_size!r})")
        if max_profiles is not None and max_profiles < 1:
            raise ValueError(f"max_profiles: must be at least 1 or None (got {max_profiles!r})")
        if max_current is not None and not max_current >= 0:
            raise ValueError(f"max_current: must be >= 0 A or None (got {max_current!r})")
        self.version = version
        self.store: ProfileStore = store if store is not None else MemoryProfileStore()
        self.evses = tuple(sorted(set(evses)))
        caps = capabilities or Capabilities()
        if caps.evse_ids is None:
            caps = dataclasses.replace(caps, evse_ids=self.evses)
        self.capabilities = caps
        self.supply_voltage = float(supply_voltage)
        self.phases = phases
        self.max_current = max_current
        self.report_size = report_size
        self.max_profiles = max_profiles
        self.enabled = enabled
        self._m: Any = importlib.import_module(_PACKAGES[version])
        self._rows: dict[int, StoredProfile] = {r.id: r for r in self.store.load(version)}
        self._txs: dict[int, ActiveTransaction] = {}
        # when a SetChargingProfile of each purpose (str) and id (int) was last accepted, for
        # Capabilities.update_rate_limit (K01.FR.56/57); only kept when ``now`` is given
        self._last_set: dict[int | str, _dt.datetime] = {}

    def __repr__(self) -> str:
        return f"<StationProfiles {self.version}: {len(self._rows)} profiles, {len(self._txs)} transactions>"

    # ------------------------------------------------------------------ state

    @property
    def profiles(self) -> list[StoredProfile]:
        """The installed profiles, in the order they were installed."""
        return list(self._rows.values())

    @property
    def transactions(self) -> list[ActiveTransaction]:
        """The running transactions the application reported."""
        return list(self._txs.values())

    def installed(self) -> list[tuple[int, Any]]:
        """The ``(evse id, typed profile)`` pairs, as the engine takes them."""
        return [(r.evse_id, r.profile) for r in self._rows.values()]

    def transaction_started(self, evse_id: int, transaction_id: str | int, started_at: _dt.datetime) -> None:
        """A transaction runs on ``evse_id`` (1.6: the id the CSMS gave in StartTransaction.conf)."""
        if evse_id not in self.evses:
            raise ValueError(f"evse_id: {evse_id} is not one of this station's EVSEs {list(self.evses)}")
        self._txs[evse_id] = ActiveTransaction(evse_id, transaction_id, started_at)

    def transaction_ended(self, evse_id: int) -> list[int]:
        """The transaction on ``evse_id`` ended: its TxProfiles are deleted (a TxProfile lives
        as long as its transaction). Returns their ids (empty when none, or when no transaction ran there)."""
        tx = self._txs.pop(evse_id, None)
        if tx is None:
            return []
        gone = [
            r.id
            for r in self._rows.values()
            if r.purpose == "TxProfile"
            and r.evse_id == evse_id
            and (r.transaction_id is None or r.transaction_id == str(tx.transaction_id))
        ]
        self._change(remove=gone)
        return gone

    def discard_expired(self, now: _dt.datetime) -> list[int]:
        """Delete the profiles whose ``validTo`` is at or before ``now`` (they can never apply
        again); returns their ids."""
        gone = [r.id for r in self._rows.values() if _ends_by(r.profile.valid_to, now)]
        self._change(remove=gone)
        return gone

    def install_external(self, evse_id: int, profile: Any, source: str = "EMS") -> None:
        """2.x: install a ChargingStationExternalConstraints profile from a local actor (an EMS,
        the system operator): no CSMS validation rule refuses it, and the CSMS can read it
        (GetChargingProfiles, with ``chargingLimitSource`` ``source``) but neither replace nor
        clear it."""
        if self.version == "1.6":
            raise ValueError("install_external: OCPP 1.6 has no ChargingStationExternalConstraints")
        sources = getattr(self._m, "ChargingLimitSourceEnumType", None) if self.version == "2.0.1" else None
        if sources is not None and source not in {x.value for x in sources}:
            raise ValueError(f"source: one of {', '.join(x.value for x in sources)} in 2.0.1 (got {source!r})")
        if not 0 < len(source) <= 20:
            raise ValueError(f"source: 1 to 20 characters (got {source!r})")
        record = StoredProfile(self.version, evse_id, profile, source)
        if record.purpose != _EXTERNAL:
            raise ValueError(f"profile: the purpose must be {_EXTERNAL} (got {record.purpose})")
        self._change(add=[record])

    def _change(self, *, add: Sequence[StoredProfile] = (), remove: Sequence[int] = ()) -> None:
        if not add and not remove:
            return
        self.store.change(self.version, add=add, remove=remove)  # first: a failed write changes nothing
        for i in remove:
            self._rows.pop(i, None)
        for r in add:
            self._rows.pop(r.id, None)
            self._rows[r.id] = r

    def _supported(self, action: str) -> None:
        if not self.enabled:
            raise CallErrorReply(
                ErrorCode.NOT_SUPPORTED, f"{action}: this station has no smart charging", {"action": action}
            )

    def _status_info(self, code: str, info: str) -> Any:
        cap = 512 if self.version == "2.0.1" else 1024
        return self._m.StatusInfoType(reason_code=code, additional_info=info[:cap])

    # ------------------------------------------------------------------ SetChargingProfile

    def set_charging_profile(self, request: Any, now: _dt.datetime | None = None) -> Any:
        """Answer a SetChargingProfile: validate (:func:`validate_profile`), then install.
        ``now`` (timezone-aware) is the time of the request: with ``Capabilities.update_rate_limit``
        a profile set again sooner is Rejected ``RateLimitExceeded`` with the retry delay (2.1
        K01.FR.56/57); without ``now`` no rate limit applies.

        Replacement: 1.6 replaces a profile with the same id, or the same stackLevel and
        purpose on the same connector; 2.x replaces the same id (overlapping duplicates are
        rejected by validation). A rejection carries, in 2.x, ``statusInfo`` with the reason
        code of at most 20 characters (:attr:`Verdict.wire_reason`) and the detailed reason and the
        rule in ``additionalInfo`` (:attr:`Verdict.additional_info`).
        """
        self._supported("SetChargingProfile")
        m = self._m
        v16 = self.version == "1.6"
        evse_id = int(request.connector_id if v16 else request.evse_id)
        profile = request.cs_charging_profiles if v16 else request.charging_profile
        try:
            verdict = validate_profile(
                self.version,
                evse_id,
                profile,
                installed=self.installed(),
                transaction=self.transactions,
                capabilities=self.capabilities,
                now=now,
                last_set=self._last_set if now is not None else None,
            )
        except ValueError as exc:  # a value the engine cannot read (the message names the field)
            verdict = Verdict("Rejected", "InvalidValue", str(exc))
        record = StoredProfile(self.version, evse_id, profile)
        replaced = [r.id for r in self._rows.values() if self._replaces(record, r)]
        if verdict.accepted and self.max_profiles is not None and len(self._rows) - len(replaced) >= self.max_profiles:
            verdict = Verdict(
                "Rejected", "OutOfStorage", f"{self.max_profiles} profiles installed already (max_profiles)"
            )
        if not verdict.accepted:
            if v16:
                return m.SetChargingProfileResponse(status=m.ChargingProfileStatus.REJECTED)
            info = self._status_info(verdict.wire_reason or "InvalidProfile", verdict.additional_info or "")
            return m.SetChargingProfileResponse(status=m.ChargingProfileStatusEnumType.REJECTED, status_info=info)
        self._change(add=[record], remove=replaced)
        if now is not None and self.capabilities.update_rate_limit is not None:
            purpose = _PURPOSE_16.get(record.purpose, record.purpose)  # as validate_profile reads it
            self._last_set[record.id] = self._last_set[purpose] = now
        if v16:
            return m.SetChargingProfileResponse(status=m.ChargingProfileStatus.ACCEPTED)
        return m.SetChargingProfileResponse(status=m.ChargingProfileStatusEnumType.ACCEPTED)

    def _replaces(self, new: StoredProfile, old: StoredProfile) -> bool:
        if new.id == old.id:
            return True
        return (
            self.version == "1.6"
            and new.evse_id == old.evse_id
            and new.stack_level == old.stack_level
            and new.purpose == old.purpose
        )

    # ------------------------------------------------------------------ ClearChargingProfile

    def clear_charging_profile(self, request: Any) -> Any:
        """Answer a ClearChargingProfile: remove the profile with the id given, or else every
        profile matching all the criteria given (EVSE/connector, purpose, stack level; none:
        all). ChargingStationExternalConstraints are never cleared by the CSMS. Unknown when
        nothing matched."""
        self._supported("ClearChargingProfile")
        m = self._m
        if self.version == "1.6":
            pid, evse, purpose, level = (
                request.id,
                request.connector_id,
                request.charging_profile_purpose,
                request.stack_level,
            )
        else:
            pid = request.charging_profile_id
            crit = request.charging_profile_criteria
            if isinstance(crit, m.ClearChargingProfileType):
                evse, purpose, level = crit.evse_id, crit.charging_profile_purpose, crit.stack_level
            else:
                evse = purpose = level = None

        def given(x: Any) -> bool:
            return isinstance(x, (int, str))  # UNSET and None are not

        def match(r: StoredProfile) -> bool:
            if r.purpose == _EXTERNAL:
                return False
            if given(pid):
                return bool(r.id == pid)
            return (
                (not given(evse) or r.evse_id == evse)
                and (not given(purpose) or r.purpose == str(getattr(purpose, "value", purpose)))
                and (not given(level) or r.stack_level == level)
            )

        gone = [r.id for r in self._rows.values() if match(r)]
        self._change(remove=gone)
        status = m.ClearChargingProfileStatus if self.version == "1.6" else m.ClearChargingProfileStatusEnumType
        return m.ClearChargingProfileResponse(status=status.ACCEPTED if gone else status.UNKNOWN)

    # ------------------------------------------------------------------ GetChargingProfiles (2.x)

    def get_charging_profiles(self, request: Any) -> tuple[Any, list[Any]]:
        """2.x: answer a GetChargingProfiles: ``(response, reports)``. The response is Accepted
        when some profile matches every criterion given (evseId: 0 is the station's own; absent:
        all EVSEs), else NoProfiles. ``reports`` are the ReportChargingProfiles requests to send
        after the answer, with the same requestId: one group per (EVSE, charging limit source),
        at most ``report_size`` profiles each, ``tbc`` true on all but the last."""
        self._supported("GetChargingProfiles")
        if self.version == "1.6":
            raise ValueError("get_charging_profiles: OCPP 1.6 has no GetChargingProfiles")
        m = self._m
        crit = request.charging_profile
        evse = request.evse_id if isinstance(request.evse_id, int) else None
        purpose = crit.charging_profile_purpose
        level = crit.stack_level if isinstance(crit.stack_level, int) else None
        ids = set(crit.charging_profile_id) if isinstance(crit.charging_profile_id, list) else None
        sources = (
            {str(getattr(s, "value", s)) for s in crit.charging_limit_source}
            if isinstance(crit.charging_limit_source, list)
            else None
        )

        def match(r: StoredProfile) -> bool:
            return (
                (evse is None or r.evse_id == evse)
                and (not isinstance(purpose, str) or r.purpose == str(getattr(purpose, "value", purpose)))
                and (level is None or r.stack_level == level)
                and (ids is None or r.id in ids)
                and (sources is None or r.source in sources)
            )

        groups: dict[tuple[int, str], list[Any]] = {}
        for r in sorted((r for r in self._rows.values() if match(r)), key=lambda r: (r.evse_id, r.source, r.id)):
            groups.setdefault((r.evse_id, r.source), []).append(r.profile)
        status = m.GetChargingProfileStatusEnumType
        if not groups:
            return m.GetChargingProfilesResponse(status=status.NO_PROFILES), []
        source_type = getattr(m, "ChargingLimitSourceEnumType", str)  # 2.1 made it a string
        reports: list[Any] = []
        for (evse_id, source), profiles in groups.items():
            for i in range(0, len(profiles), self.report_size):
                reports.append(
                    m.ReportChargingProfilesRequest(
                        request_id=request.request_id,
                        charging_limit_source=source_type(source),
                        charging_profile=profiles[i : i + self.report_size],
                        tbc=True,
                        evse_id=evse_id,
                    )
                )
        reports[-1] = msgspec.structs.replace(reports[-1], tbc=False)  # the last one
        return m.GetChargingProfilesResponse(status=status.ACCEPTED), reports

    # ------------------------------------------------------------------ GetCompositeSchedule

    def get_composite_schedule(self, request: Any, now: _dt.datetime) -> Any:
        """Answer a GetCompositeSchedule for the window ``[now, now + duration)``: the composite
        of the installed profiles (:func:`composite_schedule`), in the unit asked (absent: the
        first of ``capabilities.rate_units``). Rejected for an unknown EVSE / connector or an
        unsupported unit (2.x with ``statusInfo``)."""
        self._supported("GetCompositeSchedule")
        m = self._m
        v16 = self.version == "1.6"
        evse_id = int(request.connector_id if v16 else request.evse_id)
        asked = request.charging_rate_unit
        unit = str(asked.value) if hasattr(asked, "value") else next(iter(self.capabilities.rate_units), "A")
        problem: tuple[str, str] | None = None
        if evse_id != 0 and evse_id not in self.evses:
            problem = ("UnknownEvse", f"evseId {evse_id}: no such EVSE")
        elif unit not in self.capabilities.rate_units:
            problem = ("UnsupportedRateUnit", f"chargingRateUnit {unit}: not supported")
        elif request.duration < 0:
            problem = ("InvalidValue", f"duration {request.duration}: must be >= 0")
        schedule: Any = None
        if problem is None:
            try:
                schedule = composite_schedule(
                    self.version, self.installed(), **self._window(evse_id, now, request.duration, unit)
                )
            except UnconstrainedError as exc:
                problem = ("Unspecified", f"no profile limits {exc.windows} and no max_current is configured")
            except ValueError as exc:  # a stored value the engine cannot read: named, not a crash
                problem = ("InvalidValue", str(exc))
        if v16:
            status16 = m.GetCompositeScheduleStatus
            if problem is not None:
                return m.GetCompositeScheduleResponse(status=status16.REJECTED)
            return m.GetCompositeScheduleResponse(
                status=status16.ACCEPTED,
                connector_id=evse_id,
                schedule_start=schedule.start_schedule,
                charging_schedule=schedule,
            )
        status = m.GenericStatusEnumType
        if problem is not None:
            return m.GetCompositeScheduleResponse(status=status.REJECTED, status_info=self._status_info(*problem))
        return m.GetCompositeScheduleResponse(status=status.ACCEPTED, schedule=schedule)

    def _window(self, evse_id: int, now: _dt.datetime, duration: int, unit: str) -> dict[str, Any]:
        default: float | None = None
        if self.max_current is not None:
            default = self.max_current if unit == "A" else self.max_current * self.supply_voltage * self.phases
        return {
            "evse_id": evse_id,
            "start": now,
            "duration": duration,
            "unit": unit,
            "transaction": self.transactions,
            "supply_voltage": self.supply_voltage,
            "phases": self.phases,
            "default_limit": default,
            "evse_ids": self.evses,
        }

    # ------------------------------------------------------------------ limits

    def limits(self, now: _dt.datetime, unit: str = "A", horizon: int = 86400) -> dict[int, EvseLimit]:
        """What each EVSE may draw at ``now`` (whole seconds), and when that changes next within
        ``horizon`` seconds: ``{evse id: EvseLimit(Limit(value, unit, number_phases),
        next_change)}``. A value None means that no profile limits (the EVSE's own maximum)."""
        if horizon < 1:
            raise ValueError(f"horizon: must be at least 1 second (got {horizon!r})")
        out: dict[int, EvseLimit] = {}
        profiles = self.installed()
        for evse_id in self.evses:
            window = self._window(evse_id, now, horizon, unit)
            window["default_limit"] = None
            c = composite(self.version, profiles, **window)
            first = c.periods[0]
            nxt = c.start + _dt.timedelta(seconds=c.periods[1].start_period) if len(c.periods) > 1 else None
            out[evse_id] = EvseLimit(Limit(first.limit, unit, first.number_phases), nxt)
        return out
