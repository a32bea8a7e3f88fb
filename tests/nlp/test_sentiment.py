"""Sentence and article sentiment (nlp_pipeline/nlp/sentiment.py) through the real analyzer.

The shipped model's accuracy is measured by `nlp-pipeline eval sentiment` and gated in CI; these
tests check unambiguous cases and the arithmetic of the head and the aggregation.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.nlp import Analyzer, default_models_dir
from nlp_pipeline.nlp.encoder import EncodedSentences, SentenceEncoder
from nlp_pipeline.nlp.registry import create
from nlp_pipeline.nlp.sentiment import (
    LogitSentimentHead,
    OwnEncoderSentimentHead,
    article_sentiment,
    position_weight,
    probabilities,
)
from nlp_pipeline.records import Sentiment


def sentence_sentiment(analyzer: Analyzer, text: str) -> Sentiment:
    result = analyzer.analyze(text)
    assert len(result.sentences) == 1
    return result.sentences[0].sentiment


@pytest.mark.parametrize(
    "text",
    [
        "Quarterly profit surged and the company beat estimates, sending shares to a record high.",
        "The chipmaker raised its full-year guidance after strong demand lifted revenue.",
        "Operating profit rose to EUR 13.1 mn from EUR 8.7 mn in the corresponding period.",
    ],
)
def test_clear_positive(analyzer: Analyzer, text: str) -> None:
    sentiment = sentence_sentiment(analyzer, text)
    assert sentiment.label == "positive"
    assert sentiment.score > 0.5


@pytest.mark.parametrize(
    "text",
    [
        "Shares plunged after the retailer missed estimates and warned of weak demand.",
        "Revenue fell 12% and the company suspended its dividend after a profit warning.",
        # Known weakness of the shipped model (models/sentiment/README.md, Limits): words of
        # growth ("rose", "widened") attached to bad things read as positive. Strict: a model
        # that gets these right must drop the marks.
        pytest.param(
            "The lender cut its guidance as loan losses mounted and defaults rose sharply.",
            marks=pytest.mark.xfail(strict=True, reason="growth words on losses"),
        ),
        # minilm-distilled-3 and -4 read this one right (minilm-distilled-2 did not).
        "Net loss widened to EUR 4.2 mn and the company announced 300 job cuts.",
    ],
)
def test_clear_negative(analyzer: Analyzer, text: str) -> None:
    sentiment = sentence_sentiment(analyzer, text)
    assert sentiment.label == "negative"
    assert sentiment.score < -0.5


@pytest.mark.parametrize(
    "text",
    [
        "The company will report its results on Thursday morning.",
        "The annual general meeting will be held in Helsinki on 12 March.",
    ],
)
def test_neutral_statement(analyzer: Analyzer, text: str) -> None:
    assert sentence_sentiment(analyzer, text).label == "neutral"


def test_negation_is_read_in_context(analyzer: Analyzer) -> None:
    plain = sentence_sentiment(analyzer, "Sales fell sharply in the third quarter.")
    negated = sentence_sentiment(analyzer, "Sales did not fall in the third quarter.")
    assert plain.label == "negative"
    assert negated.score > plain.score


def test_sentence_probabilities_are_distributions(analyzer: Analyzer) -> None:
    text = "Profits soared to a record.\nShares slumped on weak demand.\nThe meeting is on Tuesday."
    result = analyzer.analyze(text)
    assert [s.sentiment.label for s in result.sentences] == ["positive", "negative", "neutral"]
    for sentiment in [result.sentiment, *(s.sentiment for s in result.sentences)]:
        probs = (sentiment.positive, sentiment.neutral, sentiment.negative)
        assert all(0.0 <= p <= 1.0 for p in probs)
        assert sum(probs) == pytest.approx(1.0, abs=1e-3)


def test_entity_sentiment_comes_from_its_own_sentences(analyzer: Analyzer) -> None:
    text = (
        "Comfort Systems USA (NYSE: FIX) raised its outlook after record orders.\n"
        "Meanwhile, shares of United Parcel Service (NYSE: UPS) plunged on a profit warning."
    )
    entities = {e.id: e for e in analyzer.analyze(text).entities}
    assert entities["FIX"].sentiment > 0.3
    assert entities["UPS"].sentiment < -0.3


def test_head_applies_temperature_and_label_order() -> None:
    logits = np.array([[2.0, 0.0, -2.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    encoded = EncodedSentences(logits, np.zeros((2, 4), np.float32))
    sharp = LogitSentimentHead(["negative", "neutral", "positive"], 1.0, "v")
    soft = LogitSentimentHead(["negative", "neutral", "positive"], 4.0, "v")
    (first, uniform) = sharp.predict(["a", "b"], encoded)
    assert first.label == "negative"
    assert first.negative == pytest.approx(np.exp(2) / (np.exp(2) + 1 + np.exp(-2)), abs=1e-4)
    assert uniform.positive == uniform.neutral == uniform.negative == pytest.approx(1 / 3, 1e-3)
    # A higher temperature flattens the distribution but keeps the ranking.
    (flat, _) = soft.predict(["a", "b"], encoded)
    assert flat.label == "negative" and flat.negative < first.negative
    # The label order comes from the model's config.
    reordered = LogitSentimentHead(["positive", "neutral", "negative"], 1.0, "v")
    assert reordered.predict(["a", "b"], encoded)[0].label == "positive"


def test_head_rejects_bad_config() -> None:
    with pytest.raises(ConfigError, match="labels"):
        LogitSentimentHead(["bearish", "neutral", "bullish"], 1.0, "v")
    with pytest.raises(ConfigError, match="temperature"):
        LogitSentimentHead(["negative", "neutral", "positive"], 0.0, "v")


def test_probabilities_are_stable_for_large_logits() -> None:
    probs = probabilities(np.array([[1000.0, 0.0, -1000.0]]))
    assert probs[0].tolist() == pytest.approx([1.0, 0.0, 0.0])


def test_article_sentiment_weights_headline_and_lead() -> None:
    positive = Sentiment.from_probs(0.9, 0.1, 0.0)
    negative = Sentiment.from_probs(0.0, 0.1, 0.9)
    # Same sentences, opposite order: the one in the headline position wins.
    assert article_sentiment([positive, negative]).label == "positive"
    assert article_sentiment([negative, positive]).label == "negative"
    weights = [position_weight(i) for i in range(3)]
    assert weights == pytest.approx([2.0, 1.5, 4 / 3])
    mixed = article_sentiment([positive, negative, negative])
    expected = (2.0 * 0.9) / sum(weights)
    assert mixed.positive == pytest.approx(expected, abs=1e-4)
    assert article_sentiment([]).label == "neutral"


def _copy_model(source: Path, target: Path, **config: object) -> Path:
    target.mkdir(parents=True)
    for name in ("model.onnx", "tokenizer.json"):
        (target / name).symlink_to((source / name).resolve())
    settings = json.loads((source / "config.json").read_text()) | config
    (target / "config.json").write_text(json.dumps(settings))
    return target


def test_a_sentiment_model_of_its_own_scores_beside_the_shared_encoder(tmp_path: Path) -> None:
    """With `path`, the sentiment head runs its own model (the accurate tier) and uses its
    temperature and version; the shared encoder's output is only checked for length."""
    models = default_models_dir()
    shared = SentenceEncoder(models / "sentiment", threads=1)
    _copy_model(models / "sentiment", tmp_path / "other", version="other-model", temperature=3.0)
    head = create("sentiment", "onnx_sentiment", tmp_path, {"encoder": shared, "path": "other"})
    assert isinstance(head, OwnEncoderSentimentHead)
    assert head.version.startswith("other-model+")

    sentences = ["Quarterly profit doubled.", "The bank cut its outlook and shares slumped."]
    encoded = shared.encode(sentences)
    expected = probabilities(encoded.logits, 3.0)  # the same weights, the other temperature
    got = head.predict(sentences, encoded)
    columns = [shared.labels.index(k) for k in ("positive", "neutral", "negative")]
    for sentiment, row in zip(got, expected[:, columns], strict=True):
        assert [sentiment.positive, sentiment.neutral, sentiment.negative] == pytest.approx(
            row, abs=1e-4
        )
    with pytest.raises(ValueError, match="2 sentences but 1 encoder rows"):
        head.predict(sentences, shared.encode(sentences[:1]))
    with pytest.raises(ConfigError, match="missing"):
        create("sentiment", "onnx_sentiment", tmp_path, {"encoder": shared, "path": "absent"})


def test_analyzer_takes_its_sentiment_from_the_pipelines_model(
    tmp_path: Path, analyzer: Analyzer
) -> None:
    """A pipeline config naming a sentiment model of its own: sentence sentiment, the version
    on the analysis row and the themes (still on the shared pass) follow."""
    models = default_models_dir()
    other = _copy_model(
        models / "sentiment", tmp_path / "other", version="other-model", temperature=50.0
    )
    config = yaml.safe_load((models / "pipeline.yaml").read_text())
    config["sentiment"] = {"factory": "onnx_sentiment", "path": str(other)}
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(config))
    flat, default = Analyzer(pipeline_config=tmp_path / "pipeline.yaml"), analyzer
    text = "Quarterly profit surged and the company beat estimates."
    sentiment = flat.analyze(text).sentences[0].sentiment
    assert flat.model_versions["sentiment"].startswith("other-model+")
    assert flat.model_versions["encoder"] == default.model_versions["encoder"]
    # temperature 50 flattens the probabilities towards a third each
    assert max(sentiment.positive, sentiment.neutral, sentiment.negative) < 0.4
    assert default.analyze(text).sentences[0].sentiment.positive > 0.5
    themes = [(t.id, t.score) for t in flat.analyze(text).themes]
    assert themes == [(t.id, t.score) for t in default.analyze(text).themes]
