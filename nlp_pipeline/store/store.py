"""DuckDB-backed store: idempotent, transactional writes and the queries answers are built on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from nlp_pipeline.errors import StoreError
from nlp_pipeline.records import AnalysisResult, Article, FeedReport
from nlp_pipeline.store.schema import migrate

ExportFormat = Literal["parquet", "csv", "jsonl"]
EXPORT_FORMATS: tuple[str, ...] = ("parquet", "csv", "jsonl")
FREQUENCIES = {"D": "day", "W": "week", "M": "month", "Q": "quarter"}
# When an article is dated: its published time, else when it was fetched.
_WHEN = "coalesce(a.published, a.fetched_at)"


def analysis_document(title: str, text: str) -> str:
    """The text the analyzer reads for an article; stored offsets point into it."""
    return f"{title}\n\n{text}" if title and text else title or text


class Store:
    """An embedded DuckDB file (`Store(path)`), or `Store(":memory:")` for scratch work."""

    def __init__(self, path: str | Path, read_only: bool = False, sandboxed: bool = False) -> None:
        """`read_only` opens an existing store without writing it; `sandboxed` also denies SQL
        any file access beyond the store (for user-supplied queries)."""
        self.path = str(path)
        self.read_only = read_only or sandboxed
        try:
            if self.read_only:
                if self.path != ":memory:" and not Path(self.path).exists():
                    raise StoreError(f"no store at {self.path} (run `nlp-pipeline run` first)")
                config: dict[str, str | bool | int | float | list[str]] = (
                    {"enable_external_access": False} if sandboxed else {}
                )
                self.con = duckdb.connect(self.path, read_only=True, config=config)
            else:
                if self.path != ":memory:":
                    Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                self.con = duckdb.connect(self.path)
                migrate(self.con)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from None

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # -- articles ------------------------------------------------------------------------------

    def known_article_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        rows = self.con.execute(
            "SELECT article_id FROM articles WHERE list_contains(?, article_id)", [list(ids)]
        ).fetchall()
        return {r[0] for r in rows}

    def recent_signatures(self, days: int = 30) -> list[tuple[str, str, list[int]]]:
        """(article_id, cluster_id, minhash) of articles from the last `days` of the store."""
        rows = self.con.execute(
            f"SELECT article_id, cluster_id, minhash FROM articles a "
            f"WHERE {_WHEN} >= (SELECT max({_WHEN}) FROM articles a) - to_days(?)",
            [days],
        ).fetchall()
        return [(r[0], r[1], list(r[2] or [])) for r in rows]

    def add_article(self, article: Article) -> bool:
        """Insert one article in its own transaction; False if it was already stored."""
        with self.transaction() as con:
            exists = con.execute(
                "SELECT 1 FROM articles WHERE article_id = ?", [article.article_id]
            ).fetchone()
            if exists:
                return False
            con.execute(
                "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    article.article_id,
                    article.feed_id,
                    article.url,
                    article.title,
                    article.text,
                    article.summary,
                    article.author,
                    article.published,
                    article.fetched_at,
                    article.content_hash,
                    article.cluster_id or article.article_id,
                    article.minhash,
                ],
            )
        return True

    def articles_to_analyze(
        self, version_key: str, reanalyze: bool = False
    ) -> list[tuple[str, str]]:
        """(article_id, document) for articles without an analysis by these model versions."""
        condition = "" if reanalyze else "WHERE n.model_versions IS DISTINCT FROM ?"
        params = [] if reanalyze else [version_key]
        rows = self.con.execute(
            f"SELECT a.article_id, a.title, a.text FROM articles a "
            f"LEFT JOIN analyses n USING (article_id) {condition} ORDER BY {_WHEN}, a.article_id",
            params,
        ).fetchall()
        return [(r[0], analysis_document(r[1], r[2])) for r in rows]

    def save_analysis(
        self, article_id: str, result: AnalysisResult, version_key: str, run_id: str | None
    ) -> None:
        """Replace an article's analysis with this one, all rows in one transaction."""
        s = result.sentiment
        with self.transaction() as con:
            for table in (
                "analyses",
                "sentences",
                "article_entities",
                "article_themes",
                "article_rotations",
            ):
                con.execute(f"DELETE FROM {table} WHERE article_id = ?", [article_id])
            con.execute(
                "INSERT INTO analyses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    article_id,
                    version_key,
                    run_id,
                    datetime.now(UTC),
                    s.label,
                    s.score,
                    s.positive,
                    s.neutral,
                    s.negative,
                    len(result.sentences),
                ],
            )
            if result.sentences:
                con.executemany(
                    "INSERT INTO sentences VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        [
                            article_id,
                            x.index,
                            x.start,
                            x.end,
                            x.text,
                            x.sentiment.label,
                            x.sentiment.score,
                            x.sentiment.positive,
                            x.sentiment.neutral,
                            x.sentiment.negative,
                            x.themes,
                            version_key,
                        ]
                        for x in result.sentences
                    ],
                )
            if result.entities:
                con.executemany(
                    "INSERT INTO article_entities VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        [
                            article_id,
                            e.type,
                            e.id,
                            e.name or None,
                            e.exchange,
                            e.mentions,
                            e.relevance,
                            e.sentiment,
                            [list(span) for span in e.spans],
                            version_key,
                        ]
                        for e in result.entities
                    ],
                )
            if result.themes:
                con.executemany(
                    "INSERT INTO article_themes VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        [article_id, t.id, t.score, t.sentiment, t.evidence, version_key]
                        for t in result.themes
                    ],
                )
            if result.rotations:
                con.executemany(
                    "INSERT INTO article_rotations VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        [
                            article_id,
                            r.source,
                            r.target,
                            r.score,
                            r.sentiment,
                            r.evidence,
                            version_key,
                        ]
                        for r in result.rotations
                    ],
                )

    # -- feeds and runs ------------------------------------------------------------------------

    def feed_state(self, feed_id: str) -> dict[str, Any] | None:
        cursor = self.con.execute("SELECT * FROM feed_state WHERE feed_id = ?", [feed_id])
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cursor.description], row, strict=True))

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
        now = datetime.now(UTC)
        with self.transaction() as con:
            con.execute(
                "INSERT INTO feed_state (feed_id, url) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [feed_id, url],
            )
            if error is not None:
                con.execute(
                    "UPDATE feed_state SET url = ?, last_polled_at = ?, last_error = ?, "
                    "consecutive_failures = consecutive_failures + 1 WHERE feed_id = ?",
                    [url, now, error, feed_id],
                )
                return
            con.execute(
                "UPDATE feed_state SET url = ?, last_polled_at = ?, last_success_at = ?, "
                "last_error = NULL, consecutive_failures = 0 WHERE feed_id = ?",
                [url, now, now, feed_id],
            )
            if validators is not None:
                con.execute(
                    "UPDATE feed_state SET etag = ?, last_modified = ? WHERE feed_id = ?",
                    [*validators, feed_id],
                )

    def start_run(self, command: str, feeds: Sequence[str], model_versions: str) -> str:
        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        with self.transaction() as con:
            con.execute(
                "INSERT INTO runs (run_id, command, started_at, status, feeds, model_versions) "
                "VALUES (?, ?, ?, 'running', ?, ?)",
                [run_id, command, datetime.now(UTC), list(feeds), model_versions],
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

    # -- queries -------------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        try:
            return self.con.execute(sql, params or []).df()
        except duckdb.Error as exc:
            raise StoreError(f"query failed: {exc}") from None

    def counts(self) -> dict[str, int]:
        tables = ("articles", "analyses", "sentences", "article_entities", "article_themes")
        return {t: int(self._scalar(f"SELECT count(*) FROM {t}")) for t in tables}

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.con.execute(sql, list(params)).fetchone()
        return row[0] if row else None

    def latest_date(self) -> datetime | None:
        latest: datetime | None = self._scalar(f"SELECT max({_WHEN}) FROM articles a")
        return latest

    def top_entities(
        self, types: Sequence[str], start: datetime, end: datetime, limit: int = 10
    ) -> pd.DataFrame:
        """Most-mentioned entities of the given types in [start, end): stories, mean tone."""
        return self.query(
            f"""SELECT e.entity_type AS type, e.entity_id AS id, any_value(e.name) AS name,
                       count(DISTINCT a.cluster_id) AS stories,
                       round(avg(e.sentiment), 3) AS sentiment
                FROM article_entities e JOIN articles a USING (article_id)
                WHERE list_contains(?, e.entity_type) AND {_WHEN} >= ? AND {_WHEN} < ?
                GROUP BY ALL ORDER BY stories DESC, id LIMIT ?""",
            [list(types), start, end, limit],
        )

    def theme_shift(self, end: datetime, days: int, limit: int = 10) -> pd.DataFrame:
        """Themes by stories in the window ending at `end` vs the window before it."""
        start, previous = end - timedelta(days=days), end - timedelta(days=2 * days)
        return self.query(
            f"""WITH t AS (
                  SELECT th.theme_id, a.cluster_id, th.sentiment, {_WHEN} >= ? AS current
                  FROM article_themes th JOIN articles a USING (article_id)
                  WHERE {_WHEN} >= ? AND {_WHEN} <= ?)
                SELECT theme_id AS theme,
                       count(DISTINCT cluster_id) FILTER (WHERE current) AS stories,
                       count(DISTINCT cluster_id) FILTER (WHERE NOT current) AS previous,
                       stories - previous AS change,
                       round(avg(sentiment) FILTER (WHERE current), 3) AS sentiment
                FROM t GROUP BY theme_id HAVING stories > 0 OR previous > 0
                ORDER BY stories DESC, change DESC, theme LIMIT ?""",
            [start, previous, end, limit],
        )

    def theme_trends(
        self, entity_id: str, theme: str | None = None, freq: str = "W"
    ) -> pd.DataFrame:
        """Per period and theme: stories mentioning the entity with that theme, their share of
        all the entity's stories that period, and the mean tone of the theme's sentences."""
        unit = FREQUENCIES.get(freq.upper())
        if unit is None:
            raise StoreError(f"unknown frequency {freq!r}; use one of {', '.join(FREQUENCIES)}")
        theme_filter = "AND th.theme_id = ?" if theme else ""
        params: list[Any] = [entity_id.upper()]
        if theme:
            params.append(theme)
        return self.query(
            f"""WITH mentioned AS (
                  SELECT DISTINCT a.article_id, a.cluster_id,
                         date_trunc('{unit}', {_WHEN})::DATE AS period
                  FROM article_entities e JOIN articles a USING (article_id)
                  WHERE upper(e.entity_id) = ?),
                totals AS (SELECT period, count(DISTINCT cluster_id) AS all_stories
                           FROM mentioned GROUP BY period)
                SELECT m.period, th.theme_id AS theme,
                       count(DISTINCT m.cluster_id) AS stories,
                       round(count(DISTINCT m.cluster_id) / any_value(t.all_stories), 3) AS share,
                       round(avg(th.sentiment), 3) AS sentiment
                FROM mentioned m JOIN article_themes th USING (article_id)
                JOIN totals t USING (period)
                WHERE true {theme_filter}
                GROUP BY m.period, th.theme_id ORDER BY m.period, stories DESC, theme""",
            params,
        )

    def rotation_flows(
        self, freq: str = "W", start: datetime | None = None, end: datetime | None = None
    ) -> pd.DataFrame:
        """Which way money is rotating, per period: for each (from, to) pair of segments, the
        stories (near-duplicate copies count once) with that flow, their mean score and tone.
        `from` is None where the side left was not named. `start` inclusive, `end` exclusive."""
        unit = FREQUENCIES.get(freq.upper())
        if unit is None:
            raise StoreError(f"unknown frequency {freq!r}; use one of {', '.join(FREQUENCIES)}")
        frame = self.query(
            f"""SELECT date_trunc('{unit}', {_WHEN})::DATE AS period,
                       r.source_segment AS "from", r.target_segment AS "to",
                       count(DISTINCT a.cluster_id) AS stories,
                       round(avg(r.score), 3) AS score,
                       round(avg(r.sentiment), 3) AS sentiment
                FROM article_rotations r JOIN articles a USING (article_id)
                WHERE (?::TIMESTAMPTZ IS NULL OR {_WHEN} >= ?)
                  AND (?::TIMESTAMPTZ IS NULL OR {_WHEN} < ?)
                GROUP BY ALL ORDER BY period, stories DESC, "from" NULLS LAST, "to" """,
            [start, start, end, end],
        )
        # An unnamed side is None (not NaN) for API users.
        frame["from"] = frame["from"].astype(object).where(frame["from"].notna(), None)
        return frame

    def theme_evidence(self, theme_id: str, limit: int = 5) -> pd.DataFrame:
        """The stored evidence sentences of the articles that scored highest for a theme."""
        return self.query(
            """SELECT th.score, s.sentiment_score AS sentiment, s.text, a.title, a.url
               FROM article_themes th
               JOIN sentences s ON s.article_id = th.article_id
                    AND list_contains(th.evidence, s.sentence_index)
               JOIN articles a ON a.article_id = th.article_id
               WHERE th.theme_id = ?
               ORDER BY th.score DESC, a.article_id, s.sentence_index LIMIT ?""",
            [theme_id, limit],
        )

    def feed_status(self) -> pd.DataFrame:
        return self.query(
            """SELECT f.feed_id, f.last_polled_at, f.last_success_at,
                      f.consecutive_failures AS failures, f.last_error,
                      (SELECT count(*) FROM articles a WHERE a.feed_id = f.feed_id) AS articles
               FROM feed_state f ORDER BY f.feed_id"""
        )

    def export(self, fmt: str, out: Path) -> int:
        """Write one tagged row per article; returns the number of rows."""
        if fmt not in EXPORT_FORMATS:
            raise StoreError(f"unknown export format {fmt!r}; use {', '.join(EXPORT_FORMATS)}")
        nested = fmt != "csv"  # CSV gets flat ';'-joined columns instead of lists of structs
        entities = (
            "list({'type': e.entity_type, 'id': e.entity_id, 'relevance': e.relevance, "
            "'sentiment': e.sentiment} ORDER BY e.relevance DESC)"
            if nested
            else "string_agg(e.entity_type || ':' || e.entity_id, ';' ORDER BY e.relevance DESC)"
        )
        themes = (
            "list({'id': t.theme_id, 'score': t.score, 'sentiment': t.sentiment} "
            "ORDER BY t.score DESC)"
            if nested
            else "string_agg(t.theme_id, ';' ORDER BY t.score DESC)"
        )
        tickers = (
            "list(e.entity_id ORDER BY e.relevance DESC) FILTER (WHERE e.entity_type = 'TICKER')"
            if nested
            else "string_agg(e.entity_id, ';' ORDER BY e.relevance DESC) "
            "FILTER (WHERE e.entity_type = 'TICKER')"
        )
        sql = f"""
            WITH ent AS (SELECT article_id, {entities} AS entities, {tickers} AS tickers
                         FROM article_entities e GROUP BY article_id),
                 th AS (SELECT article_id, {themes} AS themes
                        FROM article_themes t GROUP BY article_id)
            SELECT a.article_id, a.feed_id, a.url, a.title, a.published, a.cluster_id,
                   a.cluster_id <> a.article_id AS near_duplicate,
                   n.sentiment_label, n.sentiment_score, ent.tickers, ent.entities, th.themes,
                   n.model_versions, a.text
            FROM articles a LEFT JOIN analyses n USING (article_id)
            LEFT JOIN ent USING (article_id) LEFT JOIN th USING (article_id)
            ORDER BY {_WHEN}, a.article_id"""
        options = {
            "parquet": "FORMAT parquet",
            "csv": "FORMAT csv, HEADER true",
            "jsonl": "FORMAT json",
        }[fmt]
        out.parent.mkdir(parents=True, exist_ok=True)
        target = str(out).replace("'", "''")
        try:
            self.con.execute(f"COPY ({sql}) TO '{target}' ({options})")
        except duckdb.Error as exc:
            raise StoreError(f"export to {out} failed: {exc}") from None
        return int(self._scalar("SELECT count(*) FROM articles"))
