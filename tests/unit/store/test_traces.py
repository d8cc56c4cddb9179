"""Trace files: written and read back in each format, checked in one pass (SHA-256, lines, span),
a bad line or a missing file as one line, and a million lines read without holding them."""

from __future__ import annotations

import gzip
import hashlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.core.errors import TraceError
from loadtest.core.trace import TraceRequest
from loadtest.store.traces import check_trace, read_trace, write_trace

REQUESTS = [
    TraceRequest(1, 0.0, ("a", '中文, "quoted"\nand a new line'), None, "zh"),
    TraceRequest(2, 0.5, None, (3, 4), "en"),
    TraceRequest(3, 1.25, ("b",), (7,), None),
    TraceRequest(4, 1.25, None, (9,), None),
]


@pytest.mark.parametrize("name", ["t.jsonl", "t.csv", "t.jsonl.gz", "t.csv.gz"])
def test_a_trace_reads_back_as_written(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    info = write_trace(path, REQUESTS)
    assert (info.path, info.lines, info.span_s) == (str(path), 4, 1.25)
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    back = list(read_trace(path))
    header = 1 if ".csv" in name else 0  # a CSV's header is its line 1
    assert [r.line for r in back] == [r.line + header for r in REQUESTS]
    assert [(r.t_s, r.texts, r.tokens, r.category) for r in back] == [
        (r.t_s, r.texts, r.tokens, r.category) for r in REQUESTS
    ]
    assert check_trace(path) == info
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_the_same_requests_make_the_same_bytes(tmp_path: Path) -> None:
    a = write_trace(tmp_path / "a.jsonl.gz", REQUESTS)
    b = write_trace(tmp_path / "b.jsonl.gz", REQUESTS)
    assert a.sha256 == b.sha256  # no time in the gzip header


def test_a_hand_written_jsonl_trace_skips_blank_lines_but_counts_them(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    path.write_text(
        '{"timestamp": "2026-11-23T10:00:00Z", "text": "a"}\n'
        "\n"
        '{"timestamp": "2026-11-23T10:00:02Z", "texts": ["b", "c"], "extra": 1}\n'
        "   \n"
        '{"t": 5, "tokens": [10]}',  # no newline at the end
        encoding="utf-8",
    )
    got = list(read_trace(path))
    assert [(r.line, r.t_s, r.inputs) for r in got] == [(1, 0.0, 1), (3, 2.0, 2), (5, 5.0, 1)]
    info = check_trace(path)
    assert (info.lines, info.span_s) == (3, 5.0)


def test_a_hand_written_csv_counts_its_header_blank_lines_and_quoted_line_breaks(
    tmp_path: Path,
) -> None:
    path = tmp_path / "trace.csv"
    path.write_text(
        't,text,tokens,category\n0,"two\nlines",,en\n\n1.5,,[4],zh\n1.0,,[5],zh\n',
        encoding="utf-8",
    )
    with pytest.raises(TraceError) as caught:
        list(read_trace(path))
    assert caught.value.line == f'{path} line 6: "t" goes back in time (1.0 after 1.5)'
    it = read_trace(path)  # the lines before the bad one read
    assert [(r.line, r.texts, r.tokens) for r in (next(it), next(it))] == [
        (2, ("two\nlines",), None),
        (5, None, (4,)),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("t.jsonl", '{"t": 0, "text": "a"}\n{"t": 1, "text": \n', "line 2: not JSON: "),
        ("t.jsonl", '{"t": 0, "text": "a"}\n[1]\n', "line 2: not a JSON object but list"),
        (
            "t.jsonl",
            '{"t": 0, "text": "a"}\n{"t": 1, "inputs": 3, "tokens": [1, 2]}\n',
            'line 2: "tokens" must be a list of positive integers, one per input (inputs is 3)',
        ),
        ("t.csv", "when,text\n0,a\n", 'line 1: no time column: name one "t" or "timestamp"'),
        ("t.csv", "t,text\n0,a,extra\n", "line 2: 3 cells, the header names 2"),
        ("t.csv", 't,tokens\n0,"[1,2"\n', 'line 2: "tokens" must be a list of positive integers'),
    ],
)
def test_a_bad_line_is_one_error_naming_file_and_line(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TraceError) as caught:
        check_trace(path)
    assert caught.value.line.startswith(f"{path} {message}"), caught.value.line
    assert "\n" not in caught.value.line and caught.value.exit_code == 2


def test_a_file_that_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match=r"cannot read trace .*nope\.jsonl: No such file"):
        list(read_trace(tmp_path / "nope.jsonl"))
    with pytest.raises(TraceError, match=r"name it \.jsonl or \.csv"):
        check_trace(tmp_path / "trace.txt")
    (tmp_path / "bad.jsonl.gz").write_bytes(b"not gzip at all")
    with pytest.raises(TraceError, match=r"cannot read trace .*bad\.jsonl\.gz: "):
        check_trace(tmp_path / "bad.jsonl.gz")
    (tmp_path / "latin.csv").write_bytes("t,text\n0,caf\xe9\n".encode("latin-1"))
    with pytest.raises(TraceError, match="not UTF-8 text"):
        check_trace(tmp_path / "latin.csv")
    (tmp_path / "empty.jsonl").write_text("\n\n", encoding="utf-8")
    with pytest.raises(TraceError, match="has no requests"):
        check_trace(tmp_path / "empty.jsonl")


def test_writing_refuses_time_going_back_and_leaves_nothing(tmp_path: Path) -> None:
    backwards = [TraceRequest(1, 2.0, ("a",), None), TraceRequest(2, 1.0, ("b",), None)]
    with pytest.raises(ValueError, match="back in time"):
        write_trace(tmp_path / "t.jsonl", backwards)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(TraceError, match="cannot write trace"):
        write_trace(tmp_path / "no" / "such" / "dir.jsonl", REQUESTS)


def test_check_trace_hashes_the_gzipped_bytes(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"t": 0, "text": "a"}\n{"t": 3, "text": "b"}\n'))
    info = check_trace(path)
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (info.lines, info.span_s) == (2, 3.0)


_READ_A_MILLION = """
import resource, sys
from pathlib import Path
from loadtest.store.traces import read_trace
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
count, last = 0, None
for request in read_trace(Path(sys.argv[1])):
    count, last = count + 1, request
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(count, last.line, (after - before) // 1024)
"""


def test_a_million_lines_stream_through_without_being_held(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for i in range(1_000_000):
            f.write(f'{{"t": {i / 1000}, "tokens": [{i % 500 + 1}], "category": "en"}}\n')
    assert inspect.isgenerator(read_trace(path))
    out = subprocess.run(
        [sys.executable, "-c", _READ_A_MILLION, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout.split()
    count, last_line, grown_mib = (int(x) for x in out)
    assert (count, last_line) == (1_000_000, 1_000_000)
    # a million requests held would be 200 MiB and more; streamed, the peak hardly moves
    assert grown_mib < 40, f"the reader's peak memory grew {grown_mib} MiB"
