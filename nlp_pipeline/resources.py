"""Where the tool finds its shipped files: the models, a feeds file and the demo feed.

Each is looked up in this order (the first that exists wins):

1. the working directory: `./models/`, `./feeds.yaml`, `./examples/demo/`;
2. the environment: `$NLP_PIPELINE_MODELS`, `$NLP_PIPELINE_FEEDS`, `$NLP_PIPELINE_DEMO`
   (a variable that is set must point at something that exists);
3. the package: the copies shipped inside the wheel (`nlp_pipeline/_data/`), or, in a source
   checkout (`pip install -e .`), the checkout's own `models/`, `feeds.yaml` and `examples/demo/`.

Command-line options (`--config`, `--db`) come before all three.
"""

from __future__ import annotations

import os
from pathlib import Path

from nlp_pipeline.errors import ConfigError

MODELS_ENV_VAR = "NLP_PIPELINE_MODELS"
FEEDS_ENV_VAR = "NLP_PIPELINE_FEEDS"
DEMO_ENV_VAR = "NLP_PIPELINE_DEMO"

# Filled by the wheel build (setup.py copies models/, feeds.yaml and examples/demo/ here).
PACKAGE_DATA = Path(__file__).resolve().parent / "_data"
# The source checkout this package sits in, when it is not an installed wheel.
CHECKOUT = Path(__file__).resolve().parent.parent

MODELS_MARKER = Path("entities") / "aliases.yaml"  # a folder without it is not a models folder
DEMO_MARKER = Path("feed.xml")


def _packaged(relative: Path, marker: Path | None = None) -> Path | None:
    for root in (PACKAGE_DATA, CHECKOUT):
        candidate = root / relative
        if (candidate / marker if marker else candidate).is_file():
            return candidate
    return None


def _resolve(relative: Path, env_var: str, marker: Path | None, what: str) -> Path:
    local = Path(relative)
    if (local / marker if marker else local).is_file():
        return local
    env = os.environ.get(env_var)
    if env:
        path = Path(env)
        if not (path / marker if marker else path).is_file():
            needs = f" (no {marker} in it)" if marker else ""
            raise ConfigError(f"${env_var} points to {path}, which is not {what}{needs}")
        return path
    packaged = _packaged(relative, marker)
    if packaged is None:
        raise ConfigError(
            f"{what} not found: no ./{relative}, ${env_var} is not set, and this install of "
            f"nlp-pipeline ships none (reinstall it, or set ${env_var})"
        )
    return packaged


def models_dir() -> Path:
    """The models folder: ./models, $NLP_PIPELINE_MODELS, or the package's."""
    return _resolve(Path("models"), MODELS_ENV_VAR, MODELS_MARKER, "a models folder")


def feeds_file() -> Path:
    """The feeds file: ./feeds.yaml, $NLP_PIPELINE_FEEDS, or the package's starter file."""
    return _resolve(Path("feeds.yaml"), FEEDS_ENV_VAR, None, "a feeds file")


def demo_dir() -> Path:
    """The offline demo feed folder: ./examples/demo, $NLP_PIPELINE_DEMO, or the package's."""
    return _resolve(Path("examples") / "demo", DEMO_ENV_VAR, DEMO_MARKER, "the demo feed folder")


def packaged_feeds_file() -> Path:
    """The starter feeds file shipped with the package (or the checkout's feeds.yaml)."""
    path = _packaged(Path("feeds.yaml"))
    if path is None:
        raise ConfigError("this install of nlp-pipeline ships no starter feeds.yaml (reinstall it)")
    return path


def init_project(directory: Path, force: bool = False) -> list[Path]:
    """Write a starter `feeds.yaml` and the offline demo feed (`examples/demo/`) into
    `directory`, ready to edit and run. Refuses to overwrite unless `force`. Returns the paths
    written."""
    import shutil

    feeds = directory / "feeds.yaml"
    demo = directory / "examples" / "demo"
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory} exists and is not a folder")
    existing = [p for p in (feeds, demo) if p.exists()]
    if existing and not force:
        names = " and ".join(str(p) for p in existing)
        raise ConfigError(f"{names} already exist(s); use --force to overwrite")
    source_demo = demo_dir().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(packaged_feeds_file(), feeds)
    if source_demo != demo.resolve():
        if demo.exists():
            shutil.rmtree(demo)
        shutil.copytree(source_demo, demo, ignore=shutil.ignore_patterns("__pycache__"))
    return [feeds, demo]
