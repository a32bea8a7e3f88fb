"""Sentence, entity and article sentiment from the shared encoder's logits.

The model (`models/sentiment/`, see its card) is a 3-class sentence classifier distilled from a
fine-tuned all-mpnet-base-v2 into all-MiniLM-L6-v2 and shipped as ONNX int8. Its logits come out
of the same encoder pass the theme head reads; this head turns them into calibrated
probabilities (one temperature fitted on FPB dev).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.nlp.encoder import EncodedSentences, SentenceEncoder
from nlp_pipeline.nlp.registry import create, register
from nlp_pipeline.records import Sentiment

PROBABILITY_DECIMALS = 4


class SentimentModel(Protocol):
    """Scores sentences from the encoder's output."""

    version: str

    def predict(self, sentences: Sequence[str], encoded: EncodedSentences) -> list[Sentiment]: ...


def probabilities(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exps = np.exp(scaled)
    return np.asarray(exps / exps.sum(axis=1, keepdims=True))


class LogitSentimentHead:
    """Calibrated probabilities from the encoder's sentiment logits."""

    def __init__(self, labels: Sequence[str], temperature: float, version: str) -> None:
        if sorted(labels) != ["negative", "neutral", "positive"]:
            raise ConfigError(f"sentiment labels must be negative/neutral/positive, got {labels}")
        if not temperature > 0:
            raise ConfigError(f"sentiment temperature must be positive, got {temperature}")
        self._columns = [list(labels).index(k) for k in ("positive", "neutral", "negative")]
        self.temperature = float(temperature)
        self.version = version

    def predict(self, sentences: Sequence[str], encoded: EncodedSentences) -> list[Sentiment]:
        if len(sentences) != len(encoded):
            raise ValueError(f"{len(sentences)} sentences but {len(encoded)} encoder rows")
        probs = probabilities(encoded.logits, self.temperature)[:, self._columns]
        return [
            Sentiment.from_probs(*(round(float(p), PROBABILITY_DECIMALS) for p in row))
            for row in probs
        ]


def logit_head(encoder: SentenceEncoder) -> LogitSentimentHead:
    """The head over `encoder`'s logits, with the temperature and version of its model."""
    return LogitSentimentHead(
        encoder.labels, float(encoder.config.get("temperature", 1.0)), encoder.version
    )


class OwnEncoderSentimentHead:
    """Sentiment from a model of its own beside the shared encoder (a larger, more accurate
    one): a second encoder pass per unique sentence, paid only by pipelines that ask for it;
    the other heads keep reading the shared pass."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder
        self.version = encoder.version
        self._head = logit_head(encoder)

    def predict(self, sentences: Sequence[str], encoded: EncodedSentences) -> list[Sentiment]:
        if len(sentences) != len(encoded):
            raise ValueError(f"{len(sentences)} sentences but {len(encoded)} encoder rows")
        return self._head.predict(sentences, self.encoder.encode(sentences))


@register("sentiment", "onnx_sentiment")
def _onnx_sentiment(
    models_dir: Path, options: Mapping[str, Any]
) -> LogitSentimentHead | OwnEncoderSentimentHead:
    """The shared encoder's logits; or, with `path` (a model folder under models/), a model of
    its own (`threads`, `batch_size`, `cache_size` as for the encoder)."""
    if options.get("path"):
        return OwnEncoderSentimentHead(create("encoder", "onnx_encoder", models_dir, options))
    return logit_head(options["encoder"])


def position_weight(index: int) -> float:
    """Headline and lead count more: 2 for the first sentence, 1.5, 1.33, ... towards 1."""
    return 1.0 + 1.0 / (index + 1)


def article_sentiment(sentences: Sequence[Sentiment]) -> Sentiment:
    """Position-weighted mean of the sentence probabilities (headline and lead weighted)."""
    if not sentences:
        return Sentiment.neutral_default()
    weights = [position_weight(i) for i in range(len(sentences))]
    total = sum(weights)

    def mean(values: Sequence[float]) -> float:
        return round(sum(w * v for w, v in zip(weights, values, strict=True)) / total, 4)

    return Sentiment.from_probs(
        mean([s.positive for s in sentences]),
        mean([s.neutral for s in sentences]),
        mean([s.negative for s in sentences]),
    )
