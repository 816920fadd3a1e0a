"""What the ``ocppkit`` subcommands share: the usage error, escaping for the terminal, the frame
printer, stop signals, the option types (each checked value says what it expected), and the
event loop a command runs on (``--loop asyncio|uvloop``)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .edition import VERSIONS

_NEWEST_FIRST = list(reversed(VERSIONS))
T = TypeVar("T")


_DEFAULT_VERSION = "2.0.1"  # of demo, station and decode when no --version is given


class UsageError(Exception):
    """A wrong option or environment problem: ``ocppkit <command>: <message>``, exit status 2."""


def _printable(text: str) -> str:
    from .adapters.demo import printable  # no websockets needed for this one

    return printable(text)


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


def _one_line(exc: BaseException | None) -> str:
    """An exception as one printable line (an OSError without its ``[Errno N]`` prefix)."""
    if exc is None:
        return "no attempt has finished yet"
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return _printable(" ".join(text.split()) or type(exc).__name__)


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


#: the event loops ``--loop`` offers: asyncio's own, and uvloop's (libuv; ``ocppkit[uvloop]``)
LOOPS = ("asyncio", "uvloop")


def add_loop_option(parser: argparse.ArgumentParser) -> None:
    """``--loop asyncio|uvloop`` on a subcommand's parser."""
    parser.add_argument(
        "--loop",
        choices=LOOPS,
        default="asyncio",
        help="the event loop: asyncio's own (default) or uvloop's, faster at the socket and timer work "
        '(pip install "ocppkit[uvloop]"; Linux and macOS; docs/adapters.md, "uvloop")',
    )


def run_on_loop(main: Coroutine[Any, Any, T], loop: str = "asyncio") -> T:
    """Run ``main`` to its end on a new event loop of kind ``loop`` (one of :data:`LOOPS`), as
    ``asyncio.run`` does: the remaining tasks are cancelled and the loop closed afterwards.

    Raises:
        UsageError: ``loop`` is unknown, or ``"uvloop"`` without uvloop installed (``main`` is
            then closed, never run).
    """
    if loop == "asyncio":
        return asyncio.run(main)
    if loop != "uvloop":
        main.close()
        raise UsageError(f"--loop: expected one of {', '.join(LOOPS)}, got {_printable(loop)}")
    try:
        import uvloop
    except ImportError:
        main.close()
        raise UsageError(
            '--loop uvloop needs the uvloop extra: pip install "ocppkit[uvloop]" (not available on Windows)'
        ) from None
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(main)
    return uvloop.run(main)  # Python 3.10: uvloop's own runner (asyncio.Runner is 3.11+)


def loop_name() -> str:
    """The kind of the running event loop, as ``--loop`` names it (``"asyncio"``, ``"uvloop"``),
    or its class's module for another loop."""
    module = type(asyncio.get_running_loop()).__module__
    return "uvloop" if module.split(".")[0] == "uvloop" else "asyncio" if module.startswith("asyncio") else module
