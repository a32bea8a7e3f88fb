"""Aliases kept in the store: learned from the corpus, added and removed by users."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from nlp_pipeline import runner
from nlp_pipeline.ingest.dedup import article_id, content_hash, minhash
from nlp_pipeline.nlp import Analyzer
from nlp_pipeline.nlp.entities import learned_aliases
from nlp_pipeline.records import Article
from nlp_pipeline.store import Store
from nlp_pipeline.store import aliases as store_aliases


def article(url: str, title: str, text: str, day: int) -> Article:
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


def test_record_list_remove(tmp_path: Path) -> None:
    with Store(tmp_path / "a.duckdb") as store:
        assert store_aliases.record_aliases(store, [("Zorblax Dynamics", "ZRBX")]) == 1
        assert store_aliases.record_aliases(store, [("Zorblax Dynamics", "ZRBX")]) == 0
        frame = store_aliases.list_aliases(store)
        assert frame[["alias", "entity_id", "source", "seen"]].values.tolist() == [
            ["Zorblax Dynamics", "ZRBX", "learned", 2]
        ]
        assert store_aliases.remove_alias(store, "Zorblax Dynamics") == 1
        assert store_aliases.active_aliases(store) == []
        # A removed alias is not learned again ...
        store_aliases.record_aliases(store, [("Zorblax Dynamics", "ZRBX")])
        assert store_aliases.active_aliases(store) == []
        # ... but a user may add it back.
        assert store_aliases.record_aliases(store, [("Zorblax Dynamics", "ZRBX")], "user") == 1
        assert store_aliases.active_aliases(store) == [("Zorblax Dynamics", "ZRBX")]


def test_learned_alias_links_a_later_article_without_a_tag(
    tmp_path: Path, analyzer: Analyzer
) -> None:
    first = article(
        "https://example.org/1",
        "Zorblax wins order",
        "Zorblax Dynamics (NASDAQ: ZRBX) won a large order on Monday.",
        1,
    )
    later = article(
        "https://example.org/2",
        "Orders",
        "Analysts expect Zorblax Dynamics to double its sales next year.",
        2,
    )
    before = analyzer.analyze(later.text)
    assert not [e for e in before.entities if e.id == "ZRBX"]
    with Store(tmp_path / "b.duckdb") as store:
        store.add_article(first)
        runner.analyze(store, analyzer, progress=False)
        assert store_aliases.active_aliases(store) == [("Zorblax Dynamics", "ZRBX")]
        store.add_article(later)
        runner.analyze(store, analyzer, progress=False)
        found = store.query(
            "SELECT a.url FROM article_entities e JOIN articles a USING (article_id) "
            "WHERE e.entity_id = 'ZRBX' ORDER BY a.url"
        )
        assert found["url"].tolist() == ["https://example.org/1", "https://example.org/2"]


def test_learned_aliases_from_a_result(analyzer: Analyzer) -> None:
    text = "Quuxion Labs (NASDAQ: QXLB) and Apple ( AAPL.O ) rose; $NVDA fell."
    pairs = learned_aliases(text, analyzer.analyze(text))
    assert ("Quuxion Labs", "QXLB") in pairs
    assert ("Apple", "AAPL") in pairs
    assert not [p for p in pairs if p[1] == "NVDA"]
    # Names every table already links that way are not new.
    assert analyzer.recognizer.new_aliases(pairs) == [("Quuxion Labs", "QXLB")]
