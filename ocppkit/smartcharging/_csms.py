"""The CSMS side, sans-IO: :class:`ProfileBook`, what one station holds as far as the CSMS knows.

Feed it the messages the CSMS exchanges with the station (SetChargingProfile and its response,
ClearChargingProfile and its response, ReportChargingProfiles, transaction starts and ends); it
keeps the profiles the station accepted, by the version's replacement rules, and answers with
the same engine the station uses: the predicted composite schedule, and a validation of a
profile before it is sent. No clock is read: every time is the caller's.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from msgspec import UNSET

from ._api import composite, composite_schedule
from ._model import VERSIONS, ActiveTransaction, Composite
from ._normalize import normalize
from ._validate import Capabilities, Verdict, validate_profile

if TYPE_CHECKING:
    from ocppkit.v16 import datatypes as _d16
    from ocppkit.v16 import messages as _m16
    from ocppkit.v21 import datatypes as _d21
    from ocppkit.v21 import messages as _m21
    from ocppkit.v201 import datatypes as _d201
    from ocppkit.v201 import messages as _m201

    SetRequest = _m16.SetChargingProfileRequest | _m201.SetChargingProfileRequest | _m21.SetChargingProfileRequest
    SetResponse = _m16.SetChargingProfileResponse | _m201.SetChargingProfileResponse | _m21.SetChargingProfileResponse
    ClearRequest = (
        _m16.ClearChargingProfileRequest | _m201.ClearChargingProfileRequest | _m21.ClearChargingProfileRequest
    )
    ClearResponse = (
        _m16.ClearChargingProfileResponse | _m201.ClearChargingProfileResponse | _m21.ClearChargingProfileResponse
    )
    ReportRequest = _m201.ReportChargingProfilesRequest | _m21.ReportChargingProfilesRequest
    AnyProfile = _d16.ChargingProfile | _d201.ChargingProfileType | _d21.ChargingProfileType

__all__ = ["ProfileBook"]

_EXTERNAL = "ChargingStationExternalConstraints"


def _text(value: Any) -> str:
    return str(getattr(value, "value", value))


def _opt(value: Any) -> Any:
    return None if value is UNSET else value


class ProfileBook:
    """The charging profiles one station holds, as the CSMS knows them, and what they predict.

    Parameters:
        version: the station's OCPP version: "1.6", "2.0.1" or "2.1".
        capabilities: what the station supports (:class:`Capabilities`), for :meth:`validate`.

    Replacement follows the version: in 1.6 an accepted profile replaces the one with its id and
    the one with its (stackLevel, purpose) on the same connector (1.6 §5.16); in 2.x the one with
    its id (K01.FR.05). Only accepted profiles are kept. TxProfiles go when their transaction ends.
    """

    def __init__(self, version: str, *, capabilities: Capabilities | None = None) -> None:
        if version not in VERSIONS:
            raise ValueError(f"version: must be one of {', '.join(VERSIONS)} (got {version!r})")
        self.version = version
        self.capabilities = capabilities
        self._profiles: list[tuple[int, Any]] = []
        self._transactions: dict[int, ActiveTransaction] = {}
        self._last_set: dict[int | str, _dt.datetime] = {}

    # ------------------------------------------------------------------ what it holds

    @property
    def profiles(self) -> list[tuple[int, AnyProfile]]:
        """The ``(evse id, profile)`` pairs the station holds, in the order they were installed."""
        return list(self._profiles)

    @property
    def transactions(self) -> list[ActiveTransaction]:
        """The transactions running on the station (:meth:`transaction_started`)."""
        return list(self._transactions.values())

    @property
    def last_set(self) -> Mapping[int | str, _dt.datetime]:
        """When a SetChargingProfile was last accepted, by purpose and by profile id (with ``at``)."""
        return dict(self._last_set)

    def profile(self, profile_id: int) -> tuple[int, AnyProfile] | None:
        """The ``(evse id, profile)`` with that id, or None."""
        return next(((e, p) for e, p in self._profiles if self._id(p) == profile_id), None)

    # ------------------------------------------------------------------ feeding it

    def set_profile(self, request: SetRequest, response: SetResponse, *, at: _dt.datetime | None = None) -> bool:
        """Record a SetChargingProfile and the station's answer; True if the profile was installed.

        Parameters:
            request: the SetChargingProfileRequest the CSMS sent.
            response: the station's SetChargingProfileResponse (only Accepted installs).
            at: when it was accepted (timezone-aware), for ``Capabilities.update_rate_limit``.
        """
        self._check(request, "SetChargingProfile", "request")
        self._check(response, "SetChargingProfile", "response")
        if _text(response.status) != "Accepted":
            return False
        if self.version == "1.6":
            evse_id, profile = int(request.connector_id), request.cs_charging_profiles  # type: ignore[union-attr]
        else:
            evse_id, profile = int(request.evse_id), request.charging_profile  # type: ignore[union-attr]
        self._install(evse_id, profile)
        if at is not None:
            p = normalize(self.version, evse_id, profile)
            self._last_set[p.purpose] = at
            self._last_set[p.id] = at
        return True

    def clear(self, request: ClearRequest, response: ClearResponse) -> list[int]:
        """Record a ClearChargingProfile and the answer; returns the ids of the profiles removed.

        Accepted and Unknown both mean that the station holds no matching profile afterwards, so
        both remove the matching ones here. A profile id, when given, is the only criterion. In
        2.x the CSMS does not clear ChargingStationExternalConstraints (our reading of K01.FR.22).
        """
        self._check(request, "ClearChargingProfile", "request")
        self._check(response, "ClearChargingProfile", "response")
        if _text(response.status) not in ("Accepted", "Unknown"):
            return []
        if self.version == "1.6":
            pid = _opt(request.id)  # type: ignore[union-attr]
            evse = _opt(request.connector_id)  # type: ignore[union-attr]
            purpose = _opt(request.charging_profile_purpose)  # type: ignore[union-attr]
            level = _opt(request.stack_level)  # type: ignore[union-attr]
        else:
            pid = _opt(request.charging_profile_id)  # type: ignore[union-attr]
            crit = _opt(request.charging_profile_criteria)  # type: ignore[union-attr]
            evse = None if crit is None else _opt(crit.evse_id)
            purpose = None if crit is None else _opt(crit.charging_profile_purpose)
            level = None if crit is None else _opt(crit.stack_level)
        purpose = None if purpose is None else _text(purpose)

        def matches(e: int, profile: Any) -> bool:
            p = normalize(self.version, e, profile)
            if self.version != "1.6" and p.purpose == _EXTERNAL:
                return False
            if pid is not None:
                return bool(p.id == pid)
            wire_purpose = _text(profile.charging_profile_purpose)
            return (
                (evse is None or e == evse)
                and (purpose is None or wire_purpose == purpose)
                and (level is None or p.stack_level == level)
            )

        return self._remove(matches)

    def report(self, request: ReportRequest) -> None:
        """Record a ReportChargingProfiles (2.x): the station holds these on ``request.evse_id``.

        Each reported profile replaces the one with its id. A report only adds: to rebuild the
        book from a complete GetChargingProfiles answer, feed it to a new ProfileBook.
        """
        if self.version == "1.6":
            raise ValueError("request: 1.6 has no ReportChargingProfiles (GetChargingProfiles is 2.x)")
        self._check(request, "ReportChargingProfiles", "request")
        for profile in request.charging_profile:
            self._install(int(request.evse_id), profile, replace_level=False)

    def transaction_started(self, transaction: ActiveTransaction) -> None:
        """A transaction started (TransactionEvent Started; 1.6 StartTransaction)."""
        self._transactions[transaction.evse_id] = transaction

    def transaction_ended(self, transaction_id: str | int) -> list[int]:
        """The transaction ended: its TxProfiles are deleted; returns their ids.

        2.x: the TxProfiles with its transactionId. 1.6: the TxProfiles on its connector.
        """
        tx = next((t for t in self._transactions.values() if str(t.transaction_id) == str(transaction_id)), None)
        if tx is not None:
            del self._transactions[tx.evse_id]

        def of_it(e: int, profile: Any) -> bool:
            p = normalize(self.version, e, profile)
            if p.purpose != "TxProfile":
                return False
            if p.transaction_id is not None:
                return p.transaction_id == str(transaction_id)
            return self.version == "1.6" and tx is not None and e == tx.evse_id

        return self._remove(of_it)

    # ------------------------------------------------------------------ what it answers

    def validate(self, evse_id: int, profile: AnyProfile, *, now: _dt.datetime | None = None) -> Verdict:
        """:func:`validate_profile` against what the station holds: check before sending.

        Parameters:
            evse_id: the evseId (1.6: connectorId) the profile would be sent for.
            profile: the typed profile.
            now: the time it would be sent (needed with ``Capabilities.update_rate_limit``).
        """
        return validate_profile(
            self.version,
            evse_id,
            profile,
            installed=self._profiles,
            transaction=self.transactions,
            capabilities=self.capabilities,
            now=now,
            last_set=self._last_set,
        )

    def composite(self, evse_id: int, **kw: Any) -> Composite:
        """The station's predicted composite schedule: :func:`composite` over the book's profiles
        and transactions (pass ``start``, ``duration``, ``unit`` and any other argument)."""
        kw.setdefault("transaction", self.transactions)
        return composite(self.version, self._profiles, evse_id=evse_id, **kw)

    def composite_schedule(
        self, evse_id: int, **kw: Any
    ) -> _d16.ChargingSchedule | _d201.CompositeScheduleType | _d21.CompositeScheduleType:
        """:meth:`composite` written as the version's typed schedule (:func:`composite_schedule`)."""
        kw.setdefault("transaction", self.transactions)
        return composite_schedule(self.version, self._profiles, evse_id=evse_id, **kw)

    # ------------------------------------------------------------------ internals

    def _id(self, profile: Any) -> int:
        return int(profile.charging_profile_id if self.version == "1.6" else profile.id)

    def _check(self, message: Any, action: str, role: str) -> None:
        info = getattr(type(message), "__ocpp__", None)
        if info is None or (info.version, info.action, info.role) != (self.version, action, role):
            got = "something else" if info is None else f"{info.version} {info.action} {info.role}"
            raise ValueError(f"{role}: a {self.version} {action} {role} is required (got {got})")

    def _install(self, evse_id: int, profile: Any, *, replace_level: bool = True) -> None:
        new = normalize(self.version, evse_id, profile)

        def replaced(e: int, old: Any) -> bool:
            o = normalize(self.version, e, old)
            if o.id == new.id:
                return True
            # 1.6 §5.16: the same (stackLevel, purpose) is replaced too (on the same connector)
            return (
                replace_level
                and self.version == "1.6"
                and e == evse_id
                and (o.stack_level, o.purpose) == (new.stack_level, new.purpose)
            )

        self._remove(replaced)
        self._profiles.append((evse_id, profile))

    def _remove(self, condition: Any) -> list[int]:
        gone = [self._id(p) for e, p in self._profiles if condition(e, p)]
        self._profiles = [(e, p) for e, p in self._profiles if not condition(e, p)]
        return gone
