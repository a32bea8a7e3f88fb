"""robots.txt for article pages, fetched once per host and cached (RFC 9309).

Feeds are published to be polled, so only article pages are checked. A robots.txt that is
missing (4xx) allows everything; one that cannot be fetched (5xx, network error) disallows the
host for now, as the RFC asks, and is tried again after `retry_s`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from nlp_pipeline.errors import FetchError
from nlp_pipeline.ingest.fetch import Fetcher

# Robots files larger than this are read only this far (RFC 9309 asks for at least 500 KiB).
MAX_ROBOTS_BYTES = 512 * 1024
MAX_CRAWL_DELAY_S = 30.0


@dataclass
class _Rules:
    parser: RobotFileParser | None  # None: allow everything
    disallow_all: bool
    expires: float


class RobotsCache:
    def __init__(
        self,
        fetcher: Fetcher,
        ttl_s: float = 24 * 3600,
        retry_s: float = 600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetcher = fetcher
        self.ttl_s = ttl_s
        self.retry_s = retry_s
        self._clock = clock
        self._rules: dict[str, _Rules] = {}
        self._lock = threading.Lock()
        # The product token robots.txt groups are matched against.
        self.agent = fetcher.settings.user_agent.split("/", 1)[0].strip() or "*"

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return True
        origin = urlunsplit((parts.scheme, parts.netloc.lower(), "", "", ""))
        with self._lock:
            rules = self._rules.get(origin)
        if rules is None or rules.expires < self._clock():
            rules = self._load(origin)
            with self._lock:
                self._rules[origin] = rules
        if rules.disallow_all:
            return False
        return rules.parser is None or rules.parser.can_fetch(self.agent, url)

    def _load(self, origin: str) -> _Rules:
        try:
            result = self.fetcher.fetch(origin + "/robots.txt")
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                return _Rules(None, False, self._clock() + self.ttl_s)
            return _Rules(None, True, self._clock() + self.retry_s)
        text = result.content[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
        parser = RobotFileParser()
        parser.parse(text.splitlines())
        delay = parser.crawl_delay(self.agent)
        if delay is not None:
            self.fetcher.set_host_delay(
                origin,
                min(
                    max(float(delay), self.fetcher.settings.per_host_delay_s),
                    MAX_CRAWL_DELAY_S,
                ),
            )
        return _Rules(parser, False, self._clock() + self.ttl_s)
