"""The docs point at what exists: every relative link in README.md and docs/*.md reaches a file
(and a heading, when it names one), and every `embload COMMAND` the README names is a command
that `embload --help` lists, and the other way round."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
COMMAND = re.compile(r"(?<![\w./-])embload[ \t]+([a-z][a-z0-9-]*)")


def prose(text: str) -> str:
    """The text with fenced code blocks and code spans blanked out."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: link text kept, lower case, punctuation dropped."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return frozenset(found)


def links(path: Path) -> list[str]:
    return LINK.findall(prose(path.read_text(encoding="utf-8")))


def test_the_guides_exist_and_link_somewhere() -> None:
    assert (ROOT / "docs" / "README.md") in DOCS
    assert len(DOCS) >= 10, [p.name for p in DOCS]
    assert all(links(path) for path in DOCS), [p.name for p in DOCS if not links(p)]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc: Path) -> None:
    broken: list[str] = []
    for target in links(doc):
        if re.match(r"(?i)(https?://|mailto:)", target):
            continue
        file, _, anchor = target.partition("#")
        dest = (doc.parent / file).resolve() if file else doc
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor.lower() not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not broken, broken


@cache
def cli_commands() -> frozenset[str]:
    """The commands `embload --help` lists, from the entry point pyproject.toml declares."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    module, _, attr = pyproject["project"]["scripts"]["embload"].partition(":")
    code = f"import sys; from {module} import {attr} as a; sys.argv = ['embload', '--help']; a()"
    help_text = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert help_text.returncode == 0, help_text.stderr
    lines = help_text.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^\W*Commands\b", line))
    rows: list[str] = []
    for line in lines[start + 1 :]:
        row = line.lstrip("│|").rstrip().rstrip("│|").rstrip()  # plain, or inside rich's box
        if not row.strip() or row.lstrip().startswith("╰"):
            break
        rows.append(row)
    # a command starts its row; a wrapped description continues further in
    indent = min(len(row) - len(row.lstrip()) for row in rows)
    return frozenset(row.split()[0] for row in rows if len(row) - len(row.lstrip()) == indent)


def readme_commands() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = [m.group(0) for m in FENCE.finditer(text)]
    code += [m.group(0) for m in CODE_SPAN.finditer(FENCE.sub("", text))]
    return {name for block in code for name in COMMAND.findall(block)}


def test_help_lists_the_commands() -> None:
    assert {"run", "compare", "serve"} <= cli_commands(), sorted(cli_commands())


def test_every_command_the_readme_names_exists() -> None:
    named = readme_commands()
    assert {"run", "compare"} <= named, sorted(named)
    assert named <= cli_commands(), sorted(named - cli_commands())


def test_the_readme_indexes_every_command() -> None:
    assert cli_commands() <= readme_commands(), sorted(cli_commands() - readme_commands())
