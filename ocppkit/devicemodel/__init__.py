"""The device model of OCPP 2.0.1/2.1 (components, variables, attributes) and 1.6's
configuration keys, for both roles. See docs/device-model.md."""

from __future__ import annotations

from .spec import (
    ATTRIBUTE_TYPES,
    DATA_TYPES,
    MUTABILITIES,
    AttributeType,
    Component,
    DataType,
    Definition,
    Mutability,
    VariableSpec,
)

__all__ = [
    "ATTRIBUTE_TYPES",
    "DATA_TYPES",
    "MUTABILITIES",
    "AttributeType",
    "Component",
    "DataType",
    "Definition",
    "Mutability",
    "VariableSpec",
]
