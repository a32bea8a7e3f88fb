"""Choosing the NLP stage's config (nlp_pipeline/nlp/analyzer.py: `pipeline_file`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.nlp.analyzer import pipeline_file


def test_a_name_picks_the_models_folders_named_pipeline(tmp_path: Path) -> None:
    (tmp_path / "pipeline.yaml").write_text("{}")
    (tmp_path / "pipeline-accurate.yaml").write_text("{}")
    (tmp_path / "pipeline-fast.yaml").write_text("{}")
    assert pipeline_file(tmp_path, "accurate") == tmp_path / "pipeline-accurate.yaml"
    own = tmp_path / "elsewhere.yaml"
    own.write_text("{}")
    assert pipeline_file(tmp_path, str(own)) == own
    with pytest.raises(ConfigError, match=r"no pipeline 'precise'.*: accurate, fast\)"):
        pipeline_file(tmp_path, "precise")
