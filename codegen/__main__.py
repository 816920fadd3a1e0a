"""`python -m codegen [--check] [--schemas VERSION=DIR ...]`: regenerate ocppkit.v16/v201/v21.

Writes every generated file (or, with --check, compares them and exits 1 on any difference),
then records the sha256 of every input schema in codegen/stats.toml.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import subprocess
import sys
from pathlib import Path

from .editions import emit_editions, load_editions
from .emit import emit_version
from .loader import HERE, LoadError, load_config, load_overrides, load_version, resolve_source
from .standard import DATA_DIR, emit_standard, load_standard

REPO = HERE.parent
#: The formatter is part of the output: codegen refuses to run with another version.
RUFF_VERSION = "0.17.6"


def _ruff_format(files: dict[Path, str]) -> dict[Path, str]:
    try:
        version = subprocess.run(
            [sys.executable, "-m", "ruff", "--version"], capture_output=True, text=True, check=True
        ).stdout.split()[-1]
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit(f"codegen: ruff=={RUFF_VERSION} is needed (pip install -e '.[codegen]')") from None
    if version != RUFF_VERSION:
        raise SystemExit(f"codegen: ruff=={RUFF_VERSION} is pinned, found {version}")
    out: dict[Path, str] = {}
    for path, text in files.items():
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "ruff",
                "format",
                "--config",
                str(REPO / "pyproject.toml"),
                "--stdin-filename",
                str(path),
                "-",
            ],
            input=text,
            capture_output=True,
            text=True,
        )
        if res.returncode != 0:
            raise SystemExit(f"codegen: ruff could not format {path}:\n{res.stderr}")
        out[path] = res.stdout
    return out


def _stats(versions: dict[str, dict[str, str]], inputs: dict[str, dict[str, str]]) -> str:
    gen = hashlib.sha256()
    data_files = [
        HERE / "overrides.toml",
        HERE / "versions.toml",
        HERE / "editions.toml",
        *sorted(DATA_DIR.glob("*.toml")),
    ]
    for src in sorted(HERE.glob("*.py")) + data_files:
        gen.update(src.relative_to(HERE).as_posix().encode() + b"\0" + src.read_bytes())
    lines = [
        "# Written by `python -m codegen`. DO NOT EDIT.",
        "",
        "[generator]",
        f'sha256 = "{gen.hexdigest()}"',
        f'ruff = "{RUFF_VERSION}"',
        "",
    ]
    for version in versions:
        lines.append(f'[schemas."{version}"]')
        lines += [f'"{name}" = "{digest}"' for name, digest in sorted(inputs[version].items())]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m codegen", description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 when stale")
    p.add_argument(
        "--schemas",
        action="append",
        default=[],
        metavar="VERSION=DIR",
        help="read this version's schemas from DIR instead of its configured source",
    )
    p.add_argument("--config", type=Path, help="versions file (default codegen/versions.toml)")
    p.add_argument("--overrides", type=Path, help="overrides file (default codegen/overrides.toml)")
    p.add_argument("--editions", type=Path, help="release facts file (default codegen/editions.toml)")
    p.add_argument(
        "--out", type=Path, default=REPO, help="folder that holds the `ocppkit` package (default: the repository)"
    )
    args = p.parse_args(argv)

    versions = load_config(args.config)
    overrides = load_overrides(args.overrides)
    folders: dict[str, Path] = {}
    for item in args.schemas:
        version, sep, folder = item.partition("=")
        if not sep or version not in versions:
            p.error(f"--schemas takes VERSION=DIR with VERSION one of {sorted(versions)}")
        folders[version] = Path(folder)
    files: dict[Path, str] = {}
    inputs: dict[str, dict[str, str]] = {}
    try:
        facts = load_editions(args.editions)
        irs = []
        for version, entry in versions.items():
            folder = folders.get(version) or resolve_source(entry.get("source", ""), REPO)
            ir = load_version(version, entry["package"], folder, overrides)
            irs.append(ir)
            inputs[version] = ir.inputs
            for name, text in emit_version(ir).items():
                files[args.out / "ocppkit" / entry["package"] / name] = text
        files[args.out / "ocppkit" / "_editions.py"] = emit_editions(irs, facts)
        files[args.out / "ocppkit" / "devicemodel" / "_standard.py"] = emit_standard(load_standard())
    except LoadError as exc:
        print(f"codegen: {exc}", file=sys.stderr)
        return 2
    files = _ruff_format(files)
    stats_path = HERE / "stats.toml" if args.out == REPO else args.out / "codegen-stats.toml"
    files[stats_path] = _stats(versions, inputs)

    if args.check:
        stale = []
        for path, text in files.items():
            old = path.read_text(encoding="utf-8") if path.exists() else ""
            if old != text:
                stale.append(path)
                diff = difflib.unified_diff(
                    old.splitlines(), text.splitlines(), str(path), "generated", lineterm="", n=1
                )
                print("\n".join(list(diff)[:40]))
        for entry in versions.values():
            folder = args.out / "ocppkit" / entry["package"]
            extra = sorted({*folder.glob("*.py"), *folder.glob("*.pyi")} - set(files)) if folder.exists() else []
            stale += extra
            for path in extra:
                print(f"{path}: not produced by codegen")
        if stale:
            print(f"codegen --check: {len(stale)} file(s) out of date; run `python -m codegen`", file=sys.stderr)
            return 1
        print(f"codegen --check: {len(files)} files up to date")
        return 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    print(f"codegen: wrote {len(files)} files for {', '.join(versions)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
