"""The built-in texts: corpus.jsonl (what the scenarios send), probe_pairs.jsonl (what the
quality probe compares) and retrieval/*.json (what `embload quality` retrieves from), all written
for this project; and a user's `--corpus` file.

The built-in corpus and a user's go through the same parser (core/payloads.parse_corpus), and
each is parsed once per process.

May import: core.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from loadtest.core.errors import UsageError
from loadtest.core.payloads import parse_corpus
from loadtest.core.probe import ProbePairs, parse_probe_pairs
from loadtest.core.retrieval import RetrievalSet, parse_retrieval_set
from loadtest.core.types import Payload


def _text(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


@cache
def builtin_corpus() -> tuple[Payload, ...]:
    return parse_corpus(_text("corpus.jsonl"), jsonl=True)


@cache
def probe_pairs() -> ProbePairs:
    return parse_probe_pairs(_text("probe_pairs.jsonl"))


@cache
def retrieval_set() -> RetrievalSet:
    """Every `retrieval/*.json`, in name order, as one set."""
    folder = resources.files(__package__).joinpath("retrieval")
    parts = sorted(
        (f"retrieval/{item.name}", item.read_text(encoding="utf-8"))
        for item in (folder.iterdir() if folder.is_dir() else ())
        if item.name.endswith(".json")
    )
    if not parts:
        raise UsageError("the retrieval set is missing: loadtest/data/retrieval has no *.json")
    return parse_retrieval_set(parts)


def read_corpus(path: Path) -> tuple[Payload, ...]:
    """A `.jsonl` (`text`, optional `category`) or `.txt` (one text a line) corpus file, parsed
    once per process: again only when the file changed (its size or time)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise UsageError(f"cannot read corpus {path}: {exc.strerror}") from None
    return _parsed(path, stat.st_size, stat.st_mtime_ns)


def corpus(path: Path | None) -> tuple[Payload, ...]:
    """The user's corpus, else the built-in one."""
    return read_corpus(path) if path is not None else builtin_corpus()


@cache
def _parsed(path: Path, size: int, mtime_ns: int) -> tuple[Payload, ...]:
    try:
        content = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read corpus {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"corpus {path} is not UTF-8 text") from None
    try:
        return parse_corpus(content, jsonl=path.suffix == ".jsonl")
    except ValueError as exc:
        raise UsageError(f"corpus {path}: {exc}") from None
