"""Components assembled by name from models/pipeline.yaml (nlp_pipeline/nlp/registry.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.nlp import Analyzer, default_models_dir
from nlp_pipeline.nlp.registry import create, load_pipeline_config, register, registered


def test_shipped_config_names_registered_components() -> None:
    config = load_pipeline_config(default_models_dir() / "pipeline.yaml")
    for kind, section in config.items():
        assert section["factory"] in registered(kind), kind


def test_unknown_factory_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no themes component named 'nope'.*keyword_themes"):
        create("themes", "nope", tmp_path, {})


def test_bad_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text("encoder: {factory: onnx_encoder}\nsentiment: oops\n")
    with pytest.raises(ConfigError, match=r"pipeline\.yaml: sentiment"):
        load_pipeline_config(path)
    path.write_text("encoder: {factory: x}\nspeling: {factory: y}\n")
    with pytest.raises(ConfigError, match="unknown component kinds"):
        load_pipeline_config(path)


def test_a_registered_head_is_swapped_in_by_config(tmp_path: Path) -> None:
    class EveryoneIsAboutEarnings:
        version = "earnings-only-1"

        def predict(self, sentences: object, encoded: object) -> list[dict[str, float]]:
            return [{"earnings": 0.9} for _ in sentences]  # type: ignore[attr-defined]

    register("themes", "earnings_only_test")(lambda models_dir, options: EveryoneIsAboutEarnings())
    shipped = (default_models_dir() / "pipeline.yaml").read_text()
    custom = tmp_path / "pipeline.yaml"
    custom.write_text(shipped.replace("factory: embedding_themes", "factory: earnings_only_test"))
    analyzer = Analyzer(pipeline_config=custom)
    result = analyzer.analyze("The Fed cut rates.\nOil fell.")
    assert [t.id for t in result.themes] == ["earnings"]
    assert result.themes[0].evidence == [0, 1]
    assert "themes=earnings-only-1" in analyzer.version_key
