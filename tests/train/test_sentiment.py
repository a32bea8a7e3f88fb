"""Pieces of the sentiment training recipe (nlp_pipeline/train/sentiment.py) that run without
training: batching, calibration, metrics, config checks, weight averaging."""

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


def test_average_states_means_float_weights_and_keeps_integer_buffers() -> None:
    torch = pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    from nlp_pipeline.train.sentiment import average_states

    first = {"w": torch.tensor([1.0, 3.0]), "ids": torch.tensor([0, 1, 2])}
    second = {"w": torch.tensor([3.0, 5.0]), "ids": torch.tensor([0, 1, 2])}
    averaged = average_states([first, second])
    assert averaged["w"].tolist() == [2.0, 4.0]
    assert averaged["ids"].tolist() == [0, 1, 2]
    assert average_states([first])["w"].tolist() == [1.0, 3.0]


def test_soup_members_may_override_only_student_settings(tmp_path: Path) -> None:
    member = {"seed": 7, "student_lr": 5e-5}
    assert SentimentTrainingConfig(tmp_path, tmp_path, soup=(member,)).soup == (member,)
    with pytest.raises(TrainingError, match=r"soup member 2 may set .* not \['teacher_lr'\]"):
        SentimentTrainingConfig(tmp_path, tmp_path, soup=(member, {"teacher_lr": 1e-5}))
    assert SentimentTrainingConfig(tmp_path, tmp_path).soup == ()  # off in the shipped recipe
