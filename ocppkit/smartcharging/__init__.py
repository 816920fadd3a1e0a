"""Smart charging, sans-IO: the composite schedule of OCPP 1.6, 2.0.1 and 2.1.

::

    from ocppkit import smartcharging as sc

    schedule = sc.composite_schedule(
        "2.0.1",
        profiles=[(0, station_max), (1, tx_default)],
        evse_id=1, start=t0, duration=3600, unit="A",
        default_limit=32.0,
    )

:func:`composite` computes a :class:`Composite` (limits None where no profile applies);
:func:`composite_schedule` writes it as the version's typed schedule. No clock is read and
nothing is sent: every time is the caller's. The station side: :class:`StationProfiles` answers
the CSMS's smart-charging calls from a :class:`ProfileStore` (:class:`MemoryProfileStore`,
:class:`SqliteProfileStore`). See docs/smart-charging.md.
"""

from __future__ import annotations

from ._api import composite, composite_schedule
from ._csms import ProfileBook
from ._model import VERSIONS, ActiveTransaction, Composite, CompositePeriod, UnconstrainedError
from ._sqlite import ProfileStoreError, SqliteProfileStore
from ._station import EvseLimit, Limit, StationProfiles
from ._store import MemoryProfileStore, ProfileStore, StoredProfile
from ._validate import WIRE_REASONS, Capabilities, Verdict, validate_profile

__all__ = [
    "VERSIONS",
    "WIRE_REASONS",
    "ActiveTransaction",
    "Capabilities",
    "Composite",
    "CompositePeriod",
    "EvseLimit",
    "Limit",
    "MemoryProfileStore",
    "ProfileBook",
    "ProfileStore",
    "ProfileStoreError",
    "SqliteProfileStore",
    "StationProfiles",
    "StoredProfile",
    "UnconstrainedError",
    "Verdict",
    "composite",
    "composite_schedule",
    "validate_profile",
]
