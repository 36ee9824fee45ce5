"""Every relative link of the Markdown docs leads somewhere: a file, and a heading of it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted({*ROOT.glob("*.md"), *(ROOT / "docs").rglob("*.md"), *(ROOT / "infra").rglob("*.md"),
                *(ROOT / "kl_udfs").rglob("*.md")})
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def _anchors(page: Path) -> set[str]:
    """The ids GitHub gives the page's headings: lower case, punctuation dropped, spaces as
    hyphens."""
    headings = re.findall(r"^#+ (.+)$", FENCE.sub("", page.read_text()), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_relative_link_resolves() -> None:
    broken, seen = [], 0
    for page in PAGES:
        for target in LINK.findall(FENCE.sub("", page.read_text())):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                continue
            seen += 1
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert seen > 50  # the links were found at all
    assert broken == []


def test_every_reliability_row_names_a_test_that_exists() -> None:
    """The fault matrix reproduces each row with `pytest <node id>`: each node is a test
    function of that file (or a whole module of tests), and a bracketed id one of its
    parameters."""
    text = (ROOT / "docs" / "reliability.md").read_text()
    nodes = re.findall(r"pytest \"?(tests/[^\s`\"]+)", text)
    missing = []
    for node in nodes:
        path, _, test = node.partition("::")
        name, _, param = test.partition("[")
        source = ROOT / path
        code = source.read_text() if source.is_file() else ""
        defined = re.search(rf"^def {re.escape(name) if name else 'test_'}\w*\(", code, re.M)
        if not defined or (param and f'"{param.rstrip("]")}"' not in code):
            missing.append(node)
    assert len(nodes) > 20  # the rows were found at all
    assert missing == []
