"""Market-narrative (theme) tagging of sentences.

`ThemeClassifier` is the interface; `KeywordThemeClassifier` is the rule-based stand-in that
matches each theme's keyword patterns from the taxonomy YAML, until the trained classifier lands.
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
    keywords: tuple[str, ...]


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
                raise ConfigError(f"{where}: expected a mapping with id and keywords")
            theme_id = item.get("id")
            if not isinstance(theme_id, str) or not _THEME_ID.match(theme_id):
                raise ConfigError(f"{where}.id: expected a snake_case id, got {theme_id!r}")
            keywords = item.get("keywords")
            if not isinstance(keywords, list) or not keywords:
                raise ConfigError(f"{where} ({theme_id}): keywords must be a non-empty list")
            for keyword in keywords:
                try:
                    re.compile(str(keyword))
                except re.error as exc:
                    raise ConfigError(
                        f"{where} ({theme_id}): bad keyword {keyword!r}: {exc}"
                    ) from None
            themes[theme_id] = Theme(
                theme_id,
                str(item.get("name", theme_id)),
                str(item.get("description", "")),
                tuple(str(k) for k in keywords),
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
            (t.id, re.compile(r"(?<!\w)(?:" + "|".join(t.keywords) + r")(?!\w)", re.IGNORECASE))
            for t in self.themes
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


def taxonomy_paths(models_dir: Path, options: Mapping[str, Any]) -> list[Path]:
    """The core taxonomy named in the pipeline config, then the user's `--themes` files."""
    core = models_dir / str(options.get("taxonomy", "themes/taxonomy.yaml"))
    return [core, *(Path(p) for p in options.get("extra_taxonomies", ()))]


@register("themes", "keyword_themes")
def _keyword_themes(models_dir: Path, options: Mapping[str, Any]) -> KeywordThemeClassifier:
    themes, digest = load_taxonomy(taxonomy_paths(models_dir, options))
    return KeywordThemeClassifier(themes, digest)
