"""Every code sample users read runs and is ``mypy --strict`` clean.

What is collected:

- every fenced block whose info string starts with ``python`` (or ``py``) in README.md,
  docs/*.md and codegen/README.md;
- every examples/*.py.

Each one is run on its own, in a fresh interpreter (``python -W error``, a temporary working
directory, a time limit), and must exit 0; all of them are type-checked with ``mypy --strict``.
So a snippet is a complete program: its imports, its inputs (build them in the snippet) and,
where it states a result, an ``assert`` rather than a comment, so that the result is checked.

Opting out of running (never of type checking): a block that cannot run on its own (it serves
stations until stopped, needs a live CSMS, credentials, a file of your own) is preceded by an
HTML comment giving the reason, on the line right above the fence (invisible once rendered)::

    <!-- not-run: needs a live CSMS -->
    ```python
    ...
    ```

An example file opts out the same way with a ``# not-run: <reason>`` line among its first ten
lines. A marker without a reason, or one that is not followed by a python block, fails the test.
Top-level ``await`` is not valid in a script: wrap asynchronous code in ``async def main()`` and
``asyncio.run(main())``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "codegen" / "README.md"]
EXAMPLES = sorted((REPO / "examples").glob("*.py"))
TIMEOUT = 120  # seconds per snippet or example; the machine may be shared

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")  # any indent: nested lists
_MARKER = re.compile(r"^\s*<!--\s*not-run:(?P<reason>.*?)-->\s*$")
_EXAMPLE_MARKER = re.compile(r"^#\s*not-run:(?P<reason>.*)$")


@dataclass(frozen=True)
class Sample:
    source: Path  # the markdown file or the example
    line: int  # 1-based line of the first line of code
    code: str
    run: bool
    reason: str = ""

    @property
    def name(self) -> str:
        rel = self.source.relative_to(REPO).as_posix()
        return rel if self.source.suffix == ".py" else f"{rel}:{self.line}"

    @property
    def module(self) -> str:
        """A unique, importable module name for the snippet's temporary file."""
        stem = re.sub(r"\W", "_", self.source.relative_to(REPO).with_suffix("").as_posix())
        return f"snippet_{stem}_L{self.line}"


def _markdown_samples(path: Path) -> list[Sample]:
    lines = path.read_text(encoding="utf-8").splitlines()
    samples: list[Sample] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            if _MARKER.match(lines[i]) and not (i + 1 < len(lines) and _is_python_fence(lines[i + 1])):
                raise AssertionError(f"{path}:{i + 1}: a not-run marker must be right above a ```python fence")
            i += 1
            continue
        fence, info = m.group("fence"), m.group("info").strip()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if end == len(lines):
            raise AssertionError(f"{path}:{i + 1}: unclosed code fence")
        lang = info.split()[0].lower() if info else ""
        if lang in ("python", "py", "python3"):
            marker = _MARKER.match(lines[i - 1]) if i else None
            reason = marker.group("reason").strip() if marker else ""
            if marker and not reason:
                raise AssertionError(f"{path}:{i}: a not-run marker needs a reason")
            indent = len(m.group("indent"))
            code = "\n".join(line[indent:] if line[:indent].strip() == "" else line for line in lines[i + 1 : end])
            samples.append(Sample(path, i + 2, code + "\n", run=marker is None, reason=reason))
        i = end + 1
    return samples


def _is_python_fence(line: str) -> bool:
    m = _FENCE.match(line)
    return m is not None and (m.group("info").strip().split() or [""])[0].lower() in ("python", "py", "python3")


def _example(path: Path) -> Sample:
    code = path.read_text(encoding="utf-8")
    reason = ""
    for line in code.splitlines()[:10]:
        m = _EXAMPLE_MARKER.match(line.strip())
        if m:
            reason = m.group("reason").strip()
            if not reason:
                raise AssertionError(f"{path}: a not-run marker needs a reason")
    return Sample(path, 1, code, run=not reason, reason=reason)


def _all_samples() -> list[Sample]:
    return [s for doc in DOCS if doc.exists() for s in _markdown_samples(doc)] + [_example(p) for p in EXAMPLES]


SAMPLES = _all_samples()


def test_samples_are_found() -> None:
    """The collector sees the known samples (a broken parser would make every test vacuous)."""
    names = {s.name for s in SAMPLES}
    assert "examples/quickstart.py" in names
    assert any(n.startswith("README.md:") for n in names)
    assert any(n.startswith("docs/index.md:") for n in names)
    assert sum(s.run for s in SAMPLES) >= 8, names
    for doc in DOCS:  # no python block is skipped by the parser
        opened = re.findall(r"^\s*(?:`{3,}|~{3,})\s*(?:python3?|py)\b", doc.read_text(encoding="utf-8"), re.M | re.I)
        assert len(opened) == sum(s.source == doc for s in SAMPLES), doc


def test_collector_reads_fences_and_markers(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# t\n\n```python\nx = 1\n```\n\n```sh\nls\n```\n\n"
        "<!-- not-run: needs a live CSMS -->\n```python\ny = 2\n```\n\n"
        "- item\n\n  ```py\n  z = 3\n  ```\n",
        encoding="utf-8",
    )
    found = _markdown_samples(doc)
    assert [(s.line, s.code, s.run, s.reason) for s in found] == [
        (4, "x = 1\n", True, ""),
        (13, "y = 2\n", False, "needs a live CSMS"),
        (19, "z = 3\n", True, ""),
    ]
    doc.write_text("<!-- not-run: -->\n```python\nx = 1\n```\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="needs a reason"):
        _markdown_samples(doc)
    doc.write_text("<!-- not-run: why -->\n\nsome text\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="right above"):
        _markdown_samples(doc)


@pytest.fixture(scope="module")
def snippet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The markdown snippets as files, one module each (examples are checked where they are)."""
    d = tmp_path_factory.mktemp("snippets")
    for s in SAMPLES:
        if s.source.suffix != ".py":
            (d / f"{s.module}.py").write_text(s.code, encoding="utf-8")
    return d


def _path(s: Sample, snippet_dir: Path) -> Path:
    return s.source if s.source.suffix == ".py" else snippet_dir / f"{s.module}.py"


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s.run], ids=lambda s: s.name)
def test_sample_runs(sample: Sample, snippet_dir: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(_path(sample, snippet_dir))],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, f"{sample.name} failed:\n{proc.stdout}\n{proc.stderr}"


def test_samples_are_strict_clean(snippet_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mypy_api = pytest.importorskip("mypy.api", reason="mypy is part of the test extra")
    monkeypatch.chdir(REPO)  # mypy finds ocppkit in the source tree, as tests/test_typing.py does
    paths = {str(_path(s, snippet_dir)): s for s in SAMPLES}
    out, err, status = mypy_api.run(
        ["--strict", "--no-incremental", "--config-file", str(REPO / "pyproject.toml"), *paths]
    )
    # Point each error at the markdown line it comes from.
    report = []
    for line in (out + err).splitlines():
        m = re.match(r"(?P<path>[^:]+):(?P<line>\d+): (?P<rest>.*)", line)
        sample = paths.get(m.group("path")) if m else None
        if m and sample is not None and sample.source.suffix != ".py":
            line = f"{sample.source.relative_to(REPO)}:{sample.line + int(m.group('line')) - 1}: {m.group('rest')}"
        report.append(line)
    assert status == 0, "\n".join(report)
