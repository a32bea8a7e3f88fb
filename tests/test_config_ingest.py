"""The network settings added for ingestion, read from feeds.yaml and validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp_pipeline.config import load_config
from nlp_pipeline.errors import ConfigError


def write(tmp_path: Path, settings: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(f"settings:\n{settings}\nfeeds:\n  - id: a\n    url: https://x.test/f\n")
    return path


def test_transport_settings_are_read(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "  allowed_private_networks: ['10.0.0.0/8', '127.0.0.1/32']\n"
            "  total_timeout_s: 30\n  max_parallel_hosts: 4\n  respect_robots_txt: false",
        )
    )
    settings = config.settings
    assert settings.allowed_private_networks == ("10.0.0.0/8", "127.0.0.1/32")
    assert (settings.total_timeout_s, settings.max_parallel_hosts) == (30.0, 4)
    assert settings.respect_robots_txt is False


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("  allowed_private_networks: ['not-a-network']", "'not-a-network' is not a network"),
        ("  allowed_private_networks: 10.0.0.0/8", "expected tuple"),
        ("  max_parallel_hosts: 0", "max_parallel_hosts >= 1"),
        ("  total_timeout_s: 0", "total_timeout_s must be > 0"),
    ],
)
def test_bad_transport_settings_name_the_field(tmp_path: Path, settings: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, settings))
