"""`embload run`'s pieces: scenario names, Locust's command line, run directories, progress."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtest.config.settings import RunSettings
from loadtest.core.errors import UsageError
from loadtest.driver.progress import Progress
from loadtest.driver.runner import _run_dirs, locust_command, scenario_names
from loadtest.target.url import parse_target


def test_scenario_names() -> None:
    assert scenario_names("all") == ["single", "medium", "peak"]
    assert scenario_names("peak, single") == ["peak", "single"]
    with pytest.raises(
        UsageError, match=r"^unknown scenario 'huge'; pick from single, medium, peak"
    ):
        scenario_names("huge")


def test_locust_gets_its_own_options_only() -> None:
    cmd = locust_command("medium", 3, 2.4, parse_target("http://127.0.0.1:30000/v1"))
    joined = " ".join(cmd)
    assert "scenarios/medium.py" in joined and "--headless" in cmd
    assert "-u 3 -r 3" in joined and "-t 2s" in joined  # Locust runs whole seconds
    # the route itself, found or given: a Locust process asks nothing again
    assert "--host http://127.0.0.1:30000/v1/embeddings " in joined + " "
    assert not any(arg.startswith("--embload") for arg in cmd)  # settings travel as one value
    assert "--processes" not in cmd and "--csv" not in cmd
    cmd = locust_command("single", 1, 1, parse_target("http://h:1/v1"), -1, Path("r/locust"))
    assert " --processes -1 " in " ".join(cmd) + " " and " --csv r/locust" in " ".join(cmd)


def test_run_directories(tmp_path: Path) -> None:
    one = RunSettings.model_validate({"out": tmp_path / "r"})
    assert _run_dirs(one, ["single"]) == {"single": tmp_path / "r"}
    (tmp_path / "r" / "records.jsonl").write_text("")
    with pytest.raises(UsageError, match="already holds a run"):
        _run_dirs(one, ["single"])
    several = RunSettings.model_validate({"out": tmp_path / "all"})
    dirs = _run_dirs(several, ["single", "peak"])
    assert dirs == {"single": tmp_path / "all" / "single", "peak": tmp_path / "all" / "peak"}
    assert all(d.is_dir() for d in dirs.values())
    fresh = _run_dirs(RunSettings.model_validate({"reports": tmp_path / "rep"}), ["peak"])
    assert fresh["peak"].parent == tmp_path / "rep" and fresh["peak"].name.endswith("-peak")


def line(start: float, latency_s: float, error: str | None = None) -> bytes:
    return json.dumps({"start_time": start, "latency_s": latency_s, "error": error}).encode()


def test_progress_reads_what_locust_appends_a_line_at_a_time(tmp_path: Path) -> None:
    progress = Progress("peak", tmp_path, 10.0)
    progress.poll()  # no file yet
    assert "waiting for the first replies" in progress.render(progress.started).plain
    with (tmp_path / "records.jsonl").open("ab") as f:
        f.write(line(100.0, 0.010) + b"\n" + line(100.5, 0.030) + b"\n")
        f.write(line(101.0, 0.5, "timeout")[:20])  # a line Locust is still writing
        f.flush()
        progress.poll()
        assert (progress.requests, progress.errors) == (2, 0)
        f.write(line(101.0, 0.5, "timeout")[20:] + b"\n")
        f.flush()
        progress.poll()
    text = progress.render(progress.started + 4).plain
    assert (progress.requests, progress.errors) == (3, 1)
    # P50 of 10 and 30 ms is 20; P99 is 10 + 0.99 * 20
    assert "P50 20.0 ms  P99 29.8 ms" in text and "3 req" in text and "1 errors" in text
    assert text.count("━") == 20 and "4/10 s" in text
    progress.close()
