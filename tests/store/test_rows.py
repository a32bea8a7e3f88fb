"""Analysis results as Arrow rows: the values each store table receives."""

from __future__ import annotations

from datetime import UTC, datetime

from nlp_pipeline.records import RotationFlow
from nlp_pipeline.store.rows import analysis_tables
from tests.store.builders import analysis

SMALL, AI = "small_cap_rotation", "ai_infrastructure"
PUBLISHED = datetime(2026, 8, 5, 12, tzinfo=UTC)
SEEN = datetime(2026, 8, 5, 13, tzinfo=UTC)
ANALYZED = datetime(2026, 8, 6, tzinfo=UTC)


def test_rows_of_two_articles_carry_their_own_article_and_facts() -> None:
    wrap = analysis(
        [
            ("FIX rose as small caps rallied.", 0.8, [SMALL]),
            ("NVDA gained on AI chip demand.", 0.123456, [AI]),
            ("FIX and NVDA both led.", -0.2, []),
        ],
        {"TICKER:FIX": ([0, 2], 0.6), "TICKER:NVDA": ([1, 2], 0.5)},
    )
    wrap.rotations.append(RotationFlow("MEGA_CAP", "SMALL_CAP", 0.912345, 0.8, [0]))
    quiet = analysis([("Nothing named here.", 0.0, [])], {})
    meta = {
        "wrap": ("story-1", PUBLISHED, SEEN, PUBLISHED),
        "quiet": ("story-2", SEEN, SEEN, SEEN),
    }
    tables = analysis_tables([("quiet", quiet), ("wrap", wrap)], meta, "v9", "run-1", ANALYZED)

    assert {name: t.num_rows for name, t in tables.items()} == {
        "analyses": 2,
        "sentences": 4,
        "article_themes": 2,
        "article_rotations": 1,
        "article_entities": 2,
        "entity_themes": 4,
    }
    sentences = tables["sentences"].to_pylist()
    assert [(s["article_id"], s["sentence_index"]) for s in sentences] == [
        ("quiet", 0),
        ("wrap", 0),
        ("wrap", 1),
        ("wrap", 2),
    ]
    assert sentences[2]["sentiment_score"] == 0.1235  # rounded to the fourth decimal
    assert sentences[1]["themes"] == [SMALL] and sentences[1]["model_versions"] == "v9"
    analyses = tables["analyses"].to_pylist()
    assert [(a["article_id"], a["n_sentences"], a["run_id"]) for a in analyses] == [
        ("quiet", 1, "run-1"),
        ("wrap", 3, "run-1"),
    ]
    assert all(a["analyzed_at"] == ANALYZED and a["superseded_at"] is None for a in analyses)
    entities = tables["article_entities"].to_pylist()
    assert [
        (e["entity_id"], e["cluster_id"], e["published"], e["first_seen_at"]) for e in entities
    ] == [
        ("FIX", "story-1", PUBLISHED, SEEN),
        ("NVDA", "story-1", PUBLISHED, SEEN),
    ]
    assert entities[0]["spans"] == [[0, 2], [63, 65]]
    [rotation] = tables["article_rotations"].to_pylist()
    assert (rotation["article_id"], rotation["source_segment"], rotation["score"]) == (
        "wrap",
        "MEGA_CAP",
        0.9123,
    )
    facts = sorted(
        (f["entity_id"], f["theme_id"], f["shared_sentence"], f["shared_sentiment"], f["story_at"])
        for f in tables["entity_themes"].to_pylist()
    )
    # FIX is named in sentences 0 and 2; only sentence 0 carries small caps, none AI.
    assert facts == [
        ("FIX", AI, False, None, PUBLISHED),
        ("FIX", SMALL, True, 0.8, PUBLISHED),
        ("NVDA", AI, True, 0.1235, PUBLISHED),
        ("NVDA", SMALL, False, None, PUBLISHED),
    ]
    theme_scores = {
        (f["entity_id"], f["theme_id"]): (f["theme_score"], f["relevance"])
        for f in tables["entity_themes"].to_pylist()
    }
    assert theme_scores[("FIX", SMALL)] == (0.9, 0.6)
    assert theme_scores[("NVDA", AI)] == (0.9, 0.5)
