"""Compare theme-head settings on team dev without flattering dev-calibrated variants.

    python -m nlp_pipeline.train.theme_sweep SCALE,L2[,TEAM_WEIGHT[,DEV_SHARE[,BLEND]]] ...
        [--dev-only] [--pair-heads] [--hf-encoder DIR]

For each setting (n-gram scale, 0 for embedding + cues only; l2; team weight, default 2; dev
share of the calibration rows, default the recipe's, 0 for each dev row once; the neighbours'
vote's blend weight, default the recipe's, 0 for none) the recipe's out-of-fold probabilities
are computed on the team dev and train items (folds by record).
Thresholds and exclusive pairs are then chosen on one half of dev's records plus the train items
(`--dev-only`: that half alone) and scored on the other half, both ways round; the mean
micro-F1 / macro-F1 of the two halves is printed. The test split is never read.
`--pair-heads` adds the recipe's pair heads, chosen on the calibrating half's dev records.

`--hf-encoder DIR` swaps the shipped encoder for another one, to ask whether a larger encoder
would help the head: the rows are embedded by a Hugging Face model folder (for example
all-mpnet-base-v2, models/sentiment/README.md says how to get it offline) with mean pooling, as
the shipped encoder's `embedding` output is made. It needs the `train` extra (torch).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from nlp_pipeline.datasets import shared_data_dir
from nlp_pipeline.evaluation.themes import load_team_set, multilabel_scores, tfn_topics
from nlp_pipeline.nlp.encoder import SentenceEncoder
from nlp_pipeline.nlp.theme_head import apply_pair_heads
from nlp_pipeline.nlp.themes import cue_pattern, load_taxonomy
from nlp_pipeline.train.themes import (
    ThemeTrainingConfig,
    _fold_of,
    _pair_index,
    _sets,
    best_thresholds,
    blend_out_of_fold,
    calibration_rows,
    choose_pair_heads,
    design_matrix,
    exclusive_pairs,
    neighbour_memory,
    ngram_vectorizer,
    out_of_fold,
    record_folds,
    training_rows,
)


def mean_pooled_embeddings(model_dir: Path, texts: list[str], batch: int = 64) -> np.ndarray:
    """Unit-length mean-pooled final states of a Hugging Face encoder (at most 128 tokens),
    computed as the sentiment recipe computes its anchors."""
    from transformers import AutoTokenizer

    from nlp_pipeline.train.sentiment import build_classifier, forward_all

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    encoded = tokenizer(list(texts), truncation=True, max_length=128)["input_ids"]
    model = build_classifier(model_dir)  # its untrained head's logits are not used
    pooled = forward_all(model, encoded, tokenizer.pad_token_id, "embed", batch)[1]
    unit: np.ndarray = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    return unit


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("settings", nargs="+", help="SCALE,L2[,TEAM_WEIGHT[,DEV_SHARE[,BLEND]]]")
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--dev-only", action="store_true", help="calibrate on the dev half alone")
    parser.add_argument(
        "--pair-heads", action="store_true", help="add pair heads (the recipe's --pair-heads)"
    )
    parser.add_argument("--hf-encoder", type=Path, help="embed with this Hugging Face model folder")
    args = parser.parse_args(argv)
    base = ThemeTrainingConfig(models_dir=args.models)
    themes, _ = load_taxonomy([args.models / "themes" / "taxonomy.yaml"])
    ids = [t.id for t in themes]
    items = load_team_set(shared_data_dir(), base.team_set_dir)
    dev = [item for item in items if item["split"] == "dev"]
    extra = [item for item in items if item["split"] == "train"]
    tfn_tweets = tfn_topics("train")
    rows = training_rows(themes, dev, extra, tfn_tweets, base)
    if args.hf_encoder:
        embeddings = mean_pooled_embeddings(args.hf_encoder, rows.texts)
    else:
        embeddings = SentenceEncoder(args.models / "sentiment").encode(rows.texts).embeddings
    patterns = [cue_pattern(t.keywords) for t in themes]
    team = np.array([i for i, k in enumerate(rows.kind) if k.startswith("team")], int)
    folds = record_folds(len(rows.texts), team, dev + extra)
    dev_rows, train_rows = team[: len(dev)], team[len(dev) :]
    half = np.array([_fold_of(f"h{item['source']}|{item['record']}") % 2 for item in dev])
    for setting in args.settings:
        scale, l2, *rest = (float(v) for v in setting.split(","))
        weight = rest[0] if rest else base.weight_team
        share = rest[1] if len(rest) > 1 else base.calibration_dev_share
        blend = rest[2] if len(rest) > 2 else base.neighbours_blend
        config = ThemeTrainingConfig(
            models_dir=args.models,
            l2=l2,
            weight_team=weight,
            ngram_scale=scale,
            calibration_dev_share=share,
            neighbours_blend=blend,
        )
        rows = training_rows(themes, dev, extra, tfn_tweets, config)  # this team weight
        x = design_matrix(rows.texts, embeddings, patterns, ngram_vectorizer(rows.texts, config))
        memory = neighbour_memory(embeddings, rows, config)
        oof = blend_out_of_fold(out_of_fold(x, rows, folds, config), memory, embeddings, folds)
        scores = []
        for side in (0, 1):
            calibration = dev_rows[half == side]
            if not args.dev_only:
                calibration = calibration_rows(
                    calibration, train_rows, config.calibration_dev_share
                )
            scored = dev_rows[half != side]
            probs = oof
            if args.pair_heads:
                chosen, sides = choose_pair_heads(
                    x, rows, folds, oof, calibration, dev_rows[half == side], ids, config, print
                )
                probs = apply_pair_heads(oof, sides, _pair_index(chosen, ids))
            thresholds = best_thresholds(probs[calibration], rows.labels[calibration])
            pairs = exclusive_pairs(probs[calibration], thresholds, rows.labels[calibration], ids)
            gold = [{ids[j] for j in np.nonzero(r)[0]} for r in rows.labels[scored]]
            report = multilabel_scores(gold, _sets(probs[scored], thresholds, ids, pairs), ids)
            scores.append((report["micro"]["f1"], report["macro"]["f1"]))
        micro, macro = (float(np.mean(v)) for v in zip(*scores, strict=True))
        print(
            f"scale {scale:g} l2 {l2:g} team weight {weight:g} dev share {share:g} "
            f"neighbours {blend:g}: "
            f"{micro:.3f} / {macro:.3f}"
        )


if __name__ == "__main__":
    main()
