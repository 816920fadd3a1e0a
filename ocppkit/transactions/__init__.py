"""The CSMS transaction ledger: every transaction message a CSMS receives, recorded once.

::

    from ocppkit.transactions import Ledger

    ledger = Ledger("ledger.sqlite")           # or Ledger() in memory
    rec = ledger.record(station_id, request)   # in the handler, before answering
    rec.status, rec.transaction_id, rec.transaction.energy_wh

:class:`Ledger` records 1.6 StartTransaction / MeterValues / StopTransaction and 2.0.1 / 2.1
TransactionEvent requests on sqlite, idempotently (a re-delivery changes nothing), assigns the
1.6 transaction ids, orders 2.x events by seqNo, and reports duplicates, conflicts, gaps, late
arrivals and orphans. See docs/ledger.md. Importing this package imports no OCPP version
package: the one a stored message needs is imported when it is read.
"""

from __future__ import annotations

from ._ledger import Ledger
from ._schema import SCHEMA_VERSION
from ._views import MAX_GAPS, Anomaly, AnomalyKind, Recorded, Status, TransactionRequest, TransactionView

__all__ = [
    "MAX_GAPS",
    "SCHEMA_VERSION",
    "Anomaly",
    "AnomalyKind",
    "Ledger",
    "Recorded",
    "Status",
    "TransactionRequest",
    "TransactionView",
]
