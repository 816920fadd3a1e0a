"""A TCP proxy on 127.0.0.1 that a test can switch to a *silent partition* and back.

``PartitionProxy(upstream_port)`` forwards every connection it accepts to the upstream port.
``partition()`` stops forwarding in both directions without closing anything: the bytes either
side sends are read and thrown away (as a network that loses every packet), an end of stream is
not passed on, and new connections are accepted but never forwarded (no upstream connection is
made). Neither end can tell a partition from a slow peer: only its keep-alive pings can.
``heal()`` forwards again: the connections that lived through the partition are beyond repair
(bytes are missing from their streams, as after a TCP connection's retransmissions gave up), so
they are reset (aborted, both ends), and every later connection is forwarded normally.

It runs in the test's event loop; ``python -m tests.outbox_e2e.proxy UPSTREAM_PORT`` runs one on
its own, printing ``listening <port>`` (partition with SIGUSR1, heal with SIGUSR2).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from dataclasses import dataclass, field

HOST = "127.0.0.1"
CHUNK = 65536


@dataclass(eq=False)
class _Pair:
    """One accepted connection and, unless it came during a partition, its upstream one."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    dead: bool = False  # lived through a partition: never forwards again
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                writer.transport.abort()


class PartitionProxy:
    """The proxy. ``await proxy.start()`` returns its port; ``await proxy.close()`` ends it.

    Attributes:
        connections: how many connections it accepted so far.
        dropped_bytes: how many bytes it threw away during partitions.
        partitioned: whether it is partitioned now.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.connections = 0
        self.dropped_bytes = 0
        self.partitioned = False
        self._pairs: set[_Pair] = set()
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._accept, HOST, port)
        return self.port

    def partition(self) -> None:
        self.partitioned = True
        for pair in self._pairs:
            pair.dead = True

    def heal(self) -> None:
        self.partitioned = False
        for pair in [p for p in self._pairs if p.dead]:
            pair.abort()
            self._pairs.discard(pair)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for pair in list(self._pairs):
            pair.abort()
            for task in pair.tasks:
                task.cancel()
        self._pairs.clear()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        pair = _Pair(writer, dead=self.partitioned)
        self._pairs.add(pair)
        if pair.dead:  # accepted during a partition: read and throw away, forward nothing
            await self._pump(pair, reader, None)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, self.upstream_port)
        except OSError:
            writer.transport.abort()  # upstream down: as the real CSMS host would refuse
            self._pairs.discard(pair)
            return
        pair.upstream = up_writer
        if pair.dead:  # partitioned while connecting upstream
            up_writer.transport.abort()
            pair.upstream = None
            await self._pump(pair, reader, None)
            return
        back = asyncio.ensure_future(self._pump(pair, up_reader, writer))
        pair.tasks.append(back)
        await self._pump(pair, reader, up_writer)

    async def _pump(self, pair: _Pair, reader: asyncio.StreamReader, to: asyncio.StreamWriter | None) -> None:
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    break
                if pair.dead or to is None:
                    self.dropped_bytes += len(data)
                    continue
                to.write(data)
                await to.drain()
        except (OSError, asyncio.CancelledError):
            pass
        if not pair.dead:  # a normal end of stream: pass it on (close both ends)
            _close(pair)
            self._pairs.discard(pair)


def _close(pair: _Pair) -> None:
    for writer in (pair.client, pair.upstream):
        if writer is not None:
            writer.close()


async def _main(upstream_port: int) -> None:
    proxy = PartitionProxy(upstream_port)
    port = await proxy.start()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, proxy.partition)
    loop.add_signal_handler(signal.SIGUSR2, proxy.heal)
    print("listening", port, flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await proxy.close()


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1])))
