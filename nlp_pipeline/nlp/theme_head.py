"""The trained multi-label theme head over the shared encoder's sentence embeddings.

One logistic regression per core theme reads the sentence embedding plus the cue-pattern flags of
every core theme (`models/themes/head.npz`, made by `nlp-pipeline train themes`), with a decision
threshold per theme calibrated on the team dev split. A user theme (`--themes FILE`) needs no
retraining: its examples (and definition) are encoded once, on first use, and a small logistic
regression separates them from a background of shipped sentence embeddings of other narratives;
a user theme with only cue patterns is tagged by its cues. A user theme with a core id replaces
the trained head for that id. Numpy only at run time.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.nlp.encoder import EncodedSentences, SentenceEncoder
from nlp_pipeline.nlp.themes import Theme, cue_pattern, load_taxonomy

HEAD_FILES = ("head.npz", "head.json")
CUE_SCALE = 2.0  # cue flags enter the features at this scale (the embedding has unit length)
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


def apply_exclusive_pairs(
    scores: dict[str, float], pairs: Sequence[Sequence[str]]
) -> dict[str, float]:
    """Of two themes that rarely go together (easing vs tightening), keep the more probable."""
    for first, second in pairs:
        if first in scores and second in scores:
            del scores[first if scores[first] < scores[second] else second]
    return scores


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

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            directory / "head.npz",
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            thresholds=self.thresholds.astype(np.float32),
            background=self.background.astype(np.float16),
        )
        meta = {**self.meta, "theme_ids": self.theme_ids, "cue_theme_ids": self.cue_theme_ids}
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
            with np.load(directory / "head.npz") as arrays:
                weights, bias = arrays["weights"], arrays["bias"]
                thresholds, background = arrays["thresholds"], arrays["background"]
            theme_ids, cue_ids = list(meta["theme_ids"]), list(meta["cue_theme_ids"])
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"bad theme head in {directory}: {exc}") from None
        if weights.shape[0] != len(theme_ids) or bias.shape[0] != len(theme_ids):
            raise ConfigError(f"bad theme head in {directory}: weights do not match theme_ids")
        return cls(theme_ids, cue_ids, weights, bias, thresholds, background, meta)

    @property
    def digest(self) -> str:
        digest = hashlib.sha1()
        for array in (self.weights, self.bias, self.thresholds):
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
        self.version = f"embedding-1+{head.digest}" + (f"+{taxonomy_digest}" if user_themes else "")

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
        x = features(sentences, encoded.embeddings, self._cue_patterns)
        head = self.head
        probs = sigmoid(x @ head.weights.T + head.bias)
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
