"""The jobs the CLI runs, as plain functions: ingest feeds, analyze what is pending, summarize.

Each stage is called through its public interface and hands `records` types on; a failure in
one feed or one article is recorded and the run goes on with the rest.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd
from tqdm import tqdm

from nlp_pipeline.config import Config, FeedConfig
from nlp_pipeline.errors import PipelineError
from nlp_pipeline.ingest import Ingestor, article_id
from nlp_pipeline.ingest.dedup import NearDuplicateIndex
from nlp_pipeline.nlp import Analyzer
from nlp_pipeline.records import AnalysisResult, FeedReport
from nlp_pipeline.store import Store

DEFAULT_WINDOW_DAYS = 28
NEAR_DUPLICATE_LOOKBACK_DAYS = 30
# Analyses written per transaction: large enough for fast bulk inserts, small enough that
# readers get the store file back often.
WRITE_BATCH = 1024


@dataclass
class Summary:
    """What the store says about the latest window vs the one before it."""

    window_days: int
    window_end: datetime | None
    top_tickers: pd.DataFrame
    top_other_entities: pd.DataFrame
    themes: pd.DataFrame


@dataclass
class RunResult:
    run_id: str
    status: str
    reports: list[FeedReport]
    analyzed: int
    summary: Summary | None = None
    warnings: list[str] = field(default_factory=list)


@contextmanager
def _own_run(
    store: Store, command: str, feeds: Sequence[str], model_versions: str
) -> Iterator[str]:
    """A run recorded in the store that ends `interrupted` when stopped (Ctrl-C, SIGTERM) and
    `failed` on an unexpected error, keeping what it committed. The caller finishes it."""
    run_id = store.start_run(command, feeds, model_versions)
    with _terminate_as_interrupt():
        try:
            yield run_id
        except (KeyboardInterrupt, SystemExit):
            store.end_run(run_id, "interrupted")
            raise
        except BaseException:
            store.end_run(run_id, "failed")
            raise


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a service manager stopping the job) unwinds like Ctrl-C, so the run is closed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, PipelineError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


def _record_failure(
    report: FeedReport, store: Store, run_id: str, url: str, exc: BaseException
) -> str:
    message = _error_text(exc)
    report.failed += 1
    report.errors.append(message)
    store.record_error(run_id, report.feed_id, url, message)
    return message


def _ingest_feed(
    feed: FeedConfig,
    store: Store,
    ingestor: Ingestor,
    run_id: str,
    index: NearDuplicateIndex,
    progress: bool,
    warnings: list[str],
) -> FeedReport:
    report = FeedReport(feed.id)
    state = store.feed_state(feed.id) or {}
    try:
        poll = ingestor.poll(feed, state.get("etag"), state.get("last_modified"))
    except Exception as exc:  # one broken feed must not stop the others
        message = _record_failure(report, store, run_id, feed.url, exc)
        store.update_feed_state(feed.id, feed.url, error=message)
        return report
    warnings.extend(poll.warnings)
    if poll.not_modified:
        report.not_modified = True
        store.update_feed_state(feed.id, feed.url)
        return report
    seen_in_feed: set[str] = set()
    entries = []
    for entry in poll.entries:
        key = article_id(entry.url)
        if key not in seen_in_feed:
            seen_in_feed.add(key)
            entries.append((key, entry))
    known = store.known_article_ids([key for key, _ in entries])
    bar = tqdm(
        entries,
        desc=f"ingest {feed.id}",
        unit="article",
        file=sys.stderr,
        disable=None if progress else True,
        leave=False,
    )
    for key, entry in bar:
        if key in known:
            report.already_stored += 1
            continue
        try:
            article = ingestor.fetch_article(feed, entry, poll.page)
        except Exception as exc:  # one broken article must not stop the feed
            _record_failure(report, store, run_id, entry.url, exc)
            continue
        cluster = index.find(article.minhash)
        article.cluster_id = cluster or article.article_id
        if not store.add_article(article):
            report.already_stored += 1
            continue
        index.add(article.article_id, article.minhash, article.cluster_id)
        if cluster:
            report.near_duplicate += 1
        else:
            report.new += 1
    # Only trust the feed's validators once every entry it listed is stored, so that a
    # conditional GET never hides entries that failed this time.
    validators = None if report.failed else (poll.etag, poll.last_modified)
    store.update_feed_state(feed.id, feed.url, validators=validators)
    return report


def ingest(
    config: Config,
    store: Store,
    feed_ids: Sequence[str] | None = None,
    run_id: str | None = None,
    ingestor: Ingestor | None = None,
    progress: bool = True,
) -> tuple[list[FeedReport], list[str]]:
    """Poll the feeds and store new articles. Returns per-feed reports and warnings.
    Without a `run_id` this is a run of its own, recorded in the store's `runs` table."""
    feeds = config.select(list(feed_ids) if feed_ids else None)
    if run_id is None:
        with _own_run(store, "ingest", [f.id for f in feeds], "") as own_id:
            result = ingest(config, store, feed_ids, own_id, ingestor, progress)
            store.finish_run(own_id, result[0], 0)
        return result
    ingestor = ingestor or Ingestor(config.settings)
    index = NearDuplicateIndex()
    for key, cluster, signature in store.recent_signatures(NEAR_DUPLICATE_LOOKBACK_DAYS):
        index.add(key, signature, cluster)
    warnings: list[str] = []
    reports = [
        _ingest_feed(feed, store, ingestor, run_id, index, progress, warnings) for feed in feeds
    ]
    return reports, warnings


def analyze(
    store: Store,
    analyzer: Analyzer,
    run_id: str | None = None,
    reanalyze: bool = False,
    progress: bool = True,
    batch_size: int = 32,
    write_batch: int = WRITE_BATCH,
) -> int:
    """Analyze every article whose stored analysis is missing or by other model versions
    (every article with `reanalyze`). Without a `run_id` this is a run of its own. Analyses
    are written `write_batch` articles at a time, each batch in one transaction (and the store
    file is free for readers between batches)."""
    key = analyzer.version_key
    if run_id is None:
        with _own_run(store, "analyze", [], key) as own_id:
            count = analyze(store, analyzer, own_id, reanalyze, progress, batch_size, write_batch)
            store.finish_run(own_id, [], count)
        return count
    pending = store.articles_to_analyze(key, reanalyze)
    documents = (document for _, document in pending)
    results = analyzer.analyze_many(documents, batch_size=batch_size)
    bar = tqdm(
        zip(pending, results, strict=True),
        total=len(pending),
        desc="analyze",
        unit="article",
        file=sys.stderr,
        disable=None if progress else True,
        leave=False,
    )
    batch: list[tuple[str, AnalysisResult]] = []
    for (article_key, _), result in bar:
        batch.append((article_key, result))
        if len(batch) >= write_batch:
            store.save_analyses(batch, key, run_id)
            batch = []
    store.save_analyses(batch, key, run_id)
    return len(pending)


def summarize(store: Store, window_days: int = DEFAULT_WINDOW_DAYS) -> Summary:
    """Top tickers, other entities and themes in the store's latest window vs the one before."""
    end = store.latest_date()
    if end is None:
        empty = pd.DataFrame()
        return Summary(window_days, None, empty, empty, empty)
    end_exclusive = end + timedelta(seconds=1)
    start = end_exclusive - timedelta(days=window_days)
    return Summary(
        window_days=window_days,
        window_end=end,
        top_tickers=store.top_entities(["TICKER"], start, end_exclusive, 10),
        top_other_entities=store.top_entities(
            ["INDEX", "POLICY", "ORG", "SECTOR"], start, end_exclusive, 12
        ),
        themes=store.theme_shift(end_exclusive, window_days, 18),
    )


def run(
    config: Config,
    store: Store,
    analyzer: Analyzer,
    feed_ids: Sequence[str] | None = None,
    ingestor: Ingestor | None = None,
    progress: bool = True,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> RunResult:
    """Ingest, analyze, store, summarize: the main job."""
    feeds = [f.id for f in config.select(list(feed_ids) if feed_ids else None)]
    with _own_run(store, "run", feeds, analyzer.version_key) as run_id:
        reports, warnings = ingest(config, store, feeds, run_id, ingestor, progress)
        analyzed = analyze(store, analyzer, run_id, progress=progress)
        status = store.finish_run(run_id, reports, analyzed)
    return RunResult(run_id, status, reports, analyzed, summarize(store, window_days), warnings)
