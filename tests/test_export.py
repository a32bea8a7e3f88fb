"""Exports read back with pandas and DuckDB: same articles, counts and values as the store."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from nlp_pipeline.errors import StoreError
from nlp_pipeline.export import export
from nlp_pipeline.store import Store
from tests.store.builders import add, analysis, at

SMALL, AI = "small_cap_rotation", "ai_infrastructure"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "s.duckdb")
    wrap = analysis(
        [
            ("FIX rose as small caps rallied.", 0.8, [SMALL]),
            ("NVDA gained on AI chip demand.", 0.5, [AI]),
        ],
        {"TICKER:FIX": ([0], 0.6), "TICKER:NVDA": ([1], 0.9), "INDEX:RUT": ([0], 0.2)},
    )
    add(store, "wrap", at("2026-08-05"), wrap, feed="wire")
    nvda = analysis([("NVDA said AI demand is strong.", 0.4, [AI])], {"TICKER:NVDA": ([0], 1.0)})
    add(store, "nvda", at("2026-09-02"), nvda, feed="blog")
    add(store, "nvda-copy", at("2026-09-03"), nvda, cluster="nvda", feed="wire")
    return store


def test_parquet_round_trip_keeps_values(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "out" / "articles.parquet"
    result = export(store, out, "parquet")
    frame = pd.read_parquet(out).set_index("article_id")
    assert result.articles == 3 and sorted(frame.index) == ["nvda", "nvda-copy", "wrap"]
    wrap = frame.loc["wrap"]
    assert list(wrap["tickers"]) == ["NVDA", "FIX"]  # by relevance
    entities = [(e["type"], e["id"], e["relevance"]) for e in wrap["entities"]]
    assert entities == [("TICKER", "NVDA", 0.9), ("TICKER", "FIX", 0.6), ("INDEX", "RUT", 0.2)]
    assert [(t["id"], list(t["evidence"])) for t in wrap["themes"]] == [(AI, [1]), (SMALL, [0])]
    assert (
        bool(frame.loc["nvda-copy", "near_duplicate"])
        and frame.loc["nvda-copy", "cluster_id"] == "nvda"
    )
    assert str(wrap["published"]) == "2026-08-05 12:00:00+00:00"
    card = (out.parent / "articles.parquet.README.md").read_text()
    assert "Articles: 3 (2 stories" in card and "2026-08-05 to 2026-09-03" in card
    assert "`v1`: 3" in card


def test_filters_select_the_right_articles(store: Store, tmp_path: Path) -> None:
    def ids(**filters: object) -> list[str]:
        out = tmp_path / "f.jsonl"
        export(store, out, "jsonl", card=False, **filters)
        return sorted(pd.read_json(out, lines=True)["article_id"]) if out.stat().st_size else []

    assert ids(entity="FIX") == ["wrap"]
    assert ids(entity="NVDA", min_relevance=0.95) == ["nvda", "nvda-copy"]
    assert ids(entity_type="INDEX") == ["wrap"]
    assert ids(theme=AI, feeds=["wire"]) == ["nvda-copy", "wrap"]
    assert ids(since="2026-09-01", until="2026-09-03") == ["nvda"]
    assert ids(entity="RUT", theme=AI) == []  # RUT is not in the AI sentence
    assert ids(entity="RUT", theme=AI, scope="article") == ["wrap"]


def test_flat_tables_as_csv_and_parquet_by_month(store: Store, tmp_path: Path) -> None:
    flat = export(store, tmp_path / "flat", "csv", tables=True)
    assert flat.tables == {"articles": 3, "sentences": 4, "mentions": 5, "themes": 4}
    mentions = pd.read_csv(tmp_path / "flat" / "mentions.csv")
    assert len(mentions) == 5 and set(mentions["entity_id"]) == {"FIX", "NVDA", "RUT"}
    assert (tmp_path / "flat" / "README.md").exists()

    by_month = export(store, tmp_path / "monthly", "parquet", tables=True, partition_by_month=True)
    months = sorted(p.name for p in (tmp_path / "monthly" / "articles").iterdir())
    assert months == ["month=2026-08", "month=2026-09"]
    back = pd.read_parquet(tmp_path / "monthly" / "articles")
    assert sorted(back["article_id"]) == ["nvda", "nvda-copy", "wrap"]
    assert sorted(back["month"].astype(str)) == ["2026-08", "2026-09", "2026-09"]
    sentences = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{tmp_path}/monthly/sentences/**/*.parquet', "
        "hive_partitioning = true)"
    ).fetchall()
    assert sentences == [(by_month.tables["sentences"],)]


def test_bad_export_requests_are_refused(store: Store, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="needs --format parquet"):
        export(store, tmp_path / "x", "csv", partition_by_month=True)
    with pytest.raises(StoreError, match="unknown export format"):
        export(store, tmp_path / "x", "xlsx")
