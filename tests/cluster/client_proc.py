"""A process with no WebSocket calling stations through the cluster:
``python -m tests.cluster.client_proc REDIS_URL ID...``; prints one JSON line per station
(``{"identity", "ok", "data" | "error"}``) then ``done``."""

from __future__ import annotations

import asyncio
import json
import sys

from ocppkit import v16, v201
from ocppkit.cluster import Client


async def main(url: str, identities: list[str]) -> None:
    async with Client(url) as client:
        versions = {s.identity: s.version for s in await client.stations()}
        for identity in identities:
            try:
                if versions.get(identity) == "1.6":
                    got16 = await client.call(identity, v16.DataTransferRequest(vendor_id="proc", data="x"), timeout=10)
                    out = {"identity": identity, "ok": True, "type": type(got16).__name__, "data": got16.data}
                else:
                    got = await client.call(identity, v201.DataTransferRequest(vendor_id="proc", data="x"), timeout=10)
                    out = {"identity": identity, "ok": True, "type": type(got).__name__, "data": got.data}
            except Exception as exc:
                out = {"identity": identity, "ok": False, "error": type(exc).__name__}
            print(json.dumps(out), flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
