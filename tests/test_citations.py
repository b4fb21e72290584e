"""Every citation resolves inside the repository: `docs/method.md#anchor` names a heading of our method notes, and
nothing points at notes outside the repository."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITATION = re.compile(r"docs/method\.md#([A-Za-z0-9_-]+)")


def heading_anchors(markdown: str) -> set[str]:
    """GitHub's anchors of the headings: lower case, punctuation dropped, spaces → hyphens."""
    anchors = set()
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (match := re.match(r"#{1,6}\s+(.*)", line)):
            text = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


def cited_files() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for folder in ("latent_ofer_hf", "tests", "benchmarks"):
        files += sorted((ROOT / folder).rglob("*.py"))
    return [path for path in files if path.name != Path(__file__).name]


def test_the_anchor_rule_matches_github():
    assert heading_anchors("# Tags\n## Refinement U-Net\n### Data and occlusion protocols\n```\n# not\n```") == {
        "tags",
        "refinement-u-net",
        "data-and-occlusion-protocols",
    }


def test_every_method_citation_names_a_heading():
    anchors = heading_anchors((ROOT / "docs" / "method.md").read_text(encoding="utf-8"))
    cited, missing = 0, []
    for path in cited_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for anchor in CITATION.findall(line):
                cited += 1
                if anchor not in anchors:
                    missing.append(f"{path.relative_to(ROOT)}:{number}: #{anchor}")
    assert cited >= 40, cited  # the code cites the notes throughout
    assert not missing, "\n".join(missing)


def test_nothing_cites_notes_outside_the_repository():
    pattern = re.compile(r"shared/reference|spec §")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in cited_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not found, found
