"""Pieces of the theme-head recipe (nlp_pipeline/train/themes.py) on small known inputs; the
recipe itself trains on the shared data and is never run by the tests."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from nlp_pipeline.nlp.theme_head import NgramVectorizer, fit_logistic
from nlp_pipeline.nlp.themes import Theme
from nlp_pipeline.train.themes import (
    Rows,
    ThemeTrainingConfig,
    ThemeTrainingError,
    best_thresholds,
    blend_out_of_fold,
    calibration_rows,
    choose_pair_heads,
    design_matrix,
    fit_logistic_lbfgs,
    neighbour_memory,
    record_folds,
    taxonomy_rows,
    team_rows,
    tfn_rows,
)

CONFIG = ThemeTrainingConfig(
    models_dir=Path("models"), tfn_positives_per_topic=2, tfn_negatives_per_topic=1
)


def test_best_threshold_maximises_f1_and_keeps_half_for_rare_themes() -> None:
    probs = np.array([[0.9, 0.9], [0.7, 0.1], [0.32, 0.1], [0.3, 0.2], [0.1, 0.1], [0.05, 0.1]])
    labels = np.array([[1, 1], [1, 0], [1, 0], [0, 0], [0, 0], [0, 0]])
    thresholds = best_thresholds(probs, labels)
    # Theme 0: at 0.3 all three positives and one negative pass (F1 6/7); at 0.35 the 0.32
    # positive is lost (F1 4/5). 0.2 and 0.25 tie with 0.3; ties go to the one nearest 0.5.
    assert thresholds[0] == np.float32(0.3)
    assert thresholds[1] == np.float32(0.5)  # one positive: too few to tune on


def test_taxonomy_rows_label_examples_and_counter_examples() -> None:
    themes = [
        Theme("a", "A", "", (), ("a one", "a two"), (("looks like a, is b", ("b",)),)),
        Theme("b", "B", "", (), ("b one",)),
    ]
    rows = taxonomy_rows(themes, CONFIG)
    assert rows.texts == ["a one", "a two", "looks like a, is b", "b one"]
    assert rows.labels.tolist() == [[1, 0], [1, 0], [0, 1], [0, 1]]
    assert rows.known.all()
    assert rows.kind == ["taxonomy", "taxonomy", "counter", "taxonomy"]
    assert rows.weight[2] == CONFIG.weight_counter


def test_tfn_rows_sample_per_topic_and_know_only_mapped_themes() -> None:
    ids = ["earnings", "inflation", "energy_commodities"]
    tweets = [(f"earnings tweet {i}", 5) for i in range(5)]  # topic 5 -> earnings
    tweets += [(f"macro tweet {i}", 14) for i in range(3)]  # a negative topic
    tweets += [(f"company news {i}", 2) for i in range(3)]  # neither: left out
    rows = tfn_rows(tweets, ids, CONFIG)
    assert sum(t.startswith("earnings") for t in rows.texts) == 2
    assert sum(t.startswith("macro") for t in rows.texts) == 1
    assert not any(t.startswith("company") for t in rows.texts)
    for text, label, known in zip(rows.texts, rows.labels, rows.known, strict=True):
        assert known.tolist() == [1, 0, 1]  # inflation is unknown for tweets
        assert label.tolist() == ([1, 0, 0] if text.startswith("earnings") else [0, 0, 0])
    assert tfn_rows(tweets, ids, CONFIG).texts == rows.texts  # same sample every time


def test_record_folds_keep_an_article_together_and_leave_other_rows_in_every_fold() -> None:
    # rows: 0 taxonomy, 1-3 team (dev, dev, train), 4 tfn
    items = [
        {"source": "r.jsonl", "record": 7, "id": "t1"},
        {"source": "f.csv", "record": 7, "id": "t2"},
        {"source": "r.jsonl", "record": 7, "id": "u3"},  # another sentence of the first article
    ]
    folds = record_folds(5, np.array([1, 2, 3]), items)
    assert folds[0] == folds[4] == -1
    assert folds[1] == folds[3]
    assert 0 <= folds[2] < 5
    # the fold follows the record, not the item: the same article always lands in one fold
    assert record_folds(2, np.array([0, 1]), [items[2], items[0]]).tolist() == [folds[1]] * 2
    many = [{"source": "r.jsonl", "record": i} for i in range(200)]
    spread = np.bincount(record_folds(200, np.arange(200), many), minlength=5)
    assert spread.min() > 20  # records spread over all five folds


def test_team_rows_label_every_theme_and_carry_their_kind() -> None:
    items = [
        {"text": "Fed cuts as payrolls slow", "themes": ["economic_growth", "monetary_easing"]},
        {"text": "Nothing here", "themes": []},
    ]
    rows = team_rows(items, ["monetary_easing", "earnings", "economic_growth"], 3.0, "team_train")
    assert rows.labels.tolist() == [[1, 0, 1], [0, 0, 0]]
    assert rows.kind == ["team_train", "team_train"]
    assert rows.weight.tolist() == [3.0, 3.0]


def test_lbfgs_fit_matches_the_newton_fit_on_the_same_objective() -> None:
    from scipy import sparse

    rng = np.random.default_rng(3)
    x = np.vstack([rng.normal(0.5, 1.0, (60, 4)), rng.normal(-0.5, 1.0, (60, 4))])
    y = np.concatenate([np.ones(60), np.zeros(60)])
    weight = np.where(y > 0, 2.0, 1.0)
    newton, newton_b = fit_logistic(x, y, weight, l2=1.0)
    lbfgs, lbfgs_b = fit_logistic_lbfgs(sparse.csr_matrix(x), y, weight, l2=1.0)
    assert lbfgs.tolist() == pytest.approx(newton.tolist(), abs=1e-3)
    assert lbfgs_b == pytest.approx(newton_b, abs=1e-3)


def test_design_matrix_puts_the_ngram_columns_after_embedding_and_cues() -> None:
    texts = ["Rate hike ahead", "Quiet day"]
    embeddings = np.array([[0.6, 0.8], [1.0, 0.0]], np.float32)
    patterns = [re.compile("hike")]
    vectorizer = NgramVectorizer({"hike": 0, "quiet": 1}, np.ones(2, np.float32), 2.0)
    x = design_matrix(texts, embeddings, patterns, vectorizer).toarray()
    # embedding, the cue flag at CUE_SCALE 2, then the scaled unit-length TF-IDF row
    expected = [[0.6, 0.8, 2.0, 2.0, 0.0], [1.0, 0.0, 0.0, 0.0, 2.0]]
    assert np.allclose(x, expected)
    dense = design_matrix(texts, embeddings, patterns, None)
    assert isinstance(dense, np.ndarray) and dense.shape == (2, 3)


def test_calibration_rows_weigh_dev_to_the_asked_share() -> None:
    dev, train = np.arange(10), np.arange(10, 70)
    rows = calibration_rows(dev, train, 0.4)
    # 0.4 / 0.6 x 60 / 10 = 4 copies of each dev row: 40 of 100 rows
    assert sorted(rows.tolist()) == sorted([*np.repeat(dev, 4).tolist(), *train.tolist()])
    assert calibration_rows(dev, train, 0.0).tolist() == [*range(70)]  # each once
    assert calibration_rows(dev, np.arange(0), 0.4).tolist() == [*range(10)]
    with pytest.raises(ThemeTrainingError, match="calibration_dev_share"):
        ThemeTrainingConfig(models_dir=Path("models"), calibration_dev_share=1.0)


def test_out_of_fold_votes_never_come_from_the_rows_own_fold() -> None:
    """Rows 0 and 1 are the same sentence in one fold (one article); row 2, a taxonomy row in
    every fold, is the next most similar. Row 0's vote must come from row 2, not its twin."""
    embeddings = np.array([[1, 0], [1, 0], [0.8, 0.6], [0, 1]], np.float32)
    labels = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], np.float32)
    rows = Rows(
        ["a", "a", "b", "c"],
        labels,
        np.ones_like(labels),
        np.ones(4),
        ["team"] * 2 + ["taxonomy", "team"],
    )
    config = ThemeTrainingConfig(
        models_dir=Path("models"), neighbours_k=1, neighbours_temperature=0.1, neighbours_blend=0.5
    )
    memory = neighbour_memory(embeddings, rows, config)
    assert memory is not None  # the saved head's float16 values, as the shipped head votes
    assert memory.embeddings.tolist() == embeddings.astype(np.float16).astype(np.float32).tolist()
    folds = np.array([0, 0, -1, 1])
    oof = np.full((4, 2), 0.2)
    blended = blend_out_of_fold(oof, memory, embeddings, folds)
    assert blended[0].tolist() == pytest.approx([0.1, 0.6])  # row 2 voted, not row 1
    assert blended[3].tolist() == pytest.approx([0.1, 0.6])  # row 2 again (row 3 is excluded)
    assert blended[2].tolist() == [0.2, 0.2]  # fold -1 rows are not scored out of fold
    off = ThemeTrainingConfig(models_dir=Path("models"), neighbours_blend=0.0)
    assert neighbour_memory(embeddings, rows, off) is None
    assert blend_out_of_fold(oof, None, embeddings, folds) is oof
    with pytest.raises(ThemeTrainingError, match="neighbours_blend"):
        ThemeTrainingConfig(models_dir=Path("models"), neighbours_blend=1.0)


def test_pair_heads_are_kept_only_where_they_raise_dev_f1() -> None:
    """Easing and tightening share a topic direction (dimension 0) and differ on dimension 1;
    the theme regressions' out-of-fold scores rate both themes alike on every monetary row, so
    only a pair head tells them apart. The AI pair has no rows with one of its themes: its head
    cannot be fitted and is skipped."""
    ids = ["monetary_easing", "monetary_tightening", "ai_infrastructure", "ai_adoption"]
    rng = np.random.default_rng(0)
    n = 80
    direction = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)  # +1: tightening
    x = np.column_stack([np.ones(n), direction + rng.normal(0, 0.3, n)])
    labels = np.zeros((n, 4), np.float32)
    labels[direction > 0, 1] = 1
    labels[direction < 0, 0] = 1
    rows = Rows([str(i) for i in range(n)], labels, np.ones_like(labels), np.ones(n), ["team"] * n)
    folds = np.arange(n) % 5
    oof = np.zeros((n, 4))
    oof[:, :2] = 0.6  # both monetary themes fire everywhere
    config = ThemeTrainingConfig(models_dir=Path("models"), l2=0.1)
    everything = np.arange(n)
    kept, sides = choose_pair_heads(
        x, rows, folds, oof, everything, everything, ids, config, log=lambda _: None
    )
    assert kept == [("monetary_easing", "monetary_tightening")]
    assert sides.shape == (n, 1)
    # out of fold, the pair head reads dimension 1: tightening rows lean to the second side
    assert (sides[direction > 0, 0] > 0.8).mean() > 0.9
    assert (sides[direction < 0, 0] < 0.2).mean() > 0.9
