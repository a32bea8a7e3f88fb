"""Financial entity recognition and linking (nlp_pipeline/nlp/entities.py) via the Analyzer."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from nlp_pipeline.nlp import Analyzer
from nlp_pipeline.nlp.entities import AliasTable, normalize_symbol
from tests.conftest import REPO


def entities(analyzer: Analyzer, text: str) -> dict[tuple[str, str], dict[str, Any]]:
    tagged = analyzer.tag(text)
    out = {(e["type"], e["id"]): e for e in tagged["entities"]}
    assert len(out) == len(tagged["entities"])
    return out


def surfaces(text: str, entity: dict[str, Any]) -> list[str]:
    return [text[start:end] for start, end in entity["spans"]]


def test_exchange_tagged_tickers(analyzer: Analyzer) -> None:
    text = (
        "Comfort Systems USA (NYSE: FIX) lifted its outlook on Tuesday, while Nvidia "
        "(Nasdaq: NVDA) slipped."
    )
    found = entities(analyzer, text)
    fix = found[("TICKER", "FIX")]
    assert fix["exchange"] == "NYSE"
    assert fix["name"] == "Comfort Systems USA"
    nvda = found[("TICKER", "NVDA")]
    assert nvda["exchange"] == "NASDAQ"
    assert set(found) == {("TICKER", "FIX"), ("TICKER", "NVDA")}


def test_tag_exchange_overrides_alias_table_exchange(analyzer: Analyzer) -> None:
    # The alias table lists FIX on NYSE; an explicit tag names where it was quoted.
    found = entities(analyzer, "A filing from (NASDAQ: FIX) arrived late.")
    assert found[("TICKER", "FIX")]["exchange"] == "NASDAQ"


def test_name_and_tag_count_as_one_mention(analyzer: Analyzer) -> None:
    text = "Comfort Systems USA (NYSE: FIX) raised its guidance."
    fix = entities(analyzer, text)[("TICKER", "FIX")]
    assert fix["mentions"] == 1
    assert surfaces(text, fix) == ["Comfort Systems USA (NYSE: FIX)"]


def test_cashtags_but_not_dollar_amounts(analyzer: Analyzer) -> None:
    text = "Traders piled into $NVDA after the stock cost US$5 less than a $5 sandwich."
    found = entities(analyzer, text)
    assert set(found) == {("TICKER", "NVDA")}
    assert surfaces(text, found[("TICKER", "NVDA")]) == ["$NVDA"]
    assert found[("TICKER", "NVDA")]["exchange"] == "NASDAQ"


@pytest.mark.parametrize("text", ["It costs $5 today.", "Prices near US$5 and $12.50 held."])
def test_dollar_amounts_are_not_tickers(analyzer: Analyzer, text: str) -> None:
    assert not [e for e in analyzer.tag(text)["entities"] if e["type"] == "TICKER"]


@pytest.mark.parametrize(
    ("text", "symbol", "exchange"),
    [
        ("Investors sold shares of United Parcel Service ( UPS.N ) on Friday.", "UPS", "NYSE"),
        ("Traders bought shares of Globex Software (GBXS.O) early.", "GBXS", "NASDAQ"),
        ("Traders bought shares of Initech Holdings ( ITCH.OQ ) early.", "ITCH", "NASDAQ"),
    ],
)
def test_reuters_rics(analyzer: Analyzer, text: str, symbol: str, exchange: str) -> None:
    ticker = entities(analyzer, text)[("TICKER", symbol)]
    assert ticker["exchange"] == exchange
    assert ticker["mentions"] == 1
    (span,) = surfaces(text, ticker)
    assert span.endswith(")")


def test_ric_learns_company_name(analyzer: Analyzer) -> None:
    text = "Investors sold shares of United Parcel Service ( UPS.N ) on Friday."
    ups = entities(analyzer, text)[("TICKER", "UPS")]
    assert ups["name"] == "United Parcel Service"
    assert surfaces(text, ups) == ["United Parcel Service ( UPS.N )"]


def test_sentence_initial_word_not_part_of_learned_name(analyzer: Analyzer) -> None:
    text = "Shares of United Parcel ( UPS.N ) fell."
    ups = entities(analyzer, text)[("TICKER", "UPS")]
    assert surfaces(text, ups) == ["United Parcel ( UPS.N )"]
    assert ups["name"] == "United Parcel Service"  # the reference table's name


def test_brk_b_normalizes(analyzer: Analyzer) -> None:
    assert normalize_symbol("BRK-B") == "BRK.B"
    assert normalize_symbol("brk/b") == "BRK.B"
    text = "Holders of (NYSE: BRK-B) and $BRK.B were calm."
    found = entities(analyzer, text)
    assert set(found) == {("TICKER", "BRK.B")}
    brk = found[("TICKER", "BRK.B")]
    assert brk["mentions"] == 2
    assert brk["name"] == "Berkshire Hathaway"
    assert surfaces(text, brk) == ["(NYSE: BRK-B)", "$BRK.B"]


def test_alias_table_normalizes_ticker_ids() -> None:
    table = AliasTable(REPO / "models" / "entities" / "aliases.yaml")
    record = table.ticker("BRK-B")
    assert record is not None and record.id == "BRK.B"
    assert table.ticker("EME") is not None
    assert table.ticker("ZZZZZ") is None


def test_company_name_without_ticker_links(analyzer: Analyzer) -> None:
    text = "Electrical contractor EMCOR won a hospital contract, and EMCOR Group hired."
    eme = entities(analyzer, text)[("TICKER", "EME")]
    assert eme["name"] == "EMCOR Group"
    assert eme["exchange"] == "NYSE"
    assert eme["mentions"] == 2
    assert surfaces(text, eme) == ["EMCOR", "EMCOR Group"]


def test_unknown_tagged_ticker_learns_name(analyzer: Analyzer) -> None:
    text = (
        "Acme Widgets Corp (NASDAQ: ACMW) won a large order on Monday. Analysts said "
        "Acme Widgets Corp could double its sales."
    )
    acmw = entities(analyzer, text)[("TICKER", "ACMW")]
    assert acmw["name"] == "Acme Widgets Corp"
    assert acmw["exchange"] == "NASDAQ"
    assert acmw["mentions"] == 2
    assert surfaces(text, acmw) == ["Acme Widgets Corp (NASDAQ: ACMW)", "Acme Widgets Corp"]


def test_learned_name_does_not_leak_between_texts(analyzer: Analyzer) -> None:
    analyzer.tag("Acme Widgets Corp (NASDAQ: ACMW) won a large order.")
    later = analyzer.tag("Analysts said Acme Widgets Corp could double its sales.")
    assert not [e for e in later["entities"] if e["id"] == "ACMW"]


@pytest.mark.parametrize(
    ("text", "surface", "etype", "entity_id"),
    [
        ("The S&P 500 closed at a record.", "S&P 500", "INDEX", "SPX"),
        ("Small caps in the Russell 2000 led.", "Russell 2000", "INDEX", "RUT"),
        ("Blue chips in the Dow slipped.", "the Dow", "INDEX", "DJI"),
        ("The One Big Beautiful Bill Act passed.", "One Big Beautiful Bill Act", "POLICY", "OBBBA"),
        ("Buyers used Section 179 expensing.", "Section 179 expensing", "POLICY", "SECTION_179"),
        (
            "Buyers claimed the Section 179 deduction.",
            "Section 179 deduction",
            "POLICY",
            "SECTION_179",
        ),
        ("The Federal Reserve met on Wednesday.", "Federal Reserve", "ORG", "FED"),
        ("Traders think the Fed will wait.", "the Fed", "ORG", "FED"),
        ("Minutes of the FOMC were released.", "FOMC", "ORG", "FED"),
        ("Investors rotated into industrials.", "industrials", "SECTOR", "INDUSTRIALS"),
        ("Industrials led the advance.", "Industrials", "SECTOR", "INDUSTRIALS"),
    ],
)
def test_aliases_link_to_canonical_ids(
    analyzer: Analyzer, text: str, surface: str, etype: str, entity_id: str
) -> None:
    found = entities(analyzer, text)
    entity = found[(etype, entity_id)]
    assert surface in surfaces(text, entity)
    assert entity["exchange"] is None


def test_fed_forms_are_one_entity(analyzer: Analyzer) -> None:
    text = "The Federal Reserve held rates. The Fed chair spoke after the FOMC vote."
    found = entities(analyzer, text)
    fed = found[("ORG", "FED")]
    assert fed["mentions"] == 3
    assert fed["name"] == "Federal Reserve"
    assert [k for k in found if k[0] == "ORG"] == [("ORG", "FED")]


def test_spans_are_valid_offsets(analyzer: Analyzer) -> None:
    text = (
        "Comfort Systems USA (NYSE: FIX) and EMCOR rose as the S&P 500 gained.\n"
        "The Fed signaled patience; $NVDA fell and industrials lagged the Russell 2000.\n"
        "Acme Widgets Corp (NASDAQ: ACMW) said Acme Widgets Corp expects the One Big "
        "Beautiful Bill Act to help. Investors sold United Parcel Service ( UPS.N )."
    )
    tagged = analyzer.tag(text)
    ids = {e["id"] for e in tagged["entities"]}
    assert {"FIX", "EME", "SPX", "FED", "NVDA", "INDUSTRIALS", "RUT", "ACMW", "OBBBA", "UPS"} <= ids
    seen: list[tuple[int, int]] = []
    for entity in tagged["entities"]:
        assert entity["mentions"] == len(entity["spans"])
        for start, end in entity["spans"]:
            assert 0 <= start < end <= len(text)
            piece = text[start:end]
            assert piece == piece.strip()
            seen.append((start, end))
    seen.sort()
    for (_, end), (start, _) in itertools.pairwise(seen):
        assert end <= start  # no two mentions overlap
    # Every sentence offset is valid too.
    for sentence in tagged["sentences"]:
        assert text[sentence["start"] : sentence["end"]] == sentence["text"]


def test_unrelated_text_has_no_entities(analyzer: Analyzer) -> None:
    assert analyzer.tag("The weather was mild and the harvest came in early.")["entities"] == []
