"""``ocppkit station``: a simulated charging station running a whole session, with its outbox."""

from __future__ import annotations

import argparse
import asyncio
import sys
import urllib.parse
from typing import Any

from ._cli_common import (
    _DEFAULT_VERSION,
    _FULL_FRAMES,
    UsageError,
    _existing_files,
    _need_websockets,
    _one_line,
    _positive,
    _printable,
    _printer,
    _report,
    _seconds_or_off,
    add_loop_option,
    run_on_loop,
)
from ._cli_serve import _transport, add_transport_option
from .edition import VERSIONS


def _station_setup(args: argparse.Namespace) -> tuple[Any, int]:
    """The TLS context and security profile of ``ocppkit station``, checking the options."""
    import ssl

    from .adapters.handshake import identity_from_path

    url = urllib.parse.urlsplit(args.url)
    shown = _printable(args.url)
    if url.scheme not in ("ws", "wss"):
        raise UsageError(f"--url {shown}: expected a ws:// or wss:// URL")
    if not url.hostname:
        raise UsageError(f"--url {shown}: no host (expected ws://host:port/<identity>)")
    if identity_from_path(url.path) is None:
        raise UsageError(
            f"--url {shown}: no station identity at the end of the path "
            "(expected ws://host:port/<identity>, e.g. ws://127.0.0.1:9000/CS001)"
        )
    tls = url.scheme == "wss"
    if not tls and (args.cafile or args.certfile or args.keyfile):
        raise UsageError("--cafile, --certfile and --keyfile are for wss:// URLs (TLS)")
    if args.keyfile and not args.certfile:
        raise UsageError("--keyfile needs --certfile")
    _existing_files(args, "cafile", "certfile", "keyfile")
    profile = args.security_profile
    if profile is None and tls and not (args.password or args.certfile):
        raise UsageError("a wss:// URL needs --password (security profile 2) or --certfile (profile 3)")
    if profile is None:
        profile = (3 if args.certfile else 2 if args.password else 0) if tls else (1 if args.password else 0)
    if profile in (1, 2) and args.password is None:
        raise UsageError(f"security profile {profile} needs --password (HTTP Basic)")
    if tls and profile < 2:
        raise UsageError(f"security profile {profile} is plain ws://, but --url is wss://")
    if not tls and profile >= 2:
        raise UsageError(f"security profile {profile} needs a wss:// URL (TLS)")
    if profile == 3 and not args.certfile:
        raise UsageError("security profile 3 needs --certfile (the station certificate)")
    if not tls:
        return None, profile
    try:
        ctx = ssl.create_default_context(cafile=args.cafile)
        if args.certfile:
            ctx.load_cert_chain(args.certfile, args.keyfile)
    except (ssl.SSLError, OSError) as exc:
        raise UsageError(f"cannot load the TLS files: {_one_line(exc)}") from None
    return ctx, profile


def _station(args: argparse.Namespace) -> int:
    ctx, profile = _station_setup(args)
    demo, ws = _need_websockets()
    versions = args.version or [_DEFAULT_VERSION]

    def connected(session: Any) -> None:
        again = "re" if station.connections > 1 else ""
        print(f"{again}connected to {_printable(args.url)} (OCPP {session.version})", flush=True)

    from .outbox import OutboxError, OutboxSettings
    from .router import Router
    from .smartcharging import ProfileStoreError, SqliteProfileStore

    router = Router(versions[0])  # the smart-charging handlers join it once the outbox file is open
    try:
        station = _transport(args, ws).ChargingStation(
            args.url,
            router,
            versions=versions,
            security_profile=profile,
            password=args.password,
            password_encoding=args.password_encoding,
            ssl_context=ctx,
            on_frame=_printer(demo, "station", args),
            on_connect=connected,
            reconnect=ws.RetryBackOff(wait_minimum=0.5, random_range=0.5, repeat_times=3),
            outbox=args.outbox,
            outbox_settings=OutboxSettings(retry_interval=args.retry_interval),
        )
    except (ValueError, OutboxError) as exc:
        what = f"--outbox {_printable(args.outbox)}: " if isinstance(exc, OutboxError) else ""
        raise UsageError(what + _printable(str(exc))) from None
    try:  # the charging profiles live in the outbox's file too (other tables), or in memory
        store = SqliteProfileStore(args.outbox) if args.outbox else None
    except ProfileStoreError as exc:
        raise UsageError(f"--outbox {_printable(args.outbox)}: {_printable(str(exc))}") from None
    _, smart = demo.smart_station_router(versions[0], store=store, router=router)
    if smart.profiles.profiles:
        print(f"smart charging: {len(smart.profiles.profiles)} charging profile(s) from an earlier run")
    if station.outbox.core.restored:
        print(f"outbox: {station.outbox.core.restored} message(s) from an earlier run, sent after the boot")
    station.outbox.on_response = lambda entry, response: print(
        f"outbox: {entry.action} of an earlier run delivered", flush=True
    )

    async def main() -> int:
        await station.start()
        smart.refresh()  # the limits of the profiles of an earlier run, and the timer to their next change
        try:
            session = await station.wait_connected(args.connect_timeout)
        except asyncio.TimeoutError:
            print(
                f"ocppkit station: could not connect to {_printable(args.url)}: {_one_line(station.last_error)}",
                file=sys.stderr,
            )
            await station.close()
            return 1
        try:
            problems = await demo.run_station_session(
                station, session.version, reconnect_timeout=args.connect_timeout, on_note=print
            )
            try:
                await asyncio.wait_for(station.outbox.drained(), args.connect_timeout)
            except asyncio.TimeoutError:
                problems.append(f"{station.outbox.pending()} outbox message(s) still waiting; kept for the next run")
        finally:
            await smart.close()
            await station.close()
            smart.profiles.store.close()
        return _report(problems)

    return run_on_loop(main(), args.loop)


def add_station_parser(sub: Any, fmt: Any) -> None:
    """Add the subcommand to ``sub`` (argparse subparsers)."""
    station = sub.add_parser(
        "station",
        help="a simulated station running a whole session against a CSMS",
        description="Connect a simulated charging station to a CSMS and run a whole session: boot, status, "
        "authorize, a transaction with meter values, stop. Every frame is printed. When the connection drops "
        "the station reconnects and carries on over the new connection, sending an unanswered call again. "
        "Exit status 0 when every answer was as expected, 1 otherwise or when it cannot connect.",
        formatter_class=fmt,
    )
    station.add_argument("--url", required=True, help="ws://host:port/<identity> or wss://...")
    station.add_argument(
        "--version",
        action="append",
        choices=VERSIONS,
        help=f"an OCPP version to offer, preferred first (repeatable; default: {_DEFAULT_VERSION})",
    )
    station.add_argument(
        "--security-profile",
        type=int,
        choices=[0, 1, 2, 3],
        help="OCPP security profile (default: from the URL and options: wss:// with --certfile 3, "
        "wss:// 2, ws:// with --password 1, else 0)",
    )
    station.add_argument("--password", help="profiles 1 and 2: the HTTP Basic password")
    station.add_argument(
        "--password-encoding",
        default="text",
        choices=["text", "hex-bytes"],
        help="1.6 AuthorizationKey: send the text as is, or the bytes its hex digits spell (default: %(default)s)",
    )
    station.add_argument("--cafile", help="wss: the CA of the CSMS certificate (default: the system's CAs)")
    station.add_argument("--certfile", help="profile 3: the station certificate (PEM)")
    station.add_argument("--keyfile", help="profile 3: its private key (PEM; default: in --certfile)")
    station.add_argument(
        "--connect-timeout",
        type=_positive,
        default=15.0,
        metavar="SECONDS",
        help="how long to wait for a connection, first or after a drop (default: %(default)s)",
    )
    station.add_argument(
        "--outbox",
        metavar="FILE",
        help="keep transaction messages in this sqlite file until the CSMS has them, across crashes and "
        "restarts, and the charging profiles the CSMS set (default: in memory, across reconnects)",
    )
    station.add_argument(
        "--retry-interval",
        type=_seconds_or_off,
        default=60.0,
        metavar="SECONDS",
        help="transaction messages the CSMS refused are sent again after this many seconds times the "
        "attempts so far, 3 attempts in all (default: %(default)g)",
    )
    station.add_argument("--full-frames", action="store_true", help=_FULL_FRAMES)
    add_loop_option(station)
    add_transport_option(station)
