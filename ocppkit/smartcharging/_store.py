"""Where a station keeps its charging profiles: the :class:`ProfileStore` protocol and the memory
store. (The sqlite store is in ``_sqlite``.)

A store holds :class:`StoredProfile` records, keyed by profile id (one version's profiles: the
station's :class:`~ocppkit.smartcharging.StationProfiles` says which). Every change is one call,
:meth:`ProfileStore.change`, which the sqlite store makes one transaction: a crash in the middle
leaves the state before it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["MemoryProfileStore", "ProfileStore", "StoredProfile"]


@dataclass(frozen=True)
class StoredProfile:
    """One installed charging profile, as a store keeps it.

    Attributes:
        version: the OCPP version of ``profile`` ("1.6", "2.0.1" or "2.1").
        evse_id: the EVSE it was set on (1.6: the connector); 0 is the whole station.
        profile: the version's typed profile (1.6 ``ChargingProfile``, 2.x ``ChargingProfileType``).
        source: the charging limit source: "CSO" for the CSMS's profiles, or the external actor's
            ("EMS", "SO", "Other") for ChargingStationExternalConstraints.
    """

    version: str
    evse_id: int
    profile: Any
    source: str = "CSO"

    @property
    def id(self) -> int:
        """The profile's id (1.6 ``chargingProfileId``)."""
        return int(self.profile.charging_profile_id if self.version == "1.6" else self.profile.id)

    @property
    def purpose(self) -> str:
        """The purpose as the version spells it (e.g. ``TxDefaultProfile``)."""
        purpose = self.profile.charging_profile_purpose
        return str(getattr(purpose, "value", purpose))

    @property
    def stack_level(self) -> int:
        """The stack level."""
        return int(self.profile.stack_level)

    @property
    def transaction_id(self) -> str | None:
        """The transactionId of a TxProfile, as a string (None when absent)."""
        tx = getattr(self.profile, "transaction_id", None)
        return None if tx is None or not isinstance(tx, (str, int)) else str(tx)


@runtime_checkable
class ProfileStore(Protocol):
    """What :class:`~ocppkit.smartcharging.StationProfiles` needs from a store.

    ``load`` gives the records of one version; ``change`` removes the ids in ``remove`` and adds
    (or overwrites, by id) the records in ``add``, all of it or none of it.
    """

    def load(self, version: str) -> list[StoredProfile]:
        """The records of ``version``, in the order they were installed."""
        ...

    def change(self, version: str, *, add: Sequence[StoredProfile] = (), remove: Collection[int] = ()) -> None:
        """Remove the profiles of ``version`` with the ids in ``remove``, then add ``add``: one
        atomic change."""
        ...

    def close(self) -> None:
        """Release the store's resources (a no-op for the memory store)."""
        ...


class MemoryProfileStore:
    """A :class:`ProfileStore` in memory: the profiles last as long as the process."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, int], StoredProfile] = {}

    def load(self, version: str) -> list[StoredProfile]:
        """The records of ``version``, in the order they were installed."""
        return [r for (v, _), r in self._rows.items() if v == version]

    def change(self, version: str, *, add: Sequence[StoredProfile] = (), remove: Collection[int] = ()) -> None:
        """Remove the ids in ``remove`` and add ``add`` (by id; a record of another version is
        refused with ``ValueError`` before anything changes)."""
        for r in add:
            if r.version != version:
                raise ValueError(f"add: a record of OCPP {r.version} in a change of OCPP {version}")
        for i in remove:
            self._rows.pop((version, int(i)), None)
        for r in add:
            self._rows.pop((version, r.id), None)  # a replaced profile goes to the end
            self._rows[(version, r.id)] = r

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"<MemoryProfileStore: {len(self._rows)} profiles>"
