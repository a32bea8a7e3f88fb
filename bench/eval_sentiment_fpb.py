"""Accuracy of the shipped sentiment model on the Financial PhraseBank test split.

Prints JSON. Reads ../shared/data/fpb (or $NLP_PIPELINE_SHARED_DATA/fpb); never trains on anything.
    python bench/eval_sentiment_fpb.py
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections import Counter
from pathlib import Path

from nlp_pipeline.nlp import Analyzer

LABELS = ("positive", "neutral", "negative")


def fpb_split(root: Path, split: str) -> list[tuple[str, str, str]]:
    """(sentence, label, agreement) rows of one split, keyed by the sha1 in splits.tsv."""
    wanted: dict[str, tuple[str, str, str]] = {}
    for line in (root / "splits.tsv").read_text().splitlines()[1:]:
        sha1, part, label, agree = line.split("\t")
        if part == split:
            wanted[sha1] = (part, label, agree)
    rows = []
    raw = (root / "Sentences_50Agree.txt").read_bytes().decode("latin-1")
    for line in raw.split("\r\n"):
        if "@" not in line:
            continue
        sentence = line.rsplit("@", 1)[0].strip()
        key = hashlib.sha1(sentence.encode("utf-8")).hexdigest()
        if key in wanted:
            rows.append((sentence, wanted[key][1], wanted[key][2]))
    return rows


def scores(gold: list[str], pred: list[str]) -> dict[str, float]:
    accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)
    f1s = []
    for label in LABELS:
        tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        predicted, actual = Counter(pred)[label], Counter(gold)[label]
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return {"accuracy": round(accuracy, 4), "macro_f1": round(sum(f1s) / 3, 4), "n": len(gold)}


def main() -> int:
    shared = Path(
        os.environ.get("NLP_PIPELINE_SHARED_DATA")
        or Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    root = shared / "fpb"
    if not root.exists():
        print(f"FPB not available at {root}", file=sys.stderr)
        return 1
    rows = fpb_split(root, "test")
    analyzer = Analyzer()
    model = analyzer.sentiment
    tokens = [[t.lower_ for t in analyzer.nlp.make_doc(s) if not t.is_space] for s, _, _ in rows]
    predicted = [p.label for p in model.predict(tokens)]
    gold = [label for _, label, _ in rows]
    all_agree = [i for i, row in enumerate(rows) if row[2] == "all"]
    report = {
        "model": model.version,
        "dataset": "fpb test (splits.tsv)",
        "test": scores(gold, predicted),
        "test_all_agree": scores([gold[i] for i in all_agree], [predicted[i] for i in all_agree]),
        "majority_baseline_accuracy": round(Counter(gold).most_common(1)[0][1] / len(gold), 4),
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
