"""`watch`: rounds on each feed's interval, the store released between batches, clean stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from nlp_pipeline.config import load_config
from nlp_pipeline.nlp import Analyzer
from nlp_pipeline.store import Store
from nlp_pipeline.watch import WatchRound, watch

ITEM = """<item><title>{title}</title><link>https://news.example.com/{slug}</link>
<pubDate>Tue, 04 Aug 2026 14:30:00 GMT</pubDate>
<description>Small caps rallied as the Russell 2000 outpaced the S&amp;P 500.</description>
</item>"""


def write_feed(path: Path, titles: list[str]) -> None:
    items = "".join(ITEM.format(title=t, slug=t.lower().replace(" ", "-")) for t in titles)
    path.write_text(f'<rss version="2.0"><channel><title>W</title>{items}</channel></rss>')


def write_config(tmp_path: Path) -> Path:
    write_feed(tmp_path / "feed.xml", ["First story"])
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "feeds:\n  - id: wire\n    url: feed.xml\n    kind: rss\n    poll_interval: 1s\n"
        "    full_text: false\n"
    )
    return config


def test_rounds_analyze_new_articles_and_release_the_store(
    tmp_path: Path, analyzer: Analyzer
) -> None:
    config = load_config(write_config(tmp_path))
    db = tmp_path / "watch.duckdb"
    seen_by_reader: list[tuple[int, int]] = []

    def after_round(done: WatchRound) -> None:
        # Another reader gets in between batches: watch holds no connection now.
        with Store(db, read_only=True) as reader:
            counts = reader.counts()
        seen_by_reader.append((counts["articles"], counts["analyses"]))
        if done.number == 1:
            write_feed(tmp_path / "feed.xml", ["First story", "Second story"])

    rounds = watch(config, db, analyzer, max_rounds=2, on_round=after_round, handle_signals=False)
    assert rounds == 2
    assert seen_by_reader == [(1, 1), (2, 2)]


def test_stop_event_ends_watch_between_rounds(tmp_path: Path, analyzer: Analyzer) -> None:
    config = load_config(write_config(tmp_path))
    stop = threading.Event()
    rounds = watch(
        config,
        tmp_path / "w.duckdb",
        analyzer,
        on_round=lambda _: stop.set(),
        stop=stop,
        handle_signals=False,
    )
    assert rounds == 1


def test_sigterm_stops_the_command_cleanly(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    db = tmp_path / "cli.duckdb"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nlp_pipeline.cli",
            "watch",
            "--config",
            str(config),
            "--db",
            str(db),
            "-q",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "round 1: wire 1 new" in first
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "watch stopped after 1 rounds" in out
    with Store(db, read_only=True) as store:
        assert store.counts()["articles"] == 1
