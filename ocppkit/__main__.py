"""The ``ocppkit`` command line.

ocppkit demo    [--version 1.6|2.0.1|2.1]       a CSMS and a simulated station over loopback
ocppkit serve   [--host H] [--port P] [--version V ...] [--security-profile N ...]
ocppkit station --url ws://127.0.0.1:9000/CS001 [--version V ...] [--password ...]
ocppkit decode  [--version V] [--action A] [FRAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from . import Codec, OcppError, __version__
from .codec import IMPLEMENTATION

VERSIONS = ["1.6", "2.0.1", "2.1"]


def _decode(args: argparse.Namespace) -> int:
    codec = Codec(args.version)
    frames = args.frames or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    bad = 0
    for text in frames:
        try:
            frame = codec.decode(text, args.action) if args.action else codec.decode(text)
        except OcppError as exc:
            bad += 1
            print(f"invalid: {exc.code}: {exc.description}")
            silent = "(none: the specification says to stay silent)"
            print(f"  reply: {exc.reply.decode() if exc.reply is not None else silent}")
        else:
            print(f"ok: {frame!r}")
    return 1 if bad else 0


def _need_websockets() -> Any:
    try:
        from .adapters import demo, websockets
    except ImportError:
        print('ocppkit: this command needs the websockets extra: pip install "ocppkit[websockets]"', file=sys.stderr)
        raise SystemExit(2) from None
    return demo, websockets


def _demo(args: argparse.Namespace) -> int:
    demo, ws = _need_websockets()

    async def main() -> int:
        printer = demo.FramePrinter("station")
        csms = ws.CSMSServer(demo.csms_router(args.version), versions=[args.version], ping_interval=None)
        await csms.start("127.0.0.1", 0)
        print(f"CSMS listening on ws://127.0.0.1:{csms.port}/ (OCPP {args.version}, codec: {IMPLEMENTATION})")
        try:
            async with ws.ChargingStation(
                f"ws://127.0.0.1:{csms.port}/DEMO-CS-001", versions=[args.version], on_frame=printer, ping_interval=None
            ) as station:
                session = await station.wait_connected(10)
                problems = await demo.run_station_session(session, args.version)
        finally:
            await csms.close()
        for p in problems:
            print("problem:", p)
        print("session completed as expected" if not problems else f"{len(problems)} problem(s)")
        return 0 if not problems else 1

    return asyncio.run(main())


def _ssl_server(args: argparse.Namespace) -> Any:
    import ssl

    if args.security_profile < 2:
        return None
    if not (args.certfile and args.keyfile):
        raise SystemExit("ocppkit serve: security profiles 2 and 3 need --certfile and --keyfile")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.certfile, args.keyfile)
    if args.security_profile == 3:
        if not args.cafile:
            raise SystemExit("ocppkit serve: security profile 3 needs --cafile (the CA of station certificates)")
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(args.cafile)
    return ctx


def _serve(args: argparse.Namespace) -> int:
    demo, ws = _need_websockets()
    versions = args.version or ["2.1", "2.0.1", "1.6"]

    def authenticate(hs: Any) -> bool:
        if args.security_profile in (1, 2):
            return args.password is not None and hs.password == args.password
        return True

    async def main() -> None:
        printer = demo.FramePrinter("csms")
        csms = ws.CSMSServer(
            {v: demo.csms_router(v) for v in versions},
            versions=versions,
            security_profile=args.security_profile,
            authenticate=authenticate if args.security_profile else None,
            ssl_context=_ssl_server(args),
            on_frame=printer,
        )
        await csms.start(args.host, args.port)
        scheme = "wss" if args.security_profile >= 2 else "ws"
        print(
            f"CSMS listening on {scheme}://{args.host}:{csms.port}/<identity> (OCPP {', '.join(versions)})", flush=True
        )
        try:
            await asyncio.Event().wait()
        finally:
            await csms.close()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    return 0


def _station(args: argparse.Namespace) -> int:
    import ssl

    demo, ws = _need_websockets()
    versions = args.version or ["2.0.1"]
    ctx = None
    if args.url.startswith("wss://"):
        ctx = ssl.create_default_context(cafile=args.cafile)
        if args.certfile:
            ctx.load_cert_chain(args.certfile, args.keyfile)
    profile = (
        args.security_profile
        if args.security_profile is not None
        else ((3 if args.certfile else 2 if args.password else 0) if ctx else (1 if args.password else 0))
    )

    async def main() -> int:
        printer = demo.FramePrinter("station")
        station = ws.ChargingStation(
            args.url,
            versions=versions,
            security_profile=profile,
            password=args.password,
            password_encoding=args.password_encoding,
            ssl_context=ctx,
            on_frame=printer,
            reconnect=ws.RetryBackOff(wait_minimum=0.5, random_range=0.5, repeat_times=3),
        )
        await station.start()
        try:
            session = await station.wait_connected(args.connect_timeout)
        except asyncio.TimeoutError:
            print(f"could not connect to {args.url}: {station.last_error}", file=sys.stderr)
            await station.close()
            return 1
        problems = await demo.run_station_session(session, session.version)
        await station.close()
        for p in problems:
            print("problem:", p)
        print("session completed as expected" if not problems else f"{len(problems)} problem(s)")
        return 0 if not problems else 1

    return asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ocppkit", description="Typed, validated OCPP 1.6, 2.0.1 and 2.1.")
    parser.add_argument("-V", action="version", version=f"ocppkit {__version__} (codec: {IMPLEMENTATION})")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="a CSMS and a simulated station talking over a loopback WebSocket")
    demo.add_argument("--version", default="2.0.1", choices=VERSIONS, help="OCPP version (default 2.0.1)")

    serve = sub.add_parser("serve", help="a small CSMS that accepts stations and logs frames")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=9000)
    serve.add_argument("--version", action="append", choices=VERSIONS, help="versions to accept (repeatable)")
    serve.add_argument("--security-profile", type=int, default=0, choices=[0, 1, 2, 3])
    serve.add_argument("--password", help="profiles 1 and 2: the Basic-auth password every station must use")
    serve.add_argument("--certfile", help="profiles 2 and 3: the server certificate (PEM)")
    serve.add_argument("--keyfile", help="profiles 2 and 3: its private key (PEM)")
    serve.add_argument("--cafile", help="profile 3: the CA that signs station certificates (PEM)")

    station = sub.add_parser("station", help="a simulated station running a whole session against a CSMS")
    station.add_argument("--url", required=True, help="ws://host:port/<identity> or wss://...")
    station.add_argument("--version", action="append", choices=VERSIONS, help="versions to offer, preferred first")
    station.add_argument("--security-profile", type=int, choices=[0, 1, 2, 3])
    station.add_argument("--password")
    station.add_argument(
        "--password-encoding",
        default="text",
        choices=["text", "hex-bytes"],
        help="1.6 AuthorizationKey: send the text as is, or the bytes its hex digits spell",
    )
    station.add_argument("--cafile", help="wss: the CA of the CSMS certificate")
    station.add_argument("--certfile", help="profile 3: the station certificate (PEM)")
    station.add_argument("--keyfile", help="profile 3: its private key (PEM)")
    station.add_argument("--connect-timeout", type=float, default=15.0)

    dec = sub.add_parser("decode", help="validate OCPP-J frames and show the reply an invalid one gets")
    dec.add_argument("--version", default="2.0.1", choices=VERSIONS, help="OCPP version")
    dec.add_argument("--action", help="type CALLRESULT payloads as this action's response")
    dec.add_argument("frames", nargs="*", help="frames (default: one per line on standard input)")

    from .check.cli import add_parser as add_check

    add_check(sub)

    args = parser.parse_args(argv)
    if args.command == "check":
        return int(args.func(args))
    run = {"demo": _demo, "serve": _serve, "station": _station, "decode": _decode}[args.command]
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
