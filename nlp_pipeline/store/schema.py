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
        2,
        # Point in time, analyses kept per model version, and a fact table at the grain the
        # answers need. Tables are rebuilt (DuckDB cannot change a primary key in place); the
        # analysis tables drop their primary keys: uniqueness of (article, model versions) is
        # kept by the store's writes (delete then insert in one transaction), and bulk inserts
        # into unindexed tables are several times faster.
        """
        CREATE TABLE articles_v2 (
            article_id         VARCHAR PRIMARY KEY,
            feed_id            VARCHAR NOT NULL,
            url                VARCHAR NOT NULL,
            title              VARCHAR NOT NULL,
            text               VARCHAR NOT NULL,
            summary            VARCHAR,
            author             VARCHAR,
            published          TIMESTAMPTZ NOT NULL, -- UTC; fetch time where the source gave none
            fetched_at         TIMESTAMPTZ NOT NULL,
            content_hash       VARCHAR NOT NULL,
            cluster_id         VARCHAR NOT NULL,
            minhash            UBIGINT[],
            first_seen_at      TIMESTAMPTZ NOT NULL, -- when this store first held the article
            published_fallback BOOLEAN NOT NULL DEFAULT false, -- published fell back to fetch time
            story_at           TIMESTAMPTZ NOT NULL  -- earliest published of the story's copies
        );
        INSERT INTO articles_v2
            SELECT article_id, feed_id, url, title, text, summary, author,
                   coalesce(published, fetched_at), fetched_at, content_hash, cluster_id, minhash,
                   fetched_at, published IS NULL,
                   min(coalesce(published, fetched_at)) OVER (PARTITION BY cluster_id)
            FROM articles;
        DROP INDEX IF EXISTS articles_published;
        DROP TABLE articles;
        ALTER TABLE articles_v2 RENAME TO articles;

        CREATE TABLE analyses_v2 (
            article_id      VARCHAR NOT NULL,
            model_versions  VARCHAR NOT NULL,
            run_id          VARCHAR,
            analyzed_at     TIMESTAMPTZ NOT NULL,
            superseded_at   TIMESTAMPTZ,          -- when a later analysis replaced this one
            sentiment_label VARCHAR NOT NULL,
            sentiment_score DOUBLE NOT NULL,
            p_positive      DOUBLE NOT NULL,
            p_neutral       DOUBLE NOT NULL,
            p_negative      DOUBLE NOT NULL,
            n_sentences     INTEGER NOT NULL
        );
        INSERT INTO analyses_v2
            SELECT article_id, model_versions, run_id, analyzed_at, NULL, sentiment_label,
                   sentiment_score, p_positive, p_neutral, p_negative, n_sentences
            FROM analyses;
        DROP TABLE analyses;
        ALTER TABLE analyses_v2 RENAME TO analyses;

        CREATE TABLE sentences_v2 (
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
            model_versions  VARCHAR NOT NULL
        );
        INSERT INTO sentences_v2 SELECT * FROM sentences;
        DROP TABLE sentences;
        ALTER TABLE sentences_v2 RENAME TO sentences;

        CREATE TABLE article_themes_v2 (
            article_id      VARCHAR NOT NULL,
            theme_id        VARCHAR NOT NULL,
            score           DOUBLE NOT NULL,
            sentiment       DOUBLE NOT NULL,
            evidence        INTEGER[] NOT NULL,
            model_versions  VARCHAR NOT NULL
        );
        INSERT INTO article_themes_v2 SELECT * FROM article_themes;
        DROP TABLE article_themes;
        ALTER TABLE article_themes_v2 RENAME TO article_themes;

        -- Entities per article and model version, with what the answers filter on copied in so
        -- that trends read one table: story, date, first seen, and the analysis' validity.
        CREATE TABLE article_entities_v2 (
            article_id      VARCHAR NOT NULL,
            model_versions  VARCHAR NOT NULL,
            analyzed_at     TIMESTAMPTZ NOT NULL,
            superseded_at   TIMESTAMPTZ,
            cluster_id      VARCHAR NOT NULL,
            published       TIMESTAMPTZ NOT NULL,
            first_seen_at   TIMESTAMPTZ NOT NULL,
            story_at        TIMESTAMPTZ NOT NULL,
            entity_type     VARCHAR NOT NULL,
            entity_id       VARCHAR NOT NULL,
            name            VARCHAR,
            exchange        VARCHAR,
            mentions        INTEGER NOT NULL,
            relevance       DOUBLE NOT NULL,
            sentiment       DOUBLE NOT NULL,
            spans           INTEGER[][] NOT NULL
        );
        INSERT INTO article_entities_v2
            SELECT e.article_id, e.model_versions, n.analyzed_at, NULL, a.cluster_id, a.published,
                   a.first_seen_at, a.story_at, e.entity_type, e.entity_id, e.name, e.exchange,
                   e.mentions, e.relevance, e.sentiment, e.spans
            FROM article_entities e JOIN analyses n USING (article_id, model_versions)
            JOIN articles a USING (article_id);
        DROP INDEX IF EXISTS entities_by_id;
        DROP TABLE article_entities;
        ALTER TABLE article_entities_v2 RENAME TO article_entities;

        -- The fact table: article x entity x theme. shared_sentence says whether some sentence
        -- names the entity and carries the theme (a market wrap naming ten tickers does not give
        -- each of them every theme); shared_sentiment is the mean tone of those sentences.
        CREATE TABLE entity_themes (
            article_id       VARCHAR NOT NULL,
            model_versions   VARCHAR NOT NULL,
            analyzed_at      TIMESTAMPTZ NOT NULL,
            superseded_at    TIMESTAMPTZ,
            cluster_id       VARCHAR NOT NULL,
            published        TIMESTAMPTZ NOT NULL,
            first_seen_at    TIMESTAMPTZ NOT NULL,
            story_at         TIMESTAMPTZ NOT NULL,
            entity_type      VARCHAR NOT NULL,
            entity_id        VARCHAR NOT NULL,
            relevance        DOUBLE NOT NULL,
            theme_id         VARCHAR NOT NULL,
            theme_score      DOUBLE NOT NULL,
            theme_sentiment  DOUBLE NOT NULL,
            shared_sentence  BOOLEAN NOT NULL,
            shared_sentiment DOUBLE
        );
        INSERT INTO entity_themes
            WITH pairs AS (
                SELECT e.*, t.theme_id, t.score AS theme_score, t.sentiment AS theme_sentiment,
                       t.evidence
                FROM article_entities e JOIN article_themes t USING (article_id, model_versions)),
            shared AS (
                SELECT p.article_id, p.entity_type, p.entity_id, p.theme_id,
                       avg(s.sentiment_score) AS tone
                FROM pairs p JOIN sentences s USING (article_id, model_versions)
                WHERE (list_contains(s.themes, p.theme_id)
                       OR list_contains(p.evidence, s.sentence_index))
                  AND len(list_filter(p.spans,
                          lambda x: x[1] >= s.start_char AND x[1] < s.end_char)) > 0
                GROUP BY ALL)
            SELECT p.article_id, p.model_versions, p.analyzed_at, NULL, p.cluster_id, p.published,
                   p.first_seen_at, p.story_at, p.entity_type, p.entity_id, p.relevance, p.theme_id,
                   p.theme_score, p.theme_sentiment, s.tone IS NOT NULL, s.tone
            FROM pairs p LEFT JOIN shared s USING (article_id, entity_type, entity_id, theme_id);

        -- Which process a run belongs to, so that a run whose process died ends `interrupted`.
        ALTER TABLE runs ADD COLUMN pid INTEGER;
        ALTER TABLE runs ADD COLUMN host VARCHAR;
        UPDATE runs SET status = 'interrupted', finished_at = now() WHERE status = 'running';
        """,
    ),
    (
        3,
        """
        -- Tickers the publisher attached (news sitemaps' <news:stock_tickers>), as given.
        ALTER TABLE articles ADD COLUMN publisher_tickers VARCHAR[] DEFAULT [];
        """,
    ),
    (
        4,
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
        """,
    ),
    (
        5,
        """
        -- Company aliases learned from the corpus (a name right before its ticker tag) or
        -- added by a user (`nlp-pipeline aliases add`); the analyzer links them in later texts.
        CREATE TABLE entity_aliases (
            alias       VARCHAR NOT NULL,
            entity_type VARCHAR NOT NULL,
            entity_id   VARCHAR NOT NULL,
            source      VARCHAR NOT NULL,    -- learned | user
            seen        INTEGER NOT NULL DEFAULT 1,
            first_seen  TIMESTAMPTZ NOT NULL,
            last_seen   TIMESTAMPTZ NOT NULL,
            disabled    BOOLEAN NOT NULL DEFAULT false,  -- removed by a user: never relearned
            PRIMARY KEY (alias, entity_type, entity_id)
        );
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
