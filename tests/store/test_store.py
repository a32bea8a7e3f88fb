from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from nlp_pipeline.errors import StoreError
from nlp_pipeline.ingest.dedup import article_id, content_hash, minhash
from nlp_pipeline.nlp import Analyzer
from nlp_pipeline.records import Article
from nlp_pipeline.store import Store, analysis_document
from nlp_pipeline.store.connection import WRITE_ROW_GROUP_ROWS, StoreBusyError
from nlp_pipeline.store.schema import LATEST_VERSION, MIGRATIONS


def make_article(url: str, title: str, text: str, day: int = 1) -> Article:
    return Article(
        article_id=article_id(url),
        feed_id="t",
        url=url,
        title=title,
        text=text,
        published=datetime(2026, 10, day, 12, tzinfo=UTC),
        fetched_at=datetime.now(UTC),
        content_hash=content_hash(text),
        minhash=minhash(text),
    )


def test_schema_is_versioned_and_migrations_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    Store(path).close()
    Store(path).close()  # second open applies nothing
    con = duckdb.connect(str(path))
    versions = con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
    assert versions == [(number,) for number, _ in MIGRATIONS]
    assert versions[-1] == (LATEST_VERSION,)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    Store(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version (version) VALUES (999)")
    con.close()
    with pytest.raises(StoreError, match="newer than this nlp-pipeline"):
        Store(path)


def test_add_article_is_idempotent(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        article = make_article("https://x.test/a", "Title", "Body text here.")
        assert store.add_article(article) is True
        assert store.add_article(article) is False
        assert store.counts()["articles"] == 1
        assert store.known_article_ids([article.article_id, "nope"]) == {article.article_id}


def test_save_analysis_replaces_and_records_versions(tmp_path: Path, analyzer: Analyzer) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        article = make_article(
            "https://x.test/a",
            "Contractor rallies",
            "Comfort Systems USA (NYSE: FIX) raised its guidance on data centers.",
        )
        store.add_article(article)
        pending = store.articles_to_analyze(analyzer.version_key)
        assert pending == [(article.article_id, analysis_document(article.title, article.text))]
        result = analyzer.analyze(pending[0][1])
        store.save_analysis(article.article_id, result, analyzer.version_key, None)
        first = store.counts()
        store.save_analysis(article.article_id, result, analyzer.version_key, None)
        assert store.counts() == first  # replaced, not duplicated
        assert store.articles_to_analyze(analyzer.version_key) == []
        assert len(store.articles_to_analyze("other-model-version")) == 1
        versions = store.query("SELECT DISTINCT model_versions FROM article_entities")
        assert versions["model_versions"].tolist() == [analyzer.version_key]
        spans = store.query("SELECT spans FROM article_entities WHERE entity_id = 'FIX'")
        start, end = spans["spans"][0][0]
        assert pending[0][1][start:end].startswith("Comfort Systems USA")


def test_failed_transaction_leaves_nothing_half_written(tmp_path: Path, analyzer: Analyzer) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        text = "Stocks rose as the Fed cut rates. Inflation cooled."
        article = make_article("https://x.test/a", "T", text)
        store.add_article(article)
        result = analyzer.analyze(text)
        # A NULL sentence text breaks the second insert, after the analyses row went in.
        result.sentences[-1].text = None  # type: ignore[assignment]
        with pytest.raises(duckdb.ConstraintException):
            store.save_analysis(article.article_id, result, analyzer.version_key, None)
        counts = store.counts()
        assert counts["analyses"] == counts["sentences"] == counts["article_entities"] == 0


def test_read_only_store_and_sandboxed_query(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with pytest.raises(StoreError, match="no store at"):
        Store(path, read_only=True)
    Store(path).close()
    with Store(path, sandboxed=True) as store:
        with pytest.raises(StoreError, match="read-only"):
            store.query(
                "INSERT INTO runs (run_id, command, started_at, status) "
                "VALUES ('x', 'y', now(), 'ok')"
            )
        with pytest.raises(StoreError, match="disabled"):
            store.query(f"COPY articles TO '{tmp_path / 'leak.csv'}'")
    assert not (tmp_path / "leak.csv").exists()


def test_store_locked_by_another_writer_gives_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ok', flush=True); "
            "time.sleep(30)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        with pytest.raises(
            StoreBusyError, match=rf"busy: held by pid {holder.pid}\b.*waited 0.3 s"
        ):
            Store(path, wait_s=0.3)
    finally:
        holder.kill()
        holder.wait()


def test_bulk_insert_dates_a_story_by_its_earliest_copy_and_keeps_tickers(tmp_path: Path) -> None:
    first = make_article("https://example.com/a", "Fed holds", "The Fed held rates.", day=5)
    first.publisher_tickers = ["FIX", "NYSE:FIX"]
    copy = make_article("https://example.com/b", "Fed holds rates", "The Fed held rates.", day=3)
    copy.cluster_id = first.article_id  # a syndicated copy, dated two days earlier
    seen = datetime(2026, 9, 1, 12, tzinfo=UTC)
    with Store(tmp_path / "s.duckdb") as store:
        assert store.add_articles([first, copy, first], seen_at=seen) == 2  # the repeat skipped
        assert store.add_articles([copy]) == 0
        rows = store.query(
            "SELECT article_id, story_at, first_seen_at, publisher_tickers FROM articles "
            "ORDER BY article_id"
        )
    by_id = {r.article_id: r for r in rows.itertuples()}
    earliest = datetime(2026, 10, 3, 12, tzinfo=UTC)
    assert {r.story_at.to_pydatetime() for r in by_id.values()} == {earliest}
    assert {r.first_seen_at.to_pydatetime() for r in by_id.values()} == {seen}
    assert list(by_id[first.article_id].publisher_tickers) == ["FIX", "NYSE:FIX"]
    assert list(by_id[copy.article_id].publisher_tickers) == []


def test_feed_state_upserts_keep_validators_and_count_failures(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        first = make_article("https://x.test/1", "One", "Shares rose after results.")
        polled = [
            ("wire", "https://x.test/feed", ('"e1"', "LM1")),
            ("blog", "https://b.test", None),
        ]
        assert store.add_polled_articles([first], polled) == 1
        store.update_feed_state("wire", "https://x.test/feed", error="HTTP 503")
        store.update_feed_state("wire", "https://x.test/feed", error="timed out")
        failing = store.feed_state("wire")
        # A poll that stored nothing new and may not trust the feed's validators keeps them.
        assert store.add_polled_articles([first], [("wire", "https://x.test/feed2", None)]) == 0
        states = store.feed_states(["wire", "blog", "never-polled"])
    assert failing is not None
    assert (failing["consecutive_failures"], failing["last_error"]) == (2, "timed out")
    assert (failing["etag"], failing["last_modified"]) == ('"e1"', "LM1")
    assert set(states) == {"wire", "blog"} and states["blog"]["etag"] is None
    wire = states["wire"]
    assert (wire["consecutive_failures"], wire["last_error"], wire["url"]) == (
        0,
        None,
        "https://x.test/feed2",
    )
    assert (wire["etag"], wire["last_modified"]) == ('"e1"', "LM1")
    assert wire["last_success_at"] >= failing["last_polled_at"]


def test_attached_keeps_the_file_across_writes_then_gives_it_back(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    probe = (
        "import sys\n"
        "from nlp_pipeline.store import Store\n"
        "from nlp_pipeline.store.connection import StoreBusyError\n"
        "try:\n"
        "    Store(sys.argv[1], read_only=True, wait_s=0.2).close()\n"
        "    print('read')\n"
        "except StoreBusyError:\n"
        "    print('busy')\n"
    )

    def another_process_reads() -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, timeout=60
        )
        return done.stdout.strip() or done.stderr

    with Store(path) as store:
        with store.attached():
            two = make_article("https://x.test/2", "Two", "Rates held.")
            store.add_polled_articles([two], [("wire", "u", None)])
            held = another_process_reads()
        given_back = another_process_reads()
    assert (held, given_back) == ("busy", "read")


def _largest_row_group(store: Store, table: str) -> int:
    rows = store.query(
        "SELECT max(n) AS n FROM (SELECT row_group_id, sum(count) AS n "
        f"FROM pragma_storage_info('{table}') WHERE column_path = '[0]' GROUP BY row_group_id)"
    )
    return int(rows["n"][0])


def test_writes_keep_row_groups_small_and_optimize_compacts_the_fact_tables(
    tmp_path: Path,
) -> None:
    """Small row groups keep a long ingest's memory flat (DuckDB's vacuum merges neighbours up
    to the size); `optimize` rewrites the fact tables in full-size ones for readers."""
    path = tmp_path / "s.duckdb"
    rows = 3 * WRITE_ROW_GROUP_ROWS
    with Store(path) as store:
        with store.transaction() as con:
            con.execute(
                "INSERT INTO article_entities SELECT 'a' || i, 'v1', now(), NULL, 'c' || i, "
                "now(), now(), now(), 'TICKER', 'T' || (i % 7), NULL, NULL, 1, 1.0, 0.0, "
                "[[0, 1]] FROM range(?) t(i)",
                [rows],
            )
        assert _largest_row_group(store, "article_entities") == WRITE_ROW_GROUP_ROWS
        store.optimize()
        assert _largest_row_group(store, "article_entities") == rows
        # A later write appends in small groups again and leaves the compacted one whole.
        with store.transaction() as con:
            con.execute(
                "INSERT INTO article_entities SELECT 'b' || i, 'v1', now(), NULL, 'c' || i, "
                "now(), now(), now(), 'TICKER', 'T1', NULL, NULL, 1, 1.0, 0.0, [[0, 1]] "
                "FROM range(?) t(i)",
                [rows],
            )
        assert _largest_row_group(store, "article_entities") == rows
        counts = store.query("SELECT count(*) AS n FROM article_entities WHERE entity_id = 'T1'")
        assert int(counts["n"][0]) == rows + len(range(1, rows, 7))  # nothing lost in the rewrite
