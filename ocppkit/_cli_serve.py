"""``ocppkit serve``: a small CSMS that accepts stations, answers them and prints every frame."""

from __future__ import annotations

import argparse
import asyncio
import hmac
import os
import signal
import socket
import subprocess
import sys
import urllib.parse
from typing import Any

from ._cli_common import (
    _FULL_FRAMES,
    _NEWEST_FIRST,
    UsageError,
    _at_least_one,
    _count,
    _existing_files,
    _need_websockets,
    _on_stop_signals,
    _one_line,
    _one_of,
    _option,
    _port,
    _positive,
    _prefix,
    _printable,
    _printer,
    _rate,
    _seconds_or_off,
    add_loop_option,
    run_on_loop,
)
from .edition import VERSIONS


def _transport(args: argparse.Namespace, ws: Any) -> Any:
    """The adapter module of ``--transport``: ``ws`` (websockets) or ocppkit.adapters.picows."""
    if getattr(args, "transport", "websockets") != "picows":
        return ws
    try:
        from .adapters import picows
    except ImportError:
        raise UsageError('--transport picows needs the picows extra: pip install "ocppkit[picows]"') from None
    return picows


def add_transport_option(parser: Any) -> None:
    """``--transport websockets|picows`` (serve and station)."""
    parser.add_argument(
        "--transport",
        choices=["websockets", "picows"],
        default="websockets",
        help="the WebSocket library: websockets, or picows (faster; needs the picows extra) (default: %(default)s)",
    )


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
    if args.cluster is None and (args.node is not None or args.publish):
        raise UsageError("--node and --publish are for --cluster")
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


def _cluster_node(args: argparse.Namespace) -> Any:
    """The ``ocppkit.cluster.Node`` of ``--cluster``, or None."""
    if args.cluster is None:
        return None
    try:
        from .cluster import Node
    except ImportError:
        raise UsageError('--cluster needs the cluster extra: pip install "ocppkit[cluster]"') from None
    publish: Any = "all" if "all" in (args.publish or ()) else tuple(args.publish or ())
    try:
        return Node(args.cluster, node=args.node, presence_ttl=args.presence_ttl, publish=publish)
    except ValueError as exc:
        raise UsageError(_printable(str(exc))) from None


def _where(url: str) -> str:
    """A Redis URL without its password, for the terminal."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _serve(args: argparse.Namespace) -> int:
    _serve_checks(args)
    if args.workers > 1:
        return _run_workers(args)
    if args.cluster is not None and args.node is None:
        args.node = socket.gethostname()
    demo, ws = _need_websockets()
    versions = args.version or _NEWEST_FIRST
    ssl_context = _ssl_server(args)

    def authenticate(hs: Any) -> bool:
        if args.security_profile in (1, 2):  # constant time: the comparison leaks no prefix length
            return hs.password_bytes is not None and hmac.compare_digest(hs.password_bytes, args.password.encode())
        return True

    async def main() -> None:
        printer = None if args.quiet else _printer(demo, "csms", args)
        csms = _transport(args, ws).CSMSServer(
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
            reuse_port=args.reuse_port,
            receive_buffer=args.receive_buffer or None,
            node=args.node,
            cluster=_cluster_node(args),
        )
        try:
            await csms.start(args.host, args.port)
        except OSError as exc:
            raise UsageError(f"cannot listen on {_printable(args.host)}:{args.port}: {_one_line(exc)}") from None
        except Exception as exc:  # the cluster: Redis unreachable at start
            raise UsageError(f"cannot join the cluster at {_where(args.cluster)}: {_one_line(exc)}") from None
        stop = asyncio.Event()
        _on_stop_signals(stop.set)
        scheme = "wss" if args.security_profile >= 2 else "ws"
        _say(
            f"CSMS listening on {scheme}://{args.host}:{csms.port}{args.path_prefix}<identity>"
            f" (OCPP {', '.join(versions)}"
            + ("; picows" if args.transport == "picows" else "")
            + (f"; node {_printable(args.node)} of the cluster at {_where(args.cluster)}" if args.cluster else "")
            + (f"; worker pid {os.getpid()}" if args.reuse_port else "")
            + ")"
        )
        try:
            await stop.wait()
        finally:
            stations = len(csms.sessions)
            _say(f"closing: {stations} station(s) connected")
            await csms.close()
        _say(f"CSMS closed properly ({stations} connection(s) closed with 1001 going away)")

    try:
        run_on_loop(main(), args.loop)
    except KeyboardInterrupt:  # where signal handlers are not available
        pass
    return 0


def _say(line: str) -> None:
    """Print a line in one write (``print`` writes the end separately, and unbuffered, as under
    ``PYTHONUNBUFFERED``, that is two): the workers of ``--workers`` share one stdout, and a
    write of one short line to a pipe is never split by another process's."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


_receive_buffer = _option(int, lambda v: v == 0 or v >= 1024, "a number of bytes", "0 or at least 1024 bytes")


def _worker_argv(argv: list[str], index: int, node: str | None) -> list[str]:
    """The command line of worker ``index``: ours without ``--workers`` and ``--node``, with
    ``--reuse-port`` and, in a cluster, the worker's own node name (``NAME-index``, the same at
    every restart, so that a restarted worker answers the calls left for it)."""
    out: list[str] = []
    skip = False
    for token in argv:
        if skip:
            skip = False
            continue
        name = token.split("=", 1)[0]
        if name in ("--workers", "--node"):
            skip = "=" not in token
            continue
        out.append(token)
    out.append("--reuse-port")
    if node is not None:
        out += ["--node", f"{node}-{index}"]
    return out


def _run_workers(args: argparse.Namespace) -> int:
    """``--workers N``: N serving processes on one port (SO_REUSEPORT), stopped together."""
    if args.port == 0:
        raise UsageError("--workers needs a fixed --port (the workers share it)")
    if not hasattr(socket, "SO_REUSEPORT"):
        raise UsageError("--workers needs SO_REUSEPORT, which this platform lacks")
    node = (args.node or socket.gethostname()) if args.cluster else None
    argv = [a for a in args.argv if a != "serve"]
    procs = [
        subprocess.Popen([sys.executable, "-m", "ocppkit", "serve", *_worker_argv(argv, i, node)])
        for i in range(1, args.workers + 1)
    ]
    _say(f"ocppkit serve: {args.workers} workers on port {args.port} (pids {', '.join(str(p.pid) for p in procs)})")

    def forward(signum: int, frame: Any) -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    codes = [proc.wait() for proc in procs]
    return max(codes, key=abs)


def add_serve_parser(sub: Any, fmt: Any) -> None:
    """Add the subcommand to ``sub`` (argparse subparsers)."""
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
        "--quiet",
        action="store_true",
        help="do not print the frames (printing costs more CPU per call than serving them)",
    )
    serve.add_argument(
        "--receive-buffer",
        type=_receive_buffer,
        default=16384,
        metavar="BYTES",
        help="socket receive buffer per station: bounds what one flooding connection hands the server per read "
        "(default: %(default)s; 0: the system's)",
    )
    serve.add_argument(
        "--workers",
        type=_at_least_one,
        default=1,
        metavar="N",
        help="serve from N processes sharing the port (SO_REUSEPORT), so that the CSMS uses every core "
        "(default: %(default)s)",
    )
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)  # a worker of --workers
    serve.add_argument(
        "--cluster",
        metavar="REDIS_URL",
        help="join the cluster on this Redis (redis://host:port/db): stations are reachable from every node "
        'and from ocppkit.cluster.Client (needs pip install "ocppkit[cluster]")',
    )
    serve.add_argument(
        "--node",
        help="this node's name in the cluster (default: the host name; with --workers N, NAME-1 ... NAME-N)",
    )
    serve.add_argument(
        "--presence-ttl",
        type=_positive,
        default=10.0,
        metavar="SECONDS",
        help="with --cluster: how long a station stays registered after its node stops refreshing it "
        "(default: %(default)g)",
    )
    serve.add_argument(
        "--publish",
        action="append",
        metavar="ACTION",
        help="with --cluster: publish what stations send of this action to the cluster's message stream "
        "(repeatable; 'all' for every action)",
    )
    serve.add_argument(
        "--organization",
        help="profile 3: the organisation (O) every station certificate must name; its CN must be the identity",
    )
    serve.add_argument("--full-frames", action="store_true", help=_FULL_FRAMES)
    add_loop_option(serve)
    add_transport_option(serve)
