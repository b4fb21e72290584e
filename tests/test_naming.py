"""One spelling in identifiers, the ecosystem's American one (normalize, visualize, center, recognizer, color)."""

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BRITISH = re.compile(
    r"(normalis|visualis|centre|centred|recognis|initialis|colour|behaviour|optimis|summaris|serialis|organis|"
    r"utilis|minimis|maximis|neighbour|favour|grey)",
    re.IGNORECASE,
)


def british_identifiers(source: str) -> list[tuple[int, str]]:
    """``(line, name)`` of every identifier (not prose in strings or comments) with a British spelling."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [(tok.start[0], tok.string) for tok in tokens if tok.type == tokenize.NAME and BRITISH.search(tok.string)]


def test_the_finder_sees_identifiers_and_ignores_prose():
    source = 'def normalise(colour):\n    """The colour is normalised."""  # centre\n    return colour\n'
    assert british_identifiers(source) == [(1, "normalise"), (1, "colour"), (3, "colour")]


def test_identifiers_use_american_spelling():
    found = []
    for folder in ("latent_ofer_hf", "tests", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == Path(__file__).name:
                continue
            found += [
                f"{path.relative_to(ROOT)}:{line}: {name}" for line, name in british_identifiers(path.read_text())
            ]
    assert not found, "\n".join(found)
