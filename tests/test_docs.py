"""README.md and docs/: every relative link resolves, and every file under docs/ is linked from
an index (README.md, docs/results.md, docs/results_homing.md or docs/probes/README.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INDEXES = ("README.md", "docs/results.md", "docs/results_homing.md", "docs/probes/README.md")

_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.M)


def links(markdown: str) -> list[str]:
    """Targets of the Markdown links and images in ``markdown``, outside code."""
    text = _FENCE.sub("", markdown)
    return _LINK.findall(_CODE.sub("code", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Anchors of every heading in ``markdown`` (repeats get GitHub's ``-1``, ``-2`` suffix)."""
    seen: dict[str, int] = {}
    out = set()
    for heading in _HEADING.findall(_FENCE.sub("", markdown)):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def broken_links(files: list[Path]) -> list[str]:
    """``"file: target"`` for every relative link whose file or heading anchor does not exist."""
    bad = []
    for f in files:
        for target in links(f.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # http:, https:, mailto:
            path, _, anchor = target.partition("#")
            dest = (f.parent / path).resolve() if path else f
            ok = dest.exists()
            if ok and anchor and dest.suffix == ".md":
                ok = anchor in anchors(dest.read_text(encoding="utf-8"))
            if not ok:
                bad.append(f"{f.relative_to(ROOT) if f.is_relative_to(ROOT) else f}: {target}")
    return bad


def unlinked(docs: Path, indexes: list[Path]) -> list[str]:
    """Files under ``docs`` that no index links to (the indexes themselves excepted)."""
    linked = {p.resolve() for p in indexes}
    for index in indexes:
        for target in links(index.read_text(encoding="utf-8")):
            path = target.partition("#")[0]
            if path and not re.match(r"[a-z]+:", path):
                linked.add((index.parent / path).resolve())
    files = [
        p
        for p in docs.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")
    ]
    return sorted(str(p.relative_to(docs)) for p in files if p.resolve() not in linked)


def test_links_and_anchors_known_answers(tmp_path: Path) -> None:
    md = (
        "# Top\n\nSee [a](b.md#two-words) and ![fig](f/x.png), `[not](code.md)`.\n"
        "```bash\n[nor](block.md)\n```\n## Two words\n## Two words\n"
        "### 5. It's Fig. 7 (B 2 × T 4)\n"
    )
    assert links(md) == ["b.md#two-words", "f/x.png"]
    assert anchors(md) == {"top", "two-words", "two-words-1", "5-its-fig-7-b-2--t-4"}

    (tmp_path / "docs" / "f").mkdir(parents=True)
    (tmp_path / "docs" / "f" / "x.png").write_bytes(b"")
    (tmp_path / "docs" / "f" / "orphan.log").write_text("")
    index = tmp_path / "docs" / "index.md"
    index.write_text("[x](f/x.png) [gone](f/missing.png) [anchor](#top) [bad](#nowhere)\n# Top\n")
    assert broken_links([index]) == [f"{index}: f/missing.png", f"{index}: #nowhere"]
    assert unlinked(tmp_path / "docs", [index]) == ["f/orphan.log"]


def test_every_relative_link_in_readme_and_docs_resolves() -> None:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    assert broken_links(files) == []


@pytest.mark.parametrize("index", INDEXES)
def test_indexes_exist(index: str) -> None:
    assert (ROOT / index).is_file()


def test_every_file_under_docs_is_linked_from_an_index() -> None:
    indexes = [ROOT / i for i in INDEXES]
    assert unlinked(ROOT / "docs", indexes) == []
