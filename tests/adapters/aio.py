"""asyncio helpers shared by the adapter tests: run a coroutine with a time limit, and wait for a
condition."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any


def run(coro: Awaitable[Any], timeout: float = 20.0) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


async def until(predicate: Any, timeout: float = 5.0) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
