"""Paging under Hypothesis: for any model and any ItemsPerMessage/BytesPerMessage [GetReport],
the NotifyReport parts carry every variable once, in order, within both limits (an entry too
big for a part alone goes alone), numbered 0.. with tbc on all but the last."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

import ocppkit
from ocppkit import v201
from ocppkit.devicemodel import Component, Definition, DeviceModel, MemoryStore, VariableSpec

AT = dt.datetime(2026, 12, 2, tzinfo=dt.timezone.utc)


@st.composite
def models(draw: st.DrawFn) -> tuple[list[Definition], int | None, int | None]:
    n = draw(st.integers(0, 40))
    defs = [
        Definition(
            Component(f"C{i % 7}", evse_id=draw(st.none() | st.integers(1, 3))),
            VariableSpec(f"V{i}", max_limit=2500),
            {"Actual": draw(st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300))},
        )
        for i in range(n)
    ]
    items = draw(st.none() | st.integers(1, 12))
    size = draw(st.none() | st.integers(150, 4000))
    data = Component("DeviceDataCtrlr")
    if items is not None:
        defs.append(Definition(data, VariableSpec("ItemsPerMessage", "GetReport", "integer"), {"Actual": str(items)}))
    if size is not None:
        defs.append(Definition(data, VariableSpec("BytesPerMessage", "GetReport", "integer"), {"Actual": str(size)}))
    return defs, items, size


@settings(max_examples=150, deadline=None)
@given(models(), st.integers(0, 2**31 - 1))
def test_parts_cover_the_model_in_order_within_the_limits(
    case: tuple[list[Definition], int | None, int | None], rid: int
) -> None:
    defs, items, size = case
    model = DeviceModel("2.0.1", MemoryStore(), defs)
    response, parts = model.base_report(
        v201.GetBaseReportRequest(request_id=rid, report_base=v201.ReportBaseEnumType.FULL_INVENTORY), generated_at=AT
    )
    if not model.variables():
        assert response.status.value == "EmptyResultSet" and parts == []
        return
    assert response.status.value == "Accepted"
    got = [(r.component.name, r.variable.name, r.variable_attribute[0].value) for p in parts for r in p.report_data]
    assert got == [(c.name, s.name, model.get(c, s.name, instance=s.instance)) for c, s in model.variables()]
    assert [p.seq_no for p in parts] == list(range(len(parts)))
    assert [p.tbc for p in parts] == [True] * (len(parts) - 1) + [False]
    for p in parts:
        assert p.request_id == rid
        assert items is None or len(p.report_data) <= items
        encoded = len(ocppkit.encode_payload(p))
        assert size is None or encoded <= size or len(p.report_data) == 1
