"""The ``ocppkit`` command line.

    ocppkit decode [--version 1.6|2.0.1|2.1] [--action ACTION] [FRAME ...]

``decode`` validates frames given as arguments (or one per line on standard input) and prints
each decoded frame, or the error and the reply the specification asks for. It exits 1 if
any frame was invalid.
"""

from __future__ import annotations

import argparse
import sys

from . import Codec, OcppError, __version__
from .codec import IMPLEMENTATION


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ocppkit", description="Typed, validated OCPP 1.6, 2.0.1 and 2.1.")
    parser.add_argument("-V", action="version", version=f"ocppkit {__version__} (codec: {IMPLEMENTATION})")
    sub = parser.add_subparsers(dest="command", required=True)
    dec = sub.add_parser("decode", help="validate OCPP-J frames and show the reply an invalid one gets")
    dec.add_argument("--version", default="2.0.1", choices=["1.6", "2.0.1", "2.1"], help="OCPP version")
    dec.add_argument("--action", help="type CALLRESULT payloads as this action's response")
    dec.add_argument("frames", nargs="*", help="frames (default: one per line on standard input)")
    args = parser.parse_args(argv)
    return _decode(args)


if __name__ == "__main__":
    sys.exit(main())
