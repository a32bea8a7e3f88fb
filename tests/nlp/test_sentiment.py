"""Sentence sentiment (nlp_pipeline/nlp/sentiment.py) via the Analyzer and the lexicon model."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.nlp import Analyzer
from nlp_pipeline.nlp.sentiment import LexiconSentimentModel
from nlp_pipeline.records import Sentiment
from tests.conftest import REPO

LEXICON = REPO / "models" / "sentiment" / "lexicon.yaml"


def sentence_sentiment(analyzer: Analyzer, text: str) -> Sentiment:
    result = analyzer.analyze(text)
    assert len(result.sentences) == 1
    return result.sentences[0].sentiment


@pytest.mark.parametrize(
    "text",
    [
        "Quarterly profit surged and the company beat estimates, sending shares to a record high.",
        "The chipmaker raised its guidance after strong demand lifted revenue growth.",
        "Shares rallied as investors cheered robust earnings and an upgrade from analysts.",
    ],
)
def test_clear_positive(analyzer: Analyzer, text: str) -> None:
    sentiment = sentence_sentiment(analyzer, text)
    assert sentiment.label == "positive"
    assert sentiment.positive > 0.8
    assert sentiment.score > 0.5


@pytest.mark.parametrize(
    "text",
    [
        "Shares plunged after the retailer missed estimates and warned of weak demand.",
        "The lender cut its guidance as loan losses mounted and defaults rose sharply.",
        "Stocks tumbled amid recession fears and a broad selloff in bank shares.",
    ],
)
def test_clear_negative(analyzer: Analyzer, text: str) -> None:
    sentiment = sentence_sentiment(analyzer, text)
    assert sentiment.label == "negative"
    assert sentiment.negative > 0.8
    assert sentiment.score < -0.5


def test_neutral_sentence(analyzer: Analyzer) -> None:
    sentiment = sentence_sentiment(analyzer, "The company will report on Thursday morning.")
    assert sentiment.label == "neutral"
    assert sentiment.positive == pytest.approx(sentiment.negative)


def test_negation_flips(analyzer: Analyzer) -> None:
    plain = sentence_sentiment(analyzer, "Shares fell after the report.")
    negated = sentence_sentiment(analyzer, "Shares did not fall after the report.")
    assert plain.label == "negative"
    assert negated.label != "negative"
    assert negated.score > 0 > plain.score


def test_negation_only_reaches_nearby_words(analyzer: Analyzer) -> None:
    near = sentence_sentiment(analyzer, "Revenue did not decline.")
    far = sentence_sentiment(
        analyzer, "Management did not comment on the quarter, but revenue declined."
    )
    assert near.label != "negative"
    assert far.label == "negative"


def test_rate_cut_is_not_negative(analyzer: Analyzer) -> None:
    for text in (
        "Traders expect a rate cut in December.",
        "The Federal Reserve cut interest rates on Wednesday.",
        "Investors welcomed the prospect of rate cuts next year.",
    ):
        sentiment = sentence_sentiment(analyzer, text)
        assert sentiment.label != "negative", text
        assert sentiment.score >= 0, text
    # Whereas a guidance cut is bad news.
    assert sentence_sentiment(analyzer, "The firm cut guidance.").label == "negative"


def test_probabilities_sum_to_one(analyzer: Analyzer) -> None:
    text = (
        "Profits soared to a record.\nShares slumped on weak demand.\n"
        "The meeting is on Tuesday.\nShares did not fall."
    )
    result = analyzer.analyze(text)
    assert len(result.sentences) == 4
    labels = [s.sentiment.label for s in result.sentences]
    assert labels == ["positive", "negative", "neutral", "positive"]
    for sentiment in [result.sentiment, *(s.sentiment for s in result.sentences)]:
        probs = (sentiment.positive, sentiment.neutral, sentiment.negative)
        assert all(0.0 <= p <= 1.0 for p in probs)
        assert sum(probs) == pytest.approx(1.0, abs=1e-3)


def test_model_on_tokens_directly() -> None:
    model = LexiconSentimentModel(LEXICON)
    assert model.version.startswith("lexicon-1+")
    pos, neg = model.polarity(["profit", "beat", "estimates"])
    assert pos > 0 and neg == 0
    # A phrase outweighs the word inside it.
    assert model.polarity(["raised", "its", "guidance"]) == (2.0, 0.0)
    assert model.polarity(["cut", "its", "guidance"]) == (0.0, 2.0)
    # Neutral phrase neutralizes "cut".
    assert model.polarity(["they", "cut", "rates"]) == (0.0, 0.0)
    assert model.polarity(["shares", "did", "not", "fall"]) == (1.0, 0.0)
    (empty,) = model.predict([[]])
    assert empty.label == "neutral"


def test_bad_lexicon_path_raises(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lexicon"):
        LexiconSentimentModel(tmp_path / "missing.yaml")
