"""feeds.yaml and settings, validated with errors that name the file and the field."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from nlp_pipeline import resources
from nlp_pipeline.errors import ConfigError
from nlp_pipeline.suggest import did_you_mean
from nlp_pipeline.yamlfile import parse_yaml

FeedKind = Literal["rss", "atom", "sitemap", "page"]
FEED_KINDS: tuple[str, ...] = ("rss", "atom", "sitemap", "page")
DEFAULT_DB_NAME = "nlp_pipeline.duckdb"
DB_ENV_VAR = "NLP_PIPELINE_DB"
CONFIG_ENV_VAR = resources.FEEDS_ENV_VAR

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_DURATION_RE = re.compile(r"^(\d+)\s*([smhd])$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class FetchSettings:
    """Network manners; every field can be set under `settings:` in feeds.yaml."""

    user_agent: str = "nlp-pipeline/0.1 (+https://pypi.org/project/nlp-pipeline/)"
    # Read timeout: the longest wait for the next bytes of a response.
    timeout_s: float = 20.0
    connect_timeout_s: float = 10.0
    # The whole response, redirects included, must arrive within this (stops trickling bodies).
    total_timeout_s: float = 60.0
    max_bytes: int = 10_000_000
    per_host_delay_s: float = 1.0
    max_retries: int = 3
    backoff_base_s: float = 2.0
    max_backoff_s: float = 60.0
    max_redirects: int = 5
    # Hosts polled at once; requests to one host are always one at a time.
    max_parallel_hosts: int = 16
    # robots.txt is honoured for article pages (feeds are meant to be polled).
    respect_robots_txt: bool = True
    # Requests to loopback/private/link-local addresses are refused unless this is true ...
    allow_private_hosts: bool = False
    # ... or the address lies in one of these networks (CIDR, e.g. "127.0.0.1/32").
    allowed_private_networks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.connect_timeout_s <= 0 or self.total_timeout_s <= 0:
            raise ConfigError(
                "settings.timeout_s, connect_timeout_s and total_timeout_s must be > 0"
            )
        if self.max_redirects < 0 or self.max_parallel_hosts < 1:
            raise ConfigError("settings.max_redirects must be >= 0 and max_parallel_hosts >= 1")
        for network in self.allowed_private_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ConfigError(
                    f"settings.allowed_private_networks: {network!r} is not a network "
                    "like '10.0.0.0/8'"
                ) from None
        if self.max_bytes < 1024:
            raise ConfigError("settings.max_bytes must be >= 1024")
        if self.per_host_delay_s < 0 or self.max_retries < 0 or self.backoff_base_s < 0:
            raise ConfigError(
                "settings.per_host_delay_s, max_retries and backoff_base_s must be >= 0"
            )


@dataclass(frozen=True)
class FeedConfig:
    id: str
    url: str
    kind: FeedKind = "rss"
    name: str = ""
    poll_interval_s: int = 900
    full_text: bool = True
    enabled: bool = True
    tags: tuple[str, ...] = ()

    @property
    def is_local(self) -> bool:
        return urlsplit(self.url).scheme == "file"


@dataclass(frozen=True)
class Config:
    feeds: tuple[FeedConfig, ...]
    settings: FetchSettings = field(default_factory=FetchSettings)
    path: Path | None = None

    def feed(self, feed_id: str) -> FeedConfig:
        for feed in self.feeds:
            if feed.id == feed_id:
                return feed
        ids = [f.id for f in self.feeds]
        where = f" in {self.path}" if self.path else ""
        hint = did_you_mean(feed_id, ids)
        raise ConfigError(
            f"unknown feed id {feed_id!r}{where}{hint}; known: {', '.join(ids) or 'none'}"
        )

    def select(self, feed_ids: list[str] | None) -> list[FeedConfig]:
        """The feeds named, or every enabled feed when none are named."""
        if feed_ids:
            return [self.feed(f) for f in feed_ids]
        return [f for f in self.feeds if f.enabled]


def parse_duration(value: object, where: str) -> int:
    """'15m', '2h', '1d', '30s' or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a duration like '15m', got {value!r}")
    if isinstance(value, int | float) and value >= 1:
        return int(value)
    if isinstance(value, str):
        match = _DURATION_RE.match(value.strip())
        if match and int(match.group(1)) > 0:
            return int(match.group(1)) * _DURATION_UNITS[match.group(2)]
    raise ConfigError(f"{where}: expected a duration like '15m', '2h' or seconds, got {value!r}")


def _resolve_url(raw: str, base_dir: Path) -> str:
    """http(s) and file URLs pass through; a plain path is relative to feeds.yaml."""
    scheme = urlsplit(raw).scheme.lower()
    if scheme in ("http", "https", "file"):
        return raw
    if scheme and len(scheme) > 1:
        raise ConfigError(f"unsupported URL scheme {scheme!r} in {raw!r}")
    return (base_dir / raw).resolve().as_uri()


def _feed_from_mapping(raw: Any, index: int, base_dir: Path, source: str) -> FeedConfig:
    where = f"{source}: feeds[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where}: expected a mapping with id, url, kind, got {type(raw).__name__}"
        )
    unknown = set(raw) - {
        "id",
        "url",
        "kind",
        "name",
        "poll_interval",
        "full_text",
        "enabled",
        "tags",
    }
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    feed_id = raw.get("id")
    if not isinstance(feed_id, str) or not _ID_RE.match(feed_id):
        raise ConfigError(f"{where}.id: expected a lowercase id like 'fed-press', got {feed_id!r}")
    where = f"{source}: feed {feed_id!r}"
    url = raw.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"{where}.url: missing")
    kind = raw.get("kind", "rss")
    if kind not in FEED_KINDS:
        raise ConfigError(f"{where}.kind: expected one of {', '.join(FEED_KINDS)}, got {kind!r}")
    for flag in ("full_text", "enabled"):
        if flag in raw and not isinstance(raw[flag], bool):
            raise ConfigError(f"{where}.{flag}: expected true or false, got {raw[flag]!r}")
    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConfigError(f"{where}.tags: expected a list of strings")
    try:
        resolved = _resolve_url(url.strip(), base_dir)
    except ConfigError as exc:
        raise ConfigError(f"{where}.url: {exc}") from None
    return FeedConfig(
        id=feed_id,
        url=resolved,
        kind=kind,
        name=str(raw.get("name", "")),
        poll_interval_s=parse_duration(raw.get("poll_interval", "15m"), f"{where}.poll_interval"),
        full_text=raw.get("full_text", True),
        enabled=raw.get("enabled", True),
        tags=tuple(tags),
    )


def _settings_from_mapping(raw: Any, source: str) -> FetchSettings:
    if raw is None:
        return FetchSettings()
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: settings: expected a mapping")
    fields = FetchSettings.__dataclass_fields__
    unknown = set(raw) - set(fields)
    if unknown:
        raise ConfigError(f"{source}: settings: unknown field(s) {', '.join(sorted(unknown))}")
    defaults = FetchSettings()
    values: dict[str, Any] = {}
    for key, value in raw.items():
        expected = type(getattr(defaults, key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected is tuple and isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = tuple(value)
        if type(value) is not expected:
            raise ConfigError(
                f"{source}: settings.{key}: expected {expected.__name__}, got {value!r}"
            )
        values[key] = value
    try:
        return FetchSettings(**values)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_config(path: str | Path) -> Config:
    """Read and validate a feeds.yaml file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"feeds file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read feeds file {path}: {exc}") from None
    data = parse_yaml(text, path)
    if not isinstance(data, dict) or not isinstance(data.get("feeds"), list):
        raise ConfigError(f"{path}: expected a top-level 'feeds:' list")
    unknown = set(data) - {"feeds", "settings"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level field(s) {', '.join(sorted(unknown))}")
    base_dir = path.resolve().parent
    feeds = [_feed_from_mapping(raw, i, base_dir, str(path)) for i, raw in enumerate(data["feeds"])]
    seen: set[str] = set()
    for feed in feeds:
        if feed.id in seen:
            raise ConfigError(f"{path}: feed id {feed.id!r} appears more than once")
        seen.add(feed.id)
    settings = _settings_from_mapping(data.get("settings"), str(path))
    return Config(feeds=tuple(feeds), settings=settings, path=path)


def default_config_path() -> Path:
    """./feeds.yaml, else $NLP_PIPELINE_FEEDS, else the package's starter feeds file."""
    return resources.feeds_file()


def default_db_path() -> Path:
    """$NLP_PIPELINE_DB, else a file in the working directory."""
    return Path(os.environ.get(DB_ENV_VAR) or DEFAULT_DB_NAME)
