"""The device model of OCPP 2.0.1/2.1 (components, variables, attributes) and 1.6's
configuration keys, for both roles. See docs/device-model.md."""

from __future__ import annotations

from ._ocpp16 import KEYS_COMPONENT, ConfigKey, MapsTo
from ._sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteStore, StoreError
from ._store import SOURCES, MemoryStore, Store, StoreState, VariableKey, sync_state
from .model import ChangeCallback, DeviceModel
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
    "KEYS_COMPONENT",
    "MIGRATIONS",
    "MUTABILITIES",
    "SCHEMA_VERSION",
    "SOURCES",
    "AttributeType",
    "ChangeCallback",
    "Component",
    "ConfigKey",
    "DataType",
    "Definition",
    "DeviceModel",
    "MapsTo",
    "MemoryStore",
    "Mutability",
    "SqliteStore",
    "Store",
    "StoreError",
    "StoreState",
    "VariableKey",
    "VariableSpec",
    "sync_state",
]
