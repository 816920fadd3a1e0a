"""``ocppkit serve --workers N``: the workers share one stdout, and each line they print is
whole (one write per line): with PYTHONUNBUFFERED, as the tests run it, ``print`` wrote the
text and its end apart and two workers' lines could run together."""

from __future__ import annotations

import re
import signal

from tests.adapters.aio import free_port, spawn_cli, wait_for_line

LINE = re.compile(
    r"ocppkit serve: 4 workers on port \d+ \(pids [\d, ]+\)"
    r"|CSMS listening on ws://127\.0\.0\.1:\d+/<identity> \(OCPP 2\.0\.1; worker pid \d+\)"
    r"|closing: 0 station\(s\) connected"
    r"|CSMS closed properly \(0 connection\(s\) closed with 1001 going away\)"
)


def test_every_line_the_workers_print_is_whole() -> None:
    port = free_port()
    serve = spawn_cli("serve", "--port", str(port), "--workers", "4", "--version", "2.0.1", "--quiet")
    try:
        wait_for_line(serve, "4 workers on port")
        for _ in range(4):  # four workers start at once: their lines race for the pipe
            wait_for_line(serve, "CSMS listening")
        serve.send_signal(signal.SIGTERM)  # forwarded to every worker: they close at once too
        out, _ = serve.communicate(timeout=30)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
    lines = out.splitlines()
    assert len(lines) == 8, out  # each worker's closing and closed lines
    assert all(LINE.fullmatch(line) for line in lines), out
    assert serve.returncode == 0
