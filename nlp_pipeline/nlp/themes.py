"""Market-narrative (theme) tagging of sentences: the taxonomy and the rule-based stand-in.

`load_taxonomy` reads the core taxonomy and user theme files; `KeywordThemeClassifier` is the
rule-based stand-in that matches each theme's keyword (cue) patterns. The trained classifier over
the shared encoder's embeddings lives in `nlp_pipeline.nlp.theme_head`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.nlp.encoder import EncodedSentences
from nlp_pipeline.nlp.registry import register
from nlp_pipeline.yamlfile import parse_yaml

_THEME_ID = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


@dataclass(frozen=True)
class Theme:
    id: str
    name: str
    description: str
    keywords: tuple[str, ...]  # cue patterns (regular expressions)
    examples: tuple[str, ...] = ()
    # (sentence, the themes it does belong to): a negative for this theme, easily confused with it
    counter_examples: tuple[tuple[str, tuple[str, ...]], ...] = ()


def cue_pattern(keywords: Sequence[str]) -> re.Pattern[str] | None:
    """One case-insensitive whole-word pattern for a theme's cues (None when it has none)."""
    if not keywords:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(keywords) + r")(?!\w)", re.IGNORECASE)


def _strings(value: object, where: str, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: {what} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _counter_examples(value: object, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"{where}: counter_examples must be a list of {{text, themes}}")
    out: list[tuple[str, tuple[str, ...]]] = []
    for position, item in enumerate(value):
        if isinstance(item, str) and item.strip():
            out.append((item.strip(), ()))
            continue
        text = item.get("text") if isinstance(item, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"{where}: counter_examples[{position}] needs a non-empty text")
        themes = _strings(item.get("themes"), f"{where}: counter_examples[{position}]", "themes")
        out.append((text.strip(), themes))
    return tuple(out)


def load_taxonomy(paths: Sequence[Path]) -> tuple[list[Theme], str]:
    """Themes from the core taxonomy plus user files (later files add or replace by id),
    and a digest of their contents for model versioning."""
    themes: dict[str, Theme] = {}
    digest = hashlib.sha1()
    for path in paths:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot load themes file {path}: {exc.strerror or exc}") from None
        data = parse_yaml(raw, path)
        digest.update(raw)
        if not isinstance(data, dict) or not isinstance(data.get("themes"), list):
            raise ConfigError(f"{path}: expected a top-level 'themes:' list")
        for position, item in enumerate(data["themes"]):
            where = f"{path}: themes[{position}]"
            if not isinstance(item, dict):
                raise ConfigError(f"{where}: expected a mapping with id, description and examples")
            theme_id = item.get("id")
            if not isinstance(theme_id, str) or not _THEME_ID.match(theme_id):
                raise ConfigError(f"{where}.id: expected a snake_case id, got {theme_id!r}")
            where = f"{where} ({theme_id})"
            keywords = item.get("keywords", item.get("cues"))
            examples = _strings(item.get("examples"), where, "examples")
            if keywords is None and not examples:
                raise ConfigError(f"{where}: needs examples (a handful works) or keywords")
            if keywords is not None and (not isinstance(keywords, list) or not keywords):
                raise ConfigError(f"{where}: keywords must be a non-empty list")
            keywords = keywords or []
            for keyword in keywords:
                try:
                    re.compile(str(keyword))
                except re.error as exc:
                    raise ConfigError(f"{where}: bad keyword {keyword!r}: {exc}") from None
            themes[theme_id] = Theme(
                theme_id,
                str(item.get("name", theme_id)),
                str(item.get("description", "")),
                tuple(str(k) for k in keywords),
                examples,
                _counter_examples(item.get("counter_examples"), where),
            )
    return list(themes.values()), digest.hexdigest()[:8]


class ThemeClassifier(Protocol):
    version: str
    theme_ids: list[str]

    def predict(
        self, sentences: Sequence[str], encoded: EncodedSentences
    ) -> list[dict[str, float]]:
        """For each sentence, the themes it speaks to with a confidence in [0, 1]."""
        ...


class KeywordThemeClassifier:
    """Stand-in: a theme applies to a sentence when one of its keyword patterns matches."""

    def __init__(self, themes: Sequence[Theme], digest: str) -> None:
        self.version = f"keywords-1+{digest}"
        self.themes = list(themes)
        self.theme_ids = [t.id for t in self.themes]
        self._patterns = [
            (t.id, pattern) for t in self.themes if (pattern := cue_pattern(t.keywords))
        ]

    def predict(
        self, sentences: Sequence[str], encoded: EncodedSentences | None = None
    ) -> list[dict[str, float]]:
        out = []
        for sentence in sentences:
            scores: dict[str, float] = {}
            for theme_id, pattern in self._patterns:
                hits = len(pattern.findall(sentence))
                if hits:
                    scores[theme_id] = round(1.0 - 0.5 ** (hits + 1), 4)
            out.append(scores)
        return out


def describe_theme(theme: Theme, core: bool) -> dict[str, object]:
    """A theme as `nlp-pipeline themes list|explain` shows it."""
    return {
        "id": theme.id,
        "name": theme.name,
        "definition": theme.description,
        "source": "core" if core else "user",
        "examples": list(theme.examples),
        "counter_examples": [
            {"text": text, "themes": list(belongs)} for text, belongs in theme.counter_examples
        ],
        "cues": list(theme.keywords),
    }


def theme_catalog(models_dir: Path, extra: Sequence[Path] = ()) -> list[dict[str, object]]:
    """Every theme the analyzer knows: the core taxonomy, then user files' additions."""
    core_path = models_dir / "themes" / "taxonomy.yaml"
    core = {t.id: t for t in load_taxonomy([core_path])[0]}
    themes, _ = load_taxonomy([core_path, *extra])
    return [describe_theme(t, core.get(t.id) == t) for t in themes]


def taxonomy_paths(models_dir: Path, options: Mapping[str, Any]) -> list[Path]:
    """The core taxonomy named in the pipeline config, then the user's `--themes` files."""
    core = models_dir / str(options.get("taxonomy", "themes/taxonomy.yaml"))
    return [core, *(Path(p) for p in options.get("extra_taxonomies", ()))]


@register("themes", "keyword_themes")
def _keyword_themes(models_dir: Path, options: Mapping[str, Any]) -> KeywordThemeClassifier:
    themes, digest = load_taxonomy(taxonomy_paths(models_dir, options))
    return KeywordThemeClassifier(themes, digest)


@register("themes", "embedding_themes")
def _embedding_themes(models_dir: Path, options: Mapping[str, Any]) -> ThemeClassifier:
    """The trained head over the shared encoder's embeddings (nlp_pipeline/nlp/theme_head.py)."""
    from nlp_pipeline.nlp.theme_head import EmbeddingThemeHead

    core, *extra = taxonomy_paths(models_dir, options)
    return EmbeddingThemeHead.from_models_dir(
        models_dir, extra, encoder=options.get("encoder"), core_path=core
    )
