"""Lookup order for shipped files: working directory, then environment, then the package."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nlp_pipeline import resources
from nlp_pipeline.errors import ConfigError
from tests.conftest import REPO


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for var in (resources.MODELS_ENV_VAR, resources.FEEDS_ENV_VAR, resources.DEMO_ENV_VAR):
        monkeypatch.delenv(var, raising=False)
    return work


def _models_copy(where: Path) -> Path:
    shutil.copytree(REPO / "models", where)
    return where


def test_package_is_the_fallback(elsewhere: Path) -> None:
    # In a checkout the package's files are the checkout's; in a wheel, nlp_pipeline/_data.
    assert resources.models_dir().resolve() == (REPO / "models").resolve()
    assert resources.feeds_file().resolve() == (REPO / "feeds.yaml").resolve()
    assert resources.demo_dir().resolve() == (REPO / "examples" / "demo").resolve()


def test_environment_comes_before_the_package(
    elsewhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = _models_copy(tmp_path / "env-models")
    feeds = tmp_path / "env-feeds.yaml"
    feeds.write_text("feeds: []\n")
    monkeypatch.setenv(resources.MODELS_ENV_VAR, str(models))
    monkeypatch.setenv(resources.FEEDS_ENV_VAR, str(feeds))
    assert resources.models_dir() == models
    assert resources.feeds_file() == feeds


def test_working_directory_comes_first(
    elsewhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(resources.MODELS_ENV_VAR, str(_models_copy(tmp_path / "env-models")))
    _models_copy(elsewhere / "models")
    (elsewhere / "feeds.yaml").write_text("feeds: []\n")
    assert resources.models_dir() == Path("models")
    assert resources.feeds_file() == Path("feeds.yaml")


def test_a_folder_named_models_without_the_tables_is_not_taken(elsewhere: Path) -> None:
    (elsewhere / "models").mkdir()  # someone's unrelated models/ folder
    assert resources.models_dir().resolve() == (REPO / "models").resolve()


def test_a_variable_pointing_nowhere_is_an_error(
    elsewhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(resources.MODELS_ENV_VAR, str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=r"\$NLP_PIPELINE_MODELS points to .*missing"):
        resources.models_dir()


def test_nothing_anywhere_is_a_clear_error(
    elsewhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources, "PACKAGE_DATA", tmp_path / "no-data")
    monkeypatch.setattr(resources, "CHECKOUT", tmp_path / "no-checkout")
    with pytest.raises(ConfigError, match=r"a models folder not found: no \./models"):
        resources.models_dir()
