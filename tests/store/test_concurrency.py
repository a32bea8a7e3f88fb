"""Readers during writes, and runs that end `interrupted`, with real separate processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nlp_pipeline.cli import main
from nlp_pipeline.store import Store
from tests.conftest import REPO
from tests.store.builders import add, analysis, at

WRITER = r"""
import sys, time
from tests.store.builders import add, analysis, at
from nlp_pipeline.store import Store

store = Store(sys.argv[1])
result = analysis([("FIX rose as small caps rallied.", 0.5, ["small_cap_rotation"])],
                  {"TICKER:FIX": ([0], 0.8)})
for n in range(int(sys.argv[2])):
    add(store, f"w{n}", at("2026-08-05"), result)
    print(n, flush=True)
    time.sleep(0.02)  # the analysis of the next batch
store.close()
print("done", flush=True)
"""

HOLDER = r"""
import sys, time
from nlp_pipeline.store import Store

store = Store(sys.argv[1])
with store.transaction():  # a writer stuck in one long batch
    print("holding", flush=True)
    time.sleep(60)
"""


def _python(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_readers_answer_while_another_process_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Readers wait for the batch in hand however slow a loaded machine makes it.
    monkeypatch.setenv("NLP_PIPELINE_DB_WAIT", "60")
    path = tmp_path / "s.duckdb"
    Store(path).close()
    writer = _python(WRITER, str(path), "60")
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "0"
        seen = []
        while writer.poll() is None and len(seen) < 15:
            code = main(["trends", "--entity", "TICKER:FIX", "--db", str(path), "--format", "csv"])
            assert code == 0, capsys.readouterr().err
            lines = capsys.readouterr().out.strip().splitlines()
            seen.append(int(lines[1].split(",")[2]) if len(lines) > 1 else 0)
        assert writer.wait(60) == 0, writer.stderr.read() if writer.stderr else ""
    finally:
        writer.kill()
        writer.wait()
    assert len(seen) >= 2 and seen == sorted(seen)  # answers only grow as batches commit
    with Store(path, read_only=True) as store:
        assert store.trends("FIX")["stories"].tolist() == [60]


def test_a_reader_kept_waiting_is_told_who_holds_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.duckdb"
    Store(path).close()
    holder = _python(HOLDER, str(path))
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        monkeypatch.setenv("NLP_PIPELINE_DB_WAIT", "0.5")
        started = time.monotonic()
        assert main(["trends", "--entity", "FIX", "--db", str(path)]) == 2
        waited = time.monotonic() - started
        err = capsys.readouterr().err
        assert err.startswith(f"nlp-pipeline trends: error: store {path} is busy: held by pid ")
        assert f"pid {holder.pid} (`-c {path}`, writing since " in err
        assert "waited 0.5 s" in err and "Traceback" not in err
        assert 0.5 <= waited < 5
    finally:
        holder.kill()
        holder.wait()


def test_a_run_whose_process_died_is_marked_interrupted_at_next_open(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    script = (
        "import sys, time; from nlp_pipeline.store import Store\n"
        "s = Store(sys.argv[1]); s.start_run('run', ['demo'], 'v1'); print('started', flush=True)\n"
        "time.sleep(60)"
    )
    victim = _python(script, str(path))
    assert victim.stdout is not None and victim.stdout.readline().strip() == "started"
    with Store(path, read_only=True) as store:  # alive: still running
        assert store.query("SELECT status FROM runs")["status"].tolist() == ["running"]
    victim.kill()  # SIGKILL: no chance to clean up
    victim.wait()
    with Store(path) as store:
        runs = store.query("SELECT status, finished_at IS NOT NULL AS ended FROM runs")
        assert runs.values.tolist() == [["interrupted", True]]


def test_sigterm_ends_a_run_as_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    script = r"""
import sys, time
from nlp_pipeline import runner
from nlp_pipeline.config import load_config
from nlp_pipeline.ingest import Ingestor
from nlp_pipeline.store import Store

class Slow(Ingestor):
    def fetch_article(self, feed, entry, page=None):
        print("fetching", flush=True)
        time.sleep(60)

config = load_config("feeds.yaml")
with Store(sys.argv[1]) as store:
    runner.ingest(config, store, ["demo"], ingestor=Slow(config.settings), progress=False)
"""
    job = _python(script, str(path))
    assert job.stdout is not None and job.stdout.readline().strip() == "fetching"
    os.kill(job.pid, signal.SIGTERM)
    assert job.wait(30) != 0
    with Store(path, read_only=True) as store:
        runs = store.query("SELECT command, status FROM runs")
        assert runs.values.tolist() == [["ingest", "interrupted"]]


def test_the_writer_leaves_the_file_free_between_operations(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as writer:
        add(
            writer,
            "a",
            at("2026-08-05"),
            analysis([("FIX up.", 0.1, [])], {"TICKER:FIX": ([0], 1.0)}),
        )
        # another process could open it now: a read-only store in this one shows it
        with Store(path, read_only=True, wait_s=0) as reader:
            assert reader.counts()["articles"] == 1
        assert (tmp_path / "s.duckdb.writer").exists()
    assert not (tmp_path / "s.duckdb.writer").exists()
