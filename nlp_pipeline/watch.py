"""`nlp-pipeline watch`: poll each feed on its own interval, analyze what is new, repeat.

The store is opened for each batch and closed between batches, so other processes (a
`query`, `trends` or `export`) can open it while watch sleeps. SIGINT and SIGTERM stop it
cleanly: the article in hand is finished (each article is its own transaction), no new one is
started, and the feeds' conditional-GET validators are only advanced for feeds read to the end.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from nlp_pipeline import runner
from nlp_pipeline.config import Config
from nlp_pipeline.errors import StoreError
from nlp_pipeline.ingest import Ingestor
from nlp_pipeline.nlp import Analyzer
from nlp_pipeline.records import FeedReport
from nlp_pipeline.store import Store

# Longest single sleep, so a changed clock or a missed signal never stalls watch for long.
MAX_SLEEP_S = 60.0
STORE_RETRY_S = 10.0


@dataclass
class WatchRound:
    number: int
    started_at: datetime
    reports: list[FeedReport]
    analyzed: int
    warnings: list[str] = field(default_factory=list)

    @property
    def new(self) -> int:
        return sum(r.new + r.near_duplicate for r in self.reports)


def watch(
    config: Config,
    db_path: str | Path,
    analyzer: Analyzer,
    feed_ids: Sequence[str] | None = None,
    *,
    max_rounds: int | None = None,
    stop: threading.Event | None = None,
    on_round: Callable[[WatchRound], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
    progress: bool = False,
    handle_signals: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Poll until stopped (a signal, `stop` set, or `max_rounds` rounds). Returns the rounds."""
    feeds = config.select(list(feed_ids) if feed_ids else None)
    stop = stop or threading.Event()
    next_due = {feed.id: 0.0 for feed in feeds}
    ingestor = Ingestor(config.settings)
    previous: dict[int, Any] = {}
    if handle_signals and threading.current_thread() is threading.main_thread():

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[int(sig)] = signal.signal(sig, request_stop)
    rounds = 0
    try:
        while feeds and not stop.is_set():
            now = clock()
            due = [feed.id for feed in feeds if next_due[feed.id] <= now]
            if due:
                started = datetime.now(UTC)
                try:
                    with Store(db_path) as store:
                        reports, warnings = runner.ingest(
                            config,
                            store,
                            due,
                            ingestor=ingestor,
                            progress=progress,
                            should_stop=stop.is_set,
                        )
                        fresh = sum(r.new + r.near_duplicate for r in reports)
                        analyzed = (
                            runner.analyze(store, analyzer, progress=progress)
                            if fresh and not stop.is_set()
                            else 0
                        )
                except StoreError as exc:
                    # E.g. another process holds the store for writing: try again shortly.
                    if on_error is not None:
                        on_error(exc)
                    stop.wait(STORE_RETRY_S)
                    continue
                rounds += 1
                finished = clock()
                for feed in feeds:
                    if feed.id in due:
                        next_due[feed.id] = finished + feed.poll_interval_s
                if on_round is not None:
                    on_round(WatchRound(rounds, started, reports, analyzed, warnings))
                if max_rounds is not None and rounds >= max_rounds:
                    break
            wait = min(next_due.values()) - clock()
            if wait > 0:
                stop.wait(min(wait, MAX_SLEEP_S))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        ingestor.close()
    return rounds
