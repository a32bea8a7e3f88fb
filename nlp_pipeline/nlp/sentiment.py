"""Sentence sentiment.

`SentimentModel` is the interface the analyzer uses; `LexiconSentimentModel` is the rule-based
stand-in (a weighted financial lexicon with negation) until the trained ONNX model lands.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import yaml

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.records import Sentiment

MAX_PHRASE = 4
NEGATION_WINDOW = 3


class SentimentModel(Protocol):
    """Scores batches of sentences, given as lists of lowercase tokens."""

    version: str

    def predict(self, sentences: Sequence[Sequence[str]]) -> list[Sentiment]: ...


class LexiconSentimentModel:
    """Stand-in: lexicon hits, flipped by a nearby negator, turned into probabilities."""

    def __init__(self, path: Path) -> None:
        try:
            raw = path.read_bytes()
            data = yaml.safe_load(raw)
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot load sentiment lexicon {path}: {exc}") from None
        self.version = f"lexicon-1+{hashlib.sha1(raw).hexdigest()[:8]}"
        self._weights: dict[tuple[str, ...], float] = {}
        for polarity, sign in (("positive", 1.0), ("negative", -1.0)):
            section = data.get(polarity, {}) or {}
            for word in section.get("words", []) or []:
                self._weights[tuple(str(word).lower().split())] = sign
            for phrase, weight in (section.get("phrases", {}) or {}).items():
                self._weights[tuple(str(phrase).lower().split())] = sign * float(weight)
        for phrase in (data.get("neutral", {}) or {}).get("phrases", []) or []:
            self._weights[tuple(str(phrase).lower().split())] = 0.0
        self._negators = {tuple(str(n).lower().split()) for n in data.get("negators", []) or []}

    def polarity(self, tokens: Sequence[str]) -> tuple[float, float]:
        """(positive evidence, negative evidence) of one tokenized sentence."""
        pos = neg = 0.0
        negated_until = -1
        i = 0
        while i < len(tokens):
            for size in range(min(MAX_PHRASE, len(tokens) - i), 0, -1):
                gram = tuple(tokens[i : i + size])
                if gram in self._negators:
                    negated_until = i + size + NEGATION_WINDOW
                    i += size
                    break
                weight = self._weights.get(gram)
                if weight is not None:
                    if i < negated_until:
                        weight = -weight
                    pos += max(weight, 0.0)
                    neg += max(-weight, 0.0)
                    i += size
                    break
            else:
                i += 1
        return pos, neg

    def predict(self, sentences: Sequence[Sequence[str]]) -> list[Sentiment]:
        out = []
        for tokens in sentences:
            pos, neg = self.polarity(tokens)
            # Softmax over evidence, with a neutral prior that two hits outweigh.
            logits = (1.2 * pos, 1.0, 1.2 * neg)
            top = max(logits)
            exps = [math.exp(v - top) for v in logits]
            total = sum(exps)
            p_pos, p_neu, p_neg = (round(e / total, 4) for e in exps)
            out.append(Sentiment.from_probs(p_pos, p_neu, p_neg))
        return out
