"""Property: the ledger's final views depend only on which messages it received, not on how
often or in which order. Random feeds of a few transactions' messages, with re-deliveries and
permutations, end in the same views as the de-duplicated feed in order."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocppkit.transactions import Ledger, TransactionView

from .build import VERSIONS_2X, event, meter16, start16, stop16

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _with_redeliveries(data: st.DataObject, items: list[Any]) -> list[Any]:
    """``items`` plus some of them again, the whole shuffled."""
    again = data.draw(st.lists(st.sampled_from(items), max_size=len(items))) if items else []
    return data.draw(st.permutations(items + again))


# ------------------------------------------------------------------ 2.0.1 / 2.1


@st.composite
def _transactions_2x(draw: st.DrawFn, version: str) -> list[Any]:
    """Up to three transactions on two stations; each a Started, Updated events and an Ended,
    some events left out (gaps), register readings going up, some events offline."""
    messages: list[Any] = []
    for n in range(draw(st.integers(1, 3))):
        station = f"CS{n % 2}"
        updates = draw(st.integers(0, 3))
        kinds = ["Started", *["Updated"] * updates, "Ended"]
        wh = 1000.0
        for seq, kind in enumerate(kinds):
            wh += draw(st.integers(0, 3)) * 250.0
            kept = draw(st.booleans()) if 0 < seq < len(kinds) - 1 else draw(st.integers(0, 5)) > 0
            e = event(
                version,
                f"tx-{n}",
                seq,
                kind,
                minute=10.0 * seq,
                wh=wh if draw(st.booleans()) else None,
                token=draw(st.sampled_from([None, "T1", "T2"])),
                offline=draw(st.sampled_from([None, True])),
            )
            if kept:
                messages.append((station, e))
    return messages


def _views(ledger: Ledger) -> list[TransactionView]:
    return sorted(ledger.transactions(), key=lambda v: (v.station, str(v.transaction_id)))


@SETTINGS
@given(data=st.data(), version=st.sampled_from(VERSIONS_2X))
def test_2x_views_depend_only_on_the_set_of_events(data: st.DataObject, version: str) -> None:
    messages = data.draw(_transactions_2x(version))
    clean = Ledger()
    for station, e in sorted(messages, key=lambda m: (m[0], m[1].transaction_info.transaction_id, m[1].seq_no)):
        assert clean.record(station, e).status == "new"
    noisy = Ledger()
    statuses = [noisy.record(station, e).status for station, e in _with_redeliveries(data, messages)]
    assert statuses.count("new") == len(messages) and "conflict" not in statuses
    assert _views(noisy) == _views(clean)
    for view in _views(clean):
        assert noisy.messages(view.station, view.transaction_id) == clean.messages(view.station, view.transaction_id)
        assert [e.seq_no for e in clean.messages(view.station, view.transaction_id)] == list(view.seq_nos)

    # The gaps both report are exactly the seqNos left out below the highest one kept.
    def gaps(ledger: Ledger) -> list[tuple[str, str, str]]:
        return sorted((a.station, str(a.transaction_id), a.detail) for a in ledger.anomalies() if a.kind == "gap")

    assert gaps(noisy) == gaps(clean)
    assert len(gaps(clean)) == sum(1 for v in _views(clean) if v.gaps)


# ------------------------------------------------------------------ 1.6

# A 1.6 message is built when it is fed: MeterValues and StopTransaction carry the id the ledger
# gave that transaction's StartTransaction (the station learns it from the answer).
Build = Callable[[dict[int, int]], Any]


@st.composite
def _transactions_16(draw: st.DrawFn) -> list[tuple[int, str, Build]]:
    """Up to three transactions (on connectors 1 and 2 of one station), each a Start, up to three
    MeterValues and a Stop (sometimes still missing); maybe an orphan Stop."""
    out: list[tuple[int, str, Build]] = []
    for n in range(draw(st.integers(1, 3))):
        begin = 100.0 * n
        meter = draw(st.integers(0, 10_000))
        out.append((n, "start", lambda ids, n=n, begin=begin, meter=meter: start16(1 + n % 2, f"TAG{n}", meter, begin)))
        for k in range(draw(st.integers(0, 3))):
            minute = begin + 1 + 12 * k + draw(st.integers(0, 11))  # distinct: equal ones would be one message
            wh = meter + draw(st.integers(0, 5000))
            out.append((n, f"meter{k}", lambda ids, n=n, m=minute, wh=wh: meter16(ids[n], m, wh, 1 + n % 2)))
        if draw(st.booleans()) or n == 0:
            end, stop = begin + 60, meter + draw(st.integers(-10, 20_000))
            out.append((n, "stop", lambda ids, n=n, end=end, stop=stop: stop16(ids[n], stop, end)))
    if draw(st.booleans()):
        out.append((-1, "orphan", lambda ids: stop16(-7, 500, 42)))
    return out


def _feed_16(ledger: Ledger, order: list[tuple[int, str, Build]]) -> list[str]:
    """Feed in ``order``, except that a message of a transaction whose Start was not fed yet
    waits for it (it could not have been sent before its answer)."""
    ids: dict[int, int] = {}
    waiting: list[tuple[int, str, Build]] = []
    statuses: list[str] = []

    def feed(n: int, what: str, build: Build) -> None:
        rec = ledger.record("CS1", build(ids))
        statuses.append(rec.status)
        if what == "start":
            assert isinstance(rec.transaction_id, int)
            assert ids.setdefault(n, rec.transaction_id) == rec.transaction_id  # a re-sent Start: the same id
            for item in [w for w in waiting if w[0] == n]:
                waiting.remove(item)
                feed(*item)

    for n, what, build in order:
        if what in ("start", "orphan") or n in ids:
            feed(n, what, build)
        else:
            waiting.append((n, what, build))
    assert waiting == []
    return statuses


def _anonymous(ledger: Ledger) -> list[TransactionView]:
    """The views without the ledger's ids (which depend on the order the Starts came in)."""
    views = [dataclasses.replace(v, transaction_id=0) if not v.orphan else v for v in ledger.transactions()]
    return sorted(views, key=lambda v: (str(v.id_token), str(v.started_at), v.orphan))


@SETTINGS
@given(data=st.data())
def test_16_views_depend_only_on_the_set_of_messages(data: st.DataObject) -> None:
    messages = data.draw(_transactions_16())
    clean = Ledger()
    assert set(_feed_16(clean, messages)) == {"new"}
    noisy = Ledger()
    statuses = _feed_16(noisy, _with_redeliveries(data, messages))
    assert statuses.count("new") == len(messages) and "conflict" not in statuses
    assert _anonymous(noisy) == _anonymous(clean)
    ids = sorted(v.transaction_id for v in noisy.transactions() if not v.orphan)
    assert ids == list(range(1, len(ids) + 1))  # one id per transaction, however often its Start came
