"""feeds.yaml loading and validation (nlp_pipeline/config.py)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from nlp_pipeline.config import Config, FetchSettings, load_config, parse_duration
from nlp_pipeline.errors import ConfigError
from tests.conftest import REPO

VALID = """\
settings:
  timeout_s: 7
  per_host_delay_s: 0.25
  max_retries: 1
  allow_private_hosts: true
feeds:
  - id: wire-one
    name: Wire One
    url: https://news.example.com/rss.xml
    kind: rss
    poll_interval: 2h
    full_text: false
    tags: [markets, wire]
  - id: local_pages
    url: data/pages.xml
    kind: sitemap
  - id: off.feed
    url: http://other.example.org/atom
    kind: atom
    enabled: false
    poll_interval: 45
"""


def write(tmp_path: Path, text: str, name: str = "feeds.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def one_feed(body: str) -> str:
    return "feeds:\n" + body


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_valid_file_loads_every_field(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    config = load_config(path)
    assert config.path == path
    assert [f.id for f in config.feeds] == ["wire-one", "local_pages", "off.feed"]
    wire, local, off = config.feeds
    assert wire.url == "https://news.example.com/rss.xml"
    assert wire.kind == "rss"
    assert wire.name == "Wire One"
    assert wire.poll_interval_s == 7200
    assert wire.full_text is False
    assert wire.enabled is True
    assert wire.tags == ("markets", "wire")
    assert not wire.is_local
    # Defaults for fields left out.
    assert local.kind == "sitemap"
    assert local.poll_interval_s == 900
    assert local.full_text is True
    assert local.name == ""
    assert local.tags == ()
    assert off.enabled is False
    assert off.poll_interval_s == 45
    assert config.settings == FetchSettings(
        timeout_s=7.0, per_host_delay_s=0.25, max_retries=1, allow_private_hosts=True
    )
    assert isinstance(config.settings.timeout_s, float)


def test_settings_default_when_absent(tmp_path: Path) -> None:
    path = write(tmp_path, one_feed("  - id: a\n    url: https://example.com/f\n"))
    assert load_config(path).settings == FetchSettings()


def test_relative_url_resolves_next_to_the_yaml(tmp_path: Path) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    path = write(sub, VALID)
    local = load_config(path).feed("local_pages")
    assert local.is_local
    assert urlsplit(local.url).scheme == "file"
    assert local.url == (sub / "data" / "pages.xml").resolve().as_uri()


def test_relative_url_is_independent_of_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    write(sub, VALID)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    local = load_config(Path("..") / "conf" / "feeds.yaml").feed("local_pages")
    assert local.url == (sub / "data" / "pages.xml").resolve().as_uri()


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "feeds.yaml"
    message = error_of(missing)
    assert "not found" in message
    assert str(missing) in message


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds:\n  - id: a\n    url: [unclosed\n")
    message = error_of(path)
    assert str(path) in message
    assert "invalid YAML" in message


@pytest.mark.parametrize(
    "text",
    ["", "settings: {}\n", "feeds: notalist\n", "feeds:\n  id: a\n", "- id: a\n"],
    ids=["empty", "no-feeds", "scalar", "mapping", "top-level-list"],
)
def test_missing_feeds_list(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    message = error_of(path)
    assert str(path) in message
    assert "'feeds:' list" in message


def test_unknown_top_level_field(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds: []\nfeedz: []\n")
    message = error_of(path)
    assert str(path) in message
    assert "feedz" in message


def test_unknown_feed_field_names_file_index_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        one_feed(
            "  - id: ok\n    url: https://example.com/a\n"
            "  - id: b\n    url: https://example.com/b\n    colour: blue\n"
        ),
    )
    message = error_of(path)
    assert str(path) in message
    assert "feeds[1]" in message
    assert "colour" in message


def test_feed_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, one_feed("  - https://example.com/a\n"))
    message = error_of(path)
    assert str(path) in message
    assert "feeds[0]" in message


def test_bad_kind_names_feed_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path, one_feed("  - id: wire\n    url: https://example.com/a\n    kind: json\n")
    )
    message = error_of(path)
    assert str(path) in message
    assert "'wire'.kind" in message
    assert "'json'" in message
    assert "rss" in message and "sitemap" in message


@pytest.mark.parametrize(
    "bad_id",
    ["Upper", "has space", "-leading", "", "x" * 65, "123: 4"],
)
def test_bad_id_names_file_and_field(tmp_path: Path, bad_id: str) -> None:
    path = write(tmp_path, one_feed(f"  - id: {bad_id!r}\n    url: https://example.com/a\n"))
    message = error_of(path)
    assert str(path) in message
    assert "feeds[0].id" in message


def test_missing_id_and_missing_url(tmp_path: Path) -> None:
    no_id = write(tmp_path, one_feed("  - url: https://example.com/a\n"), "a.yaml")
    assert "feeds[0].id" in error_of(no_id)
    no_url = write(tmp_path, one_feed("  - id: wire\n"), "b.yaml")
    message = error_of(no_url)
    assert str(no_url) in message
    assert "'wire'.url" in message


def test_unsupported_scheme_names_feed_url(tmp_path: Path) -> None:
    path = write(tmp_path, one_feed("  - id: wire\n    url: ftp://example.com/feed.xml\n"))
    message = error_of(path)
    assert str(path) in message
    assert "'wire'.url" in message
    assert "ftp" in message


def test_duplicate_id(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        one_feed(
            "  - id: twin\n    url: https://example.com/a\n"
            "  - id: other\n    url: https://example.com/b\n"
            "  - id: twin\n    url: https://example.com/c\n"
        ),
    )
    message = error_of(path)
    assert str(path) in message
    assert "'twin'" in message
    assert "more than once" in message


@pytest.mark.parametrize("value", ["soon", "0m", "-5", "1.5h", "15 minutes", "true", "0"])
def test_bad_poll_interval(tmp_path: Path, value: str) -> None:
    path = write(
        tmp_path,
        one_feed(f"  - id: wire\n    url: https://example.com/a\n    poll_interval: {value}\n"),
    )
    message = error_of(path)
    assert str(path) in message
    assert "'wire'.poll_interval" in message


@pytest.mark.parametrize(
    ("field", "value"),
    [("full_text", '"yes"'), ("enabled", "1"), ("tags", "markets"), ("tags", "[1, 2]")],
)
def test_bad_flags_and_tags(tmp_path: Path, field: str, value: str) -> None:
    path = write(
        tmp_path, one_feed(f"  - id: wire\n    url: https://example.com/a\n    {field}: {value}\n")
    )
    message = error_of(path)
    assert str(path) in message
    assert f"'wire'.{field}" in message


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ("timeout_s: fast", "settings.timeout_s"),
        ("timeout_s: true", "settings.timeout_s"),
        ("max_retries: 2.5", "settings.max_retries"),
        ("max_bytes: '100000'", "settings.max_bytes"),
        ("allow_private_hosts: 1", "settings.allow_private_hosts"),
        ("user_agent: 12", "settings.user_agent"),
    ],
)
def test_bad_settings_type(tmp_path: Path, settings: str, field: str) -> None:
    path = write(tmp_path, f"settings:\n  {settings}\nfeeds: []\n")
    message = error_of(path)
    assert str(path) in message
    assert field in message
    assert "expected" in message


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ("timeout_s: 0", "timeout_s"),
        ("max_bytes: 100", "max_bytes"),
        ("max_retries: -1", "max_retries"),
        ("per_host_delay_s: -0.5", "per_host_delay_s"),
    ],
)
def test_bad_settings_value(tmp_path: Path, settings: str, field: str) -> None:
    path = write(tmp_path, f"settings:\n  {settings}\nfeeds: []\n")
    message = error_of(path)
    assert str(path) in message
    assert "settings." in message
    assert field in message


def test_unknown_setting_and_non_mapping_settings(tmp_path: Path) -> None:
    unknown = write(tmp_path, "settings:\n  proxy: http://p\nfeeds: []\n", "a.yaml")
    message = error_of(unknown)
    assert str(unknown) in message and "proxy" in message
    scalar = write(tmp_path, "settings: fast\nfeeds: []\n", "b.yaml")
    message = error_of(scalar)
    assert str(scalar) in message and "settings" in message


def test_select_unknown_id_lists_known_ids(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    config = load_config(path)
    with pytest.raises(ConfigError) as info:
        config.select(["wire-one", "missing-feed"])
    message = str(info.value)
    assert "'missing-feed'" in message
    for known in ("wire-one", "local_pages", "off.feed"):
        assert known in message
    assert str(path) in message


def test_select_named_and_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID))
    # No names: enabled feeds only. Named: exactly those, disabled ones included, in order.
    assert [f.id for f in config.select(None)] == ["wire-one", "local_pages"]
    assert [f.id for f in config.select([])] == ["wire-one", "local_pages"]
    assert [f.id for f in config.select(["off.feed", "wire-one"])] == ["off.feed", "wire-one"]


def test_select_on_empty_config_says_none_known() -> None:
    with pytest.raises(ConfigError, match=r"known: none"):
        Config(feeds=()).select(["x"])


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30s", 30),
        ("15m", 900),
        ("2h", 7200),
        ("1d", 86400),
        (" 10 m ", 600),
        (45, 45),
        (90.9, 90),
    ],
)
def test_parse_duration(value: object, seconds: int) -> None:
    assert parse_duration(value, "somewhere") == seconds


@pytest.mark.parametrize(
    "value", ["", "15", "15x", "0s", "-1m", "1.5h", "m", 0, -30, True, False, None, [15]]
)
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration(value, "feeds.yaml: feed 'x'.poll_interval")
    assert "feeds.yaml: feed 'x'.poll_interval" in str(info.value)


def test_parse_duration_never_returns_zero() -> None:
    try:
        seconds = parse_duration(0.5, "w")
    except ConfigError:
        return
    assert seconds > 0


def test_repo_feeds_yaml_loads() -> None:
    config = load_config(REPO / "feeds.yaml")
    demo = config.feed("demo")
    assert demo.is_local
    assert demo.enabled
    assert Path(urlsplit(demo.url).path).is_file()
    remote = [
        f
        for f in config.feeds
        if f.enabled and f.id != "demo" and urlsplit(f.url).scheme in ("http", "https")
    ]
    assert len(remote) >= 8
    assert not config.settings.allow_private_hosts
