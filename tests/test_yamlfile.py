from __future__ import annotations

from pathlib import Path

import pytest

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.yamlfile import load_yaml


def test_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("a: 1\nb: [2\nc: 3\n")
    with pytest.raises(ConfigError) as caught:
        load_yaml(path)
    message = str(caught.value)
    assert message.startswith(f"{path} line 3, column 2: invalid YAML: ")
    assert "<unicode string>" not in message


def test_missing_file_and_good_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found: .*nope.yaml"):
        load_yaml(tmp_path / "nope.yaml")
    good = tmp_path / "good.yaml"
    good.write_text("feeds: [1, 2]\n")
    assert load_yaml(good) == {"feeds": [1, 2]}
