"""Which OCPP versions a server negotiates and a station offers, whatever the transport.

A server holds one :class:`ocppkit.Router` per version it serves; the station's offer, in its
order of preference, picks the first of them (:func:`select_subprotocol`). The versions and
their subprotocols come from the editions (:mod:`ocppkit.edition`). No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..edition import EDITIONS, VERSIONS, edition_for_subprotocol
from ..router import Router

__all__ = ["NEWEST_FIRST", "check_versions", "routers_by_version", "select_subprotocol"]

#: Every version ocppkit knows, newest first: what a server negotiates by default.
NEWEST_FIRST: tuple[str, ...] = tuple(reversed(VERSIONS))


def check_versions(versions: Sequence[str]) -> None:
    """ValueError unless ``versions`` names at least one version, each one ocppkit knows."""
    if not versions:
        raise ValueError("versions: name at least one OCPP version")
    for v in versions:
        if v not in EDITIONS:
            raise ValueError(f"versions: {v!r} is not one of {', '.join(VERSIONS)}")


def routers_by_version(
    routers: Router | Mapping[str, Router], versions: Sequence[str] | None
) -> tuple[dict[str, Router], list[str]]:
    """The server's version -> router table and the versions it negotiates (see CSMSServer)."""
    if isinstance(versions, str):
        raise TypeError(f"versions: expected a sequence of versions such as ('2.0.1',), got the string {versions!r}")
    if isinstance(routers, Router):
        if routers.version is not None:  # a Router serves one version: negotiate that one
            routers = {routers.version: routers}
        else:
            chosen = list(versions) if versions is not None else list(NEWEST_FIRST)
            check_versions(chosen)
            return {v: routers for v in chosen}, chosen
    table = dict(routers)
    if not table:
        raise ValueError("routers: no version has a router")
    check_versions(list(table))
    for v, r in table.items():
        if not isinstance(r, Router):
            raise TypeError(f"routers[{v!r}]: expected an ocppkit.Router, got {type(r).__name__}")
    if versions is None:
        return table, [v for v in NEWEST_FIRST if v in table]
    check_versions(versions)
    missing = [v for v in versions if v not in table]
    if missing:
        raise ValueError(
            f"versions: {', '.join(missing)} has no router (routers are given for {', '.join(table)}); "
            "add a router for it or leave it out of versions"
        )
    return {v: table[v] for v in versions}, list(versions)


def select_subprotocol(offered: Sequence[str], versions: Sequence[str]) -> str | None:
    """The first subprotocol of ``offered`` (the station's order of preference) that selects one
    of ``versions``, or None."""
    for proto in offered:
        ed = edition_for_subprotocol(proto)
        if ed is not None and ed.version in versions:
            return proto
    return None
