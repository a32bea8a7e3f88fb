"""DuckDB-backed store: idempotent, transactional writes and the queries answers are built on."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb
import pyarrow as pa

from nlp_pipeline.errors import StoreAccessError, StoreError
from nlp_pipeline.records import AnalysisResult, Article, FeedReport
from nlp_pipeline.store import queries
from nlp_pipeline.store.connection import (
    COMPACT_ROW_GROUP_ROWS,
    WRITE_ROW_GROUP_ROWS,
    attach,
    detach,
    host_connection,
    process_alive,
    remove_marker,
    wait_seconds,
    write_marker,
)
from nlp_pipeline.store.queries import FREQUENCIES
from nlp_pipeline.store.rows import analysis_tables
from nlp_pipeline.store.schema import migrate

if TYPE_CHECKING:
    import pandas as pd

EXPORT_FORMATS: tuple[str, ...] = ("parquet", "csv", "jsonl")
# The fact tables answers read, and the order `Store.optimize` rewrites them in.
FACT_TABLE_ORDER = {
    "article_entities": "entity_type, entity_id, story_at",
    "entity_themes": "entity_type, entity_id, theme_id, story_at",
}
# Tables holding one article's analysis by one set of model versions.
ANALYSIS_TABLES = (
    "analyses",
    "sentences",
    "article_entities",
    "article_themes",
    "article_rotations",
    "entity_themes",
)
__all__ = ["EXPORT_FORMATS", "FREQUENCIES", "Store", "analysis_document"]


_ARTICLE_COLUMNS = (
    "article_id",
    "feed_id",
    "url",
    "title",
    "text",
    "summary",
    "author",
    "published",
    "fetched_at",
    "content_hash",
    "cluster_id",
    "minhash",
    "first_seen_at",
    "published_fallback",
    "story_at",
    "publisher_tickers",
)
_UTC_TIME = pa.timestamp("us", tz="UTC")
# The Arrow type of each of _ARTICLE_COLUMNS, as the articles table stores it.
_ARTICLE_TYPES = (
    *[pa.string()] * 7,  # article_id .. author
    _UTC_TIME,  # published
    _UTC_TIME,  # fetched_at
    pa.string(),  # content_hash
    pa.string(),  # cluster_id
    pa.list_(pa.uint64()),  # minhash
    _UTC_TIME,  # first_seen_at
    pa.bool_(),  # published_fallback
    _UTC_TIME,  # story_at
    pa.list_(pa.string()),  # publisher_tickers
)
_CLUSTER = _ARTICLE_COLUMNS.index("cluster_id")
_Answer = TypeVar("_Answer")
_STORY_AT = _ARTICLE_COLUMNS.index("story_at")


def analysis_document(title: str, text: str) -> str:
    """The text the analyzer reads for an article; stored offsets point into it."""
    return f"{title}\n\n{text}" if title and text else title or text


class Store:
    """An embedded DuckDB file (`Store(path)`), or `Store(":memory:")` for scratch work.

    A file store holds the DuckDB file only while it runs an operation (a query, a write
    transaction), so that other processes can read between a writer's batches; `hold=True` keeps
    it open instead (faster for many small reads, but blocks every other process meanwhile).
    Opening waits `wait_s` seconds (readers 5, writers 60; `NLP_PIPELINE_DB_WAIT`) while another
    process holds the file, then raises `StoreBusyError` naming that process.
    """

    def __init__(
        self,
        path: str | Path,
        read_only: bool = False,
        sandboxed: bool = False,
        *,
        hold: bool = False,
        wait_s: float | None = None,
    ) -> None:
        """`read_only` opens an existing store without writing it; `sandboxed` also denies SQL
        any file access beyond the store (for user-supplied queries)."""
        self.path = str(path)
        self.read_only = read_only or sandboxed
        self._memory = self.path == ":memory:"
        self._hold = hold or self._memory
        self._wait_s = wait_seconds(self.read_only, wait_s)
        self._sandboxed = sandboxed
        self._host: Any = host_connection()
        self._attached = False
        self._row_group_rows = WRITE_ROW_GROUP_ROWS
        self._depth = 0
        self._closed = False
        if self.read_only:
            if not self._memory and not Path(self.path).exists():
                raise StoreAccessError(f"no store at {self.path} (run `nlp-pipeline run` first)")
        elif not self._memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self._session() as con:
            if not self.read_only:
                try:
                    migrate(con)
                except duckdb.Error as exc:
                    raise StoreAccessError(f"cannot open store {self.path}: {exc}") from None
                self._end_dead_runs(con)
        if not self.read_only and not self._memory:
            write_marker(self.path)

    @property
    def con(self) -> Any:
        """The DuckDB connection, with the store file attached on demand (and given back after
        each operation)."""
        if self._closed:
            raise StoreError(f"store {self.path} is closed")
        if not self._attached and not self._memory:
            attach(self._host, self.path, self.read_only, self._wait_s, self._row_group_rows)
            self._attached = True
            if self._sandboxed:
                # No file access for user SQL; attaching again would need it, so keep the file.
                self._hold = True
                self._host.execute("SET enable_external_access = false")
                self._host.execute("SET lock_configuration = true")
        return self._host

    def release(self) -> None:
        """Let other processes at the file now (a no-op with `hold` or inside an operation)."""
        if self._attached and not self._hold and self._depth == 0:
            detach(self._host)
            self._attached = False

    @contextmanager
    def _session(self) -> Iterator[Any]:
        con = self.con
        self._depth += 1
        try:
            yield con
        finally:
            self._depth -= 1
            self.release()

    @contextmanager
    def attached(self) -> Iterator[None]:
        """Keep the store file attached across the operations inside, instead of giving it
        back after each: one checkpoint at the end rather than one per write transaction, but
        other processes wait meanwhile, so keep it short."""
        with self._session():
            yield

    def close(self) -> None:
        if self._closed:
            return
        self._host.close()  # detaches the store file too
        self._attached = False
        if not self.read_only and not self._memory:
            remove_marker(self.path)
        self._closed = True

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self._session() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # -- articles ------------------------------------------------------------------------------

    def known_article_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        with self._session() as con:
            rows = con.execute(
                "SELECT article_id FROM articles WHERE list_contains(?, article_id)", [list(ids)]
            ).fetchall()
        return {r[0] for r in rows}

    def recent_signatures(self, days: int = 30) -> list[tuple[str, str, list[int], datetime]]:
        """(article_id, cluster_id, minhash, published in UTC) of articles from the last `days`
        of the store."""
        with self._session() as con:
            rows = con.execute(
                "SELECT article_id, cluster_id, minhash, published FROM articles "
                "WHERE published >= (SELECT max(published) FROM articles) - to_days(?)",
                [days],
            ).fetchall()
        return [(r[0], r[1], list(r[2] or []), _utc(r[3])) for r in rows]

    def add_article(self, article: Article, seen_at: datetime | None = None) -> bool:
        """Insert one article in its own transaction; False if it was already stored.
        `published` is stored in UTC; without one, the fetch time stands in and
        `published_fallback` says so. `first_seen_at` is `seen_at` (for imports of articles
        seen earlier), else now."""
        with self.transaction() as con:
            return self._insert_articles(con, [article], seen_at) == 1

    def add_articles(self, articles: Sequence[Article], seen_at: datetime | None = None) -> int:
        """Insert a batch of articles in one transaction (bulk ingest); articles already stored
        are skipped. Returns how many were inserted."""
        with self.transaction() as con:
            return self._insert_articles(con, articles, seen_at)

    def _insert_articles(
        self, con: Any, articles: Sequence[Article], seen_at: datetime | None
    ) -> int:
        ids = [a.article_id for a in articles]
        first_seen = _utc(seen_at) if seen_at else datetime.now(UTC)
        clusters = {a.cluster_id or a.article_id for a in articles}
        # One query for both: which of the batch are stored, and when each cluster's story
        # happened (its stored first copy's date; then this batch's earliest).
        found = dict(
            con.execute(
                "SELECT article_id, story_at FROM articles WHERE list_contains(?, article_id)",
                [list({*ids, *clusters})],
            ).fetchall()
        )
        stored = {i for i in ids if i in found}
        story: dict[str, datetime] = {c: found[c] for c in clusters if c in found}
        stored_story = dict(story)
        rows: list[list[Any]] = []
        for article in articles:
            if article.article_id in stored:
                continue
            stored.add(article.article_id)
            published, fallback = _published_utc(article)
            cluster = article.cluster_id or article.article_id
            story_at = min(published, story.get(cluster, published))
            story[cluster] = story_at
            rows.append(
                [
                    article.article_id,
                    article.feed_id,
                    article.url,
                    article.title,
                    article.text,
                    article.summary,
                    article.author,
                    published,
                    _utc(article.fetched_at),
                    article.content_hash,
                    cluster,
                    article.minhash,
                    first_seen,
                    fallback,
                    story_at,
                    list(article.publisher_tickers),
                ]
            )
        if not rows:
            return 0
        for cluster, before in stored_story.items():
            if story[cluster] < before:
                # A copy dated before the story's stored copies moves the whole story (rare: a
                # late backfill of another feed).
                for table in ("articles", "article_entities", "entity_themes"):
                    con.execute(
                        f"UPDATE {table} SET story_at = ? WHERE cluster_id = ?",
                        [story[cluster], cluster],
                    ).fetchall()
        for row in rows:
            row[_STORY_AT] = story[row[_CLUSTER]]
        # One set-based INSERT from an Arrow table (executemany runs row by row, far slower;
        # a pandas frame costs milliseconds to build even for the three articles of a feed).
        table = pa.Table.from_arrays(
            [pa.array([row[i] for row in rows], type=t) for i, t in enumerate(_ARTICLE_TYPES)],
            names=list(_ARTICLE_COLUMNS),
        )
        columns = ", ".join(_ARTICLE_COLUMNS)
        con.register("_article_batch", table)
        try:
            con.execute(f"INSERT INTO articles ({columns}) SELECT {columns} FROM _article_batch")
        finally:
            con.unregister("_article_batch")
        return len(rows)

    def articles_to_analyze(
        self, version_key: str, reanalyze: bool = False
    ) -> list[tuple[str, str]]:
        """(article_id, document) for articles whose current analysis is missing or by other
        model versions (every article with `reanalyze`)."""
        condition = "" if reanalyze else "WHERE n.model_versions IS DISTINCT FROM ?"
        params = [] if reanalyze else [version_key]
        with self._session() as con:
            rows = con.execute(
                f"SELECT a.article_id, a.title, a.text FROM articles a "
                f"LEFT JOIN analyses n ON n.article_id = a.article_id "
                f"AND n.superseded_at IS NULL {condition} "
                f"ORDER BY a.published, a.article_id",
                params,
            ).fetchall()
        return [(r[0], analysis_document(r[1], r[2])) for r in rows]

    def save_analysis(
        self, article_id: str, result: AnalysisResult, version_key: str, run_id: str | None
    ) -> None:
        """Store one article's analysis (see `save_analyses`)."""
        self.save_analyses([(article_id, result)], version_key, run_id)

    def save_analyses(
        self,
        items: Sequence[tuple[str, AnalysisResult]],
        version_key: str,
        run_id: str | None,
        analyzed_at: datetime | None = None,
    ) -> None:
        """Store a batch of analyses in one transaction, through Arrow tables.

        An article's earlier analyses by other model versions are kept and marked superseded
        (so answers `as of` an earlier time still see them); one by the same versions is
        replaced."""
        if not items:
            return
        now = _utc(analyzed_at) if analyzed_at else datetime.now(UTC)
        ids = [article_id for article_id, _ in items]
        id_table = pa.table({"article_id": pa.array(ids, pa.string())})
        with self.transaction() as con:
            con.register("_batch_ids", id_table)
            try:
                meta = {
                    r[0]: (r[1], r[2], r[3], r[4])
                    for r in con.execute(
                        "SELECT article_id, cluster_id, published, first_seen_at, story_at "
                        "FROM articles "
                        "WHERE article_id IN (SELECT article_id FROM _batch_ids)"
                    ).fetchall()
                }
                missing = [i for i in ids if i not in meta]
                if missing:
                    raise StoreError(f"cannot store analyses of unknown articles: {missing[:5]}")
                # fetchall, not fetchone: DuckDB 2 will not unregister under an unfinished result
                analyzed_before = con.execute(
                    "SELECT count(*) FROM analyses "
                    "WHERE article_id IN (SELECT article_id FROM _batch_ids)"
                ).fetchall()[0][0]
                if analyzed_before:
                    for table in ANALYSIS_TABLES:
                        con.execute(
                            f"DELETE FROM {table} WHERE model_versions = ? "
                            f"AND article_id IN (SELECT article_id FROM _batch_ids)",
                            [version_key],
                        ).fetchall()
                    for table in ("analyses", "article_entities", "entity_themes"):
                        con.execute(
                            f"UPDATE {table} SET superseded_at = ? WHERE superseded_at IS NULL "
                            f"AND article_id IN (SELECT article_id FROM _batch_ids)",
                            [now],
                        ).fetchall()
            finally:
                with suppress(duckdb.Error):
                    con.unregister("_batch_ids")
            try:
                tables = analysis_tables(items, meta, version_key, run_id, now)
            except (pa.ArrowException, TypeError, ValueError) as exc:
                raise StoreError(
                    f"analyses of {ids[0]}{' and others' if len(ids) > 1 else ''} cannot be "
                    f"stored: {exc}"
                ) from None
            for name, table in tables.items():
                if table.num_rows == 0:
                    continue
                con.register("_batch", table)
                try:
                    con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _batch").fetchall()
                finally:
                    with suppress(duckdb.Error):  # keep the insert's own error
                        con.unregister("_batch")

    def optimize(self) -> None:
        """Rewrite the fact tables ordered by entity and story date, in DuckDB's full-size row
        groups, so that an entity's rows sit in few row groups and `trends` skips the rest
        (DuckDB keeps min/max per row group). Worth running now and then on a large store;
        later writes append unordered, in small row groups (`WRITE_ROW_GROUP_ROWS`)."""
        with self._row_groups_of(COMPACT_ROW_GROUP_ROWS):
            with self.transaction() as con:
                for table, order in FACT_TABLE_ORDER.items():
                    con.execute(
                        f"CREATE TEMP TABLE _sorted AS SELECT * FROM {table} ORDER BY {order}"
                    )
                    con.execute(f"DELETE FROM {table}").fetchall()
                    con.execute(f"INSERT INTO {table} SELECT * FROM _sorted").fetchall()
                    con.execute("DROP TABLE _sorted")
            with self._session() as con:
                con.execute("CHECKPOINT")

    def row_groups(
        self, tables: Sequence[str] = tuple(FACT_TABLE_ORDER)
    ) -> dict[str, tuple[int, int]]:
        """Per table: (rows, row groups) as stored in the file (what `optimize` changes)."""
        counts = {}
        with self._session() as con:
            for table in tables:
                row = con.execute(
                    "SELECT coalesce(sum(count), 0), count(DISTINCT row_group_id) "
                    "FROM pragma_storage_info(?) WHERE column_path = '[0]'",
                    [table],
                ).fetchone()
                counts[table] = (int(row[0]), int(row[1])) if row else (0, 0)
        return counts

    @contextmanager
    def _row_groups_of(self, rows: int) -> Iterator[None]:
        """Write the operations inside into row groups of up to `rows` rows: the size is fixed
        when the file is attached, so a file attached outside any operation is attached again
        (inside one, it keeps the size it has)."""
        if self._memory or self.read_only or self._depth > 0:
            yield
            return
        held = self._attached
        if held:
            detach(self._host)
            self._attached = False
        previous, self._row_group_rows = self._row_group_rows, rows
        try:
            yield
        finally:
            if self._attached:
                detach(self._host)
                self._attached = False
            self._row_group_rows = previous
            if held:
                self.con  # noqa: B018 - attach again, as the caller held it

    # -- feeds and runs ------------------------------------------------------------------------

    def feed_state(self, feed_id: str) -> dict[str, Any] | None:
        return self.feed_states([feed_id]).get(feed_id)

    def feed_states(self, feed_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored state (validators, last poll, failures) of each feed that has one, read
        in one query: a polling round reads them all at once."""
        if not feed_ids:
            return {}
        with self._session() as con:
            cursor = con.execute(
                "SELECT * FROM feed_state WHERE list_contains(?, feed_id)", [list(feed_ids)]
            )
            rows = cursor.fetchall()
            names = [d[0] for d in cursor.description]
        states = [dict(zip(names, row, strict=True)) for row in rows]
        return {state["feed_id"]: state for state in states}

    def update_feed_state(
        self,
        feed_id: str,
        url: str,
        *,
        error: str | None = None,
        validators: tuple[str | None, str | None] | None = None,
    ) -> None:
        """Record a poll: failed with `error`, or succeeded; a success replaces the stored
        (ETag, Last-Modified) when `validators` is given and keeps them otherwise."""
        with self.transaction() as con:
            _write_feed_state(con, feed_id, url, error, validators)

    def add_polled_articles(
        self,
        articles: Sequence[Article],
        feeds: Sequence[tuple[str, str, tuple[str | None, str | None] | None]],
    ) -> int:
        """Successful polls' new articles and each feed's state, `(feed_id, url, validators)`
        (None: keep the stored validators), in one transaction (each write transaction costs
        a checkpoint when the store is given back). Returns how many articles were inserted."""
        with self.transaction() as con:
            inserted = self._insert_articles(con, articles, None) if articles else 0
            for feed_id, url, validators in feeds:
                _write_feed_state(con, feed_id, url, None, validators)
        return inserted

    def start_run(self, command: str, feeds: Sequence[str], model_versions: str) -> str:
        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        with self.transaction() as con:
            con.execute(
                "INSERT INTO runs (run_id, command, started_at, status, feeds, model_versions, "
                "pid, host) VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
                [
                    run_id,
                    command,
                    datetime.now(UTC),
                    list(feeds),
                    model_versions,
                    os.getpid(),
                    socket.gethostname(),
                ],
            )
        return run_id

    def record_error(self, run_id: str, feed_id: str, url: str | None, error: str) -> None:
        with self.transaction() as con:
            con.execute(
                "INSERT INTO ingest_errors VALUES (?, ?, ?, ?, ?)",
                [run_id, feed_id, url, error, datetime.now(UTC)],
            )

    def finish_run(self, run_id: str, reports: Sequence[FeedReport], analyzed: int) -> str:
        failed = sum(r.failed for r in reports)
        status = "ok" if failed == 0 else "partial"
        with self.transaction() as con:
            con.execute(
                "UPDATE runs SET finished_at = ?, status = ?, articles_new = ?, "
                "near_duplicates = ?, already_stored = ?, failed = ?, analyzed = ? "
                "WHERE run_id = ?",
                [
                    datetime.now(UTC),
                    status,
                    sum(r.new for r in reports),
                    sum(r.near_duplicate for r in reports),
                    sum(r.already_stored for r in reports),
                    failed,
                    analyzed,
                    run_id,
                ],
            )
        return status

    def end_run(self, run_id: str, status: str) -> None:
        """End a run that did not finish (`interrupted` or `failed`); what it committed stays."""
        with self.transaction() as con:
            con.execute(
                "UPDATE runs SET finished_at = ?, status = ? WHERE run_id = ? "
                "AND status = 'running'",
                [datetime.now(UTC), status, run_id],
            )

    def _end_dead_runs(self, con: Any) -> None:
        """Runs still `running` whose process on this host is gone were killed: `interrupted`."""
        host = socket.gethostname()
        rows = con.execute(
            "SELECT run_id, pid FROM runs WHERE status = 'running' AND host = ?", [host]
        ).fetchall()
        dead = [run_id for run_id, pid in rows if pid is None or not process_alive(int(pid))]
        if dead:
            con.execute(
                "UPDATE runs SET status = 'interrupted', finished_at = ? "
                "WHERE list_contains(?, run_id)",
                [datetime.now(UTC), dead],
            )

    # -- queries -------------------------------------------------------------------------------

    def fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """`query`'s rows as tuples, without pandas."""
        try:
            with self._session() as con:
                rows: list[tuple[Any, ...]] = con.execute(sql, params or []).fetchall()
                return rows
        except duckdb.Error as exc:
            raise StoreAccessError(f"query failed: {exc}") from None

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        try:
            with self._session() as con:
                frame: pd.DataFrame = con.execute(sql, params or []).df()
                return frame
        except duckdb.Error as exc:
            raise StoreAccessError(f"query failed: {exc}") from None

    def _answer(self, fn: Callable[..., _Answer], *args: Any, **kwargs: Any) -> _Answer:
        try:
            with self._session() as con:
                return fn(con, *args, **kwargs)
        except duckdb.Error as exc:
            raise StoreAccessError(f"query failed: {exc}") from None

    def counts(self) -> dict[str, int]:
        """Rows per table; for analysis tables, the rows of current analyses."""
        with self._session() as con:
            result = {}
            for table in ("articles", *ANALYSIS_TABLES):
                if table in ("articles", "analyses", "article_entities", "entity_themes"):
                    where = "" if table == "articles" else " WHERE superseded_at IS NULL"
                    sql = f"SELECT count(*) FROM {table}{where}"
                else:
                    sql = (
                        f"SELECT count(*) FROM {table} JOIN analyses n "
                        f"USING (article_id, model_versions) WHERE n.superseded_at IS NULL"
                    )
                row = con.execute(sql).fetchone()
                result[table] = int(row[0]) if row else 0
            return result

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._session() as con:
            row = con.execute(sql, list(params)).fetchone()
        return row[0] if row else None

    def latest_date(self) -> datetime | None:
        latest: datetime | None = self._scalar("SELECT max(published) FROM articles")
        return latest

    def trends(
        self,
        entity: str | None = None,
        theme: str | None = None,
        freq: str = "W",
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        by: str = "theme",
        scope: str = "sentence",
        as_of: datetime | str | None = None,
        min_relevance: float = 0.0,
        window: int = 8,
    ) -> pd.DataFrame:
        """Themes around an entity (or entities around a theme) per period; see
        `nlp_pipeline.store.queries.trends_rows`."""
        return queries.trends_frame(
            self.trends_rows(
                entity=entity,
                theme=theme,
                freq=freq,
                start=start,
                end=end,
                by=by,
                scope=scope,
                as_of=as_of,
                min_relevance=min_relevance,
                window=window,
            )
        )

    def trends_rows(self, **options: Any) -> queries.Rows:
        """`trends` (the same arguments) as plain rows, without pandas: the command line's
        quick path."""
        return self._answer(queries.trends_rows, **options)

    def top(
        self,
        kind: str = "themes",
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        as_of: datetime | str | None = None,
        limit: int = 20,
        min_stories: int = 3,
    ) -> pd.DataFrame:
        """What is rising, by momentum; see `nlp_pipeline.store.queries.top`."""
        return self._answer(
            queries.top,
            kind=kind,
            since=since,
            until=until,
            as_of=as_of,
            limit=limit,
            min_stories=min_stories,
        )

    def comentions(
        self,
        entity: str,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        as_of: datetime | str | None = None,
        scope: str = "sentence",
        limit: int = 30,
    ) -> pd.DataFrame:
        """Entities and themes that go with an entity; see `queries.comentions`."""
        return self._answer(
            queries.comentions,
            entity=entity,
            since=since,
            until=until,
            as_of=as_of,
            scope=scope,
            limit=limit,
        )

    def articles(self, limit: int | None = 100, offset: int = 0, **filters: Any) -> pd.DataFrame:
        """Matching articles with tags and evidence sentences, newest first, `offset` skipped;
        filters are the fields of `queries.ArticleFilter` (entity, theme, entity_type, since,
        until, feeds, min_relevance, scope, as_of, dated_by)."""
        try:
            chosen = queries.ArticleFilter(**filters)
        except TypeError as exc:
            raise StoreError(f"bad article filter: {exc}") from None
        return self._answer(queries.articles, chosen, limit=limit, offset=offset)

    def article(self, article_id: str, as_of: datetime | str | None = None) -> dict[str, Any]:
        """One analyzed article in full (sentences, entities, themes, rotations) as JSON-ready
        values; see `queries.article_detail`."""
        return self._answer(queries.article_detail, article_id, as_of=as_of)

    def entities(
        self,
        search: str | None = None,
        entity_type: str | None = None,
        limit: int | None = 50,
        offset: int = 0,
    ) -> pd.DataFrame:
        """Entities the store names, most stories first; see `queries.stored_entities`."""
        return self._answer(
            queries.stored_entities,
            search=search,
            entity_type=entity_type,
            limit=limit,
            offset=offset,
        )

    def top_entities(
        self, types: Sequence[str], start: datetime, end: datetime, limit: int = 10
    ) -> pd.DataFrame:
        """Most-mentioned entities of the given types in [start, end): stories (dated by their
        first copy), tone averaged per story."""
        return self.query(
            """WITH per_story AS (
                  SELECT e.entity_type AS type, e.entity_id AS id, any_value(e.name) AS name,
                         e.cluster_id, avg(e.sentiment) AS tone
                  FROM article_entities e
                  WHERE e.superseded_at IS NULL AND list_contains(?, e.entity_type)
                  GROUP BY e.entity_type, e.entity_id, e.cluster_id),
                story AS (SELECT cluster_id, min(published) AS story_at FROM articles
                          WHERE cluster_id IN (SELECT cluster_id FROM per_story) GROUP BY 1)
               SELECT type, id, any_value(name) AS name, count(*) AS stories,
                      round(avg(tone), 3) AS sentiment
               FROM per_story JOIN story USING (cluster_id)
               WHERE story_at >= ? AND story_at < ?
               GROUP BY type, id ORDER BY stories DESC, id LIMIT ?""",
            [list(types), start, end, limit],
        )

    def theme_shift(self, end: datetime, days: int, limit: int = 10) -> pd.DataFrame:
        """Themes by stories in the window ending at `end` vs the window before it."""
        start, previous = end - timedelta(days=days), end - timedelta(days=2 * days)
        return self.query(
            """WITH per_story AS (
                  SELECT t.theme_id, a.cluster_id, avg(t.sentiment) AS tone
                  FROM article_themes t JOIN analyses n USING (article_id, model_versions)
                  JOIN articles a USING (article_id)
                  WHERE n.superseded_at IS NULL GROUP BY ALL),
                story AS (SELECT cluster_id, min(published) AS story_at FROM articles
                          GROUP BY cluster_id),
                t AS (SELECT p.*, s.story_at >= ? AS current FROM per_story p
                      JOIN story s USING (cluster_id)
                      WHERE s.story_at >= ? AND s.story_at < ?)
                SELECT theme_id AS theme,
                       count(*) FILTER (WHERE current) AS stories,
                       count(*) FILTER (WHERE NOT current) AS previous,
                       stories - previous AS change,
                       round(avg(tone) FILTER (WHERE current), 3) AS sentiment
                FROM t GROUP BY theme_id HAVING stories > 0 OR previous > 0
                ORDER BY stories DESC, change DESC, theme LIMIT ?""",
            [start, previous, end, limit],
        )

    def theme_trends(
        self, entity_id: str, theme: str | None = None, freq: str = "W"
    ) -> pd.DataFrame:
        """Per period and theme around an entity (the foundation's call; see `trends`)."""
        return self.trends(entity=entity_id, theme=theme, freq=freq)

    def rotation_flows(
        self, freq: str = "W", start: datetime | None = None, end: datetime | None = None
    ) -> pd.DataFrame:
        """Which way money is rotating, per period: for each (from, to) pair of segments, the
        stories (near-duplicate copies count once, dated by their first copy) with that flow,
        their mean score and tone, from the current analyses. `from` is None where the side
        left was not named. `start` inclusive, `end` exclusive."""
        unit = FREQUENCIES.get(freq.upper())
        if unit is None:
            raise StoreError(f"unknown frequency {freq!r}; use one of {', '.join(FREQUENCIES)}")
        frame = self.query(
            f"""SELECT date_trunc('{unit}', a.story_at)::DATE AS period,
                       r.source_segment AS "from", r.target_segment AS "to",
                       count(DISTINCT a.cluster_id) AS stories,
                       round(avg(r.score), 3) AS score,
                       round(avg(r.sentiment), 3) AS sentiment
                FROM article_rotations r
                JOIN analyses n USING (article_id, model_versions)
                JOIN articles a USING (article_id)
                WHERE n.superseded_at IS NULL
                  AND (?::TIMESTAMPTZ IS NULL OR a.story_at >= ?)
                  AND (?::TIMESTAMPTZ IS NULL OR a.story_at < ?)
                GROUP BY ALL ORDER BY period, stories DESC, "from" NULLS LAST, "to" """,
            [start, start, end, end],
        )
        import pandas as pd

        # Periods are dates, as in `trends`; an unnamed side is None (not NaN) for API users.
        frame["period"] = pd.to_datetime(frame["period"]).dt.date
        frame["from"] = frame["from"].astype(object).where(frame["from"].notna(), None)
        return frame

    def theme_evidence(self, theme_id: str, limit: int = 5) -> pd.DataFrame:
        """The stored evidence sentences of the articles that scored highest for a theme
        (current analyses)."""
        return self.query(
            """SELECT th.score, s.sentiment_score AS sentiment, s.text, a.title, a.url
               FROM article_themes th
               JOIN analyses n ON n.article_id = th.article_id
                    AND n.model_versions = th.model_versions AND n.superseded_at IS NULL
               JOIN sentences s ON s.article_id = th.article_id
                    AND s.model_versions = th.model_versions
                    AND list_contains(th.evidence, s.sentence_index)
               JOIN articles a ON a.article_id = th.article_id
               WHERE th.theme_id = ?
               ORDER BY th.score DESC, a.article_id, s.sentence_index LIMIT ?""",
            [theme_id, limit],
        )

    def feed_status(self) -> pd.DataFrame:
        """Every polled feed: last poll, last success, failures in a row, last error, and how
        many articles and ingest errors the store holds for it."""
        return self.query(
            """SELECT f.feed_id, f.last_polled_at, f.last_success_at,
                      f.consecutive_failures AS failures, f.last_error,
                      (SELECT count(*) FROM articles a WHERE a.feed_id = f.feed_id) AS articles,
                      (SELECT count(*) FROM ingest_errors e WHERE e.feed_id = f.feed_id) AS errors
               FROM feed_state f ORDER BY f.feed_id"""
        )

    def export(self, fmt: str, out: Path, **options: Any) -> int:
        """Write the tagged article dataset; see `nlp_pipeline.export.export`."""
        from nlp_pipeline.export import export

        return export(self, out, fmt, **options).articles


def _write_feed_state(
    con: Any,
    feed_id: str,
    url: str,
    error: str | None,
    validators: tuple[str | None, str | None] | None,
) -> None:
    """One upsert (a polling round writes one per feed, so statements count)."""
    now = datetime.now(UTC)
    if error is not None:
        con.execute(
            """INSERT INTO feed_state (feed_id, url, last_polled_at, last_error,
                                       consecutive_failures)
               VALUES (?, ?, ?, ?, 1)
               ON CONFLICT (feed_id) DO UPDATE SET url = excluded.url,
                   last_polled_at = excluded.last_polled_at, last_error = excluded.last_error,
                   consecutive_failures = feed_state.consecutive_failures + 1""",
            [feed_id, url, now, error],
        )
        return
    keep = validators is None
    etag, last_modified = validators or (None, None)
    con.execute(
        """INSERT INTO feed_state (feed_id, url, etag, last_modified, last_polled_at,
                                   last_success_at, last_error, consecutive_failures)
           VALUES (?, ?, ?, ?, ?, ?, NULL, 0)
           ON CONFLICT (feed_id) DO UPDATE SET url = excluded.url,
               etag = CASE WHEN ? THEN feed_state.etag ELSE excluded.etag END,
               last_modified = CASE WHEN ? THEN feed_state.last_modified
                                    ELSE excluded.last_modified END,
               last_polled_at = excluded.last_polled_at,
               last_success_at = excluded.last_success_at,
               last_error = NULL, consecutive_failures = 0""",
        [feed_id, url, etag, last_modified, now, now, keep, keep],
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _published_utc(article: Article) -> tuple[datetime, bool]:
    """The stored publication time (UTC) and whether it fell back to the fetch time."""
    if article.published is None:
        return _utc(article.fetched_at), True
    return _utc(article.published), bool(article.published_fallback)
