"""CSMS nodes of a test cluster: a real ``CSMSServer`` on a free port of 127.0.0.1 that is node
``name`` of the cluster at ``url`` (``CSMSServer(routers, node=name, cluster=Node(url, ...))``)."""

from __future__ import annotations

from typing import Any

from ocppkit import Router
from ocppkit.adapters.websockets import CSMSServer
from ocppkit.cluster import Node


async def start_csms(
    url: str, name: str, router: Router | dict[str, Router], csms_kw: dict[str, Any] | None = None, **node_kw: Any
) -> tuple[CSMSServer, Node]:
    """A started CSMS that is node ``name`` (``csms_kw``: CSMSServer's parameters; the others:
    the Node's)."""
    node = Node(url, node=name, **node_kw)
    csms = CSMSServer(router, node=name, cluster=node, **(csms_kw or {}))
    await csms.start("127.0.0.1", 0)
    return csms, node
