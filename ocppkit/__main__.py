"""The ``ocppkit`` command line.

ocppkit demo    [--version 1.6|2.0.1|2.1]       a CSMS and a simulated station over loopback
ocppkit serve   [--host H] [--port P] [--version V ...] [--security-profile N ...]
ocppkit station --url ws://127.0.0.1:9000/CS001 [--version V ...] [--password ...]
ocppkit decode  [--version V] [--action A] [FRAME ...]
ocppkit check   FILE ...                         (see ocppkit/check/cli.py)

A wrong option or an environment problem found before the work starts (a URL without a
station identity, a port already in use, a missing certificate file, a security profile
without its password) is one line on standard error, ``ocppkit <command>: <what is wrong>``,
and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import os
import signal
import sys
import urllib.parse
from collections.abc import Callable
from typing import Any

import msgspec

from . import Codec, OcppError, __version__
from .codec import IMPLEMENTATION
from .edition import VERSIONS
from .frames import CallResult

_NEWEST_FIRST = list(reversed(VERSIONS))
_DEFAULT_VERSION = "2.0.1"  # of demo, station and decode when no --version is given


class UsageError(Exception):
    """A wrong option or environment problem: ``ocppkit <command>: <message>``, exit status 2."""


def _printable(text: str) -> str:
    from .adapters.demo import printable  # no websockets needed for this one

    return printable(text)


def _decode(args: argparse.Namespace) -> int:
    version = args.version or _DEFAULT_VERSION
    if args.version:
        print(f"OCPP {version}")
    else:
        print(f"OCPP {version} (assumed: the default; choose with --version {_one_of(VERSIONS, 'or')})")
    codec = Codec(version)
    frames = args.frames or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    bad = 0
    for text in frames:
        try:
            frame = codec.decode(text, args.action) if args.action else codec.decode(text)
        except OcppError as exc:
            bad += 1
            print(f"invalid: {exc.code}: {_printable(exc.description)}")
            silent = "(none: the specification says to stay silent)"
            print(f"  reply: {_printable(exc.reply.decode()) if exc.reply is not None else silent}")
            continue
        if isinstance(frame, CallResult) and isinstance(frame.payload, msgspec.Raw):
            raw = bytes(frame.payload).decode("utf-8", "replace")
            print(f"unchecked: CallResult(unique_id={frame.unique_id!r}, payload={_printable(raw)})")
            print(
                "  not validated: a CALLRESULT does not name its action; pass --action <Action> "
                "(e.g. --action BootNotification) to check its payload"
            )
        else:
            print(f"ok: {frame!r}")
    return 1 if bad else 0


def _one_of(versions: list[str] | tuple[str, ...], last: str) -> str:
    """``1.6, 2.0.1 or 2.1``."""
    return f"{', '.join(versions[:-1])} {last} {versions[-1]}" if len(versions) > 1 else versions[0]


def _need_websockets() -> Any:
    try:
        from .adapters import demo, websockets
    except ImportError:
        raise UsageError('this command needs the websockets extra: pip install "ocppkit[websockets]"') from None
    return demo, websockets


def _printer(demo: Any, side: str, args: argparse.Namespace) -> Any:
    return demo.FramePrinter(side, width=None if args.full_frames else 160)


def _on_stop_signals(callback: Callable[[], None]) -> None:
    """SIGTERM and SIGINT (Ctrl-C) call ``callback`` (where the loop supports signal handlers)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, callback)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows; Ctrl-C still interrupts
            pass


def _demo(args: argparse.Namespace) -> int:
    demo, ws = _need_websockets()

    async def main() -> int:
        printer = _printer(demo, "station", args)
        csms = ws.CSMSServer(demo.csms_router(args.version), versions=[args.version], ping_interval=None)
        await csms.start("127.0.0.1", 0)
        print(f"CSMS listening on ws://127.0.0.1:{csms.port}/ (OCPP {args.version}, codec: {IMPLEMENTATION})")
        try:
            async with ws.ChargingStation(
                f"ws://127.0.0.1:{csms.port}/DEMO-CS-001", versions=[args.version], on_frame=printer, ping_interval=None
            ) as station:
                problems = await demo.run_station_session(station, args.version, on_note=print)
        finally:
            await csms.close()
        return _report(problems)

    return asyncio.run(main())


def _report(problems: list[str]) -> int:
    for p in problems:
        print("problem:", p)
    print("session completed as expected" if not problems else f"{len(problems)} problem(s)")
    return 0 if not problems else 1


def _existing_files(args: argparse.Namespace, *names: str) -> None:
    for name in names:
        path = getattr(args, name)
        if path is not None and not os.path.isfile(path):
            what = "no such file" if not os.path.exists(path) else "not a file"
            raise UsageError(f"--{name} {_printable(path)}: {what}")


def _serve_checks(args: argparse.Namespace) -> None:
    profile = args.security_profile
    if profile in (1, 2) and not args.password:
        raise UsageError(
            f"security profile {profile} needs --password (the HTTP Basic password every station must send)"
        )
    if profile not in (1, 2) and args.password is not None:
        raise UsageError(f"--password is for security profiles 1 and 2 (HTTP Basic), not {profile}")
    if profile >= 2 and not args.certfile:
        raise UsageError(f"security profile {profile} (TLS) needs --certfile (and --keyfile unless it holds the key)")
    if profile < 2 and (args.certfile or args.keyfile):
        raise UsageError(f"--certfile and --keyfile are for security profiles 2 and 3 (TLS), not {profile}")
    if profile == 3 and not args.cafile:
        raise UsageError("security profile 3 needs --cafile (the CA that signs station certificates)")
    if profile < 3 and args.organization is not None:
        raise UsageError(f"--organization is for security profile 3 (station certificates), not {profile}")
    if profile < 3 and args.cafile:
        raise UsageError(f"--cafile is for security profile 3 (station certificates), not {profile}")
    _existing_files(args, "certfile", "keyfile", "cafile")


def _ssl_server(args: argparse.Namespace) -> Any:
    import ssl

    if args.security_profile < 2:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(args.certfile, args.keyfile)
    except (ssl.SSLError, OSError) as exc:
        raise UsageError(f"cannot load --certfile/--keyfile: {_one_line(exc)}") from None
    if args.security_profile == 3:
        ctx.verify_mode = ssl.CERT_REQUIRED
        try:
            ctx.load_verify_locations(args.cafile)
        except (ssl.SSLError, OSError) as exc:
            raise UsageError(f"cannot load --cafile {_printable(args.cafile)}: {_one_line(exc)}") from None
    return ctx


def _one_line(exc: BaseException | None) -> str:
    """An exception as one printable line (an OSError without its ``[Errno N]`` prefix)."""
    if exc is None:
        return "no attempt has finished yet"
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return _printable(" ".join(text.split()) or type(exc).__name__)


def _serve(args: argparse.Namespace) -> int:
    _serve_checks(args)
    demo, ws = _need_websockets()
    versions = args.version or _NEWEST_FIRST
    ssl_context = _ssl_server(args)

    def authenticate(hs: Any) -> bool:
        if args.security_profile in (1, 2):  # constant time: the comparison leaks no prefix length
            return hs.password_bytes is not None and hmac.compare_digest(hs.password_bytes, args.password.encode())
        return True

    async def main() -> None:
        printer = _printer(demo, "csms", args)
        csms = ws.CSMSServer(
            {v: demo.csms_router(v) for v in versions},
            versions=versions,
            security_profile=args.security_profile,
            authenticate=authenticate if args.security_profile else None,
            ssl_context=ssl_context,
            organization=args.organization,
            on_frame=printer,
            max_call_rate=args.max_call_rate,
            max_call_burst=args.max_call_burst,
            max_excess_calls=args.max_excess_calls,
            path_prefix=args.path_prefix,
            duplicates=args.duplicates,
            max_replacements=args.max_replacements,
            send_timeout=args.send_timeout or None,
            backlog=args.backlog,
        )
        try:
            await csms.start(args.host, args.port)
        except OSError as exc:
            raise UsageError(f"cannot listen on {_printable(args.host)}:{args.port}: {_one_line(exc)}") from None
        stop = asyncio.Event()
        _on_stop_signals(stop.set)
        scheme = "wss" if args.security_profile >= 2 else "ws"
        print(
            f"CSMS listening on {scheme}://{args.host}:{csms.port}{args.path_prefix}<identity>"
            f" (OCPP {', '.join(versions)})",
            flush=True,
        )
        try:
            await stop.wait()
        finally:
            stations = len(csms.sessions)
            print(f"closing: {stations} station(s) connected", flush=True)
            await csms.close()
        print(f"CSMS closed properly ({stations} connection(s) closed with 1001 going away)", flush=True)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # where signal handlers are not available
        pass
    return 0


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

    try:
        station = ws.ChargingStation(
            args.url,
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
    if station.outbox.core.restored:
        print(f"outbox: {station.outbox.core.restored} message(s) from an earlier run, sent after the boot")
    station.outbox.on_response = lambda entry, response: print(
        f"outbox: {entry.action} of an earlier run delivered", flush=True
    )

    async def main() -> int:
        await station.start()
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
            await station.close()
        return _report(problems)

    return asyncio.run(main())


def _option(
    convert: Callable[[str], float], ok: Callable[[float], bool], kind: str, bound: str
) -> Callable[[str], Any]:
    """An argparse ``type=``: ``convert`` the text (else "expected <kind>"), then check ``ok``
    (else "expected <bound>")."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {bound}, got {text.strip()}")
        return value

    return parse


_port = _option(int, lambda v: 0 <= v <= 65535, "a TCP port number", "a TCP port from 0 to 65535")
_positive = _option(float, lambda v: v > 0, "a number of seconds", "more than 0 seconds")
_rate = _option(float, lambda v: 0 <= v < float("inf"), "calls per second", "calls per second >= 0 (0: no limit)")
_count = _option(int, lambda v: v >= 0, "a whole number", "a number >= 0 (0: no limit)")
_at_least_one = _option(int, lambda v: v >= 1, "a whole number", "a number >= 1")
_seconds_or_off = _option(float, lambda v: v >= 0, "a number of seconds", "seconds >= 0 (0: no limit)")


def _prefix(value: str) -> str:
    if not (value.startswith("/") and value.endswith("/")):
        raise argparse.ArgumentTypeError(f"must start and end with '/' (e.g. /ocpp/), got {_printable(value)}")
    return value


_FULL_FRAMES = "print every frame in full (by default payloads longer than 160 characters are cut)"


def build_parser() -> argparse.ArgumentParser:
    """The ``ocppkit`` argument parser (every subcommand)."""
    parser = argparse.ArgumentParser(prog="ocppkit", description=f"Typed, validated OCPP {_one_of(VERSIONS, 'and')}.")
    parser.add_argument("-V", "--version", action="version", version=f"ocppkit {__version__} (codec: {IMPLEMENTATION})")
    sub = parser.add_subparsers(dest="command", required=True)
    fmt = argparse.RawDescriptionHelpFormatter

    demo = sub.add_parser(
        "demo",
        help="a CSMS and a simulated station talking over a loopback WebSocket",
        description="Start a CSMS and a simulated charging station in this process, on 127.0.0.1, and run a "
        "whole session between them: boot, status, authorize, a transaction with meter values, stop (and a "
        "SEND in 2.1). Every frame is printed with its direction and time. Exit status 0 when every answer "
        "was as expected.",
        formatter_class=fmt,
    )
    demo.add_argument(
        "--version", default=_DEFAULT_VERSION, choices=VERSIONS, help="OCPP version (default: %(default)s)"
    )
    demo.add_argument("--full-frames", action="store_true", help=_FULL_FRAMES)

    serve = sub.add_parser(
        "serve",
        help="a small CSMS that accepts stations and logs frames",
        description="Run a small CSMS: it accepts charging stations over WebSocket, answers every "
        "station-initiated message of their version sensibly (accepts boots and tokens, acknowledges "
        "transactions) and prints each frame. Stop it with Ctrl-C or SIGTERM: connected stations get a "
        "graceful close (1001 going away).",
        epilog="security profiles: 0 plain ws://; 1 ws:// with HTTP Basic (--password); 2 wss:// with HTTP Basic "
        "(--password, --certfile, --keyfile); 3 wss:// with station certificates (--certfile, --keyfile, --cafile).",
        formatter_class=fmt,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument("--port", type=_port, default=9000, help="TCP port, 0 for any free one (default: %(default)s)")
    serve.add_argument(
        "--version",
        action="append",
        choices=VERSIONS,
        help=f"an OCPP version to accept (repeatable; default: {_one_of(_NEWEST_FIRST, 'and')})",
    )
    serve.add_argument(
        "--security-profile", type=int, default=0, choices=[0, 1, 2, 3], help="OCPP security profile (default: 0)"
    )
    serve.add_argument("--password", help="profiles 1 and 2: the HTTP Basic password every station must send")
    serve.add_argument("--certfile", help="profiles 2 and 3: the server certificate (PEM)")
    serve.add_argument("--keyfile", help="profiles 2 and 3: its private key (PEM; default: in --certfile)")
    serve.add_argument("--cafile", help="profile 3: the CA that signs station certificates (PEM)")
    serve.add_argument(
        "--max-call-rate",
        type=_rate,
        default=20.0,
        metavar="CALLS_PER_S",
        help="calls a second each station may make on average; further ones are answered GenericError, and "
        "a station that keeps on is disconnected (1008) (default: %(default)g; 0: no limit)",
    )
    serve.add_argument(
        "--max-call-burst",
        type=_count,
        default=50,
        metavar="N",
        help="calls a station may make at once before --max-call-rate applies (default: %(default)s; 0: no limit)",
    )
    serve.add_argument(
        "--max-excess-calls",
        type=_count,
        default=100,
        metavar="N",
        help="calls refused by the rate limit after which a station is disconnected (1008) "
        "(default: %(default)s; 0: never)",
    )
    serve.add_argument(
        "--path-prefix",
        type=_prefix,
        default="/",
        metavar="PREFIX",
        help="the URL path before the identity, e.g. /ocpp/ (default: %(default)s)",
    )
    serve.add_argument(
        "--duplicates",
        choices=["replace", "reject"],
        default="replace",
        help="a second connection of a connected identity takes over, or is refused with HTTP 409 "
        "(default: %(default)s)",
    )
    serve.add_argument(
        "--max-replacements",
        type=_at_least_one,
        default=10,
        metavar="N",
        help="takeovers of one identity per minute; more are refused with HTTP 409 (default: %(default)s)",
    )
    serve.add_argument(
        "--send-timeout",
        type=_seconds_or_off,
        default=30.0,
        metavar="SECONDS",
        help="a station that reads nothing for this long while frames wait for it is disconnected "
        "(default: %(default)g; 0: no limit)",
    )
    serve.add_argument(
        "--backlog",
        type=_at_least_one,
        default=2048,
        metavar="N",
        help="the listen queue, for mass reconnects (default: %(default)s; capped by net.core.somaxconn)",
    )
    serve.add_argument(
        "--organization",
        help="profile 3: the organisation (O) every station certificate must name; its CN must be the identity",
    )
    serve.add_argument("--full-frames", action="store_true", help=_FULL_FRAMES)

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
        "restarts (default: in memory, across reconnects)",
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

    dec = sub.add_parser(
        "decode",
        help="validate OCPP-J frames and show the reply an invalid one gets",
        description="Decode and validate OCPP-J frames against the schemas of one OCPP version. A valid frame "
        "prints as the typed object; an invalid one prints the error and the CALLERROR the specification asks "
        "for. A CALLRESULT does not name its action: without --action its payload is shown but not validated.",
        formatter_class=fmt,
    )
    dec.add_argument(
        "--version", choices=VERSIONS, help=f"OCPP version (default: {_DEFAULT_VERSION}, said in the output)"
    )
    dec.add_argument("--action", help="validate CALLRESULT payloads as this action's response")
    dec.add_argument("frames", nargs="*", help="frames (default: one per line on standard input)")

    from .check.cli import add_parser as add_check

    add_check(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check":
        return int(args.func(args))
    run = {"demo": _demo, "serve": _serve, "station": _station, "decode": _decode}[args.command]
    try:
        return run(args)
    except UsageError as exc:
        print(f"ocppkit {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ocppkit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
