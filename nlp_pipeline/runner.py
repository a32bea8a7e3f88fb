"""The jobs the CLI runs, as plain functions: ingest feeds, analyze what is pending, summarize.

Each stage is called through its public interface and hands `records` types on; a failure in
one feed or one article is recorded and the run goes on with the rest.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd
from tqdm import tqdm

from nlp_pipeline.config import Config, FeedConfig
from nlp_pipeline.errors import PipelineError
from nlp_pipeline.ingest import Ingestor, article_id
from nlp_pipeline.ingest.dedup import NearDuplicateIndex
from nlp_pipeline.nlp import Analyzer
from nlp_pipeline.nlp.entities import learned_aliases
from nlp_pipeline.records import FeedReport
from nlp_pipeline.store import Store
from nlp_pipeline.store import aliases as store_aliases

DEFAULT_WINDOW_DAYS = 28
NEAR_DUPLICATE_LOOKBACK_DAYS = 30


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
    own_run = run_id is None
    if run_id is None:
        run_id = store.start_run("ingest", [f.id for f in feeds], "")
    ingestor = ingestor or Ingestor(config.settings)
    index = NearDuplicateIndex()
    for key, cluster, signature in store.recent_signatures(NEAR_DUPLICATE_LOOKBACK_DAYS):
        index.add(key, signature, cluster)
    warnings: list[str] = []
    reports = [
        _ingest_feed(feed, store, ingestor, run_id, index, progress, warnings) for feed in feeds
    ]
    if own_run:
        store.finish_run(run_id, reports, 0)
    return reports, warnings


def analyze(
    store: Store,
    analyzer: Analyzer,
    run_id: str | None = None,
    reanalyze: bool = False,
    progress: bool = True,
    batch_size: int = 32,
) -> int:
    """Analyze every article whose stored analysis is missing or by other model versions
    (every article with `reanalyze`). Without a `run_id` this is a run of its own."""
    key = analyzer.version_key
    own_run = run_id is None
    if run_id is None:
        run_id = store.start_run("analyze", [], key)
    pending = store.articles_to_analyze(key, reanalyze)
    # Aliases learned from earlier articles (or added by users) link names given without a tag.
    analyzer.recognizer.add_aliases(store_aliases.active_aliases(store))
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
    for (article_key, document), result in bar:
        store.save_analysis(article_key, result, key, run_id)
        learned = analyzer.recognizer.new_aliases(learned_aliases(document, result))
        if learned:
            store_aliases.record_aliases(store, learned)
            analyzer.recognizer.add_aliases(learned)
    if own_run:
        store.finish_run(run_id, [], len(pending))
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
    run_id = store.start_run("run", feeds, analyzer.version_key)
    reports, warnings = ingest(config, store, feeds, run_id, ingestor, progress)
    analyzed = analyze(store, analyzer, run_id, progress=progress)
    status = store.finish_run(run_id, reports, analyzed)
    return RunResult(run_id, status, reports, analyzed, summarize(store, window_days), warnings)
