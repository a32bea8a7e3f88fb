from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from nlp_pipeline.config import FetchSettings
from nlp_pipeline.ingest.fetch import Fetcher
from nlp_pipeline.ingest.robots import RobotsCache
from tests.ingest.conftest import HttpServer


def test_rules_for_our_agent_and_crawl_delay(
    http_server: HttpServer, quick_settings: FetchSettings
) -> None:
    http_server.serve(
        "/robots.txt",
        b"User-agent: nlp-pipeline\nDisallow: /premium/\nCrawl-delay: 3\n\n"
        b"User-agent: *\nDisallow: /\n",
    )
    slept: list[float] = []
    fetcher = Fetcher(quick_settings, sleep=slept.append, clock=lambda: 50.0)
    robots = RobotsCache(fetcher)
    assert robots.allowed(http_server.url("/news/1"))
    assert not robots.allowed(http_server.url("/premium/2"))
    assert http_server.paths() == ["/robots.txt"]  # fetched once, then cached
    http_server.serve("/news/1", b"page")
    fetcher.fetch(http_server.url("/news/1"))
    assert slept == [3.0]  # the Crawl-delay became this host's politeness delay


def test_missing_robots_allows_and_failing_robots_disallows(
    http_servers: Callable[[], HttpServer], quick_settings: FetchSettings
) -> None:
    missing, failing = http_servers(), http_servers()
    failing.serve("/robots.txt", b"oops", 503)
    settings = replace(quick_settings, max_retries=0)
    robots = RobotsCache(Fetcher(settings))
    assert robots.allowed(missing.url("/a"))  # 404: no rules, everything allowed
    assert not robots.allowed(failing.url("/a"))  # 5xx: RFC 9309 says assume disallowed
