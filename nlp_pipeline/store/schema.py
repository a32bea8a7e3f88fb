"""DuckDB schema, applied as numbered migrations recorded in `schema_version`.

Offsets in `sentences` and `article_entities.spans` are character offsets into the analyzed
document, which is `analysis_document(title, text)`: the title, a blank line, then the text.
"""

from __future__ import annotations

from typing import Any

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE articles (
            article_id    VARCHAR PRIMARY KEY,   -- sha1 of the canonical URL, 16 hex chars
            feed_id       VARCHAR NOT NULL,
            url           VARCHAR NOT NULL,
            title         VARCHAR NOT NULL,
            text          VARCHAR NOT NULL,
            summary       VARCHAR,
            author        VARCHAR,
            published     TIMESTAMPTZ,
            fetched_at    TIMESTAMPTZ NOT NULL,
            content_hash  VARCHAR NOT NULL,
            cluster_id    VARCHAR NOT NULL,      -- article_id of the story's first copy
            minhash       UBIGINT[]
        );
        CREATE TABLE analyses (
            article_id      VARCHAR PRIMARY KEY,
            model_versions  VARCHAR NOT NULL,    -- Analyzer.version_key
            run_id          VARCHAR,
            analyzed_at     TIMESTAMPTZ NOT NULL,
            sentiment_label VARCHAR NOT NULL,
            sentiment_score DOUBLE NOT NULL,
            p_positive      DOUBLE NOT NULL,
            p_neutral       DOUBLE NOT NULL,
            p_negative      DOUBLE NOT NULL,
            n_sentences     INTEGER NOT NULL
        );
        CREATE TABLE sentences (
            article_id      VARCHAR NOT NULL,
            sentence_index  INTEGER NOT NULL,
            start_char      INTEGER NOT NULL,
            end_char        INTEGER NOT NULL,
            text            VARCHAR NOT NULL,
            sentiment_label VARCHAR NOT NULL,
            sentiment_score DOUBLE NOT NULL,
            p_positive      DOUBLE NOT NULL,
            p_neutral       DOUBLE NOT NULL,
            p_negative      DOUBLE NOT NULL,
            themes          VARCHAR[] NOT NULL,
            model_versions  VARCHAR NOT NULL,
            PRIMARY KEY (article_id, sentence_index)
        );
        CREATE TABLE article_entities (
            article_id      VARCHAR NOT NULL,
            entity_type     VARCHAR NOT NULL,
            entity_id       VARCHAR NOT NULL,
            name            VARCHAR,
            exchange        VARCHAR,
            mentions        INTEGER NOT NULL,
            relevance       DOUBLE NOT NULL,
            sentiment       DOUBLE NOT NULL,
            spans           INTEGER[][] NOT NULL,
            model_versions  VARCHAR NOT NULL,
            PRIMARY KEY (article_id, entity_type, entity_id)
        );
        CREATE TABLE article_themes (
            article_id      VARCHAR NOT NULL,
            theme_id        VARCHAR NOT NULL,
            score           DOUBLE NOT NULL,
            sentiment       DOUBLE NOT NULL,
            evidence        INTEGER[] NOT NULL,
            model_versions  VARCHAR NOT NULL,
            PRIMARY KEY (article_id, theme_id)
        );
        CREATE TABLE feed_state (
            feed_id              VARCHAR PRIMARY KEY,
            url                  VARCHAR NOT NULL,
            etag                 VARCHAR,
            last_modified        VARCHAR,
            last_polled_at       TIMESTAMPTZ,
            last_success_at      TIMESTAMPTZ,
            last_error           VARCHAR,
            consecutive_failures INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE runs (
            run_id          VARCHAR PRIMARY KEY,
            command         VARCHAR NOT NULL,
            started_at      TIMESTAMPTZ NOT NULL,
            finished_at     TIMESTAMPTZ,
            status          VARCHAR NOT NULL,    -- running | ok | partial | failed
            feeds           VARCHAR[],
            model_versions  VARCHAR,
            articles_new    INTEGER DEFAULT 0,
            near_duplicates INTEGER DEFAULT 0,
            already_stored  INTEGER DEFAULT 0,
            failed          INTEGER DEFAULT 0,
            analyzed        INTEGER DEFAULT 0
        );
        CREATE TABLE ingest_errors (
            run_id    VARCHAR NOT NULL,
            feed_id   VARCHAR NOT NULL,
            url       VARCHAR,
            error     VARCHAR NOT NULL,
            occurred_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX articles_published ON articles (published);
        CREATE INDEX entities_by_id ON article_entities (entity_id);
        """,
    ),
    (
        20,
        """
        -- Rotation flows per article: money leaving `source_segment` (NULL: not named) for
        -- `target_segment`; evidence = sentence indices, sentiment = their mean tone.
        CREATE TABLE article_rotations (
            article_id      VARCHAR NOT NULL,
            source_segment  VARCHAR,
            target_segment  VARCHAR NOT NULL,
            score           DOUBLE NOT NULL,
            sentiment       DOUBLE NOT NULL,
            evidence        INTEGER[] NOT NULL,
            model_versions  VARCHAR NOT NULL
        );
        CREATE INDEX rotations_by_article ON article_rotations (article_id);
        """,
    ),
]

LATEST_VERSION = MIGRATIONS[-1][0]


def current_version(con: Any) -> int:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(con: Any) -> int:
    """Apply pending migrations, each in its own transaction. Returns the schema version."""
    version = current_version(con)
    if version > LATEST_VERSION:
        from nlp_pipeline.errors import StoreError

        raise StoreError(
            f"store schema version {version} is newer than this nlp-pipeline knows "
            f"({LATEST_VERSION}); upgrade nlp-pipeline"
        )
    for number, sql in MIGRATIONS:
        if number <= version:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_version (version) VALUES (?)", [number])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        version = number
    return version
