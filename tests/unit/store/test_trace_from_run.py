"""A past run's traffic as a trace: its texts drawn again as its users drew them (checked against
every record), or token lengths where they cannot be; a replayed trace's texts copied back."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from loadtest.analysis.summary import write_summary
from loadtest.core.payloads import (
    SCENARIOS,
    PayloadSampler,
    describe_batch,
    scenario_pools,
    user_seed,
)
from loadtest.core.record import RecordRow
from loadtest.core.results import RunSummary
from loadtest.core.trace import TraceRequest
from loadtest.core.types import ErrorKind
from loadtest.data import builtin_corpus, read_corpus
from loadtest.store import run_traces
from loadtest.store.files import RecordWriter, read_summary
from loadtest.store.run_traces import trace_from_run
from loadtest.store.traces import file_sha256, read_trace, write_trace
from tests.support.synthetic import T0, run_end

SEED = 11


@dataclasses.dataclass
class Sent:
    """One request as the run sent it: what the trace should give back."""

    start: float
    texts: tuple[str, ...]


def make_run(
    run_dir: Path,
    *,
    scenario: str = "medium",
    corpus: Path | None = None,
    shuffled_user: bool = False,
    batch: int | None = None,
    **meta: object,
) -> list[Sent]:
    """Two workers of three users each (numbered 0-2 in both), drawing as EmbeddingUser does,
    their records in the file in start-time order as a flusher writes them."""
    shipped = SCENARIOS[scenario if scenario in SCENARIOS else "medium"]
    items = read_corpus(corpus) if corpus else builtin_corpus()
    pools = scenario_pools(shipped, items, user_corpus=corpus is not None)
    inputs = batch or shipped.inputs_per_request  # --batch replaces the scenario's
    rng = np.random.default_rng(0)
    rows: list[tuple[float, RecordRow, Sent]] = []  # (when written, the record, what it sent)
    for worker in ("worker-0", "worker-1"):
        for user in range(3):
            sampler = PayloadSampler(pools, user_seed(SEED, user))
            written = np.sort(rng.uniform(0, 10, 8))
            starts = written.copy()
            if shuffled_user and (worker, user) == ("worker-1", 2):
                starts[[2, 3]] = starts[[3, 2]]  # a clock step: its 4th request starts first
            for k, (at, start) in enumerate(zip(written.tolist(), starts.tolist(), strict=True)):
                batch = sampler.draw(inputs)
                category, bucket, chars = describe_batch(batch)
                failed = k == 5
                row = RecordRow(
                    T0 + start, 0.02, 500 if failed else 200,
                    ErrorKind.HTTP_5XX if failed else None, "boom" if failed else None,
                    inputs, chars, None if failed else chars // 2 + inputs, category, bucket,
                    user, worker,
                )  # fmt: skip
                rows.append((at, row, Sent(T0 + start, tuple(p.text for p in batch))))
    rows.sort(key=lambda r: r[0])
    run_dir.mkdir(parents=True, exist_ok=True)
    writer = RecordWriter(run_dir)
    writer.write_rows([r for _, r, _ in rows])
    writer.close()
    end = run_end(seed=SEED)
    corpus_name = str(corpus) if corpus else "builtin"
    fields = {"scenario": scenario, "inputs_per_request": inputs, "corpus": corpus_name}
    write_summary(run_dir, dataclasses.replace(end, meta=end.meta.model_copy(update=fields | meta)))
    return sorted((s for _, _, s in rows), key=lambda s: s.start)


def test_the_runs_texts_are_drawn_again_exactly(tmp_path: Path) -> None:
    sent = make_run(tmp_path)
    trace = trace_from_run(tmp_path)
    assert (trace.exact, trace.reason, trace.lines, trace.notes) == (True, None, 48, ())
    lines = list(trace)
    assert [r.texts for r in lines] == [s.texts for s in sent]
    assert [r.t_s for r in lines] == pytest.approx([s.start - sent[0].start for s in sent])
    assert [r.line for r in lines] == list(range(1, 49))
    assert all(r.tokens is None and r.category == "zh" and r.inputs == 10 for r in lines)
    assert list(trace) == lines  # iterating again reads them again


def test_a_users_requests_out_of_start_order_still_draw_their_own_texts(tmp_path: Path) -> None:
    sent = make_run(tmp_path, shuffled_user=True)
    trace = trace_from_run(tmp_path)
    assert trace.exact, trace.reason
    assert [r.texts for r in trace] == [s.texts for s in sent]
    pools = scenario_pools(SCENARIOS["medium"], builtin_corpus())
    sampler = PayloadSampler(pools, user_seed(SEED, 2))
    own = [tuple(p.text for p in sampler.draw(10)) for _ in range(8)]
    texts = {r.texts for r in trace}
    assert all(t in texts for t in own)


def test_a_record_the_draws_do_not_match_makes_token_lengths(tmp_path: Path) -> None:
    sent = make_run(tmp_path)
    records = (tmp_path / "records.jsonl").read_text(encoding="utf-8").splitlines()
    records[7] = records[7].replace('"chars":', '"chars":1', 1)  # a corpus that changed since
    (tmp_path / "records.jsonl").write_text("\n".join(records) + "\n", encoding="utf-8")
    trace = trace_from_run(tmp_path)
    assert not trace.exact
    assert trace.reason is not None and trace.reason.startswith("record 8 (user")
    lines = list(trace)
    assert all(r.texts is None and r.tokens is not None and r.inputs == 10 for r in lines)
    usage = [sum(map(len, s.texts)) // 2 + 10 for s in sent]  # the records' prompt_tokens
    reported = [sum(r.tokens or ()) == n for r, n in zip(lines, usage, strict=True)]
    assert sum(reported) >= 41  # usage.prompt_tokens, where the reply had it (not the 6 failed)
    for r in lines:  # an even split: no input more than one token off another
        assert max(r.tokens or (0,)) - min(r.tokens or (0,)) <= 1


def test_a_scenario_not_shipped_makes_token_lengths_from_chars(tmp_path: Path) -> None:
    sent = make_run(tmp_path, scenario="custom")
    trace = trace_from_run(tmp_path)
    assert not trace.exact and "'custom' is not a shipped one" in (trace.reason or "")
    lines = list(trace)
    failed = [r for r in lines if r.tokens and sum(r.tokens) == round(
        sum(map(len, sent[r.line - 1].texts)) / 1.4
    )]  # fmt: skip
    assert len(failed) == 6  # no usage on a failed reply: its chars by zh's chars per token


def test_a_user_corpus_is_drawn_from_again_or_named_when_gone(tmp_path: Path) -> None:
    corpus = tmp_path / "mine.txt"
    corpus.write_text("\n".join(f"text number {i} of mine" for i in range(50)), encoding="utf-8")
    run = tmp_path / "run"
    run.mkdir()
    sent = make_run(run, corpus=corpus, instruction="Represent this: ")
    trace = trace_from_run(run)
    assert trace.exact and [r.texts for r in trace] == [s.texts for s in sent]
    assert trace.notes and "instruction" in trace.notes[0]
    corpus.unlink()
    gone = trace_from_run(run)
    assert not gone.exact and "corpus cannot be drawn from again" in (gone.reason or "")
    assert all(r.tokens is not None for r in gone)


def test_a_replayed_traces_texts_are_copied_from_it_when_it_is_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = make_run(tmp_path / "run")
    source = tmp_path / "replayed.jsonl"
    lines = [TraceRequest(i + 1, s.start - T0, s.texts, None, "zh") for i, s in enumerate(sent)]
    dropped = TraceRequest(0, 0.0, ("never sent",), None)  # an arrival dropped at the replay
    write_trace(source, [*lines[:5], dataclasses.replace(dropped, t_s=lines[4].t_s), *lines[5:]])
    summary = read_summary(tmp_path / "run")
    traced = SimpleNamespace(path=str(source), sha256=file_sha256(source))

    def replayed(run_dir: Path) -> RunSummary:
        return summary.model_copy(update={"trace": traced})

    monkeypatch.setattr(run_traces, "read_summary", replayed)
    trace = trace_from_run(tmp_path / "run")
    assert trace.exact, trace.reason
    assert [r.texts for r in trace] == [s.texts for s in sent]
    source.write_text(source.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # edited
    changed = trace_from_run(tmp_path / "run")
    assert not changed.exact and "not here with the same SHA-256" in (changed.reason or "")
    assert all(r.texts is None and r.tokens for r in changed)


def test_the_trace_of_a_run_writes_and_reads_back(tmp_path: Path) -> None:
    make_run(tmp_path)
    trace = trace_from_run(tmp_path)
    info = write_trace(tmp_path / "trace.jsonl", trace)
    assert (info.lines, info.span_s) == (48, pytest.approx(list(trace)[-1].t_s, abs=1e-6))
    back = list(read_trace(tmp_path / "trace.jsonl"))
    assert [r.texts for r in back] == [r.texts for r in trace]


def test_a_batch_of_several_categories_is_left_without_one(tmp_path: Path) -> None:
    sent = make_run(tmp_path, scenario="peak", batch=4)
    trace = trace_from_run(tmp_path)
    assert trace.exact and [r.texts for r in trace] == [s.texts for s in sent]
    assert None in {r.category for r in trace}  # recorded as "multi": no one category
