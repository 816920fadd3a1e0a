#!/usr/bin/env python3
"""The release check: what a user gets from the sdist and the wheel, on every Python we support.

    python scripts/release_check.py dist      # sdist, a wheel built from it, a fresh venv: C twins, LICENSE, demo
    python scripts/release_check.py pythons   # every Python 3.10-3.13 found: fresh venv, install the sdist, core suites
    python scripts/release_check.py all       # both, on one sdist

Run it with an interpreter that has ``build`` (the test extra has it): ``.venv/bin/python
scripts/release_check.py all``. It needs nothing but Python, gcc and the package index; it
works in a temporary folder (``--keep`` keeps it) and exits non-zero on the first failure,
saying what failed. ``.ci/run`` runs ``all``; see docs/development.md.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NAME = "ocppkit"
EXTENSIONS = ("_codec_c", "_rpc_c", "_router_c")
SUPPORTED = ("3.10", "3.11", "3.12", "3.13")
#: The core suites, run on every interpreter (plus tests/test_payload*.py when there are any).
CORE_SUITES = (
    "tests/test_codec.py",
    "tests/test_codec_parity.py",
    "tests/test_encode_parity.py",
    "tests/test_generated.py",
    "tests/test_rpc.py",
    "tests/test_rpc_states.py",
)
#: What the core suites import beyond the package (pytest-benchmark: pyproject's addopts name it).
TEST_REQUIREMENTS = ("pytest>=8", "hypothesis>=6.100", "pytest-benchmark>=4")
#: Tracked files that an sdist leaves out on purpose.
NOT_SHIPPED = (".ci/", ".gitignore")
#: Proves the compiled twins are the ones in use, then uses them: a sans-IO boot round trip.
TWINS_CHECK = """
import datetime as dt, sys
import ocppkit, ocppkit.codec, ocppkit.rpc, ocppkit._codec_c, ocppkit._rpc_c, ocppkit._router_c
from ocppkit import v201
assert ocppkit.IMPLEMENTATION == "c", ocppkit.IMPLEMENTATION
assert ocppkit.rpc.IMPLEMENTATION == "c", ocppkit.rpc.IMPLEMENTATION
assert ocppkit.Codec is ocppkit._codec_c.Codec
assert ocppkit.Connection is ocppkit._rpc_c.Connection
assert ocppkit.Router is ocppkit._router_c.Router
for module in (ocppkit._codec_c, ocppkit._rpc_c, ocppkit._router_c):
    assert module.__file__.startswith(sys.prefix) and module.__file__.endswith(".so"), module.__file__
station = ocppkit.Connection("station", "2.0.1", clock=lambda: 0.0)
csms = ocppkit.Connection("csms", "2.0.1", clock=lambda: 0.0)
router = ocppkit.Router()
router.add(v201.BootNotificationRequest, lambda req: v201.BootNotificationResponse(
    current_time=dt.datetime.now(dt.timezone.utc), interval=300, status=v201.RegistrationStatusEnumType.ACCEPTED))
station.call(v201.BootNotificationRequest(
    charging_station=v201.ChargingStationType(model="M1", vendor_name="ACME"), reason=v201.BootReasonEnumType.POWER_UP))
for data in station.data_to_send():
    csms.receive_data(data)
for event in csms.events():
    assert router.dispatch(csms, event) is None
for data in csms.data_to_send():
    station.receive_data(data)
(result,) = station.events()
assert isinstance(result, ocppkit.ResultReceived) and result.response.interval == 300, result
assert ocppkit.Codec("1.6").decode(b'[2,"1","Heartbeat",{}]').action == "Heartbeat"
print(f"ocppkit {ocppkit.__version__} on Python {sys.version.split()[0]}: IMPLEMENTATION == 'c';",
      "Codec, Connection and Router are the compiled twins")
"""


class CheckFailed(Exception):
    pass


def say(message: str) -> None:
    print(message, flush=True)


def run(argv: list[str], *, cwd: Path | None = None, timeout: float = 900, env: dict[str, str] | None = None) -> str:
    """Run a command; return its output (stdout and stderr together), or fail with its tail."""
    environment = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **(env or {})}
    environment.pop("OCPPKIT_NO_EXTENSIONS", None)  # the check is about the compiled install
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise CheckFailed(f"`{' '.join(argv)}` did not finish within {timeout:.0f}s") from exc
    if done.returncode != 0:
        tail = "\n".join(done.stdout.splitlines()[-60:])
        raise CheckFailed(f"`{' '.join(argv)}` exited with {done.returncode}:\n{tail}")
    return done.stdout


def progress_lines(output: str) -> list[str]:
    """The lines setup.py prints while it compiles (``ocppkit build: ...``)."""
    return [line.strip() for line in output.splitlines() if "ocppkit build:" in line]


# -- archives ----------------------------------------------------------------------------------


def build_dist(out: Path) -> tuple[Path, Path]:
    """``python -m build``: the sdist, then a wheel built from that sdist (not from the tree)."""
    started = time.monotonic()
    output = run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)], timeout=1200)
    for line in progress_lines(output):
        say(f"  {line}")
    deprecations = [line for line in output.splitlines() if re.search(r"deprecat", line, re.IGNORECASE)]
    if deprecations:
        raise CheckFailed("the build printed deprecation warnings:\n" + "\n".join(deprecations))
    (sdist,) = out.glob(f"{NAME}-*.tar.gz")
    (wheel,) = out.glob(f"{NAME}-*.whl")
    say(f"built {sdist.name} and, from it, {wheel.name} in {time.monotonic() - started:.0f}s (no deprecation warning)")
    return sdist, wheel


def tracked_files() -> list[str] | None:
    """The repository's tracked files that exist, or None outside a git checkout."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        return None
    listed = run(["git", "-C", str(REPO), "ls-files", "-z"]).split("\0")
    return [f for f in listed if f and (REPO / f).is_file() and not f.startswith(NOT_SHIPPED)]


def check_sdist(sdist: Path) -> None:
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    root = sdist.name.removesuffix(".tar.gz")
    files = {n.removeprefix(root + "/") for n in names if n.startswith(root + "/")}
    needed = ["LICENSE", "README.md", "pyproject.toml", "setup.py", "MANIFEST.in", "ext/_codec_c.pyx"]
    needed += ["ext/_rpc_c.pxd", "ext/_router_c.pxd"]
    needed += ["ocppkit/_rpc_py.py", "ocppkit/_router_py.py", "tests/conftest.py", "docs/index.md"]
    needed += ["examples/quickstart.py", "codegen/__main__.py", "benchmarks/__main__.py", "scripts/release_check.py"]
    missing = [f for f in needed if f not in files]
    tracked = tracked_files()
    if tracked is not None:
        missing += sorted(set(tracked) - files - set(missing))
    if missing:
        shown = ", ".join(missing[:20])
        raise CheckFailed(f"{sdist.name} lacks {len(missing)} source files (see MANIFEST.in): {shown}")
    built = sorted(f for f in files if re.search(r"(\.so|\.pyd|\.pyc|\.c)$|__pycache__|^build/", f))
    if built:
        raise CheckFailed(f"{sdist.name} ships build products: {', '.join(built[:20])}")
    compared = "every tracked file" if tracked is not None else "the build inputs (not a git checkout)"
    say(f"sdist: {len(files)} files, LICENSE, ext/*.pyx and *.pxd, {compared}; no build products")


def check_wheel(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (metadata_name,) = (n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(metadata_name).decode()
    info = metadata_name.removesuffix("METADATA")
    if f"{info}licenses/LICENSE" not in names:
        raise CheckFailed(f"{wheel.name} has no {info}licenses/LICENSE")
    for ext in EXTENSIONS:
        if not any(re.fullmatch(rf"{NAME}/{ext}\..+\.(so|pyd)", n) for n in names):
            raise CheckFailed(f"{wheel.name} has no compiled {NAME}.{ext}")
    tracked = tracked_files()
    package = [f for f in tracked or [] if f.startswith(f"{NAME}/")] or [f"{NAME}/py.typed"]
    missing = [f for f in package if f not in names]
    if missing:
        raise CheckFailed(f"{wheel.name} lacks package files (stubs, py.typed?): {missing[:20]}")
    strays = sorted({n.split("/")[0] for n in names} - {NAME, info.rstrip("/")})
    if strays:
        raise CheckFailed(f"{wheel.name} installs more than the package: {strays}")
    headers = metadata.split("\n\n")[0].splitlines()
    wanted = ["License-Expression: MIT", "License-File: LICENSE", "Classifier: Operating System :: OS Independent"]
    wanted += [f"Classifier: Programming Language :: Python :: {v}" for v in SUPPORTED]
    absent = [w for w in wanted if w not in headers]
    if absent:
        raise CheckFailed(f"{wheel.name} METADATA lacks: {absent}")
    if any(h.startswith("Classifier: License ::") for h in headers):
        raise CheckFailed("a License :: classifier next to the SPDX license expression")
    say(
        f"wheel: LICENSE at {info}licenses/LICENSE, {len(EXTENSIONS)} compiled modules, every package file"
        " (.py, .pyi, py.typed), License-Expression: MIT, no License classifier"
    )


def new_venv(python: str, folder: Path) -> Path:
    run([python, "-m", "venv", str(folder)], timeout=300)
    return folder / ("Scripts" if os.name == "nt" else "bin") / "python"


def check_installed_wheel(wheel: Path, work: Path) -> None:
    """Install the wheel into a new venv; prove the compiled twins are used; run the demo."""
    started = time.monotonic()
    python = new_venv(sys.executable, work / "venv-wheel")
    run([str(python), "-m", "pip", "install", "-q", f"{wheel}[websockets]"])
    outside = work / "elsewhere"  # not the repository: the import must find the installed package
    outside.mkdir(exist_ok=True)
    say("  " + run([str(python), "-c", TWINS_CHECK], cwd=outside).strip())
    demo = run([str(python.parent / NAME), "demo"], cwd=outside, timeout=180)
    if "session completed as expected" not in demo:
        raise CheckFailed(f"`ocppkit demo` did not complete its session:\n{demo[-3000:]}")
    say(f"  ocppkit demo: {len(demo.splitlines())} lines, session completed as expected")
    say(f"wheel installed in a fresh venv and checked in {time.monotonic() - started:.0f}s")


def dist(work: Path) -> tuple[Path, Path]:
    say("== release check: sdist -> wheel -> fresh venv")
    sdist, wheel = build_dist(work / "dist")
    check_sdist(sdist)
    check_wheel(wheel)
    check_installed_wheel(wheel, work)
    return sdist, wheel


# -- interpreters ------------------------------------------------------------------------------


@dataclass
class Interpreter:
    minor: str
    path: str
    version: str


def _probe(candidate: str, minor: str) -> Interpreter | None:
    """A working CPython ``minor`` with venv and ensurepip (a pyenv shim of a version that is not
    selected fails here), or None."""
    code = (
        "import sys, venv, ensurepip; print(sys.implementation.name, '%d.%d.%d' % sys.version_info[:3], sys.executable)"
    )
    try:
        done = subprocess.run([candidate, "-c", code], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    implementation, version, executable = done.stdout.strip().split(maxsplit=2)
    if implementation != "cpython" or not version.startswith(minor + "."):
        return None
    return Interpreter(minor, executable, version)


def _patch(path: str, minor: str) -> int:
    """The patch number of a pyenv build (``.../versions/3.12.1/bin/python3.12`` -> 1); -1 for
    other builds (``3.13.0t``, ``3.12-dev``)."""
    match = re.fullmatch(rf"{re.escape(minor)}\.(\d+)", Path(path).parent.parent.name)
    return int(match.group(1)) if match else -1


def find_interpreters() -> tuple[list[Interpreter], list[str]]:
    """Python 3.10-3.13: ``python3.X`` on PATH, else the newest pyenv build. Returns (found, skipped)."""
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found: list[Interpreter] = []
    skipped: list[str] = []
    for minor in SUPPORTED:
        candidates = [p for p in [shutil.which(f"python{minor}")] if p]
        builds = glob.glob(str(pyenv / f"{minor}.*" / "bin" / f"python{minor}"))
        candidates += sorted((b for b in builds if _patch(b, minor) >= 0), key=lambda b: _patch(b, minor), reverse=True)
        for candidate in candidates:
            interpreter = _probe(candidate, minor)
            if interpreter is not None:
                found.append(interpreter)
                break
        else:
            tried = ", ".join(candidates) or "none"
            skipped.append(f"{minor} (looked for python{minor} on PATH and in {pyenv}/{minor}.*; tried: {tried})")
    return found, skipped


def test_tree(sdist: Path, work: Path) -> tuple[Path, list[str]]:
    """The sdist unpacked without its ``ocppkit`` package, so that the tests import the installed one."""
    tree = work / "tree"
    with tarfile.open(sdist) as archive:
        if sys.version_info >= (3, 12):
            archive.extractall(work / "unpacked", filter="data")
        else:
            archive.extractall(work / "unpacked")  # noqa: S202 - our own archive, just built
    (root,) = (work / "unpacked").iterdir()
    shutil.copytree(root, tree, ignore=lambda folder, names: [NAME] if Path(folder) == root else [])
    suites = list(CORE_SUITES) + sorted(str(p.relative_to(tree)) for p in (tree / "tests").glob("test_payload*.py"))
    absent = [s for s in suites if not (tree / s).exists()]
    if absent:
        raise CheckFailed(f"the sdist lacks the core suites {absent}")
    return tree, suites


def check_interpreter(
    py: Interpreter, sdist: Path, wheels: list[Path], tree: Path, suites: list[str], work: Path
) -> str:
    """A fresh venv with the package (compiled) and the minimal test set; the core suites. Returns a report."""
    lines = [f"== Python {py.version} ({py.path})"]
    started = time.monotonic()
    python = new_venv(py.path, work / f"venv-{py.minor}")
    tag = "cp" + py.minor.replace(".", "")
    wheel = next((w for w in wheels if f"-{tag}-" in w.name), None)
    source = wheel or sdist
    output = run([str(python), "-m", "pip", "install", "-v", str(source), *TEST_REQUIREMENTS], timeout=1200)
    lines += [f"  {line}" for line in progress_lines(output)]
    how = f"the wheel {wheel.name}" if wheel else f"{sdist.name} (compiled here)"
    lines.append(f"  installed {how} with {' '.join(TEST_REQUIREMENTS)} in {time.monotonic() - started:.0f}s")
    check = "import ocppkit, ocppkit.rpc; assert ocppkit.IMPLEMENTATION == ocppkit.rpc.IMPLEMENTATION == 'c'"
    run([str(python), "-c", check], cwd=tree.parent)
    started = time.monotonic()
    output = run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *suites], cwd=tree)
    summary = [line for line in output.splitlines() if re.search(r"\d+ passed", line)]
    result = summary[-1].strip() if summary else "?"
    lines.append(f"  core suites ({len(suites)} files): {result} [{time.monotonic() - started:.0f}s]")
    return "\n".join(lines)


def pythons(work: Path, sdist: Path | None = None, wheels: list[Path] | None = None, jobs: int = 2) -> None:
    say("== core suites on every supported Python found here (fresh venv each, the package compiled)")
    found, skipped = find_interpreters()
    for py in found:
        say(f"found   Python {py.version}: {py.path}")
    for reason in skipped:
        say(f"skipped Python {reason}")
    if not found:
        raise CheckFailed("no supported Python found")
    if sdist is None:
        sdist = run_sdist(work)
    tree, suites = test_tree(sdist, work)
    started = time.monotonic()
    failures: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(check_interpreter, py, sdist, wheels or [], tree, suites, work) for py in found]
        for py, future in zip(found, futures, strict=True):
            try:
                say(future.result())
            except CheckFailed as exc:
                failures.append(f"Python {py.version}: {exc}")
                say(f"== Python {py.version} ({py.path}): FAILED")
    if failures:
        raise CheckFailed("\n\n".join(failures))
    names = ", ".join(py.version for py in found)
    say(f"core suites passed on Python {names} in {time.monotonic() - started:.0f}s; skipped: {len(skipped)}")


def run_sdist(work: Path) -> Path:
    run([sys.executable, "-m", "build", "--sdist", "--outdir", str(work / "dist"), str(REPO)])
    (sdist,) = (work / "dist").glob(f"{NAME}-*.tar.gz")
    return sdist


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("what", choices=["dist", "pythons", "all"], nargs="?", default="all")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
    parser.add_argument("--jobs", type=int, default=2, help="interpreters checked at once (default 2)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="ocppkit-release-"))
    started = time.monotonic()
    try:
        sdist: Path | None = None
        wheels: list[Path] = []
        if args.what in ("dist", "all"):
            sdist, wheel = dist(work)
            wheels.append(wheel)
        if args.what in ("pythons", "all"):
            pythons(work, sdist, wheels, args.jobs)
    except CheckFailed as exc:
        print(f"release check FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        if args.keep:
            say(f"(kept {work})")
        else:
            shutil.rmtree(work, ignore_errors=True)
    say(f"release check passed in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
