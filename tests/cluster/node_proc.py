"""A CSMS node in its own process: ``python -m tests.cluster.node_proc REDIS_URL NAME TTL``.

Prints ``ready PORT`` once listening and registered, then serves until killed (the tests kill
it with SIGKILL). The same as ``ocppkit serve
--cluster URL --node NAME``.
"""

from __future__ import annotations

import asyncio
import sys

from .helpers import routers
from .nodes import start_csms


async def main(url: str, name: str, ttl: float) -> None:
    csms, _ = await start_csms(url, name, routers(), presence_ttl=ttl)
    print(f"ready {csms.port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
