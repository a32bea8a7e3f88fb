"""Ticker notations, bare symbols, binary junk and linear cost (nlp/tickers.py, entities.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from nlp_pipeline.nlp import Analyzer
from nlp_pipeline.nlp.tickers import find_ticker_notations, normalize_symbol, strip_rics


def tickers(analyzer: Analyzer, text: str) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in analyzer.tag(text)["entities"] if e["type"] == "TICKER"}


@pytest.mark.parametrize(
    ("text", "symbol", "exchange"),
    [
        ("Uranium miner (NYSE American: UUUU) rallied.", "UUUU", "NYSEAMERICAN"),
        ("The fund (NYSE Arca: SPY) saw inflows.", "SPY", "NYSEARCA"),
        ("A small lender (OTCQB: ABCD) reported.", "ABCD", "OTC"),
        ("Shares of the miner (OTC Pink: WXYZ) fell.", "WXYZ", "OTC"),
        ("Shopify (TSX: SHOP) gained.", "SHOP", "TSX"),
        ("Vodafone (LSE: VOD) cut its dividend.", "VOD", "LSE"),
        ("Tencent (HKEX: 0700) slipped.", "0700", "HKEX"),
        ("Comfort Systems (nyse:FIX) rose.", "FIX", "NYSE"),
        ("Berkshire (NYSE: BRK/B) was flat.", "BRK.B", "NYSE"),
    ],
)
def test_exchange_tags_in_every_form(
    analyzer: Analyzer, text: str, symbol: str, exchange: str
) -> None:
    found = tickers(analyzer, text)
    assert found[symbol]["exchange"] == exchange


def test_two_listings_in_one_parenthesis_and_adjoining_tags(analyzer: Analyzer) -> None:
    found = tickers(analyzer, "Shopify Inc (NYSE: SHOP; TSX: SHOP) rose.")
    assert set(found) == {"SHOP"}
    text = "Alphabet Inc. (NASDAQ:GOOG)(NASDAQ:GOOGL) rallied."
    assert set(tickers(analyzer, text)) == {"GOOG", "GOOGL"}


@pytest.mark.parametrize(
    ("text", "symbol", "exchange"),
    [
        ("Apple (AAPL.O) rose.", "AAPL", "NASDAQ"),
        ("Berkshire Hathaway ( BRKb.N ) rose.", "BRK.B", "NYSE"),
        ("IBM <IBM.N> rose.", "IBM", "NYSE"),
        ("Vodafone ( VOD.L ) fell.", "VOD", "LSE"),
        ("Toyota ( 7203.T ) fell.", "7203", "TSE"),
        ("trading shares of Dell DELL.O and others", "DELL", "NASDAQ"),
    ],
)
def test_reuters_rics(analyzer: Analyzer, text: str, symbol: str, exchange: str) -> None:
    assert tickers(analyzer, text)[symbol]["exchange"] == exchange


@pytest.mark.parametrize(
    "text",
    [
        "It costs $5 and US$12.50, or C$7.",
        "The code a$BC and x$NVDA are not tags.",
        "Revenue hit $3.2bn while $ 5 vanished.",
    ],
)
def test_money_and_words_are_not_cashtags(analyzer: Analyzer, text: str) -> None:
    assert tickers(analyzer, text) == {}


def test_cashtags_with_share_class_and_index_cashtags(analyzer: Analyzer) -> None:
    tagged = analyzer.tag("Bought $BRK.B and $NVDA; the $SPX and $VIX were calm.")
    ids = {(e["type"], e["id"]) for e in tagged["entities"]}
    assert ids == {("TICKER", "BRK.B"), ("TICKER", "NVDA"), ("INDEX", "SPX"), ("INDEX", "VIX")}


def test_bare_symbols_only_where_safe(analyzer: Analyzer) -> None:
    found = tickers(analyzer, "Shares of MRVL and SNAP rose 5% in premarket trading.")
    assert {"MRVL", "SNAP"} <= set(found)
    words = "IT ALL happens NOW, and CAT ARE ON. A CEO said the GDP was fine."
    assert tickers(analyzer, words) == {}
    # A listed symbol with no market context at all is not enough on its own.
    assert "MRVL" not in tickers(analyzer, "The note was signed MRVL in the margin.")


def test_word_like_symbol_links_once_its_company_is_tagged(analyzer: Analyzer) -> None:
    text = "Caterpillar (NYSE: CAT) beat estimates, and CAT shares rose."
    cat = tickers(analyzer, text)["CAT"]
    assert cat["mentions"] == 2


def test_symbol_after_its_company_name(analyzer: Analyzer) -> None:
    text = "Apple AAPL, Amazon AMZN and Prologis (PLD) will report."
    assert set(tickers(analyzer, text)) == {"AAPL", "AMZN", "PLD"}


def test_dateline_and_names_in_capitals_are_not_symbols(analyzer: Analyzer) -> None:
    assert tickers(analyzer, "SAN FRANCISCO (Reuters) - The quarter was quiet.") == {}


def test_binary_junk_gives_no_mentions(analyzer: Analyzer) -> None:
    ls = Path("/bin/ls")
    if not ls.is_file():
        pytest.skip("no /bin/ls to read")
    junk = ls.read_bytes()[:150_000].decode("utf-8", errors="replace")
    assert analyzer.tag(junk)["entities"] == []


def test_normalize_and_strip_rics() -> None:
    assert normalize_symbol(" brk/b ") == "BRK.B"
    text, removed = strip_rics("Sales at United Parcel Service ( UPS.N ) rose; Apple (AAPL.O) too.")
    assert text == "Sales at United Parcel Service rose; Apple too."
    assert [(text[:position].split()[-1], n.symbol) for position, _, n in removed] == [
        ("Service", "UPS"),
        ("Apple", "AAPL"),
    ]
    notations = find_ticker_notations("(NYSE: 2021) is a year; (NYSE: IBM) is not.")
    assert [n.symbol for n in notations] == ["IBM"]


def _profiled_calls(analyzer: Analyzer, text: str) -> int:
    """Python and C function calls made while the entity component and mention collection run
    on `text` (tokenization excluded): a count, not a time."""
    doc = analyzer.nlp.make_doc(text)
    for _, component in analyzer.nlp.pipeline:
        if component is not analyzer.recognizer:
            doc = component(doc)
    calls = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        analyzer.recognizer(doc)
        analyzer.recognizer.mentions(doc)
    finally:
        sys.setprofile(None)
    return calls


def test_entity_stage_work_grows_linearly(analyzer: Analyzer) -> None:
    paragraph = (
        "Comfort Systems USA (NYSE: FIX) rose while Nvidia (Nasdaq: NVDA) fell and $AAPL was "
        "flat. Acme Widgets Corp (NASDAQ: ACMW) said Acme Widgets Corp would grow. The Fed and "
        "the S&P 500 moved; United Parcel Service ( UPS.N ) and UPS shares gained.\n"
    )
    small = _profiled_calls(analyzer, paragraph * 20)
    large = _profiled_calls(analyzer, paragraph * 80)
    # Four times the text: about four times the work (quadratic code would do sixteen).
    assert large < 5 * small


class _CountingDoc:
    """Forwards to a Doc and counts reads of `.text` (spaCy rebuilds it on every read)."""

    def __init__(self, doc: Any) -> None:
        self._doc = doc
        self.text_reads = 0

    def __getattr__(self, name: str) -> Any:
        if name == "text":
            self.text_reads += 1
        return getattr(self._doc, name)


def test_mentions_read_the_text_once(analyzer: Analyzer) -> None:
    text = "Nvidia (Nasdaq: NVDA) and $AAPL rose. " * 200
    doc = analyzer.nlp(text)
    counting = _CountingDoc(doc)
    mentions = analyzer.recognizer.mentions(counting)  # type: ignore[arg-type]
    assert len(mentions) == 400
    assert counting.text_reads == 1
