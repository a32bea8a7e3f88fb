"""Rotation flows stored per article and counted per period (Store.rotation_flows)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp_pipeline.errors import StoreError
from nlp_pipeline.nlp import Analyzer
from nlp_pipeline.store import Store, analysis_document
from tests.store.test_store import make_article

MOVING = "Capital flows into small and mid caps as the mega-cap tech trade fades."


def test_analyzed_flows_are_stored_and_counted_per_week(tmp_path: Path, analyzer: Analyzer) -> None:
    articles = [
        # Two stories in the week of Monday 2026-10-05, one the week after; one without a flow.
        make_article("https://x.test/1", "Breadth", f"Stocks were mixed. {MOVING}", day=5),
        make_article(
            "https://x.test/2",
            "Style shift",
            "Investors rotated out of growth stocks and into value stocks. "
            "Money also poured into small caps.",
            day=7,
        ),
        make_article("https://x.test/3", "Again", MOVING, day=13),
        make_article("https://x.test/4", "Quiet", "Shares of the retailer rose.", day=14),
    ]
    with Store(tmp_path / "s.duckdb") as store:
        for article in articles:
            store.add_article(article)
            result = analyzer.analyze(analysis_document(article.title, article.text))
            store.save_analysis(article.article_id, result, analyzer.version_key, None)
        # Saving again replaces, never duplicates.
        first = articles[0]
        result = analyzer.analyze(analysis_document(first.title, first.text))
        store.save_analysis(first.article_id, result, analyzer.version_key, None)
        stored = store.query(
            "SELECT source_segment, target_segment, evidence FROM article_rotations "
            "WHERE article_id = ? ORDER BY target_segment",
            [first.article_id],
        )
        weekly = store.rotation_flows("W")
        later = store.rotation_flows("W", start=articles[2].published)
    # The article document is title + blank line + text: sentence 0 is the title.
    assert stored.values.tolist() == [
        ["MEGA_CAP", "MID_CAP", [2]],
        ["MEGA_CAP", "SMALL_CAP", [2]],
    ]
    rows = {
        (str(r["period"])[:10], r["from"], r["to"]): r["stories"] for r in weekly.to_dict("records")
    }
    assert rows == {
        ("2026-10-05", "MEGA_CAP", "SMALL_CAP"): 1,
        ("2026-10-05", "MEGA_CAP", "MID_CAP"): 1,
        ("2026-10-05", "GROWTH", "VALUE"): 1,
        ("2026-10-05", None, "SMALL_CAP"): 1,
        ("2026-10-12", "MEGA_CAP", "SMALL_CAP"): 1,
        ("2026-10-12", "MEGA_CAP", "MID_CAP"): 1,
    }
    assert set(later["to"]) == {"SMALL_CAP", "MID_CAP"} and (later["stories"] == 1).all()
    assert weekly["score"].between(0, 1).all() and weekly["sentiment"].between(-1, 1).all()


def test_rotation_flows_rejects_unknown_frequency(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store, pytest.raises(StoreError, match="frequency"):
        store.rotation_flows("fortnight")
