"""Readers for the labeled datasets in the team's shared data folder (`../shared/data`).

They feed training and evaluation only; nothing here is needed to analyze news. Each reader
returns plain rows and raises `DatasetError` naming the file when it is missing or malformed.
Licenses differ per dataset (see each folder's MANIFEST.md): their text is never copied into
the repository.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nlp_pipeline.errors import PipelineError

SHARED_DATA_ENV_VAR = "NLP_PIPELINE_SHARED_DATA"
# Class order of every sentiment model output (logits, probabilities, confusion matrices).
SENTIMENT_LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
TFNS_LABELS = {"0": "negative", "1": "positive", "2": "neutral"}  # bearish, bullish, neutral


class DatasetError(PipelineError):
    """A dataset is missing or malformed; the message names the file."""


@dataclass(frozen=True)
class LabeledSentence:
    text: str
    label: str  # one of SENTIMENT_LABELS
    agree: str = ""  # FPB: strictest annotator-agreement file it appears in (all, 75, 66, 50)


@dataclass(frozen=True)
class ScoredText:
    """A text with a continuous sentiment score in [-1, 1] (SemEval, FiQA)."""

    text: str
    score: float


def shared_data_dir() -> Path:
    """$NLP_PIPELINE_SHARED_DATA, else `../shared/data` beside the checkout or working directory."""
    env = os.environ.get(SHARED_DATA_ENV_VAR)
    if env:
        return Path(env)
    for base in (Path(__file__).resolve().parents[1], Path.cwd()):
        candidate = base.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return Path.cwd().parent / "shared" / "data"


def _require(path: Path) -> Path:
    if not path.exists():
        raise DatasetError(
            f"{path} not found (set {SHARED_DATA_ENV_VAR} to the shared data folder)"
        )
    return path


def fpb(split: str, data_dir: Path | None = None) -> list[LabeledSentence]:
    """Financial PhraseBank rows of one split ("train", "dev", "test") of `fpb/splits.tsv`.

    The split file keys sentences by the sha1 of the stripped, latin-1-decoded sentence.
    """
    if split not in ("train", "dev", "test"):
        raise DatasetError(f"FPB split must be train, dev or test, not {split!r}")
    root = (data_dir or shared_data_dir()) / "fpb"
    wanted: dict[str, tuple[str, str]] = {}
    splits = _require(root / "splits.tsv")
    for number, line in enumerate(splits.read_text(encoding="utf-8").splitlines()[1:], 2):
        parts = line.split("\t")
        if len(parts) != 4:
            raise DatasetError(f"{splits}:{number}: expected 4 tab-separated fields")
        sha1, part, label, agree = parts
        if part == split:
            wanted[sha1] = (label, agree)
    rows: list[LabeledSentence] = []
    seen: set[str] = set()
    raw = _require(root / "Sentences_50Agree.txt").read_bytes().decode("latin-1")
    for line in raw.splitlines():
        if "@" not in line:
            continue
        sentence = line.rsplit("@", 1)[0].strip()
        key = hashlib.sha1(sentence.encode("utf-8")).hexdigest()
        if key in wanted and key not in seen:  # exact duplicate rows appear once
            seen.add(key)
            label, agree = wanted[key]
            rows.append(LabeledSentence(sentence, label, agree))
    return rows


def tfns(split: str, data_dir: Path | None = None) -> list[LabeledSentence]:
    """Twitter financial news sentiment: split "train" or "valid" (its test set)."""
    if split not in ("train", "valid"):
        raise DatasetError(f"TFNS split must be train or valid, not {split!r}")
    path = _require((data_dir or shared_data_dir()) / "tfns" / f"sent_{split}.csv")
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for number, record in enumerate(csv.DictReader(handle), 2):
            label = TFNS_LABELS.get((record.get("label") or "").strip())
            if label is None or not record.get("text"):
                raise DatasetError(f"{path}:{number}: expected text and a label 0, 1 or 2")
            rows.append(LabeledSentence(record["text"], label))
    return rows


def semeval_headlines(data_dir: Path | None = None) -> list[ScoredText]:
    """SemEval-2017 task 5 headline test set: one row per distinct headline (mean score)."""
    path = _require(
        (data_dir or shared_data_dir()) / "semeval2017_task5" / "Headlines_Testdata_withscores.json"
    )
    records = json.loads(path.read_text(encoding="utf-8"))
    return _mean_per_text((r["title"], float(r["sentiment score"])) for r in records)


def fiqa(data_dir: Path | None = None) -> list[ScoredText]:
    """FiQA 2018 task 1, headlines and posts: the labeled (train) files, mean score per text.

    Evaluation only: the official test files carry no scores.
    """
    root = (data_dir or shared_data_dir()) / "fiqa2018_task1"
    pairs = []
    for name in ("task1_headline_ABSA_train.json", "task1_post_ABSA_train.json"):
        records = json.loads(_require(root / name).read_text(encoding="utf-8"))
        for record in records.values():
            scores = [float(info["sentiment_score"]) for info in record.get("info", [])]
            if scores:
                pairs.append((record["sentence"], sum(scores) / len(scores)))
    return _mean_per_text(iter(pairs))


def _mean_per_text(pairs: Iterator[tuple[str, float]]) -> list[ScoredText]:
    grouped: dict[str, list[float]] = {}
    for text, score in pairs:
        grouped.setdefault(text.strip(), []).append(score)
    return [ScoredText(text, sum(s) / len(s)) for text, s in grouped.items() if text]


def reuters_articles(data_dir: Path | None = None) -> Iterator[dict[str, str]]:
    """The Reuters 2012-13 sample, one dict per article (title, body, published, url)."""
    path = _require((data_dir or shared_data_dir()) / "reuters_2012_2013" / "reuters_sample.jsonl")
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)
