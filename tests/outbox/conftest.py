from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import Stores


@pytest.fixture(params=["memory", "sqlite"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    s = Stores(request.param, tmp_path)
    yield s
    s.close()
