"""The trained multi-label theme head over the shared encoder's sentence embeddings.

One logistic regression per core theme reads the sentence embedding, the cue-pattern flags of
every core theme and, when the head carries a vocabulary, the sentence's TF-IDF word n-grams
(`models/themes/head.npz`, made by `nlp-pipeline train themes`), with a decision threshold per
theme calibrated out of fold on the team set. The embedding knows what a sentence is about; the
n-grams tell close neighbours apart (a cut from a hike, capital spending from spending).
A head that carries a memory (the embeddings and labels of the sentences it was fitted on) blends
each theme's probability with a vote of the sentence's nearest labeled neighbours, which reads
combinations of meaning a linear function of one embedding cannot.
A head with pair heads tells confusable themes apart (easing from tightening): for each pair, a
logistic regression fitted only on the sentences that carry exactly one of the two gives the
odds of one side against the other, and each theme's probability is scaled by its side's, so a
sentence about rate cuts keeps `monetary_easing` and loses most of `monetary_tightening`, while
one that weighs both directions keeps both.
A user theme (`--themes FILE`) needs no retraining: its examples (and definition) are encoded
once, on first use, and a small logistic regression separates them from a background of shipped
sentence embeddings of other narratives; a user theme with only cue patterns is tagged by its
cues. A user theme with a core id replaces the trained head for that id. Numpy only at run time.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.nlp.encoder import EncodedSentences, SentenceEncoder
from nlp_pipeline.nlp.themes import Theme, cue_pattern, load_taxonomy

HEAD_FILES = ("head.npz", "head.json")
CUE_SCALE = 2.0  # cue flags enter the features at this scale (the embedding has unit length)
_WORD = re.compile(r"\b\w\w+\b")
USER_THRESHOLD = 0.5
USER_L2 = 1.0
USER_CUE_LOGIT = 2.0  # added to a user theme's logit when one of its cues matches


def sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0))))


def fit_logistic(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float, iterations: int = 20
) -> tuple[np.ndarray, float]:
    """Weighted L2-regularised logistic regression by Newton steps (IRLS). Deterministic.

    Returns (coefficients, intercept); the intercept is not penalised. The Hessian is formed in
    float32 (the costly product) and solved in float64.
    """
    n, d = x.shape
    design = np.hstack([x.astype(np.float32), np.ones((n, 1), np.float32)])
    beta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 1e-6
    for _ in range(iterations):
        p = sigmoid(design @ beta)
        gradient = design.T @ (weight * (p - y)) + penalty * beta
        curvature = (weight * p * (1.0 - p)).astype(np.float32)
        hessian = (design * curvature[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian.astype(np.float64), gradient)
        beta -= step
        if float(np.max(np.abs(step))) < 1e-4:
            break
    return beta[:-1].astype(np.float32), float(beta[-1])


def cue_flags(sentences: Sequence[str], patterns: Sequence[re.Pattern[str] | None]) -> np.ndarray:
    """(n, len(patterns)) 0/1: does each sentence match each theme's cues."""
    flags = np.zeros((len(sentences), len(patterns)), np.float32)
    for j, pattern in enumerate(patterns):
        if pattern is None:
            continue
        for i, sentence in enumerate(sentences):
            if pattern.search(sentence):
                flags[i, j] = 1.0
    return flags


def features(
    sentences: Sequence[str], embeddings: np.ndarray, patterns: Sequence[re.Pattern[str] | None]
) -> np.ndarray:
    """The head's input: the unit-length embedding, then the scaled cue flags."""
    return np.hstack([embeddings.astype(np.float32), CUE_SCALE * cue_flags(sentences, patterns)])


def ngram_terms(sentence: str) -> list[str]:
    """Lower-cased words of two or more characters and the pairs of adjacent ones."""
    words = _WORD.findall(sentence.lower())
    return words + [f"{a} {b}" for a, b in pairwise(words)]


@dataclass
class NgramVectorizer:
    """TF-IDF over word unigrams and bigrams: (1 + log tf) x idf, each row scaled to unit length
    and then by `scale`; terms outside the vocabulary are dropped."""

    vocabulary: dict[str, int]
    idf: np.ndarray  # (terms,) float32
    scale: float

    @classmethod
    def fit(cls, sentences: Sequence[str], min_df: int, scale: float) -> NgramVectorizer:
        df: dict[str, int] = {}
        for sentence in sentences:
            for term in set(ngram_terms(sentence)):
                df[term] = df.get(term, 0) + 1
        terms = sorted(t for t, n in df.items() if n >= min_df)
        counts = np.array([df[t] for t in terms], np.float64)
        idf = np.log((1.0 + len(sentences)) / (1.0 + counts)) + 1.0
        return cls({t: i for i, t in enumerate(terms)}, idf.astype(np.float32), scale)

    def __len__(self) -> int:
        return len(self.vocabulary)

    def rows(self, sentences: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per sentence, the (term indices, values) of its non-zero entries."""
        out = []
        for sentence in sentences:
            tf: dict[int, int] = {}
            for term in ngram_terms(sentence):
                index = self.vocabulary.get(term)
                if index is not None:
                    tf[index] = tf.get(index, 0) + 1
            columns = np.fromiter(tf.keys(), np.int64, len(tf))
            values = (1.0 + np.log(np.fromiter(tf.values(), np.float64, len(tf)))) * self.idf[
                columns
            ]
            norm = float(np.sqrt((values**2).sum()))
            out.append(
                (columns, (self.scale * values / norm if norm else values).astype(np.float32))
            )
        return out

    def logits(self, sentences: Sequence[str], weights: np.ndarray) -> np.ndarray:
        """(sentences, themes): the n-gram part of each theme's logit; `weights` is (themes,
        terms)."""
        out = np.zeros((len(sentences), weights.shape[0]), np.float32)
        for i, (columns, values) in enumerate(self.rows(sentences)):
            if len(columns):
                out[i] = weights[:, columns] @ values
        return out


@dataclass
class NeighbourMemory:
    """Labeled sentences a head votes with: each query's `k` most similar rows (cosine of unit
    embeddings) vote for each theme, weighted by exp(similarity / temperature) times the row's
    training weight, among the rows whose label for that theme is known."""

    embeddings: np.ndarray  # (rows, dim) unit length; saved as float16
    labels: np.ndarray  # (rows, themes) 0/1
    known: np.ndarray  # (rows, themes) 0/1
    weight: np.ndarray  # (rows,)
    k: int
    temperature: float
    blend: float  # probability = (1 - blend) * head + blend * vote

    def __post_init__(self) -> None:
        # float32 once, not per call: the analyzer votes once per batch of sentences
        self.embeddings = np.asarray(self.embeddings, np.float32)
        self.labels = np.asarray(self.labels, np.float32)
        self.known = np.asarray(self.known, np.float32)
        self.weight = np.asarray(self.weight, np.float32)

    def votes(self, embeddings: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
        """(queries, themes) in [0, 1]; `exclude` (queries, rows) bool masks rows a query may
        not vote with (the training recipe's out-of-fold votes)."""
        memory, labels, known = self.embeddings, self.labels, self.known
        out = np.zeros((len(embeddings), labels.shape[1]), np.float32)
        k = min(self.k, len(memory))
        if k == 0:
            return out
        for start in range(0, len(embeddings), 512):  # bounds the similarity matrix's size
            sims = embeddings[start : start + 512].astype(np.float32) @ memory.T
            if exclude is not None:
                sims[exclude[start : start + 512]] = -np.inf
            top = np.argpartition(sims, -k, axis=1)[:, -k:]  # unordered k largest
            near = np.take_along_axis(sims, top, axis=1)
            finite = np.isfinite(near)
            scaled = np.where(finite, near - near.max(axis=1, keepdims=True), 0.0)
            w = np.where(finite, np.exp(scaled / self.temperature), 0.0) * self.weight[top]
            numerator = np.einsum("qk,qkt->qt", w, labels[top] * known[top])
            denominator = np.einsum("qk,qkt->qt", w, known[top])
            out[start : start + 512] = np.divide(
                numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0
            )
        return out

    def blended(
        self, probs: np.ndarray, embeddings: np.ndarray, exclude: np.ndarray | None = None
    ) -> np.ndarray:
        """`probs` mixed with the vote (`exclude` as in `votes`)."""
        votes = self.votes(embeddings, exclude)
        return np.asarray((1.0 - self.blend) * probs + self.blend * votes)


def apply_exclusive_pairs(
    scores: dict[str, float], pairs: Sequence[Sequence[str]]
) -> dict[str, float]:
    """Of two themes that rarely go together (easing vs tightening), keep the more probable."""
    for first, second in pairs:
        if first in scores and second in scores:
            del scores[first if scores[first] < scores[second] else second]
    return scores


def apply_pair_heads(
    probs: np.ndarray, second_side: np.ndarray, pairs: Sequence[tuple[int, int]]
) -> np.ndarray:
    """`probs` with, for pair k = (first, second), the second theme's column scaled by
    `second_side[:, k]` (P(second | one of the two)) and the first's by its complement."""
    out = np.array(probs, dtype=np.float64)
    for k, (first, second) in enumerate(pairs):
        out[:, second] *= second_side[:, k]
        out[:, first] *= 1.0 - second_side[:, k]
    return out


def file_sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class TrainedHead:
    """The arrays and metadata of `models/themes/head.{npz,json}`."""

    theme_ids: list[str]  # one row of weights per theme
    cue_theme_ids: list[str]  # order of the cue-flag features
    weights: np.ndarray  # (themes, dim + cues) float32
    bias: np.ndarray  # (themes,) float32
    thresholds: np.ndarray  # (themes,) float32
    background: np.ndarray  # (n, dim) float16: embeddings user themes are told apart from
    meta: dict[str, Any]
    # weights' last len(ngrams) columns read the n-grams; None: embedding and cues only
    ngrams: NgramVectorizer | None = None
    memory: NeighbourMemory | None = None  # None: the logistic regressions alone
    # confusable pairs (first, second) told apart by their own regressions: row k of
    # pair_weights gives P(second | one of the two) on the same features as `weights`
    pairs: list[tuple[str, str]] = field(default_factory=list)
    pair_weights: np.ndarray | None = None  # (pairs, features) float32
    pair_bias: np.ndarray | None = None  # (pairs,) float32

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {
            "weights": self.weights.astype(np.float32),
            "bias": self.bias.astype(np.float32),
            "thresholds": self.thresholds.astype(np.float32),
            "background": self.background.astype(np.float16),
        }
        meta = {**self.meta, "theme_ids": self.theme_ids, "cue_theme_ids": self.cue_theme_ids}
        if self.ngrams is not None:
            terms = sorted(self.ngrams.vocabulary, key=self.ngrams.vocabulary.__getitem__)
            arrays["ngram_terms"] = np.array(terms, dtype=str)
            arrays["ngram_idf"] = self.ngrams.idf.astype(np.float32)
            meta["ngram_scale"] = self.ngrams.scale
        if self.memory is not None:
            arrays["memory_embeddings"] = self.memory.embeddings.astype(np.float16)
            arrays["memory_labels"] = self.memory.labels.astype(np.uint8)
            arrays["memory_known"] = self.memory.known.astype(np.uint8)
            arrays["memory_weight"] = self.memory.weight.astype(np.float32)
            meta["neighbours"] = {
                "k": self.memory.k,
                "temperature": self.memory.temperature,
                "blend": self.memory.blend,
            }
        if self.pairs and self.pair_weights is not None and self.pair_bias is not None:
            arrays["pair_weights"] = self.pair_weights.astype(np.float32)
            arrays["pair_bias"] = self.pair_bias.astype(np.float32)
            meta["pair_heads"] = [list(pair) for pair in self.pairs]
        # numpy's stubs type **kwds like its allow_pickle flag
        np.savez_compressed(directory / "head.npz", **arrays)  # type: ignore[arg-type]
        (directory / "head.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> TrainedHead:
        missing = [str(directory / name) for name in HEAD_FILES if not (directory / name).is_file()]
        if missing:
            raise ConfigError(
                f"theme head missing: {', '.join(missing)} (run `nlp-pipeline train themes`)"
            )
        try:
            meta = json.loads((directory / "head.json").read_text(encoding="utf-8"))
            ngrams = None
            memory = None
            pairs = [(str(a), str(b)) for a, b in meta.get("pair_heads", [])]
            pair_weights = pair_bias = None
            with np.load(directory / "head.npz", allow_pickle=False) as arrays:
                weights, bias = arrays["weights"], arrays["bias"]
                thresholds, background = arrays["thresholds"], arrays["background"]
                if "ngram_terms" in arrays:
                    vocabulary = [str(t) for t in arrays["ngram_terms"]]
                    ngrams = NgramVectorizer(
                        {t: i for i, t in enumerate(vocabulary)},
                        arrays["ngram_idf"].astype(np.float32),
                        float(meta["ngram_scale"]),
                    )
                if "memory_embeddings" in arrays:
                    settings = meta["neighbours"]
                    memory = NeighbourMemory(
                        arrays["memory_embeddings"],
                        arrays["memory_labels"],
                        arrays["memory_known"],
                        arrays["memory_weight"],
                        int(settings["k"]),
                        float(settings["temperature"]),
                        float(settings["blend"]),
                    )
                if pairs:
                    pair_weights, pair_bias = arrays["pair_weights"], arrays["pair_bias"]
            theme_ids, cue_ids = list(meta["theme_ids"]), list(meta["cue_theme_ids"])
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"bad theme head in {directory}: {exc}") from None
        if weights.shape[0] != len(theme_ids) or bias.shape[0] != len(theme_ids):
            raise ConfigError(f"bad theme head in {directory}: weights do not match theme_ids")
        terms = len(ngrams) if ngrams is not None else 0
        if (ngrams is not None and len(ngrams.idf) != terms) or weights.shape[1] != (
            background.shape[1] + len(cue_ids) + terms
        ):
            raise ConfigError(
                f"bad theme head in {directory}: weights have {weights.shape[1]} columns, not "
                f"embedding {background.shape[1]} + cues {len(cue_ids)} + n-grams {terms}"
            )
        if memory is not None and (
            memory.embeddings.shape[1] != background.shape[1]
            or memory.labels.shape != (len(memory.embeddings), len(theme_ids))
            or memory.known.shape != memory.labels.shape
            or memory.weight.shape != (len(memory.embeddings),)
        ):
            raise ConfigError(
                f"bad theme head in {directory}: the neighbour memory's arrays do not match "
                f"{len(theme_ids)} themes of {background.shape[1]}-dimensional embeddings"
            )
        if pairs and (
            pair_weights is None
            or pair_bias is None
            or pair_weights.shape != (len(pairs), weights.shape[1])
            or pair_bias.shape != (len(pairs),)
            or not {t for pair in pairs for t in pair} <= set(theme_ids)
        ):
            raise ConfigError(
                f"bad theme head in {directory}: pair_heads {pairs} do not match the pair "
                "arrays or the theme ids"
            )
        return cls(
            theme_ids,
            cue_ids,
            weights,
            bias,
            thresholds,
            background,
            meta,
            ngrams,
            memory,
            pairs,
            pair_weights,
            pair_bias,
        )

    def logits(
        self,
        sentences: Sequence[str],
        embeddings: np.ndarray,
        patterns: Sequence[re.Pattern[str] | None],
    ) -> np.ndarray:
        """(sentences, themes) logits, then one column per pair head; `patterns` are the cue
        patterns of `cue_theme_ids`."""
        weights, bias = self.weights, self.bias
        if self.pairs and self.pair_weights is not None and self.pair_bias is not None:
            weights = np.vstack([weights, self.pair_weights])
            bias = np.concatenate([bias, self.pair_bias])
        x = features(sentences, embeddings, patterns)
        dense = x.shape[1]
        out = x @ weights[:, :dense].T + bias
        if self.ngrams is not None:
            out += self.ngrams.logits(sentences, weights[:, dense:])
        return np.asarray(out)

    def probabilities(
        self,
        sentences: Sequence[str],
        embeddings: np.ndarray,
        patterns: Sequence[re.Pattern[str] | None],
    ) -> np.ndarray:
        """(sentences, themes): the logistic regressions' probabilities, blended with the
        neighbours' vote when the head carries a memory, then scaled by the pair heads;
        `thresholds` apply to these."""
        logits = self.logits(sentences, embeddings, patterns)
        themes = len(self.theme_ids)
        probs = sigmoid(logits[:, :themes])
        if self.memory is not None:
            probs = self.memory.blended(probs, embeddings)
        if self.pairs:
            index = {theme_id: j for j, theme_id in enumerate(self.theme_ids)}
            pairs = [(index[a], index[b]) for a, b in self.pairs]
            probs = apply_pair_heads(probs, sigmoid(logits[:, themes:]), pairs)
        return probs

    @property
    def kind(self) -> str:
        """The head's version name: `embedding-4` adds pair heads to `embedding-3`, which votes
        with neighbours and reads n-grams, `embedding-2` reads n-grams, `embedding-1` neither."""
        if self.pairs:
            return "embedding-4"
        if self.memory is not None:
            return "embedding-3"
        return "embedding-1" if self.ngrams is None else "embedding-2"

    @property
    def digest(self) -> str:
        digest = hashlib.sha1()
        arrays = [self.weights, self.bias, self.thresholds]
        if self.memory is not None:
            memory = self.memory
            arrays += [memory.embeddings, memory.labels, memory.known, memory.weight]
            arrays.append(np.array([memory.k, memory.temperature, memory.blend]))
        if self.pairs and self.pair_weights is not None and self.pair_bias is not None:
            arrays += [self.pair_weights, self.pair_bias]
            index = {theme_id: j for j, theme_id in enumerate(self.theme_ids)}
            arrays.append(np.array([index[t] for pair in self.pairs for t in pair]))
        for array in arrays:
            digest.update(np.ascontiguousarray(array, np.float32).tobytes())
        return digest.hexdigest()[:8]


@dataclass
class _UserTheme:
    theme: Theme
    pattern: re.Pattern[str] | None
    coef: np.ndarray | None = None  # None until fitted (or when the theme has no examples)
    intercept: float = 0.0


class EmbeddingThemeHead:
    """Multi-label theme tagging from the shared encoder pass (see the module docstring)."""

    def __init__(
        self,
        head: TrainedHead,
        core_themes: Sequence[Theme],
        user_themes: Sequence[Theme] = (),
        encoder_dir: Path | None = None,
        taxonomy_digest: str = "",
        encoder: SentenceEncoder | None = None,
    ) -> None:
        self.head = head
        self.encoder_dir = encoder_dir
        self.encoder = encoder  # encodes user themes' examples (the analyzer's shared encoder)
        core_by_id = {t.id: t for t in core_themes}
        unknown = [i for i in head.cue_theme_ids if i not in core_by_id]
        if unknown:
            raise ConfigError(f"theme head names themes not in the taxonomy: {', '.join(unknown)}")
        self._cue_patterns = [cue_pattern(core_by_id[i].keywords) for i in head.cue_theme_ids]
        replaced = {t.id for t in user_themes}
        self._trained = [
            (row, theme_id)
            for row, theme_id in enumerate(head.theme_ids)
            if theme_id not in replaced
        ]
        self._user = [_UserTheme(t, cue_pattern(t.keywords)) for t in user_themes]
        self._user_fitted = False
        self.theme_ids = [theme_id for _, theme_id in self._trained] + [t.id for t in user_themes]
        self.version = f"{head.kind}+{head.digest}" + (f"+{taxonomy_digest}" if user_themes else "")

    @classmethod
    def from_models_dir(
        cls,
        models_dir: Path,
        extra_taxonomies: Sequence[Path] = (),
        encoder_dir: Path | None = None,
        check_encoder: bool = True,
        encoder: SentenceEncoder | None = None,
        core_path: Path | None = None,
    ) -> EmbeddingThemeHead:
        core_path = core_path or models_dir / "themes" / "taxonomy.yaml"
        core, _ = load_taxonomy([core_path])
        _, digest = load_taxonomy([core_path, *extra_taxonomies])
        core_by_id = {t.id: t for t in core}
        user: dict[str, Theme] = {}
        for path in extra_taxonomies:
            themes, _ = load_taxonomy([path])
            user.update({t.id: t for t in themes if core_by_id.get(t.id) != t})
        head = TrainedHead.load(models_dir / "themes")
        if encoder_dir is None:
            encoder_dir = encoder.model_dir if encoder is not None else models_dir / "sentiment"
        trained_on = head.meta.get("encoder", {}).get("sha1")
        onnx = encoder_dir / "model.onnx"
        if check_encoder and trained_on and onnx.is_file() and file_sha1(onnx) != trained_on:
            raise ConfigError(
                f"the theme head in {models_dir / 'themes'} was trained on another encoder than "
                f"{onnx}; run `nlp-pipeline train themes` to retrain it (seconds)"
            )
        return cls(head, core, list(user.values()), encoder_dir, digest, encoder)

    def predict(
        self, sentences: Sequence[str], encoded: EncodedSentences
    ) -> list[dict[str, float]]:
        if len(sentences) != len(encoded):
            raise ValueError(f"{len(sentences)} sentences but {len(encoded)} encoded rows")
        out: list[dict[str, float]] = [{} for _ in sentences]
        if not sentences:
            return out
        head = self.head
        probs = head.probabilities(sentences, encoded.embeddings, self._cue_patterns)
        for row, theme_id in self._trained:
            for hit in np.nonzero(probs[:, row] >= head.thresholds[row])[0]:
                out[int(hit)][theme_id] = round(float(probs[hit, row]), 4)
        pairs = head.meta.get("exclusive_pairs", [])
        if pairs:
            out = [apply_exclusive_pairs(scores, pairs) for scores in out]
        if self._user:
            self._fit_user_themes()
            for user in self._user:
                for i, score in self._user_scores(user, sentences, encoded.embeddings):
                    out[i][user.theme.id] = score
        return out

    def _user_scores(
        self, user: _UserTheme, sentences: Sequence[str], embeddings: np.ndarray
    ) -> list[tuple[int, float]]:
        hits = cue_flags(sentences, [user.pattern])[:, 0]
        if user.coef is None:  # cues only
            return [(int(i), 0.75) for i in np.nonzero(hits)[0]]
        logits = embeddings.astype(np.float32) @ user.coef + user.intercept + USER_CUE_LOGIT * hits
        probs = sigmoid(logits)
        return [(int(i), round(float(probs[i]), 4)) for i in np.nonzero(probs >= USER_THRESHOLD)[0]]

    def _fit_user_themes(self) -> None:
        if self._user_fitted:
            return
        with_examples = [u for u in self._user if u.theme.examples]
        if with_examples:
            encoder = self.encoder
            if encoder is None:
                if self.encoder_dir is None:
                    raise ConfigError("user themes with examples need the sentence encoder")
                encoder = self.encoder = SentenceEncoder(self.encoder_dir, cache_size=10_000)
            background = self.head.background.astype(np.float32)
            for user in with_examples:
                positives = list(user.theme.examples)
                if user.theme.description:
                    positives.append(user.theme.description)
                negatives = [text for text, _ in user.theme.counter_examples]
                user.coef, user.intercept = fit_user_theme(
                    encoder.encode(positives).embeddings,
                    np.vstack([background, encoder.encode(negatives).embeddings])
                    if negatives
                    else background,
                )
        self._user_fitted = True


def fit_user_theme(positives: np.ndarray, negatives: np.ndarray) -> tuple[np.ndarray, float]:
    """A logistic regression telling a few examples apart from the background, both classes
    weighted to the same total (so eight examples count as much as two thousand others)."""
    x = np.vstack([positives, negatives]).astype(np.float32)
    y = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))])
    weight = np.concatenate(
        [
            np.full(len(positives), 1.0 / len(positives)),
            np.full(len(negatives), 1.0 / len(negatives)),
        ]
    ) * (len(x) / 2.0)
    return fit_logistic(x, y, weight, USER_L2)
