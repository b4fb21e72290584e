"""Every benchmark in one table: ``python -m benchmarks [--only NAME ...] [--output FILE.md]`` (``make bench``).

Runs each script of this folder in its own process, one after the other (never two at once: they share the CPU),
and writes one Markdown table of their machine-readable last lines (``key=value`` pairs), with the machine noted.
Scripts take minutes each on a 2-core CPU; ``--only`` picks some.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))  # the scripts' shared helpers, as each script finds them beside itself

from _common import machine  # noqa: E402


def scripts(only: list[str] | None = None) -> list[Path]:
    found = sorted(path for path in HERE.glob("*.py") if not path.name.startswith("_"))
    if only:
        unknown = sorted(set(only) - {path.stem for path in found})
        if unknown:
            raise SystemExit(f"unknown benchmark(s) {unknown}; there are {[path.stem for path in found]}")
        found = [path for path in found if path.stem in only]
    return found


def _pair(word: str) -> tuple[str, str] | None:
    key, equals, value = word.partition("=")
    return (key, value) if equals and key and value and not key.startswith("-") else None


def line_values(line: str) -> dict[str, str] | None:
    """A machine-readable line: up to three words without ``=`` (a prefix of its keys) followed by ``key=value``
    words only; None for any other line (prose that happens to hold an ``=``)."""
    words = line.split()
    first_pair = len(words)
    while first_pair and _pair(words[first_pair - 1]) is not None:
        first_pair -= 1
    prefix, pairs = words[:first_pair], words[first_pair:]
    if not pairs or len(prefix) > 3 or any("=" in word for word in prefix):
        return None
    joined = " ".join(prefix)
    return {(f"{joined} {key}" if joined else key): value for key, value in map(_pair, pairs)}


def last_values(output: str) -> dict[str, str]:
    """The ``key=value`` pairs of the machine-readable lines that end the output (a script may print one pair per
    line); words before the pairs of a line prefix its keys (``train_faces_per_s tiny:1:mae=…``)."""
    lines: list[dict[str, str]] = []
    for line in reversed(output.strip().splitlines()):
        values = line_values(line)
        if values is None:
            break
        lines.append(values)
    values: dict[str, str] = {}
    for pairs in reversed(lines):
        values.update(pairs)
    return values


def table_cell(text: str) -> str:
    """One Markdown table cell: newlines joined, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def run(paths: list[Path]) -> str:
    rows = ["| benchmark | value | seconds |", "|---|---|---:|"]
    for path in paths:
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=ROOT)
        seconds = time.perf_counter() - started
        if result.returncode:
            why = table_cell(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no message")
            rows.append(f"| {path.stem} | failed (exit {result.returncode}): {why[-200:]} | {seconds:.0f} |")
            continue
        values = last_values(result.stdout)
        shown = "<br>".join(f"`{key}={value}`" for key, value in values.items()) or "(no key=value line)"
        rows.append(f"| {path.stem} | {shown} | {seconds:.0f} |")
    return f"{machine().replace('machine:', 'Machine:', 1)}\n\n" + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", help="benchmark names (file stems) to run")
    parser.add_argument("--output", default=None, help="also write the table to this Markdown file")
    args = parser.parse_args(argv)
    if args.output and not Path(args.output).resolve().parent.is_dir():
        parser.error(f"--output {args.output}: its folder does not exist")
    table = run(scripts(args.only))
    print(table)
    if args.output:
        Path(args.output).write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
