"""Components of the NLP stage, registered by name and assembled from `models/pipeline.yaml`.

A factory takes the models folder and its options from the config and returns a component:
the `encoder` (a `SentenceEncoder`), the `sentiment` and `themes` heads, and `rotations`.
New components register with `@register("kind", "name")` and are picked by name in the config,
so a head can be swapped without touching the analyzer. Each component has a `version` that is
recorded on every analysis row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.yamlfile import safe_load

Factory = Callable[[Path, Mapping[str, Any]], Any]
KINDS = ("encoder", "sentiment", "themes", "rotations")
_FACTORIES: dict[tuple[str, str], Factory] = {}


def register(kind: str, name: str) -> Callable[[Factory], Factory]:
    if kind not in KINDS:
        raise ValueError(f"unknown component kind {kind!r}; expected one of {KINDS}")

    def decorate(factory: Factory) -> Factory:
        _FACTORIES[(kind, name)] = factory
        return factory

    return decorate


def registered(kind: str) -> list[str]:
    return sorted(name for k, name in _FACTORIES if k == kind)


def create(kind: str, name: str, models_dir: Path, options: Mapping[str, Any]) -> Any:
    factory = _FACTORIES.get((kind, name))
    if factory is None:
        known = ", ".join(registered(kind)) or "none"
        raise ConfigError(f"no {kind} component named {name!r} (registered: {known})")
    return factory(models_dir, options)


def load_pipeline_config(path: Path) -> dict[str, dict[str, Any]]:
    """`{kind: {"factory": name, **options}}` for every kind, validated."""
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot load pipeline config {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of component kinds")
    unknown = sorted(set(data) - set(KINDS))
    if unknown:
        raise ConfigError(f"{path}: unknown component kinds {unknown}; expected {list(KINDS)}")
    config: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        section = data.get(kind)
        if not isinstance(section, dict) or not isinstance(section.get("factory"), str):
            raise ConfigError(f"{path}: {kind}: expected a mapping with a 'factory' name")
        config[kind] = dict(section)
    return config
