"""The tests' line reader (``tests.adapters.aio.wait_for_line``): lines that reach the pipe in
one read are each found, one call after another, and ``communicate`` still returns what the
reader took past the line it returned. It used to select on the pipe after a buffered
``readline``, which never saw the lines already read into the buffer: two ``serve --workers``
lines written together were waited for until the time ran out (the CI failure of stop 21)."""

from __future__ import annotations

import subprocess
import sys

from tests.adapters.aio import CLIProcess, wait_for_line

ONE_WRITE = "import os, time; os.write(1, b'first\\nsecond\\nthird\\nfourth\\n'); time.sleep(30)"


def test_lines_written_in_one_write_are_each_found_in_turn() -> None:
    proc = CLIProcess([sys.executable, "-c", ONE_WRITE], stdout=subprocess.PIPE, text=True)
    try:
        assert wait_for_line(proc, "first", timeout=10) == "first\n"
        assert wait_for_line(proc, "second", timeout=2) == "second\n"  # already read: no wait for the pipe
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out == "third\nfourth\n"  # what the reader took with "second" is not lost


def test_the_output_ending_without_the_line_is_an_error_in_time() -> None:
    proc = CLIProcess([sys.executable, "-c", "print('only', end='')"], stdout=subprocess.PIPE, text=True)
    try:
        wait_for_line(proc, "never", timeout=10)
    except AssertionError as exc:
        assert "'never' not seen" in str(exc)
    else:
        raise AssertionError("a line that never came was found")
    finally:
        proc.communicate(timeout=10)  # closes the pipe
