"""The corpora: a user's file as the built-in one, each parsed once per process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from loadtest.core.errors import UsageError
from loadtest.data import builtin_corpus, corpus, read_corpus


def test_corpus_files(tmp_path: Path) -> None:
    (tmp_path / "c.txt").write_text("one\ntwo\n", encoding="utf-8")
    assert [p.text for p in read_corpus(tmp_path / "c.txt")] == ["one", "two"]
    (tmp_path / "bad.jsonl").write_text("{}\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"bad.jsonl: line 1"):
        read_corpus(tmp_path / "bad.jsonl")
    with pytest.raises(UsageError, match="cannot read"):
        read_corpus(tmp_path / "missing.txt")


def test_each_corpus_is_parsed_once_and_again_only_when_its_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("one\ntwo\n", encoding="utf-8")
    first = read_corpus(path)
    assert read_corpus(path) is first and corpus(path) is first  # the same parse, not a copy
    assert corpus(None) is builtin_corpus()
    path.write_text("one\ntwo\nthree\n", encoding="utf-8")
    os.utime(path, ns=(1, 1))  # and a time of its own: the size alone would do as well
    again = read_corpus(path)
    assert again is not first and [p.text for p in again] == ["one", "two", "three"]
