"""The HTTP transport against a real threaded server on 127.0.0.1: manners and bad input."""

from __future__ import annotations

import gzip
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from nlp_pipeline.config import FetchSettings
from nlp_pipeline.errors import FetchError
from nlp_pipeline.ingest.fetch import AddressGuard, Fetcher
from tests.ingest.conftest import HttpServer, respond


def no_jitter(delay: float) -> float:
    return delay


def test_loopback_is_refused_unless_configured(http_server: HttpServer) -> None:
    http_server.serve("/feed.xml", b"<rss/>")
    with pytest.raises(FetchError, match="non-public address 127.0.0.1"):
        Fetcher(FetchSettings()).fetch(http_server.url("/feed.xml"))
    assert http_server.seen == []  # nothing left the client


def test_keep_alive_user_agent_and_body(
    http_server: HttpServer, quick_settings: FetchSettings
) -> None:
    http_server.serve("/a", b"hello", headers={"Content-Type": "text/html; charset=ISO-8859-1"})
    fetcher = Fetcher(quick_settings)
    first = fetcher.fetch(http_server.url("/a"))
    fetcher.fetch(http_server.url("/a"))
    assert first.content == b"hello"
    assert (first.content_type, first.charset) == ("text/html", "iso-8859-1")
    assert first.headers["content-type"] == "text/html; charset=ISO-8859-1"
    assert http_server.seen[0].headers["User-Agent"].startswith("nlp-pipeline/")
    assert "gzip" in http_server.seen[0].headers["Accept-Encoding"]
    # Both requests came over one pooled connection (same client port).
    assert len({s.client_port for s in http_server.seen}) == 1


def test_304_with_etag(http_server: HttpServer, quick_settings: FetchSettings) -> None:
    def feed(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == '"v1"':
            respond(h, 304)
        else:
            respond(h, 200, b"<rss/>", {"ETag": '"v1"'})

    http_server.routes["/feed"] = feed
    fetcher = Fetcher(quick_settings)
    first = fetcher.fetch(http_server.url("/feed"))
    second = fetcher.fetch(http_server.url("/feed"), etag=first.etag)
    assert first.etag == '"v1"' and not first.not_modified
    assert second.not_modified and second.content == b"" and second.etag == '"v1"'
    assert [s.headers.get("If-None-Match") for s in http_server.seen] == [None, '"v1"']


def test_304_with_last_modified(http_server: HttpServer, quick_settings: FetchSettings) -> None:
    stamp = "Tue, 04 Aug 2026 14:30:00 GMT"

    def feed(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-Modified-Since") == stamp:
            respond(h, 304)
        else:
            respond(h, 200, b"<rss/>", {"Last-Modified": stamp})

    http_server.routes["/feed"] = feed
    fetcher = Fetcher(quick_settings)
    first = fetcher.fetch(http_server.url("/feed"))
    second = fetcher.fetch(http_server.url("/feed"), last_modified=first.last_modified)
    assert first.last_modified == stamp
    assert second.not_modified and second.last_modified == stamp
    assert http_server.seen[1].headers["If-Modified-Since"] == stamp


def test_429_honours_retry_after(http_server: HttpServer, quick_settings: FetchSettings) -> None:
    answers = iter([(429, {"Retry-After": "3"}), (200, {})])

    def busy(h: BaseHTTPRequestHandler) -> None:
        status, headers = next(answers)
        respond(h, status, b"ok" if status == 200 else b"slow down", headers)

    http_server.routes["/busy"] = busy
    slept: list[float] = []
    result = Fetcher(quick_settings, sleep=slept.append).fetch(http_server.url("/busy"))
    assert result.content == b"ok"
    assert slept == [3.0]
    assert len(http_server.seen) == 2


def test_retry_after_beyond_max_backoff_gives_up(
    http_server: HttpServer, quick_settings: FetchSettings
) -> None:
    http_server.serve("/busy", b"", 429, {"Retry-After": "3600"})
    slept: list[float] = []
    with pytest.raises(FetchError, match="retry after 3600 s"):
        Fetcher(quick_settings, sleep=slept.append).fetch(http_server.url("/busy"))
    assert slept == [] and len(http_server.seen) == 1


def test_500_then_200(http_server: HttpServer, quick_settings: FetchSettings) -> None:
    answers = iter([500, 200])
    http_server.routes["/f"] = lambda h: respond(h, next(answers), b"fine")
    slept: list[float] = []
    settings = replace(quick_settings, backoff_base_s=2.0)
    result = Fetcher(settings, sleep=slept.append, jitter=no_jitter).fetch(http_server.url("/f"))
    assert result.content == b"fine"
    assert slept == [2.0]
    assert len(http_server.seen) == 2


def test_exponential_backoff_with_jitter_then_gives_up(
    http_server: HttpServer, quick_settings: FetchSettings
) -> None:
    http_server.serve("/down", b"error", 503)
    settings = replace(quick_settings, backoff_base_s=2.0, max_retries=3)
    slept: list[float] = []
    with pytest.raises(FetchError, match=r"HTTP 503.*gave up after 4 attempts"):
        Fetcher(settings, sleep=slept.append).fetch(http_server.url("/down"))
    assert len(http_server.seen) == 4
    # Equal jitter: each wait lies in [d/2, d] for d = 2, 4, 8.
    assert len(slept) == 3
    for wait, full in zip(slept, [2.0, 4.0, 8.0], strict=True):
        assert full / 2 <= wait <= full


def test_404_is_not_retried(http_server: HttpServer, quick_settings: FetchSettings) -> None:
    with pytest.raises(FetchError, match="HTTP 404") as caught:
        Fetcher(quick_settings).fetch(http_server.url("/missing"))
    assert caught.value.status == 404
    assert len(http_server.seen) == 1


def test_slow_response_past_the_read_timeout(
    http_server: HttpServer, quick_settings: FetchSettings
) -> None:
    def slow(h: BaseHTTPRequestHandler) -> None:
        time.sleep(1.0)
        respond(h, 200, b"late")

    http_server.routes["/slow"] = slow
    settings = replace(quick_settings, timeout_s=0.2, max_retries=1)
    with pytest.raises(FetchError, match="timed out"):
        Fetcher(settings, sleep=lambda _: None).fetch(http_server.url("/slow"))
    assert len(http_server.seen) == 2  # a timeout is retried, then given up


def test_body_that_trickles_forever_hits_the_total_timeout(
    http_server: HttpServer, quick_settings: FetchSettings
) -> None:
    def trickle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "1000000")
        h.end_headers()
        for _ in range(200):  # a byte every 20 ms: never idle long enough for the read timeout
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.02)

    http_server.routes["/trickle"] = trickle
    settings = replace(quick_settings, timeout_s=0.5, total_timeout_s=0.6)
    started = time.monotonic()
    with pytest.raises(FetchError, match="total_timeout_s"):
        Fetcher(settings).fetch(http_server.url("/trickle"))
    assert time.monotonic() - started < 2.0
    assert len(http_server.seen) == 1  # not retried: it would only trickle again


def test_oversized_body_declared_and_streamed(
    http_server: HttpServer, quick_settings: FetchSettings
) -> None:
    settings = replace(quick_settings, max_bytes=2048)
    http_server.serve("/declared", b"x" * 5000)

    def undeclared(h: BaseHTTPRequestHandler) -> None:  # no Content-Length: read until close
        h.send_response(200)
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(b"y" * 100_000)
        h.close_connection = True

    http_server.routes["/undeclared"] = undeclared
    with pytest.raises(FetchError, match="5000 bytes, over the 2048 limit"):
        Fetcher(settings).fetch(http_server.url("/declared"))
    with pytest.raises(FetchError, match="exceeds the 2048 byte limit"):
        Fetcher(settings).fetch(http_server.url("/undeclared"))


def test_gzip_body_and_gzip_bomb(http_server: HttpServer, quick_settings: FetchSettings) -> None:
    settings = replace(quick_settings, max_bytes=100_000)
    http_server.serve(
        "/ok", gzip.compress(b"<rss>fine</rss>"), headers={"Content-Encoding": "gzip"}
    )
    bomb = gzip.compress(b"\0" * 50_000_000)  # ~50 KB on the wire, 50 MB unpacked
    http_server.serve("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    assert Fetcher(settings).fetch(http_server.url("/ok")).content == b"<rss>fine</rss>"
    with pytest.raises(FetchError, match="decompressed body exceeds the 100000 byte limit"):
        Fetcher(settings).fetch(http_server.url("/bomb"))


def test_redirects_followed_and_loop_stopped(
    http_server: HttpServer, quick_settings: FetchSettings
) -> None:
    http_server.serve("/old", b"", 301, {"Location": "/new"})
    http_server.serve("/new", b"moved here")
    http_server.serve("/loop-a", b"", 302, {"Location": "/loop-b"})
    http_server.serve("/loop-b", b"", 302, {"Location": "/loop-a"})
    result = Fetcher(quick_settings).fetch(http_server.url("/old"))
    assert result.content == b"moved here" and result.url == http_server.url("/new")
    http_server.seen.clear()
    with pytest.raises(FetchError, match="more than 5 redirects"):
        Fetcher(quick_settings).fetch(http_server.url("/loop-a"))
    assert len(http_server.seen) == 6


@pytest.mark.parametrize("target", ["http://10.1.2.3/x", "http://169.254.169.254/latest/"])
def test_redirect_to_private_or_link_local_is_refused(
    http_server: HttpServer, quick_settings: FetchSettings, target: str
) -> None:
    http_server.serve("/go", b"", 302, {"Location": target})
    with pytest.raises(FetchError, match="redirect to .*non-public address"):
        Fetcher(quick_settings).fetch(http_server.url("/go"))
    assert http_server.paths() == ["/go"]


def test_connection_is_pinned_to_the_checked_address(
    http_server: HttpServer, quick_settings: FetchSettings
) -> None:
    """The name is resolved once per connection and the socket goes to that address; the
    Host header still names the host."""
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    http_server.serve("/p", b"pinned")
    fetcher = Fetcher(quick_settings, resolver=resolver)
    url = f"http://news.example.test:{http_server.port}/p"
    assert fetcher.fetch(url).content == b"pinned"
    assert calls == ["news.example.test"]
    assert http_server.seen[0].headers["Host"] == f"news.example.test:{http_server.port}"


def test_dns_rebinding_public_then_private_is_refused(http_server: HttpServer) -> None:
    """First answer public, second private: a guard that resolved separately from the connect
    would approve the first and connect to the second. Here each connection uses one answer,
    so the private one is refused and the local server never sees a request."""
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    settings = FetchSettings(per_host_delay_s=0.0, max_retries=1, connect_timeout_s=0.3)
    fetcher = Fetcher(settings, resolver=resolver, sleep=lambda _: None)
    with pytest.raises(FetchError, match="non-public address 127.0.0.1"):
        fetcher.fetch(f"http://rebind.example.test:{http_server.port}/feed")
    assert len(calls) == 2  # one resolution per connection attempt, none reused for another
    assert http_server.seen == []


def test_guard_checks_every_address() -> None:
    guard = AddressGuard(
        FetchSettings(allowed_private_networks=("10.0.0.0/8",)),
        resolver=lambda host, port: ["93.184.215.14", "192.168.1.5"],
    )
    with pytest.raises(FetchError, match="192.168.1.5"):
        guard.resolve("mixed.example.test", 80)
    assert guard.is_allowed("10.9.9.9") and not guard.is_allowed("169.254.169.254")
    assert not guard.is_allowed("::1") and guard.is_allowed("2606:4700::1111")


def test_per_host_politeness_delay(http_server: HttpServer, quick_settings: FetchSettings) -> None:
    http_server.serve("/x", b"x")
    slept: list[float] = []
    settings = replace(quick_settings, per_host_delay_s=1.5)
    fetcher = Fetcher(settings, sleep=slept.append, clock=lambda: 100.0)
    fetcher.fetch(http_server.url("/x"))
    fetcher.fetch(http_server.url("/x"))
    assert slept == [1.5]


def test_missing_file_and_unsupported_scheme(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="file not found"):
        Fetcher().fetch((tmp_path / "nope.xml").as_uri())
    with pytest.raises(FetchError, match="unsupported URL scheme 'ftp'"):
        Fetcher().fetch("ftp://example.com/feed.xml")


def test_local_file_conditional_on_mtime(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(b"<rss/>")
    first = Fetcher().fetch(path.as_uri())
    assert first.content == b"<rss/>"
    assert Fetcher().fetch(path.as_uri(), last_modified=first.last_modified).not_modified
