"""Every benchmark in one table: ``python -m benchmarks [--only NAME ...] [--output FILE.md]`` (``make bench``).

Runs each script of this folder in its own process, one after the other (never two at once: they share the CPU),
and writes one Markdown table of their machine-readable last lines (``key=value`` pairs), with the machine noted.
Scripts take minutes each on a 2-core CPU; ``--only`` picks some.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def scripts(only: list[str] | None = None) -> list[Path]:
    found = sorted(path for path in HERE.glob("*.py") if not path.name.startswith("_"))
    if only:
        unknown = sorted(set(only) - {path.stem for path in found})
        if unknown:
            raise SystemExit(f"unknown benchmark(s) {unknown}; there are {[path.stem for path in found]}")
        found = [path for path in found if path.stem in only]
    return found


def last_values(output: str) -> dict[str, str]:
    """The ``key=value`` pairs of the last lines that hold some (a script may print one pair per line); words
    without ``=`` before the pairs of a line prefix its keys (``train_faces_per_s tiny:1:mae=…``)."""
    lines: list[dict[str, str]] = []
    for line in reversed(output.strip().splitlines()):
        words = line.split()
        pairs = [word.split("=", 1) for word in words if "=" in word and not word.startswith("-")]
        if not pairs:
            if lines:
                break
            continue
        prefix = " ".join(word for word in words if "=" not in word)
        lines.append({(f"{prefix} {key}" if prefix else key): value for key, value in pairs})
    values: dict[str, str] = {}
    for pairs in reversed(lines):
        values.update(pairs)
    return values


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def run(paths: list[Path]) -> str:
    rows = ["| benchmark | value | seconds |", "|---|---|---:|"]
    for path in paths:
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=ROOT)
        seconds = time.perf_counter() - started
        if result.returncode:
            rows.append(f"| {path.stem} | failed (exit {result.returncode}): {result.stderr.strip()[-200:]} | "
                        f"{seconds:.0f} |")  # fmt: skip
            continue
        values = last_values(result.stdout)
        shown = "<br>".join(f"`{key}={value}`" for key, value in values.items()) or "(no key=value line)"
        rows.append(f"| {path.stem} | {shown} | {seconds:.0f} |")
    return f"Machine: {machine()}\n\n" + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", help="benchmark names (file stems) to run")
    parser.add_argument("--output", default=None, help="also write the table to this Markdown file")
    args = parser.parse_args(argv)
    table = run(scripts(args.only))
    print(table)
    if args.output:
        Path(args.output).write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
