"""Pieces of the sentiment training recipe that need no torch (nlp_pipeline/train/sentiment.py)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from nlp_pipeline.train.sentiment import (
    SentimentTrainingConfig,
    TrainingError,
    fit_temperature,
    length_batches,
    macro_f1,
    softmax,
)


def test_length_batches_cover_every_example_once_with_similar_lengths() -> None:
    lengths = [random.Random(1).randint(3, 120) for _ in range(1000)]
    batches = length_batches(lengths, 32, random.Random(7))
    flat = sorted(i for batch in batches for i in batch)
    assert flat == list(range(1000))
    assert all(len(b) <= 32 for b in batches)
    spread = np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches])
    assert spread < 10  # sorted within chunks: little padding


def test_fit_temperature_recovers_the_generating_temperature() -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(4000, 3)) * 3
    true_probs = softmax(logits, 2.0)  # labels drawn as if the right temperature were 2
    gold = [int(rng.choice(3, p=p)) for p in true_probs]
    assert fit_temperature(logits, gold) == pytest.approx(2.0, abs=0.15)


def test_macro_f1() -> None:
    assert macro_f1([0, 1, 2], [0, 1, 2]) == 1.0
    assert macro_f1([0, 0, 1, 2], [0, 1, 1, 2]) == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)


def test_config_validates_itself(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="epochs"):
        SentimentTrainingConfig(tmp_path, tmp_path, student_epochs=0)
    with pytest.raises(TrainingError, match="gold_weight"):
        SentimentTrainingConfig(tmp_path, tmp_path, gold_weight=1.5)
