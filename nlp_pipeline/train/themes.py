"""The recipe that makes the shipped theme head (`nlp-pipeline train themes`).

Deterministic and quick (no torch; the encoder runs on ONNX Runtime, the heads are numpy and
scipy):

1. Encode, with the shared sentence encoder (`models/sentiment/` unless told otherwise):
   the taxonomy's own examples and counter-examples (`models/themes/taxonomy.yaml`), the team
   set's dev and train splits, and a fixed sample of `tfn_topics` train tweets for the themes
   that map onto its topics. The team test split is encoded only to report on it; tfn valid is
   never read.
2. Features per sentence: the embedding, the cue-pattern flags of every core theme and the
   TF-IDF word uni- and bigrams seen in at least two of these rows (`ngram_scale`; the
   vocabulary is built from their text, labels play no part).
3. One weighted logistic regression per theme (L-BFGS, scipy), each on the rows whose label for
   it is known (taxonomy and team rows: every theme; tfn rows: the mapped themes only).
4. Thresholds per theme: out-of-fold probabilities on the team dev and train items (5 folds by
   source record, so no article is scored by a head fitted on its other sentences), the
   threshold with the best F1 there (0.5 for a theme with fewer than 3 positives); dev's
   out-of-fold scores are reported.
   The probabilities are each theme's logistic regression blended with the vote of the row's
   nearest labeled rows (`neighbours_*`: the 25 most similar by embedding, weight 0.3), the
   vote taken out of fold too (a team item never votes for itself or its article's other rows).
5. Refit on everything, save `head.npz`/`head.json`, print dev (out-of-fold) and test metrics.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlp_pipeline.datasets import shared_data_dir
from nlp_pipeline.errors import PipelineError
from nlp_pipeline.evaluation.themes import (
    TEAM_SET_DIR,
    TFN_NEGATIVE_TOPICS,
    TFN_THEME_OF_TOPIC,
    load_team_set,
    multilabel_scores,
    tfn_topics,
)
from nlp_pipeline.nlp.encoder import SentenceEncoder
from nlp_pipeline.nlp.theme_head import (
    NeighbourMemory,
    NgramVectorizer,
    TrainedHead,
    apply_exclusive_pairs,
    apply_pair_heads,
    features,
    file_sha1,
    fit_logistic,
    sigmoid,
)
from nlp_pipeline.nlp.themes import Theme, cue_pattern, load_taxonomy

THRESHOLD_GRID = np.round(np.arange(0.15, 0.86, 0.05), 2)
FOLDS = 5
# Theme pairs easily confused (the taxonomy's counter-examples); see `exclusive_pairs`.
CONFUSABLE_PAIRS = (
    ("monetary_easing", "monetary_tightening"),
    ("ai_infrastructure", "ai_adoption"),
    ("small_cap_rotation", "megacap_concentration"),
    ("earnings", "economic_growth"),
)


@dataclass
class ThemeTrainingConfig:
    """Every setting of the recipe; the defaults reproduce the shipped head."""

    models_dir: Path
    encoder_dir: Path | None = None  # default: models_dir / "sentiment"
    out_dir: Path | None = None  # default: models_dir / "themes"
    data_dir: Path | None = None
    team_set_dir: Path = TEAM_SET_DIR
    l2: float = 1.0
    weight_taxonomy: float = 1.0
    weight_counter: float = 2.0
    weight_team: float = 2.0
    weight_tfn: float = 0.5
    tfn_positives_per_topic: int = 250
    tfn_negatives_per_topic: int = 60
    background_tfn: int = 1200  # tfn tweets kept (as embeddings) as the user-theme background
    max_positive_boost: float = 4.0
    # thresholds and exclusive pairs from the out-of-fold probabilities of dev and train items
    # (False: dev items only)
    calibrate_on_train: bool = True
    # ... with dev items, drawn like the test split, repeated so that they make up about this
    # share of the calibration rows (0: each once): train items were found by per-theme
    # searches, so they hold more positives than running text and would set thresholds too low
    calibration_dev_share: float = 0.4

    # TF-IDF word uni- and bigrams (seen in at least ngram_min_df rows) join the features at this
    # scale (0: embedding and cues only, fitted by Newton steps instead of L-BFGS)
    ngram_scale: float = 12.0
    ngram_min_df: int = 2

    # the nearest labeled rows' vote, blended into each theme's probability (0: no memory)
    neighbours_k: int = 25
    neighbours_temperature: float = 0.1
    neighbours_blend: float = 0.3

    # pair heads for the confusable pairs, each kept where it raises the pair's out-of-fold F1
    # on dev (an opt-in experiment, not in the shipped head: models/themes/README.md)
    pair_heads: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.calibration_dev_share < 1.0:
            raise ThemeTrainingError("calibration_dev_share must be in [0, 1)")
        if not 0.0 <= self.neighbours_blend < 1.0:
            raise ThemeTrainingError("neighbours_blend must be in [0, 1)")
        if self.neighbours_k < 1 or self.neighbours_temperature <= 0:
            raise ThemeTrainingError("neighbours_k must be >= 1 and neighbours_temperature > 0")


class ThemeTrainingError(PipelineError):
    """Theme training cannot run; the message says what is missing."""


@dataclass
class Rows:
    texts: list[str]
    labels: np.ndarray  # (n, themes) 0/1
    known: np.ndarray  # (n, themes) 0/1: is the label known for this theme
    weight: np.ndarray  # (n,)
    kind: list[str]  # taxonomy | counter | team (dev) | team_train | tfn


def _stable_order(texts: Sequence[str]) -> list[int]:
    """A fixed pseudo-random order of rows (sha1 of the text), the same on every machine."""
    return sorted(range(len(texts)), key=lambda i: hashlib.sha1(texts[i].encode()).hexdigest())


def taxonomy_rows(themes: Sequence[Theme], config: ThemeTrainingConfig) -> Rows:
    ids = [t.id for t in themes]
    index = {theme_id: j for j, theme_id in enumerate(ids)}
    texts, labels, kinds, weights = [], [], [], []
    for theme in themes:
        for example in theme.examples:
            texts.append(example)
            labels.append({theme.id})
            kinds.append("taxonomy")
            weights.append(config.weight_taxonomy)
        for text, belongs in theme.counter_examples:
            texts.append(text)
            labels.append({b for b in belongs if b in index})
            kinds.append("counter")
            weights.append(config.weight_counter)
    y = np.zeros((len(texts), len(ids)), np.float32)
    for i, themes_of_row in enumerate(labels):
        for theme_id in themes_of_row:
            y[i, index[theme_id]] = 1.0
    return Rows(texts, y, np.ones_like(y), np.array(weights, np.float64), kinds)


def team_rows(
    items: Sequence[dict[str, Any]], ids: Sequence[str], weight: float, kind: str = "team"
) -> Rows:
    index = {theme_id: j for j, theme_id in enumerate(ids)}
    y = np.zeros((len(items), len(ids)), np.float32)
    for i, item in enumerate(items):
        for theme_id in item["themes"]:
            if theme_id in index:
                y[i, index[theme_id]] = 1.0
    return Rows(
        [item["text"] for item in items],
        y,
        np.ones_like(y),
        np.full(len(items), weight),
        [kind] * len(items),
    )


def tfn_rows(
    rows: Sequence[tuple[str, int]], ids: Sequence[str], config: ThemeTrainingConfig
) -> Rows:
    index = {theme_id: j for j, theme_id in enumerate(ids)}
    mapped = sorted({index[t] for t in TFN_THEME_OF_TOPIC.values() if t in index})
    texts = [text for text, _ in rows]
    taken: dict[int, int] = {}
    chosen = []
    for i in _stable_order(texts):
        label = rows[i][1]
        cap = (
            config.tfn_positives_per_topic
            if label in TFN_THEME_OF_TOPIC
            else config.tfn_negatives_per_topic
            if label in TFN_NEGATIVE_TOPICS
            else 0
        )
        if taken.get(label, 0) < cap:
            taken[label] = taken.get(label, 0) + 1
            chosen.append(i)
    chosen.sort()
    y = np.zeros((len(chosen), len(ids)), np.float32)
    known = np.zeros_like(y)
    for r, i in enumerate(chosen):
        known[r, mapped] = 1.0
        theme_id = TFN_THEME_OF_TOPIC.get(rows[i][1])
        if theme_id in index:
            y[r, index[theme_id]] = 1.0
    return Rows(
        [texts[i] for i in chosen],
        y,
        known,
        np.full(len(chosen), config.weight_tfn),
        ["tfn"] * len(chosen),
    )


def concat(parts: Sequence[Rows]) -> Rows:
    return Rows(
        [t for p in parts for t in p.texts],
        np.vstack([p.labels for p in parts]),
        np.vstack([p.known for p in parts]),
        np.concatenate([p.weight for p in parts]),
        [k for p in parts for k in p.kind],
    )


def training_rows(
    themes: Sequence[Theme],
    dev: Sequence[dict[str, Any]],
    extra: Sequence[dict[str, Any]],
    tfn_tweets: Sequence[tuple[str, int]],
    config: ThemeTrainingConfig,
) -> Rows:
    """Every row the head is fitted on, in this order: taxonomy examples and counter-examples,
    team dev items, team train items, the tfn sample."""
    ids = [t.id for t in themes]
    return concat(
        [
            taxonomy_rows(themes, config),
            team_rows(dev, ids, config.weight_team),
            team_rows(extra, ids, config.weight_team, kind="team_train"),
            tfn_rows(tfn_tweets, ids, config),
        ]
    )


def ngram_vectorizer(texts: Sequence[str], config: ThemeTrainingConfig) -> NgramVectorizer | None:
    if config.ngram_scale <= 0:
        return None
    return NgramVectorizer.fit(texts, config.ngram_min_df, config.ngram_scale)


def out_of_fold(x: Any, rows: Rows, folds: np.ndarray, config: ThemeTrainingConfig) -> np.ndarray:
    """(rows, themes) probabilities of each team row from the head fitted without its fold (rows
    of fold -1 are fitted on in every fold and left at 0)."""
    oof = np.zeros((len(rows.texts), rows.labels.shape[1]))
    for fold in range(FOLDS):
        weights, bias = fit_heads(x, rows, folds != fold, config)
        held = np.nonzero(folds == fold)[0]
        oof[held] = sigmoid(x[held] @ weights.T + bias)
    return oof


def neighbour_memory(
    embeddings: np.ndarray, rows: Rows, config: ThemeTrainingConfig
) -> NeighbourMemory | None:
    """Every training row as the head's memory (None when `neighbours_blend` is 0), its
    embeddings rounded to float16 as the saved head holds them."""
    if config.neighbours_blend <= 0:
        return None
    return NeighbourMemory(
        embeddings.astype(np.float16),
        rows.labels.astype(np.uint8),
        rows.known.astype(np.uint8),
        rows.weight.astype(np.float32),
        config.neighbours_k,
        config.neighbours_temperature,
        config.neighbours_blend,
    )


def blend_out_of_fold(
    oof: np.ndarray, memory: NeighbourMemory | None, embeddings: np.ndarray, folds: np.ndarray
) -> np.ndarray:
    """`out_of_fold`'s probabilities blended with each team row's vote from the rows outside
    its fold, as the shipped head blends a new sentence's with its vote."""
    if memory is None:
        return oof
    held = np.nonzero(folds >= 0)[0]
    blended = oof.copy()
    same_fold = folds[held][:, None] == folds[None, :]
    blended[held] = memory.blended(oof[held], embeddings[held], exclude=same_fold)
    return blended


def design_matrix(
    texts: Sequence[str],
    embeddings: np.ndarray,
    patterns: Sequence[re.Pattern[str] | None],
    ngrams: NgramVectorizer | None,
) -> Any:
    """The head's features: a dense array (embedding, cues) or, with n-grams, a sparse CSR
    matrix whose last columns are the TF-IDF terms, as `TrainedHead.logits` reads them."""
    dense = features(texts, embeddings, patterns)
    if ngrams is None:
        return dense
    try:
        from scipy import sparse
    except ImportError:
        raise ThemeTrainingError(
            "the theme recipe's n-gram features need scipy: pip install -e '.[train]'"
        ) from None

    entries = ngrams.rows(texts)
    indptr = np.cumsum([0] + [len(columns) for columns, _ in entries])
    columns = np.concatenate([c for c, _ in entries]) if entries else np.zeros(0, np.int64)
    values = np.concatenate([v for _, v in entries]) if entries else np.zeros(0, np.float32)
    terms = sparse.csr_matrix((values, columns, indptr), shape=(len(texts), len(ngrams)))
    return sparse.hstack([sparse.csr_matrix(dense), terms], format="csr", dtype=np.float32)


def fit_logistic_lbfgs(
    x: Any, y: np.ndarray, weight: np.ndarray, l2: float
) -> tuple[np.ndarray, float]:
    """The same weighted L2-regularised logistic regression as `fit_logistic`, by L-BFGS: for a
    sparse design too wide for Newton steps. Deterministic."""
    from scipy.optimize import minimize

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        coef, intercept = beta[:-1], beta[-1]
        z = x @ coef + intercept
        # log(1 + e^z) - y z, stably
        value = float(weight @ (np.logaddexp(0.0, z) - y * z)) + 0.5 * l2 * float(coef @ coef)
        residual = weight * (sigmoid(z) - y)
        gradient = np.append(x.T @ residual + l2 * coef, residual.sum())
        return value, gradient

    result = minimize(
        loss,
        np.zeros(x.shape[1] + 1),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 2000, "gtol": 1e-6},
    )
    return result.x[:-1].astype(np.float32), float(result.x[-1])


def fit_heads(
    x: Any, rows: Rows, mask: np.ndarray, config: ThemeTrainingConfig
) -> tuple[np.ndarray, np.ndarray]:
    """One logistic regression per theme on the rows in `mask` whose label is known."""
    themes = rows.labels.shape[1]
    weights = np.zeros((themes, x.shape[1]), np.float32)
    bias = np.zeros(themes, np.float32)
    for j in range(themes):
        use = mask & (rows.known[:, j] > 0)
        y = rows.labels[use, j].astype(np.float64)
        w = rows.weight[use].copy()
        positive, negative = w[y > 0].sum(), w[y == 0].sum()
        if positive == 0:
            bias[j] = -10.0  # no positives at all: never fires
            continue
        # Rare themes: lift the positives' weight (square root of the imbalance, capped).
        w[y > 0] *= float(np.clip(np.sqrt(negative / positive), 1.0, config.max_positive_boost))
        if isinstance(x, np.ndarray):
            coef, intercept = fit_logistic(x[use], y, w, config.l2)
        else:
            coef, intercept = fit_logistic_lbfgs(x[use], y, w, config.l2)
        weights[j], bias[j] = coef, intercept
    return weights, bias


def best_thresholds(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    thresholds = np.full(labels.shape[1], 0.5, np.float32)
    for j in range(labels.shape[1]):
        gold = labels[:, j] > 0
        if gold.sum() < 3:
            continue
        best = (-1.0, 0.0)
        for threshold in THRESHOLD_GRID:
            pred = probs[:, j] >= threshold
            tp = float((pred & gold).sum())
            f1 = 2 * tp / (pred.sum() + gold.sum()) if pred.sum() + gold.sum() else 0.0
            # Ties go to the threshold nearest 0.5 (less tuned to a small dev set).
            key = (round(f1, 6), -abs(float(threshold) - 0.5))
            if key > best:
                best = key
                thresholds[j] = threshold
    return thresholds


def calibration_rows(dev_rows: np.ndarray, train_rows: np.ndarray, dev_share: float) -> np.ndarray:
    """Row indices for choosing thresholds: the train rows once and each dev row repeated so
    that dev makes up about `dev_share` of the rows (at least once each; 0: once each)."""
    if not len(train_rows) or not len(dev_rows):
        return np.concatenate([dev_rows, train_rows])
    copies = max(1, round(dev_share / (1 - dev_share) * len(train_rows) / len(dev_rows)))
    return np.concatenate([np.repeat(dev_rows, copies), train_rows])


def _fold_of(item_id: str) -> int:
    return int(hashlib.sha1(item_id.encode()).hexdigest(), 16) % FOLDS


def _sets(
    probs: np.ndarray,
    thresholds: np.ndarray,
    ids: Sequence[str],
    pairs: Sequence[Sequence[str]] = (),
) -> list[set[str]]:
    out = []
    for row in probs:
        scores = {ids[int(j)]: float(row[j]) for j in np.nonzero(row >= thresholds)[0]}
        out.append(set(apply_exclusive_pairs(scores, pairs)))
    return out


def exclusive_pairs(
    probs: np.ndarray, thresholds: np.ndarray, labels: np.ndarray, ids: Sequence[str]
) -> list[list[str]]:
    """The confusable pairs for which keeping only the more probable theme raises the pair's
    summed F1 on the out-of-fold dev probabilities."""
    gold = [{ids[int(j)] for j in np.nonzero(row)[0]} for row in labels]
    kept = []
    for pair in CONFUSABLE_PAIRS:
        if not set(pair) <= set(ids):
            continue

        def pair_f1(pairs: Sequence[Sequence[str]], pair: tuple[str, str] = pair) -> float:
            report = multilabel_scores(gold, _sets(probs, thresholds, ids, pairs), list(pair))
            return float(sum(report["themes"][t]["f1"] for t in pair))

        if pair_f1([pair]) > pair_f1([]):
            kept.append(list(pair))
    return kept


def train(config: ThemeTrainingConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    started = time.monotonic()
    models_dir = config.models_dir
    encoder_dir = config.encoder_dir or models_dir / "sentiment"
    out_dir = config.out_dir or models_dir / "themes"
    data_dir = config.data_dir or shared_data_dir()
    if not (encoder_dir / "model.onnx").is_file():
        raise ThemeTrainingError(
            f"no sentence encoder in {encoder_dir} (model.onnx); pass --encoder DIR"
        )
    themes, taxonomy_digest = load_taxonomy([models_dir / "themes" / "taxonomy.yaml"])
    ids = [t.id for t in themes]
    items = load_team_set(data_dir, config.team_set_dir)
    dev = [item for item in items if item["split"] == "dev"]
    extra = [item for item in items if item["split"] == "train"]
    test = [item for item in items if item["split"] == "test"]
    rows = training_rows(themes, dev, extra, tfn_topics("train", data_dir), config)
    n_taxonomy = sum(k in ("taxonomy", "counter") for k in rows.kind)
    log(
        f"rows: {n_taxonomy} taxonomy, {len(dev)} team dev, {len(extra)} team train, "
        f"{rows.kind.count('tfn')} tfn train; {len(test)} team test held out"
    )

    encoder = SentenceEncoder(encoder_dir)
    patterns = [cue_pattern(t.keywords) for t in themes]
    embeddings = encoder.encode(rows.texts).embeddings
    ngrams = ngram_vectorizer(rows.texts, config)
    x = design_matrix(rows.texts, embeddings, patterns, ngrams)
    log(
        f"encoded {len(rows.texts)} sentences in {time.monotonic() - started:.1f}s; "
        f"{len(ngrams) if ngrams else 0} n-gram terms"
    )

    # Out-of-fold probabilities on every team item (dev and train), folds by record.
    team_positions = np.array([i for i, k in enumerate(rows.kind) if k.startswith("team")], int)
    team_items = dev + extra  # the order of their rows
    folds = record_folds(len(rows.texts), team_positions, team_items)
    memory = neighbour_memory(embeddings, rows, config)
    oof = blend_out_of_fold(out_of_fold(x, rows, folds, config), memory, embeddings, folds)
    dev_positions, train_positions = team_positions[: len(dev)], team_positions[len(dev) :]
    calibration = (
        calibration_rows(dev_positions, train_positions, config.calibration_dev_share)
        if config.calibrate_on_train
        else dev_positions
    )
    pair_ids: list[tuple[str, str]] = []
    if config.pair_heads:
        pair_ids, pair_oof = choose_pair_heads(
            x, rows, folds, oof, calibration, dev_positions, ids, config, log
        )
        oof = apply_pair_heads(oof, pair_oof, _pair_index(pair_ids, ids))
    thresholds = best_thresholds(oof[calibration], rows.labels[calibration])
    pairs = exclusive_pairs(oof[calibration], thresholds, rows.labels[calibration], ids)
    everything = np.ones(len(rows.texts), bool)
    weights, bias = fit_heads(x, rows, everything, config)
    fitted_pairs = [fit_pair_head(x, rows, everything, pair, ids, config) for pair in pair_ids]
    pair_weights = np.array([w for w, _ in fitted_pairs], np.float32).reshape(-1, x.shape[1])
    pair_bias = np.array([b for _, b in fitted_pairs], np.float32)

    gold_dev = [set(item["themes"]) for item in dev]
    dev_report = multilabel_scores(gold_dev, _sets(oof[dev_positions], thresholds, ids, pairs), ids)
    test_texts = [item["text"] for item in test]
    test_embeddings = encoder.encode(test_texts).embeddings
    x_test = design_matrix(test_texts, test_embeddings, patterns, ngrams)
    test_probs = sigmoid(x_test @ weights.T + bias)
    if memory is not None:
        test_probs = memory.blended(test_probs, test_embeddings)
    if pair_ids:
        test_sides = sigmoid(x_test @ pair_weights.T + pair_bias)
        test_probs = apply_pair_heads(test_probs, test_sides, _pair_index(pair_ids, ids))
    test_report = multilabel_scores(
        [set(item["themes"]) for item in test], _sets(test_probs, thresholds, ids, pairs), ids
    )

    background_rows = [i for i, k in enumerate(rows.kind) if k not in ("team", "team_train")]
    background_rows = [i for i in background_rows if rows.kind[i] != "tfn"] + [
        i for i in background_rows if rows.kind[i] == "tfn"
    ][: config.background_tfn]
    head = TrainedHead(
        theme_ids=ids,
        cue_theme_ids=ids,
        weights=weights,
        bias=bias,
        thresholds=thresholds,
        background=embeddings[background_rows],
        meta={},
        ngrams=ngrams,
        memory=memory,
        pairs=pair_ids,
        pair_weights=pair_weights if pair_ids else None,
        pair_bias=pair_bias if pair_ids else None,
    )
    head.meta = {
        "version": f"{head.kind}+{head.digest}",
        "encoder": {
            "dir": _relative(encoder_dir, models_dir),
            "version": encoder.version,
            "sha1": file_sha1(encoder_dir / "model.onnx"),
        },
        "taxonomy_digest": taxonomy_digest,
        "recipe": {
            key: value
            for key, value in vars(config).items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        },
        "data": {
            "taxonomy_rows": n_taxonomy,
            "team_dev_items": len(dev),
            "team_train_items": len(extra),
            "thresholds_from": "team dev+train" if config.calibrate_on_train else "team dev",
            "team_test_items": len(test),
            "tfn_train_rows": rows.kind.count("tfn"),
            "background_rows": len(background_rows),
            "memory_rows": len(memory.embeddings) if memory is not None else 0,
        },
        "exclusive_pairs": pairs,
        "thresholds": {theme_id: float(t) for theme_id, t in zip(ids, thresholds, strict=True)},
        "metrics": {
            "team_dev_out_of_fold": _summary(dev_report),
            "team_test": _summary(test_report),
        },
    }
    head.save(out_dir)
    log(f"saved {out_dir / 'head.npz'} in {time.monotonic() - started:.1f}s")
    return {
        "version": head.meta["version"],
        "encoder": head.meta["encoder"]["version"],
        "data": head.meta["data"],
        "team_dev_out_of_fold": dev_report,
        "team_test": test_report,
    }


def _pair_index(pairs: Sequence[tuple[str, str]], ids: Sequence[str]) -> list[tuple[int, int]]:
    return [(ids.index(first), ids.index(second)) for first, second in pairs]


def _pair_rows(rows: Rows, mask: np.ndarray, first: int, second: int) -> np.ndarray:
    """The rows in `mask` labeled for both themes that carry exactly one of them."""
    known = (rows.known[:, first] > 0) & (rows.known[:, second] > 0)
    return np.asarray(mask & known & ((rows.labels[:, first] + rows.labels[:, second]) == 1))


def fit_pair_head(
    x: Any,
    rows: Rows,
    mask: np.ndarray,
    pair: tuple[str, str],
    ids: Sequence[str],
    config: ThemeTrainingConfig,
) -> tuple[np.ndarray, float]:
    """P(second | one of the two) from the rows in `mask` that carry exactly one of `pair`."""
    first, second = ids.index(pair[0]), ids.index(pair[1])
    use = _pair_rows(rows, mask, first, second)
    y = rows.labels[use, second].astype(np.float64)
    if isinstance(x, np.ndarray):
        return fit_logistic(x[use], y, rows.weight[use], config.l2)
    return fit_logistic_lbfgs(x[use], y, rows.weight[use], config.l2)


def _f1(pred: np.ndarray, gold: np.ndarray) -> float:
    total = int(pred.sum() + gold.sum())
    return 2 * float((pred & gold).sum()) / total if total else 0.0


def choose_pair_heads(
    x: Any,
    rows: Rows,
    folds: np.ndarray,
    oof: np.ndarray,
    calibration: np.ndarray,
    dev_positions: np.ndarray,
    ids: Sequence[str],
    config: ThemeTrainingConfig,
    log: Callable[[str], None] = print,
) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The confusable pairs whose pair head raises the pair's summed out-of-fold F1 on the dev
    items (drawn like the test split), each theme at the threshold the calibration rows give it,
    and those heads' out-of-fold P(second | one of the two), one column per kept pair."""
    kept: list[tuple[str, str]] = []
    columns: list[np.ndarray] = []
    dev_gold = rows.labels[dev_positions] > 0
    for pair in CONFUSABLE_PAIRS:
        if not set(pair) <= set(ids):
            continue
        first, second = ids.index(pair[0]), ids.index(pair[1])
        if len(np.unique(rows.labels[_pair_rows(rows, folds >= -1, first, second), second])) < 2:
            log(f"pair head {pair[0]} / {pair[1]}: no rows with one theme each, skipped")
            continue
        side = np.full(len(rows.texts), 0.5)
        for fold in range(FOLDS):
            coef, intercept = fit_pair_head(x, rows, folds != fold, pair, ids, config)
            held = np.nonzero(folds == fold)[0]
            side[held] = sigmoid(x[held] @ coef + intercept)
        scaled = apply_pair_heads(oof, side[:, None], [(first, second)])

        def pair_f1(probs: np.ndarray, first: int = first, second: int = second) -> float:
            thresholds = best_thresholds(probs[calibration], rows.labels[calibration])
            return sum(
                _f1(probs[dev_positions, j] >= thresholds[j], dev_gold[:, j])
                for j in (first, second)
            )

        before, after = pair_f1(oof), pair_f1(scaled)
        log(f"pair head {pair[0]} / {pair[1]}: dev pair F1 {before:.4f} -> {after:.4f}")
        if after > before:
            kept.append((pair[0], pair[1]))
            columns.append(side)
    return kept, np.array(columns).T.reshape(len(rows.texts), len(kept))


def record_folds(
    n_rows: int, team_positions: np.ndarray, team_items: Sequence[dict[str, Any]]
) -> np.ndarray:
    """The cross-validation fold of every row: team items by their source record (all sentences
    of one article share a fold, so none is scored by a head fitted on its neighbours); -1 for
    the taxonomy and tfn rows, which every fold's head is fitted on."""
    folds = np.full(n_rows, -1)
    for position, item in zip(team_positions, team_items, strict=True):
        folds[position] = _fold_of(f"{item['source']}|{item['record']}")
    return folds


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return path.name  # outside the models folder: its name only, no local paths


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "micro_f1": report["micro"]["f1"],
        "macro_f1": report["macro"]["f1"],
        "f1": {k: v["f1"] for k, v in report["themes"].items() if v["support"]},
    }
