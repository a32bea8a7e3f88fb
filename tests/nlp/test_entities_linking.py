"""Company names linked from reference data, ambiguity by context, curated tables."""

from __future__ import annotations

from typing import Any

import pytest

from nlp_pipeline.nlp import Analyzer


def ids(analyzer: Analyzer, text: str) -> set[tuple[str, str]]:
    return {(e["type"], e["id"]) for e in analyzer.tag(text)["entities"]}


def entity(analyzer: Analyzer, text: str, etype: str, entity_id: str) -> dict[str, Any]:
    found = {(e["type"], e["id"]): e for e in analyzer.tag(text)["entities"]}
    return found[(etype, entity_id)]


@pytest.mark.parametrize(
    ("text", "symbol"),
    [
        ("Lockheed Martin Corp won a contract.", "LMT"),
        ("Shares of Marvell Technology rose after results.", "MRVL"),
        ("The Home Depot said sales rose.", "HD"),
        ("Honeywell International Inc cut its outlook.", "HON"),
        ("Exxon said output rose.", "XOM"),
        ("eBay said its quarterly revenue rose.", "EBAY"),
        ("Analysts at Goldman Sachs Group Inc raised the target.", "GS"),
    ],
)
def test_company_names_link_from_reference_data(analyzer: Analyzer, text: str, symbol: str) -> None:
    assert ("TICKER", symbol) in ids(analyzer, text)


def test_legal_suffix_is_part_of_the_span(analyzer: Analyzer) -> None:
    text = "JPMorgan Chase & Co and Boeing Co reported."
    assert entity(analyzer, text, "TICKER", "JPM")["spans"] == [[0, 19]]
    assert text[24:33] == "Boeing Co"
    assert entity(analyzer, text, "TICKER", "BA")["spans"] == [[24, 33]]


@pytest.mark.parametrize(
    "text",
    [
        "Ranchers accused the firm of polluting the Amazon jungle and its rivers.",
        "Apple pie recipe: slice the apples and bake the pie for an hour.",
        "Target price raised to $50 by the broker.",
        "The Gap between rich and poor keeps widening.",
        "Visa applications from students fell at the embassy.",
    ],
)
def test_ordinary_words_and_places_do_not_link(analyzer: Analyzer, text: str) -> None:
    assert not {i for i in ids(analyzer, text) if i[0] == "TICKER"}


@pytest.mark.parametrize(
    ("text", "symbol"),
    [
        ("Amazon said its quarterly sales rose.", "AMZN"),
        ("Shares of Target fell after the retailer cut its outlook.", "TGT"),
        ("Investors bought Visa and Mastercard after results.", "V"),
        ("Apple shares were down 1.6% in after-hours trading.", "AAPL"),
        ("The rally left Apple as the largest company by value.", "AAPL"),
    ],
)
def test_ambiguous_names_link_in_company_context(
    analyzer: Analyzer, text: str, symbol: str
) -> None:
    assert ("TICKER", symbol) in ids(analyzer, text)


def test_each_mention_carries_a_confidence(analyzer: Analyzer) -> None:
    doc = analyzer.nlp("Nvidia (Nasdaq: NVDA) rose. Amazon said sales rose. Exxon fell.")
    by_id = {m.id: m for m in analyzer.recognizer.mentions(doc)}
    assert by_id["NVDA"].confidence == 1.0 and by_id["NVDA"].source == "tag"
    assert 0.5 <= by_id["AMZN"].confidence < 1.0
    assert all(0.0 <= m.confidence <= 1.0 for m in by_id.values())


def test_tag_decides_between_listings_of_one_name(analyzer: Analyzer) -> None:
    # The name alone links to the primary listing; a tag for another class wins.
    assert ("TICKER", "GOOGL") in ids(analyzer, "Alphabet said revenue rose.")
    tagged = analyzer.tag("Alphabet (NASDAQ: GOOG) said revenue rose.")["entities"]
    assert [(e["id"], e["mentions"]) for e in tagged] == [("GOOG", 1)]


def test_subsidiaries_link_to_the_listed_parent(analyzer: Analyzer) -> None:
    assert ("TICKER", "META") in ids(analyzer, "Instagram added a feature for creators.")
    assert ("TICKER", "JNJ") in ids(analyzer, "DePuy recalled a hip implant.")
    assert ("TICKER", "BAC") in ids(analyzer, "Merrill Lynch cut its forecast.")


def test_people_named_like_companies_do_not_link(analyzer: Analyzer) -> None:
    assert not {
        i for i in ids(analyzer, "Mr. Icahn and Carl Icahn met Tim Cook.") if i[0] == "TICKER"
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Dow fell while the S&P 500 rose.", {("INDEX", "DJI"), ("INDEX", "SPX")}),
        ("Small caps in the small-cap Russell 2000 index led.", {("INDEX", "RUT")}),
        ("The S&P MidCap 400 and the Nasdaq-100 lagged.", {("INDEX", "MID"), ("INDEX", "NDX")}),
        ("The Nasdaq Composite hit a record.", {("INDEX", "COMP")}),
        ("S&P cut its rating on the bonds.", set()),
        (
            "Congress passed the OBBBA after the One Big Beautiful Bill Act debate.",
            {("POLICY", "OBBBA"), ("ORG", "CONGRESS")},
        ),
        (
            "Firms used Section 179 expensing and the TCJA.",
            {("POLICY", "SECTION_179"), ("POLICY", "TCJA")},
        ),
        (
            "The CHIPS Act and Dodd-Frank and Basel III rules apply.",
            {("POLICY", "CHIPS_ACT"), ("POLICY", "DODD_FRANK"), ("POLICY", "BASEL_III")},
        ),
        ("Solar makers cheered IRA tax credits.", {("POLICY", "IRA")}),
        ("She moved savings into a Roth IRA.", set()),
        ("The Treasury said it would sell more debt.", {("ORG", "TREASURY")}),
        ("Treasury yields rose after the data.", set()),
        (
            "The ECB, the BoE, the BoJ and the PBOC all met.",
            {("ORG", "ECB"), ("ORG", "BOE"), ("ORG", "BOJ"), ("ORG", "PBOC")},
        ),
        ("A Development Bank of Japan survey showed more spending.", set()),
        ("Energy shares and utility stocks rose.", {("SECTOR", "ENERGY"), ("SECTOR", "UTILITIES")}),
    ],
)
def test_indices_policies_orgs_sectors(
    analyzer: Analyzer, text: str, expected: set[tuple[str, str]]
) -> None:
    assert ids(analyzer, text) == expected


def test_relevance_prefers_the_tagged_headline_company(analyzer: Analyzer) -> None:
    text = (
        "Comfort Systems USA (NYSE: FIX) raises outlook\n\n"
        "The contractor said demand was strong. Rival EMCOR was mentioned once, much later. "
        "Comfort Systems shares rose."
    )
    found = {e["id"]: e for e in analyzer.tag(text)["entities"]}
    assert found["FIX"]["relevance"] > found["EME"]["relevance"]
    assert 0.0 <= found["EME"]["relevance"] <= 1.0
