"""Migration 2 on a store written by the foundation's schema (version 1)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from nlp_pipeline.store import Store
from nlp_pipeline.store.rows import analysis_tables
from nlp_pipeline.store.schema import MIGRATIONS
from tests.store.builders import analysis

SMALL, AI = "small_cap_rotation", "ai_infrastructure"


def test_version_1_store_is_migrated_with_facts_rebuilt_from_sentences(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    wrap = analysis(
        [
            ("FIX rose as small caps rallied.", 0.8, [SMALL]),
            ("NVDA gained on AI chip demand.", 0.5, [AI]),
            ("FIX and NVDA both led.", -0.2, []),
        ],
        {"TICKER:FIX": ([0, 2], 0.6), "TICKER:NVDA": ([1, 2], 0.5)},
    )
    fetched = datetime(2026, 8, 6, 9, tzinfo=UTC)
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ)")
    con.execute(MIGRATIONS[0][1])
    con.execute("INSERT INTO schema_version VALUES (1, now())")
    for key, published in [("wrap", datetime(2026, 8, 5, 12, tzinfo=UTC)), ("undated", None)]:
        con.execute(
            "INSERT INTO articles VALUES (?, 'f', ?, 't', 'x', NULL, NULL, ?, ?, 'h', ?, NULL)",
            [key, f"https://x.test/{key}", published, fetched, key],
        )
        con.execute(
            "INSERT INTO analyses VALUES (?, 'v1', 'r1', ?, 'neutral', 0.1, 0.3, 0.5, 0.2, 3)",
            [key, fetched],
        )
        for s in wrap.sentences:
            con.execute(
                "INSERT INTO sentences VALUES (?, ?, ?, ?, ?, 'neutral', ?, 0, 1, 0, ?, 'v1')",
                [key, s.index, s.start, s.end, s.text, s.sentiment.score, s.themes],
            )
        for e in wrap.entities:
            con.execute(
                "INSERT INTO article_entities VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, 'v1')",
                [
                    key,
                    e.type,
                    e.id,
                    e.name,
                    e.mentions,
                    e.relevance,
                    e.sentiment,
                    [list(x) for x in e.spans],
                ],
            )
        for t in wrap.themes:
            con.execute(
                "INSERT INTO article_themes VALUES (?, ?, ?, ?, ?, 'v1')",
                [key, t.id, t.score, t.sentiment, t.evidence],
            )
    con.execute(
        "INSERT INTO runs (run_id, command, started_at, status) VALUES ('r0', 'run', now(), "
        "'running')"
    )
    con.close()

    with Store(path) as store:
        articles = store.query(
            "SELECT article_id, published, first_seen_at, published_fallback FROM articles "
            "ORDER BY 1"
        )
        assert articles["published"].dt.strftime("%Y-%m-%d %H:%M").tolist() == [
            "2026-08-06 09:00",  # undated: fell back to the fetch time
            "2026-08-05 12:00",
        ]
        assert articles["published_fallback"].tolist() == [True, False]
        assert (articles["first_seen_at"] == fetched).all()
        facts = store.query(
            "SELECT entity_id, theme_id, shared_sentence, round(shared_sentiment, 6) AS tone "
            "FROM entity_themes WHERE article_id = 'wrap' ORDER BY 1, 2"
        )
        meta = {"wrap": ("wrap", fetched, fetched, fetched)}
        expected = analysis_tables([("wrap", wrap)], meta, "v1", None, fetched)["entity_themes"]
        expected_rows = sorted(
            (
                r["entity_id"],
                r["theme_id"],
                r["shared_sentence"],
                None if r["shared_sentiment"] is None else round(r["shared_sentiment"], 6),
            )
            for r in expected.to_pylist()
        )
        got = [
            (r.entity_id, r.theme_id, r.shared_sentence, None if r.tone != r.tone else r.tone)
            for r in facts.itertuples()
        ]
        assert got == expected_rows
        assert got == [
            ("FIX", AI, False, None),
            ("FIX", SMALL, True, 0.8),
            ("NVDA", AI, True, 0.5),
            ("NVDA", SMALL, False, None),
        ]
        assert store.query("SELECT status FROM runs")["status"].tolist() == ["interrupted"]
        assert store.trends("FIX")["theme"].tolist() == [SMALL]
