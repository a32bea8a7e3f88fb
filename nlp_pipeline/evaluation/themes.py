"""Scoring theme tagging and rotation flows against labeled data (`nlp-pipeline eval themes`).

Datasets:
- `team`: the team-labeled set in `models/themes/team_set/` (locators and sha1s only; the text
  is resolved from the shared data folder), split `dev` (tuned on) or `test` (held out). Its
  `labels.jsonl` carries themes and flows; `flows.jsonl` holds sentences labeled for flows only
  (a flow-candidate sample, see its README), which count toward the rotation scores alone.
- `tfn-topics`: `tfn_topics/topic_valid.csv` (never trained on), scored for the themes that map
  onto its topics only.

Each labeled item (a sentence or short passage) is one unit: the head sees its text as one
sentence; flows are compared as sets of (from, to) per item.
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nlp_pipeline.datasets import DatasetError, shared_data_dir
from nlp_pipeline.nlp.encoder import EncodedSentences

TEAM_SET_DIR = Path(__file__).resolve().parents[2] / "models" / "themes" / "team_set"
FLOW_SET_FILE = "flows.jsonl"
# tfn_topics label -> the narrative theme it maps onto closely (MANIFEST.md of tfn_topics).
TFN_THEME_OF_TOPIC: dict[int, str] = {
    5: "earnings",
    6: "energy_commodities",
    10: "energy_commodities",
    12: "regulation",
    13: "mergers_acquisitions",
}
# Topics whose tweets are negatives for the mapped themes (the rest may mention them in passing:
# analyst updates, company news, stock commentary and movement).
TFN_NEGATIVE_TOPICS = (1, 3, 4, 7, 8, 9, 11, 14, 15, 16, 17)

Predict = Callable[[Sequence[str], EncodedSentences], list[dict[str, float]]]
Encode = Callable[[Sequence[str]], EncodedSentences]
Flow = tuple[str | None, str]


def load_team_set(
    data_dir: Path | None = None,
    team_set_dir: Path = TEAM_SET_DIR,
    labels_file: str = "labels.jsonl",
) -> list[dict[str, Any]]:
    """The team-labeled items with their text (see `models/themes/team_set/resolve.py`);
    `labels_file="flows.jsonl"` gives the flow-only items (no `themes` key)."""
    data = data_dir or shared_data_dir()
    resolver = team_set_dir / "resolve.py"
    for needed in (resolver, team_set_dir / labels_file):
        if not needed.is_file():
            raise DatasetError(f"team theme set incomplete: {needed} not found")
    if not data.is_dir():
        raise DatasetError(f"{data} not found (set NLP_PIPELINE_SHARED_DATA to the shared data)")
    spec = importlib.util.spec_from_file_location("nlp_pipeline_team_set_resolve", resolver)
    if spec is None or spec.loader is None:
        raise DatasetError(f"cannot load {resolver}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        items: list[dict[str, Any]] = module.load_team_set(data, team_set_dir / labels_file)
    except ValueError as exc:
        raise DatasetError(f"team theme set: {exc}") from None
    return items


def tfn_topics(split: str, data_dir: Path | None = None) -> list[tuple[str, int]]:
    """(text, topic label) rows of `tfn_topics/topic_{split}.csv` (split train or valid)."""
    if split not in ("train", "valid"):
        raise DatasetError(f"tfn_topics split must be train or valid, not {split!r}")
    path = (data_dir or shared_data_dir()) / "tfn_topics" / f"topic_{split}.csv"
    if not path.is_file():
        raise DatasetError(f"{path} not found (set NLP_PIPELINE_SHARED_DATA to the shared data)")
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        for number, record in enumerate(csv.DictReader(handle), 2):
            try:
                rows.append((record["text"], int(record["label"])))
            except (KeyError, TypeError, ValueError):
                raise DatasetError(f"{path}:{number}: expected text and an integer label") from None
    return rows


def prf(true_positive: int, predicted: int, gold: int) -> dict[str, float]:
    precision = true_positive / predicted if predicted else 0.0
    recall = true_positive / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def multilabel_scores(
    gold: Sequence[set[str]], predicted: Sequence[set[str]], theme_ids: Sequence[str]
) -> dict[str, Any]:
    """Per-theme precision, recall and F1, plus micro and macro averages.

    Macro averages the themes with at least one gold item (a theme absent from the split says
    nothing about recall); `themes_without_support` lists the others and their false alarms.
    """
    per_theme: dict[str, dict[str, Any]] = {}
    totals = [0, 0, 0]
    for theme_id in theme_ids:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if theme_id in g and theme_id in p)
        n_pred = sum(1 for p in predicted if theme_id in p)
        n_gold = sum(1 for g in gold if theme_id in g)
        totals[0] += tp
        totals[1] += n_pred
        totals[2] += n_gold
        per_theme[theme_id] = {**prf(tp, n_pred, n_gold), "support": n_gold, "predicted": n_pred}
    supported = [s for s in per_theme.values() if s["support"]]
    macro = {
        key: round(sum(s[key] for s in supported) / len(supported), 4) if supported else 0.0
        for key in ("precision", "recall", "f1")
    }
    return {
        "items": len(gold),
        "micro": prf(*totals),
        "macro": macro,
        "themes": per_theme,
        "themes_without_support": {
            k: v["predicted"] for k, v in per_theme.items() if not v["support"]
        },
    }


def flow_scores(gold: Sequence[set[Flow]], predicted: Sequence[set[Flow]]) -> dict[str, Any]:
    tp = sum(len(g & p) for g, p in zip(gold, predicted, strict=True))
    n_pred = sum(len(p) for p in predicted)
    n_gold = sum(len(g) for g in gold)
    return {**prf(tp, n_pred, n_gold), "gold": n_gold, "predicted": n_pred}


def evaluate_team(
    items: Sequence[dict[str, Any]],
    encode: Encode,
    predict: Predict,
    theme_ids: Sequence[str],
    extract: Callable[[Sequence[str], EncodedSentences], list[list[tuple[str | None, str, float]]]]
    | None = None,
    flow_items: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Theme scores on `items`; with `extract`, flow scores on `items` and the flow-only
    `flow_items` together (`rotations`) and on each set alone (`rotations_by_set`)."""
    texts = [item["text"] for item in items]
    encoded = encode(texts)
    predicted = [set(scores) for scores in predict(texts, encoded)]
    gold = [set(item["themes"]) for item in items]
    report = multilabel_scores(gold, predicted, theme_ids)
    if extract is not None:
        flows = extract(texts, encoded)
        flow_texts = [item["text"] for item in flow_items]
        flows_only = extract(flow_texts, encode(flow_texts)) if flow_items else []
        by_set = {
            "team": _flow_report(items, flows),
            "flow_set": _flow_report(flow_items, flows_only),
        }
        report["rotations"] = _flow_report([*items, *flow_items], [*flows, *flows_only])
        report["rotations_by_set"] = by_set
    return report


def _flow_report(
    items: Sequence[dict[str, Any]], flows: Sequence[Sequence[tuple[str | None, str, float]]]
) -> dict[str, Any]:
    return {
        **flow_scores(
            [{(f["from"], f["to"]) for f in item.get("rotations") or []} for item in items],
            [{(source, target) for source, target, _ in per} for per in flows],
        ),
        "items": len(items),
    }


def evaluate_tfn(
    rows: Sequence[tuple[str, int]], encode: Encode, predict: Predict
) -> dict[str, Any]:
    """Scores for the mapped themes on tfn_topics rows (gold: the row's topic maps onto it)."""
    texts = [text for text, _ in rows]
    predicted = [set(scores) for scores in predict(texts, encode(texts))]
    gold = [
        {TFN_THEME_OF_TOPIC[label]} if label in TFN_THEME_OF_TOPIC else set() for _, label in rows
    ]
    mapped = sorted(set(TFN_THEME_OF_TOPIC.values()))
    return multilabel_scores(gold, [p & set(mapped) for p in predicted], mapped)


def evaluate(
    dataset: str,
    split: str = "test",
    models_dir: Path | None = None,
    themes_paths: Sequence[Path] = (),
    data_dir: Path | None = None,
    encoder_dir: Path | None = None,
) -> dict[str, Any]:
    """`nlp-pipeline eval themes`: the shipped theme head (plus user themes) and the rotation
    extractor on a labeled dataset, as a JSON-ready report."""
    from nlp_pipeline.nlp.analyzer import default_models_dir
    from nlp_pipeline.nlp.encoder import SentenceEncoder
    from nlp_pipeline.nlp.rotations import PatternRotationExtractor
    from nlp_pipeline.nlp.theme_head import EmbeddingThemeHead

    models = models_dir or default_models_dir()
    head = EmbeddingThemeHead.from_models_dir(models, themes_paths, encoder_dir)
    encoder = SentenceEncoder(encoder_dir or models / "sentiment")
    header: dict[str, Any] = {
        "dataset": dataset,
        "themes_model": head.version,
        "encoder": encoder.version,
    }
    if dataset == "team":
        if split not in ("dev", "test"):
            raise DatasetError(f"team split must be dev or test, not {split!r}")
        items = [item for item in load_team_set(data_dir) if item["split"] == split]
        flow_items = [
            item
            for item in load_team_set(data_dir, labels_file=FLOW_SET_FILE)
            if item["split"] == split
        ]
        extractor = PatternRotationExtractor()
        header.update({"split": split, "rotations_model": extractor.version})
        if split == "dev":
            # the head is fitted on dev (and a memory head holds dev's own labels): these
            # figures are in-sample; the recipe's out-of-fold dev figures are in head.json
            header["in_sample"] = True
        report = evaluate_team(
            items, encoder.encode, head.predict, head.theme_ids, extractor.extract, flow_items
        )
    elif dataset == "tfn-topics":
        header["split"] = "valid"
        report = evaluate_tfn(tfn_topics("valid", data_dir), encoder.encode, head.predict)
    else:
        raise DatasetError(f"unknown dataset {dataset!r}; use team or tfn-topics")
    return {**header, **report}
