"""The `tag` JSON contract (DESIGN.md 3.1) holds for any text."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from nlp_pipeline.nlp import Analyzer

ENTITY_TYPES = {"TICKER", "INDEX", "POLICY", "ORG", "SECTOR"}
LABELS = {"positive", "neutral", "negative"}


def check_contract(text: str, payload: dict) -> None:  # type: ignore[type-arg]
    assert set(payload) == {"sentiment", "entities", "themes", "rotations", "sentences"}
    json.dumps(payload)  # serializable
    sentiment = payload["sentiment"]
    assert sentiment["label"] in LABELS
    probs = sentiment["probs"]
    assert abs(sum(probs.values()) - 1.0) < 0.01
    assert abs(sentiment["score"] - (probs["positive"] - probs["negative"])) < 0.01
    assert sentiment["label"] == max(probs, key=probs.__getitem__)
    for sentence in payload["sentences"]:
        assert text[sentence["start"] : sentence["end"]] == sentence["text"]
        assert sentence["text"].strip() == sentence["text"] and sentence["text"]
        assert sentence["sentiment"]["label"] in LABELS
    for entity in payload["entities"]:
        assert entity["type"] in ENTITY_TYPES
        assert entity["mentions"] == len(entity["spans"]) >= 1
        assert 0.0 <= entity["relevance"] <= 1.0
        assert -1.0 <= entity["sentiment"] <= 1.0
        for start, end in entity["spans"]:
            assert 0 <= start < end <= len(text)
    for theme in payload["themes"]:
        assert 0.0 < theme["score"] <= 1.0 and -1.0 <= theme["sentiment"] <= 1.0
        assert theme["evidence"]
        for index in theme["evidence"]:
            assert theme["id"] in payload["sentences"][index]["themes"]


def test_empty_text(analyzer: Analyzer) -> None:
    payload = analyzer.tag("")
    check_contract("", payload)
    assert payload["sentences"] == [] and payload["entities"] == []
    assert payload["sentiment"]["label"] == "neutral"


def test_whitespace_and_non_english(analyzer: Analyzer) -> None:
    for text in [
        "   \n\n\t ",
        "Der DAX stieg am Montag um 2 Prozent.",
        "日経平均株価は上昇した。",
        "Акции выросли.",
        "\x00\x01 binary-ish",
    ]:
        check_contract(text, analyzer.tag(text))


def test_rich_text(analyzer: Analyzer) -> None:
    text = (
        "Small caps rally as Russell 2000 jumps\n"
        "Comfort Systems USA (NYSE: FIX) raised its guidance on data center demand. "
        "The Fed cut rates by 25 basis points. Regional banks slumped on loan losses."
    )
    payload = analyzer.tag(text)
    check_contract(text, payload)
    ids = {e["id"] for e in payload["entities"]}
    assert {"FIX", "RUT", "FED"} <= ids
    themes = {t["id"] for t in payload["themes"]}
    assert {"small_cap_rotation", "monetary_easing", "credit_banking"} <= themes
    assert payload["sentences"][0]["text"] == "Small caps rally as Russell 2000 jumps"
    fix = next(e for e in payload["entities"] if e["id"] == "FIX")
    assert fix["exchange"] == "NYSE" and fix["name"] == "Comfort Systems USA"
    assert fix["sentiment"] > 0


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=400))
def test_any_text_gives_valid_contract(text: str) -> None:
    analyzer = _shared_analyzer()
    check_contract(text, analyzer.tag(text))


_ANALYZER: list[Analyzer] = []


def _shared_analyzer() -> Analyzer:
    if not _ANALYZER:
        _ANALYZER.append(Analyzer())
    return _ANALYZER[0]
