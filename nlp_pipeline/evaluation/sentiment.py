"""`nlp-pipeline eval sentiment`: accuracy, F1, confusion and calibration of a sentiment model.

Labeled datasets (FPB test, its all-agree rows, TFNS valid) give accuracy, macro-F1, per-class
precision/recall/F1, the confusion matrix (rows gold, columns predicted, in SENTIMENT_LABELS
order) and the expected calibration error of the top-class probability. SemEval-2017 headlines
and FiQA (continuous scores; never used for training or selection) give sign accuracy on the
non-zero gold scores and the Pearson correlation of P(positive) - P(negative) with gold.
Evaluation runs the sentences through the same encoder and head the analyzer uses.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from nlp_pipeline import datasets
from nlp_pipeline.datasets import SENTIMENT_LABELS, DatasetError
from nlp_pipeline.nlp.encoder import SentenceEncoder
from nlp_pipeline.nlp.sentiment import probabilities

DATASETS = ("fpb", "fpb-allagree", "fpb-dev", "tfns", "semeval", "fiqa")
ECE_BINS = 15


def classification_report(
    gold: Sequence[int], probs: np.ndarray, bins: int = ECE_BINS
) -> dict[str, Any]:
    """Metrics of predicted class probabilities against gold class indices."""
    gold_array = np.asarray(gold)
    pred = probs.argmax(axis=1)
    n_classes = probs.shape[1]
    confusion = np.zeros((n_classes, n_classes), dtype=int)
    for g, p in zip(gold_array, pred, strict=True):
        confusion[g, p] += 1
    per_class: dict[str, dict[str, float]] = {}
    for k, label in enumerate(SENTIMENT_LABELS[:n_classes]):
        tp = confusion[k, k]
        predicted, actual = confusion[:, k].sum(), confusion[k, :].sum()
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {
            "precision": round(float(precision), 4),
            "recall": round(float(recall), 4),
            "f1": round(float(f1), 4),
            "support": int(actual),
        }
    return {
        "n": len(gold_array),
        "accuracy": round(float((pred == gold_array).mean()), 4),
        "macro_f1": round(float(np.mean([c["f1"] for c in per_class.values()])), 4),
        "per_class": per_class,
        "confusion": {"labels": list(SENTIMENT_LABELS[:n_classes]), "matrix": confusion.tolist()},
        "ece": round(expected_calibration_error(gold_array, probs, bins), 4),
    }


def expected_calibration_error(gold: np.ndarray, probs: np.ndarray, bins: int = ECE_BINS) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == gold
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in pairwise(edges):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total)


def regression_report(gold_scores: Sequence[float], scores: np.ndarray) -> dict[str, Any]:
    gold = np.asarray(gold_scores, dtype=np.float64)
    nonzero = gold != 0
    sign_accuracy = float((np.sign(scores[nonzero]) == np.sign(gold[nonzero])).mean())
    pearson = float(np.corrcoef(gold, scores)[0, 1]) if len(gold) > 1 else 0.0
    return {
        "n": len(gold),
        "sign_accuracy": round(sign_accuracy, 4),
        "pearson": round(pearson, 4),
    }


def load_dataset(name: str, data_dir: Path | None = None) -> tuple[list[str], list[Any]]:
    """(texts, gold): gold is a label index for labeled sets, a float score otherwise."""
    index = {label: i for i, label in enumerate(SENTIMENT_LABELS)}
    if name in ("fpb", "fpb-allagree", "fpb-dev"):
        rows = datasets.fpb("dev" if name == "fpb-dev" else "test", data_dir)
        if name == "fpb-allagree":
            rows = [r for r in rows if r.agree == "all"]
        return [r.text for r in rows], [index[r.label] for r in rows]
    if name == "tfns":
        rows = datasets.tfns("valid", data_dir)
        return [r.text for r in rows], [index[r.label] for r in rows]
    if name in ("semeval", "fiqa"):
        reader = datasets.semeval_headlines if name == "semeval" else datasets.fiqa
        scored = reader(data_dir)
        return [r.text for r in scored], [r.score for r in scored]
    raise DatasetError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")


def evaluate(
    model_dir: Path, dataset: str, data_dir: Path | None = None, threads: int | None = None
) -> dict[str, Any]:
    texts, gold = load_dataset(dataset, data_dir)
    encoder = SentenceEncoder(model_dir, threads=threads, cache_size=0)
    started = time.perf_counter()
    encoded = encoder.encode(texts)
    seconds = time.perf_counter() - started
    temperature = float(encoder.config.get("temperature", 1.0))
    probs = probabilities(encoded.logits, temperature)
    report: dict[str, Any] = {
        "model": encoder.version,
        "model_dir": str(model_dir),
        "dataset": dataset,
        "temperature": temperature,
    }
    if dataset in ("semeval", "fiqa"):
        columns = [encoder.labels.index(k) for k in ("positive", "negative")]
        scores = probs[:, columns[0]] - probs[:, columns[1]]
        report.update(regression_report(gold, scores))
    else:
        order = [encoder.labels.index(label) for label in SENTIMENT_LABELS]
        report.update(classification_report(gold, probs[:, order]))
        report["ece_uncalibrated"] = round(
            expected_calibration_error(np.asarray(gold), probabilities(encoded.logits)[:, order]),
            4,
        )
    report["sentences_per_second"] = round(len(texts) / seconds, 1) if seconds else None
    return report
