"""The jobs the CLI runs, as plain functions: ingest feeds, analyze what is pending, summarize.

Each stage is called through its public interface and hands `records` types on; a failure in
one feed or one article is recorded and the run goes on with the rest.
"""

from __future__ import annotations

import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
from tqdm import tqdm

from nlp_pipeline.config import Config, FeedConfig
from nlp_pipeline.errors import PipelineError
from nlp_pipeline.ingest import Ingestor, article_id
from nlp_pipeline.ingest.dates import to_utc
from nlp_pipeline.ingest.dedup import NearDuplicateIndex
from nlp_pipeline.ingest.local import (
    DEFAULT_MAX_FILE_BYTES,
    LocalProblem,
    iter_input_files,
    read_local_file,
)
from nlp_pipeline.nlp import Analyzer
from nlp_pipeline.nlp.entities import learned_aliases
from nlp_pipeline.records import AnalysisResult, Article, FeedReport
from nlp_pipeline.store import Store
from nlp_pipeline.store import aliases as store_aliases

DEFAULT_WINDOW_DAYS = 28
NEAR_DUPLICATE_LOOKBACK_DAYS = 30
LOCAL_BATCH = 500
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
    # A caller with its own handler (watch stops cleanly between articles) keeps it.
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
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


# A feed read from its listing, and the (ETag, Last-Modified) to keep (None: keep the stored).
Polled = tuple[FeedConfig, tuple[str | None, str | None] | None]


class _StoreGate:
    """Serializes the store and the near-duplicate index for the polling threads: the network
    work runs in parallel, every store operation happens one at a time (`turn`).

    Store operations are kept few and cheap, since the polling threads queue for them: the
    feeds' states are read once per round; a feed read from its listing alone is stored with
    its new state in one transaction, by a writer thread (`submit_batch`), so that a host's
    polling thread goes on to its next feed instead of queueing for the store; and while other
    threads are waiting their turn the store file stays attached (up to `HOLD_S` at a
    stretch), so a burst of writes costs one checkpoint instead of one each. When nobody
    waits, the file is given back to readers."""

    HOLD_S = 1.0
    MAX_GROUP = 64  # feeds stored in one transaction by the writer thread

    def __init__(
        self, store: Store, index: NearDuplicateIndex, feed_ids: Sequence[str] = ()
    ) -> None:
        self.store = store
        self.index = index
        self.lock = threading.Lock()
        self._waiting_lock = threading.Lock()  # guards `_waiting`
        self._waiting = 0
        self._attachment: AbstractContextManager[None] | None = None
        self._attached_at = 0.0
        self._states = store.feed_states(feed_ids) if feed_ids else {}
        self._submitted: queue.Queue[tuple[list[Article], FeedReport, Polled] | None] = (
            queue.Queue()
        )
        self._writer: threading.Thread | None = None
        self._writer_error: BaseException | None = None

    def submit_batch(self, articles: list[Article], report: FeedReport, polled: Polled) -> None:
        """`add_polled` in the writer thread, in the order submitted, several feeds per
        transaction when they queue up; `drain` waits for it."""
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_submitted, name="poll-writer")
            self._writer.start()
        self._submitted.put((articles, report, polled))

    def _write_submitted(self) -> None:
        done = False
        while not done:
            first = self._submitted.get()
            if first is None:
                break
            polls = [first]
            while len(polls) < self.MAX_GROUP:
                try:
                    item = self._submitted.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    done = True
                    break
                polls.append(item)
            try:
                self.add_polled(polls)
            except BaseException as exc:  # kept for `drain`; later feeds are still stored
                self._writer_error = self._writer_error or exc

    def drain(self) -> None:
        """Wait until everything submitted is stored; raise the first error it met."""
        if self._writer is not None:
            self._submitted.put(None)
            self._writer.join()
            self._writer = None
        if self._writer_error is not None:
            error, self._writer_error = self._writer_error, None
            raise error

    @contextmanager
    def turn(self) -> Iterator[None]:
        """One thread's store operations, with the file attached."""
        with self._waiting_lock:
            self._waiting += 1
        with self.lock:
            with self._waiting_lock:
                self._waiting -= 1
            if self._attachment is None:
                self._attachment = self.store.attached()
                self._attachment.__enter__()
                self._attached_at = time.monotonic()
            try:
                yield
            finally:
                with self._waiting_lock:
                    others = self._waiting
                if not others or time.monotonic() - self._attached_at > self.HOLD_S:
                    self.close()

    def close(self) -> None:
        """Give the store file back (after a round, or when nobody waits)."""
        if self._attachment is not None:
            attachment, self._attachment = self._attachment, None
            attachment.__exit__(None, None, None)

    def feed_state(self, feed_id: str) -> dict[str, Any]:
        return self._states.get(feed_id) or {}

    def known(self, ids: list[str]) -> set[str]:
        with self.turn():
            return self.store.known_article_ids(ids)

    def failure(self, report: FeedReport, run_id: str, url: str, exc: BaseException) -> str:
        with self.turn():
            return _record_failure(report, self.store, run_id, url, exc)

    def update_feed_state(self, feed: FeedConfig, **kwargs: Any) -> None:
        with self.turn():
            self.store.update_feed_state(feed.id, feed.url, **kwargs)

    def add(self, article: Article, report: FeedReport) -> None:
        """Cluster and store one article, counting it in the report."""
        with self.turn():
            cluster = self.index.find(article.minhash)
            article.cluster_id = cluster or article.article_id
            if not self.store.add_article(article):
                report.already_stored += 1
                return
            self.index.add(
                article.article_id, article.minhash, article.cluster_id, _stored_time(article)
            )
        if cluster:
            report.near_duplicate += 1
        else:
            report.new += 1

    def add_batch(self, articles: list[Article], report: FeedReport) -> None:
        """Cluster and store a batch in one transaction (bulk local ingest)."""
        with self.turn():
            fresh = self._cluster_new(articles, report, set())
            self.store.add_articles(fresh)

    def add_polled(self, polls: Sequence[tuple[list[Article], FeedReport, Polled]]) -> None:
        """Cluster and store the articles of several feeds read from their listings, and each
        feed's new state, in one transaction."""
        with self.turn():
            seen: set[str] = set()
            fresh = [
                a
                for articles, report, _ in polls
                for a in self._cluster_new(articles, report, seen)
            ]
            states = [(feed.id, feed.url, validators) for _, _, (feed, validators) in polls]
            self.store.add_polled_articles(fresh, states)

    def _cluster_new(
        self, articles: list[Article], report: FeedReport, seen: set[str]
    ) -> list[Article]:
        """The articles neither stored nor `seen` (which they join), clustered against the
        index (which they join too), counted in `report`."""
        known = self.store.known_article_ids([a.article_id for a in articles]) | seen
        fresh = []
        for article in articles:
            if article.article_id in known:
                report.already_stored += 1
                continue
            known.add(article.article_id)
            seen.add(article.article_id)
            cluster = self.index.find(article.minhash)
            article.cluster_id = cluster or article.article_id
            self.index.add(
                article.article_id, article.minhash, article.cluster_id, _stored_time(article)
            )
            fresh.append(article)
            if cluster:
                report.near_duplicate += 1
            else:
                report.new += 1
        return fresh


def _near_duplicate_index(store: Store) -> NearDuplicateIndex:
    """The index new articles are clustered against: the store's last lookback window, and
    then this run's articles, each kept while it is within the window of the newest."""
    index = NearDuplicateIndex(window=timedelta(days=NEAR_DUPLICATE_LOOKBACK_DAYS))
    for key, cluster, signature, published in store.recent_signatures(NEAR_DUPLICATE_LOOKBACK_DAYS):
        index.add(key, signature, cluster, published)
    return index


def _stored_time(article: Article) -> datetime:
    """The time the store dates an article by: published, else fetched, in UTC."""
    return to_utc(article.published or article.fetched_at)


def _ingest_feed(
    feed: FeedConfig,
    gate: _StoreGate,
    ingestor: Ingestor,
    run_id: str,
    progress: bool,
    warnings: list[str],
    should_stop: Callable[[], bool],
) -> FeedReport:
    report = FeedReport(feed.id)
    state = gate.feed_state(feed.id)
    try:
        poll = ingestor.poll(feed, state.get("etag"), state.get("last_modified"))
    except Exception as exc:  # one broken feed must not stop the others
        message = gate.failure(report, run_id, feed.url, exc)
        gate.update_feed_state(feed, error=message)
        return report
    warnings.extend(poll.warnings)
    if poll.not_modified:
        report.not_modified = True
        gate.update_feed_state(feed)
        return report
    seen_in_feed: set[str] = set()
    entries = []
    for entry in poll.entries:
        key = article_id(entry.url)
        if key not in seen_in_feed:
            seen_in_feed.add(key)
            entries.append((key, entry))
    # Articles built from the feed alone (no page fetch) are stored with the feed's new state in
    # one transaction, which sorts out those already stored; fetched pages are stored one by
    # one, each as soon as it arrives, after asking which are stored already (no fetch for them).
    batch: list[Article] | None = [] if not (feed.full_text or feed.kind == "page") else None
    known = gate.known([key for key, _ in entries]) if batch is None else set()
    bar = tqdm(
        entries,
        desc=f"ingest {feed.id}",
        unit="article",
        file=sys.stderr,
        disable=None if progress else True,
        leave=False,
    )
    stopped = False
    for key, entry in bar:
        if key in known:
            report.already_stored += 1
            continue
        if should_stop():
            stopped = True
            break
        try:
            article = ingestor.fetch_article(feed, entry, poll.page)
        except Exception as exc:  # one broken article must not stop the feed
            gate.failure(report, run_id, entry.url, exc)
            continue
        if batch is None:
            gate.add(article, report)
        else:
            batch.append(article)
    # Only trust the feed's validators once every entry it listed is stored, so that a
    # conditional GET never hides entries that failed (or were not reached) this time.
    validators = None if report.failed or stopped else (poll.etag, poll.last_modified)
    if batch is not None:
        gate.submit_batch(batch, report, (feed, validators))
    else:
        gate.update_feed_state(feed, validators=validators)
    return report


def _host_of(feed: FeedConfig) -> str:
    return urlsplit(feed.url).netloc.lower() or feed.url


def ingest(
    config: Config,
    store: Store,
    feed_ids: Sequence[str] | None = None,
    run_id: str | None = None,
    ingestor: Ingestor | None = None,
    progress: bool = True,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[list[FeedReport], list[str]]:
    """Poll the feeds and store new articles. Returns per-feed reports (in the feeds' order)
    and warnings. Hosts are polled in parallel (`settings.max_parallel_hosts`), the feeds of
    one host one after another. Without a `run_id` this is a run of its own, recorded in the
    store's `runs` table. `should_stop` is asked between articles (watch's clean shutdown)."""
    feeds = config.select(list(feed_ids) if feed_ids else None)
    if run_id is None:
        with _own_run(store, "ingest", [f.id for f in feeds], "") as own_id:
            result = ingest(config, store, feed_ids, own_id, ingestor, progress, should_stop)
            store.finish_run(own_id, result[0], 0)
        return result
    own_ingestor = ingestor is None
    ingestor = ingestor or Ingestor(config.settings)
    index = _near_duplicate_index(store)
    gate = _StoreGate(store, index, [f.id for f in feeds])
    stop = should_stop or (lambda: False)
    warnings: list[str] = []
    by_host: dict[str, list[FeedConfig]] = {}
    for feed in feeds:
        by_host.setdefault(_host_of(feed), []).append(feed)

    def poll_host(host_feeds: list[FeedConfig]) -> list[FeedReport]:
        reports = []
        for feed in host_feeds:
            if stop():
                break
            reports.append(_ingest_feed(feed, gate, ingestor, run_id, progress, warnings, stop))
        return reports

    workers = max(1, min(ingestor.settings.max_parallel_hosts, len(by_host)))
    try:
        if workers == 1:
            done = [poll_host(group) for group in by_host.values()]
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="poll") as pool:
                done = list(pool.map(poll_host, by_host.values()))
    finally:
        try:
            gate.drain()  # what the polling threads handed over is stored before the round ends
        finally:
            with gate.lock:  # the round is over: the file goes back to readers
                gate.close()
            if own_ingestor:
                ingestor.close()
    by_feed = {r.feed_id: r for group in done for r in group}
    reports = [by_feed[f.id] for f in feeds if f.id in by_feed]
    return reports, warnings


@dataclass
class LocalIngestReport:
    """What `ingest_files` did: counts, the files that could not be used, and warnings."""

    feed_id: str
    files: int = 0
    files_failed: int = 0
    new: int = 0
    near_duplicate: int = 0
    already_stored: int = 0
    failed: int = 0
    elapsed_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def articles(self) -> int:
        return self.new + self.near_duplicate + self.already_stored

    def as_feed_report(self) -> FeedReport:
        return FeedReport(
            self.feed_id,
            new=self.new,
            near_duplicate=self.near_duplicate,
            already_stored=self.already_stored,
            failed=self.failed + self.files_failed,
            errors=list(self.errors),
        )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def ingest_files(
    paths: Sequence[str | Path],
    store: Store,
    feed_id: str = "local",
    run_id: str | None = None,
    progress: bool = True,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    should_stop: Callable[[], bool] | None = None,
) -> LocalIngestReport:
    """Ingest local files and folders (feeds, sitemaps, HTML, JSONL, text), streamed. A file
    that cannot be used is reported (one line naming it) and the run goes on."""
    if run_id is None:
        with _own_run(store, "ingest", [feed_id], "") as own_id:
            result = ingest_files(
                paths, store, feed_id, own_id, progress, max_file_bytes, should_stop
            )
            store.finish_run(own_id, [result.as_feed_report()], 0)
        return result
    started = time.perf_counter()
    index = _near_duplicate_index(store)
    gate = _StoreGate(store, index)
    report = LocalIngestReport(feed_id)
    feed_report = FeedReport(feed_id)
    inputs = list(iter_input_files(paths))
    total = sum(_size(p) for p in inputs if isinstance(p, Path))
    bar = tqdm(
        total=total,
        desc="ingest files",
        unit="B",
        unit_scale=True,
        file=sys.stderr,
        disable=None if progress else True,
        leave=False,
    )
    stop = should_stop or (lambda: False)
    # Articles are written in batches, one transaction each: a crash loses at most the batch
    # in hand, never anything committed.
    batch: list[Article] = []
    with bar:
        for item in inputs:
            if stop():
                break
            if isinstance(item, LocalProblem):
                report.files_failed += 1
                report.errors.append(str(item))
                store.record_error(run_id, feed_id, str(item.path), str(item))
                continue
            report.files += 1
            for found in read_local_file(item, feed_id, max_file_bytes):
                if isinstance(found, LocalProblem):
                    if found.fatal:
                        report.files_failed += 1
                        report.errors.append(str(found))
                        store.record_error(run_id, feed_id, str(found.path), str(found))
                    elif found.message.startswith("line "):
                        report.failed += 1
                        report.errors.append(str(found))
                        store.record_error(run_id, feed_id, str(found.path), str(found))
                    else:
                        report.warnings.append(str(found))
                    continue
                batch.append(found)
                if len(batch) >= LOCAL_BATCH:
                    gate.add_batch(batch, feed_report)
                    batch = []
                if stop():
                    break
            bar.update(_size(item))
        if batch:
            gate.add_batch(batch, feed_report)
    report.new = feed_report.new
    report.near_duplicate = feed_report.near_duplicate
    report.already_stored = feed_report.already_stored
    report.elapsed_s = time.perf_counter() - started
    return report


def feed_status(config: Config, store: Store | None) -> pd.DataFrame:
    """Every configured feed with its last success, last error and counts (a feed never
    polled, or no store yet, shows empty status)."""
    rows = []
    state: dict[str, tuple[Any, ...]] = {}
    if store is not None:
        polled = store.feed_status()
        columns = [
            "last_polled_at",
            "last_success_at",
            "failures",
            "last_error",
            "articles",
            "errors",
        ]
        for feed_id, *row in polled[["feed_id", *columns]].astype(object).itertuples(index=False):
            state[feed_id] = tuple(None if v is None or v != v else v for v in row)
    for feed in config.feeds:
        polled, success, failures, error, articles, errors = state.get(
            feed.id, (None, None, 0, None, 0, 0)
        )
        rows.append(
            {
                "feed": feed.id,
                "enabled": feed.enabled,
                "last_polled": polled,
                "last_success": success,
                "every": f"{feed.poll_interval_s // 60}m",
                "failures_in_row": failures,
                # Errors start with the feed's URL, shown once already in `feeds list`.
                "last_error": error.removeprefix(f"{feed.url}: ")[:80] if error else None,
                "errors": errors,
                "articles": articles,
            }
        )
    frame = pd.DataFrame(rows)
    for column in ("last_polled", "last_success"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


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
    batch: list[tuple[str, AnalysisResult]] = []
    for (article_key, document), result in bar:
        batch.append((article_key, result))
        learned = analyzer.recognizer.new_aliases(learned_aliases(document, result))
        if learned:
            store_aliases.record_aliases(store, learned)
            analyzer.recognizer.add_aliases(learned)
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
