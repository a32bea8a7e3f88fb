"""Read a YAML file with errors that name the file, the line and the column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from nlp_pipeline.errors import ConfigError


def yaml_error_message(path: str | Path, exc: yaml.YAMLError) -> str:
    """`feeds.yaml line 3, column 7: mapping values are not allowed here`, not
    PyYAML's `in "<unicode string>"`."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    where = f"{path} line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
    return f"{where}: invalid YAML: {problem}" + (f" ({context})" if context else "")


# libyaml's loader where PyYAML was built with it (its wheels are): the same documents, types
# and error marks, about ten times faster on the taxonomy and alias tables `tag` loads at start.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str | bytes) -> Any:
    """`yaml.safe_load`, with libyaml when available."""
    return yaml.load(text, Loader=_SAFE_LOADER)


def parse_yaml(text: str | bytes, path: str | Path) -> Any:
    """Parse YAML already read from `path`; a syntax error names the file and position."""
    try:
        return safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(yaml_error_message(path, exc)) from None


def load_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file; a missing file or bad syntax is a `ConfigError`."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_yaml(raw, path)
