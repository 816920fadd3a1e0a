"""The value check of sets, per data type: through SetVariables (the rule in
attributeStatusInfo) and DeviceModel.set (the ValueError)."""

from __future__ import annotations

import pytest
from msgspec import UNSET

from ocppkit import v201
from ocppkit.devicemodel import Component, Definition, DeviceModel, MemoryStore, VariableSpec

C = Component("CustomCtrlr")

CASES = [
    # (spec, value, accepted, words of the reason)
    (VariableSpec("I", data_type="integer", min_limit=-5, max_limit=5), "5", True, ""),
    (VariableSpec("I", data_type="integer", min_limit=-5, max_limit=5), "-5", True, ""),
    (VariableSpec("I", data_type="integer", min_limit=-5, max_limit=5), "6", False, "above the maxLimit 5"),
    (VariableSpec("I", data_type="integer", min_limit=-5, max_limit=5), "-6", False, "below the minLimit -5"),
    (VariableSpec("I", data_type="integer"), "1.5", False, "not an integer"),
    (VariableSpec("I", data_type="integer"), "", False, "not an integer"),
    (VariableSpec("D", data_type="decimal", max_limit=10.5), "10.5", True, ""),
    (VariableSpec("D", data_type="decimal", max_limit=10.5), "1e1", False, "not a decimal"),
    (VariableSpec("D", data_type="decimal", max_limit=10.5), "10.6", False, "above the maxLimit 10.5"),
    (VariableSpec("D", data_type="decimal"), "NaN", False, "not a decimal"),
    (VariableSpec("D", data_type="decimal"), "1,5", False, "not a decimal"),
    (VariableSpec("B", data_type="boolean"), "false", True, ""),
    (VariableSpec("B", data_type="boolean"), "True", False, "a boolean is 'true' or 'false'"),
    (VariableSpec("T", data_type="dateTime"), "2026-12-02T03:30:00Z", True, ""),
    (VariableSpec("T", data_type="dateTime"), "2026-12-02T03:30:00.123+01:00", True, ""),
    (VariableSpec("T", data_type="dateTime"), "2026-12-02 03:30", False, "RFC 3339"),
    (VariableSpec("S", data_type="string", max_limit=3), "abc", True, ""),
    (VariableSpec("S", data_type="string", max_limit=3), "abcd", False, "longer than the maxLimit 3"),
    (VariableSpec("S", data_type="string", values_list=("a", "b")), "c", False, "not in the valuesList"),
    (VariableSpec("O", data_type="OptionList", values_list=("a", "b")), "b", True, ""),
    (VariableSpec("O", data_type="OptionList", values_list=("a", "b")), "a,b", False, "exactly one member"),
    (VariableSpec("O", data_type="OptionList", values_list=("a", "b")), "c", False, "not in the valuesList"),
    (VariableSpec("M", data_type="MemberList", values_list=("a", "b", "c")), "c,a", True, ""),
    (VariableSpec("M", data_type="MemberList", values_list=("a", "b", "c")), "a,a", False, "names a member twice"),
    (VariableSpec("M", data_type="MemberList", values_list=("a", "b", "c")), "a,d", False, "not in the valuesList"),
    (VariableSpec("Q", data_type="SequenceList", values_list=("x", "y"), max_limit=3), "y,x", True, ""),
    (VariableSpec("Q", data_type="SequenceList", values_list=("x", "y"), max_limit=3), "x,y,", False, "maxLimit"),
]


@pytest.mark.parametrize(("spec", "value", "accepted", "reason"), CASES)
def test_a_value_per_data_type(spec: VariableSpec, value: str, accepted: bool, reason: str) -> None:
    model = DeviceModel("2.0.1", MemoryStore(), [Definition(C, spec)])
    request = v201.SetVariablesRequest(
        set_variable_data=[
            v201.SetVariableDataType(
                component=v201.ComponentType(name=C.name),
                variable=v201.VariableType(name=spec.name),
                attribute_value=value,
            )
        ]
    )
    [result] = model.set_variables(request).set_variable_result
    assert result.attribute_status.value == ("Accepted" if accepted else "Rejected")
    if accepted:
        assert result.attribute_status_info is UNSET and model.get(C, spec.name) == value
        return
    assert not isinstance(result.attribute_status_info, type(UNSET))
    assert result.attribute_status_info.reason_code == "InvalidValue"
    assert reason in str(result.attribute_status_info.additional_info)
    assert model.get(C, spec.name) == ""  # unchanged
    if value:  # the station's own set refuses it too (an empty value clears)
        with pytest.raises(ValueError, match=reason):
            model.set(C, spec.name, value)
