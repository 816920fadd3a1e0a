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
import sys

import msgspec

from . import Codec, OcppError, __version__
from ._cli_common import (
    _DEFAULT_VERSION,
    _FULL_FRAMES,
    UsageError,
    _need_websockets,
    _one_of,
    _printable,
    _printer,
    _report,
    add_loop_option,
    loop_name,
    run_on_loop,
)
from ._cli_serve import _serve, add_serve_parser
from ._cli_station import _station, add_station_parser
from .codec import IMPLEMENTATION
from .edition import VERSIONS
from .frames import CallResult


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


def _demo(args: argparse.Namespace) -> int:
    demo, ws = _need_websockets()
    from .adapters.devicemodel import bind_station

    async def main() -> int:
        printer = _printer(demo, "station", args)
        smart = demo.SmartChargingDemo(args.version)  # the CSMS sets a profile after the boot, and reads it
        # 2.x: after the boot the CSMS also asks for a base report and sets a variable
        router_csms = demo.csms_router(args.version, smart, device_model=True, on_note=print)
        csms = ws.CSMSServer(router_csms, versions=[args.version], ping_interval=None)
        await csms.start("127.0.0.1", 0)
        where = f"ws://127.0.0.1:{csms.port}/"
        print(f"CSMS listening on {where} (OCPP {args.version}, codec: {IMPLEMENTATION}, loop: {loop_name()})")
        router, station_smart = demo.smart_station_router(args.version)
        station = ws.ChargingStation(
            f"ws://127.0.0.1:{csms.port}/DEMO-CS-001",
            router,
            versions=[args.version],
            on_frame=printer,
            ping_interval=None,
        )
        bind_station(station, demo.demo_device_model(args.version))  # GetBaseReport, Get/SetVariables, 1.6 keys
        try:
            async with station:
                problems = await demo.run_station_session(station, args.version, on_note=print)
                problems += await smart.wait(10.0)
                await station_smart.close()
        finally:
            await csms.close()
        return _report(problems)

    return run_on_loop(main(), args.loop)


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
    add_loop_option(demo)

    add_serve_parser(sub, fmt)
    add_station_parser(sub, fmt)

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
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.argv = list(argv)  # serve --workers starts its workers with the same options
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
