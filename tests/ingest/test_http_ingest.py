"""Feeds polled over real HTTP into a real store: what was stored and what the server saw."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from nlp_pipeline.config import Config, FeedConfig, FetchSettings
from nlp_pipeline.errors import StoreError
from nlp_pipeline.ingest import Ingestor
from nlp_pipeline.runner import ingest
from nlp_pipeline.store import Store
from tests.ingest.conftest import HttpServer, respond

PAGE = """<!DOCTYPE html><html><head><meta charset="{charset}"><title>{title}</title></head>
<body><article><h1>{title}</h1>
<p>{para} Regional lenders reported steadier deposit flows in the third quarter, according
to filings published on Tuesday by several mid-sized banks across the Midwest region.</p>
<p>Executives said loan demand from small manufacturers picked up after borrowing costs eased,
although commercial property exposure remained a concern for many investors this year.</p>
</article></body></html>"""


def rss(items: list[tuple[str, str]], extra: str = "") -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link>"
        f"<pubDate>Tue, 04 Aug 2026 14:30:00 GMT</pubDate><description>About {title}"
        "</description></item>"
        for title, link in items
    )
    return (
        f'<?xml version="1.0"?>{extra}<rss version="2.0"><channel><title>T</title>{body}'
        "</channel></rss>"
    ).encode()


def config(settings: FetchSettings, *feeds: FeedConfig) -> Config:
    return Config(feeds=tuple(feeds), settings=settings)


def stored(store: Store, column: str = "title") -> list[str]:
    return [r[0] for r in store.con.execute(f"SELECT {column} FROM articles ORDER BY 1").fetchall()]


def test_full_text_robots_and_conditional_get(
    http_server: HttpServer, quick_settings: FetchSettings
) -> None:
    feed_xml = rss(
        [("Lenders steady", http_server.url("/news/1")), ("Hidden", http_server.url("/private/2"))]
    )

    def feed(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == '"f1"':
            respond(h, 304)
        else:
            respond(h, 200, feed_xml, {"ETag": '"f1"', "Content-Type": "application/rss+xml"})

    http_server.routes["/feed"] = feed
    http_server.serve("/robots.txt", b"User-agent: *\nDisallow: /private/\n")
    page = PAGE.format(charset="utf-8", title="Lenders steady", para="Deposits.").encode()
    http_server.serve("/news/1", page, headers={"Content-Type": "text/html; charset=utf-8"})
    cfg = config(quick_settings, FeedConfig("wire", http_server.url("/feed")))
    ingestor = Ingestor(quick_settings)  # one per run, or per `watch`: robots.txt cached in it
    with Store(":memory:") as store:
        reports, _ = ingest(cfg, store, progress=False, ingestor=ingestor)
        assert (reports[0].new, reports[0].failed) == (1, 1)
        assert "robots.txt" in reports[0].errors[0]
        assert stored(store) == ["Lenders steady"]
        assert "steadier deposit flows" in stored(store, "text")[0]
        # The entry refused by robots.txt keeps the validators unset: it is retried next time.
        assert store.feed_state("wire")["etag"] is None  # type: ignore[index]
        http_server.routes["/private/2"] = lambda h: respond(h, 200, page)
        http_server.serve("/robots.txt", b"User-agent: *\nDisallow:\n")
        again, _ = ingest(cfg, store, progress=False, ingestor=ingestor)
        assert (again[0].already_stored, again[0].failed) == (1, 1)  # robots.txt is cached
    assert http_server.paths().count("/robots.txt") == 1
    assert "/private/2" not in http_server.paths()


def test_not_modified_feed_stores_nothing_new(
    http_server: HttpServer, quick_settings: FetchSettings
) -> None:
    feed_xml = rss([("One", "https://news.example.com/1"), ("Two", "https://news.example.com/2")])
    stamp = "Tue, 04 Aug 2026 14:30:00 GMT"

    def feed(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-Modified-Since") == stamp:
            respond(h, 304)
        else:
            respond(h, 200, feed_xml, {"Last-Modified": stamp})

    http_server.routes["/feed"] = feed
    cfg = config(quick_settings, FeedConfig("w", http_server.url("/feed"), full_text=False))
    with Store(":memory:") as store:
        first, _ = ingest(cfg, store, progress=False)
        second, _ = ingest(cfg, store, progress=False)
        assert first[0].new == 2 and second[0].not_modified and second[0].new == 0
        assert store.counts()["articles"] == 2
    assert http_server.seen[1].headers["If-Modified-Since"] == stamp


def test_500_then_200_and_a_broken_feed_beside_a_good_one(
    http_server: HttpServer, quick_settings: FetchSettings
) -> None:
    answers = iter([500, 200])
    good = rss([("Recovered", "https://news.example.com/r")])
    http_server.routes["/flaky"] = lambda h: respond(h, next(answers), good)
    http_server.serve("/huge", b"<rss>" + b"x" * 20_000 + b"</rss>")
    settings = replace(quick_settings, max_bytes=10_000)
    cfg = config(
        settings,
        FeedConfig("huge", http_server.url("/huge"), full_text=False),
        FeedConfig("flaky", http_server.url("/flaky"), full_text=False),
    )
    with Store(":memory:") as store:
        reports, _ = ingest(cfg, store, progress=False)
        assert [(r.feed_id, r.new, r.failed) for r in reports] == [("huge", 0, 1), ("flaky", 1, 0)]
        assert stored(store) == ["Recovered"]
        assert "over the 10000 limit" in store.feed_state("huge")["last_error"]  # type: ignore[index]
        errors = store.con.execute("SELECT feed_id, error FROM ingest_errors").fetchall()
        assert [e[0] for e in errors] == ["huge"]
    assert http_server.paths().count("/flaky") == 2


def test_billion_laughs_and_external_entities_are_neutralised(
    http_server: HttpServer, quick_settings: FetchSettings, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-CREDENTIALS")
    laughs = "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' if i else '<!ENTITY l0 "lol">' for i in range(10)
    )
    bomb = rss([("Boom &l9;", "https://news.example.com/b")], f"<!DOCTYPE rss [{laughs}]>")
    xxe = rss(
        [("Leak &xxe; here", "https://news.example.com/x")],
        f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>',
    )
    sitemap_xxe = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url>'
        "<loc>https://news.example.com/s</loc><news:news><news:title>Map &xxe;</news:title>"
        "</news:news></url></urlset>"
    ).encode()
    http_server.serve("/bomb", bomb)
    http_server.serve("/xxe", xxe)
    http_server.serve("/sitemap", sitemap_xxe)
    cfg = config(
        quick_settings,
        FeedConfig("bomb", http_server.url("/bomb"), full_text=False),
        FeedConfig("xxe", http_server.url("/xxe"), full_text=False),
        FeedConfig("map", http_server.url("/sitemap"), kind="sitemap", full_text=False),
    )
    started = time.monotonic()
    with Store(":memory:") as store:
        _, warnings = ingest(cfg, store, progress=False)
        rows = store.con.execute("SELECT title, text FROM articles").fetchall()
    # Declarations are removed before parsing: no CPU spent expanding, no file read.
    assert time.monotonic() - started < 5
    assert sum("entity declaration(s) removed" in w for w in warnings) == 2
    assert rows, "the entries are still used"
    for title, text in rows:
        assert "TOPSECRET" not in title + text
        assert len(title) < 200 and "lollollol" not in title + text


def test_wrong_charset_header_on_feed_and_page(
    http_server: HttpServer, quick_settings: FetchSettings
) -> None:
    feed_xml = (
        '<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel><title>T'
        f"</title><item><title>Café chain borrows €40 million</title><link>"
        f"{http_server.url('/page')}</link></item></channel></rss>"
    ).encode("cp1252")
    page = PAGE.format(
        charset="windows-1252", title="Café chain", para="The café chain borrowed €40 million."
    ).encode("cp1252")
    wrong = {"Content-Type": "text/html; charset=utf-8"}
    http_server.serve(
        "/feed", feed_xml, headers={"Content-Type": "application/rss+xml; charset=utf-8"}
    )
    http_server.serve("/page", page, headers=wrong)
    cfg = config(quick_settings, FeedConfig("cafe", http_server.url("/feed")))
    with Store(":memory:") as store:
        reports, warnings = ingest(cfg, store, progress=False)
        assert reports[0].new == 1
        assert stored(store) == ["Café chain borrows €40 million"]
        assert "The café chain borrowed €40 million." in stored(store, "text")[0]
    assert any("declared as utf-8" in w for w in warnings)


def test_nested_gzipped_sitemaps_land_entries_with_tickers(
    http_server: HttpServer, quick_settings: FetchSettings
) -> None:
    urlset = (
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        "<url><loc>https://news.example.com/fix</loc><news:news><news:title>Comfort Systems "
        "wins data-center work</news:title><news:publication_date>2026-10-01T12:00:00-04:00"
        "</news:publication_date><news:stock_tickers>NYSE:FIX, NASDAQ:NVDA</news:stock_tickers>"
        "</news:news></url></urlset>"
    )
    inner_index = (
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{http_server.url('/news.xml.gz')}</loc></sitemap></sitemapindex>"
    )
    outer_index = (
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{http_server.url('/inner.xml')}</loc></sitemap>"
        f"<sitemap><loc>{http_server.url('/inner.xml')}</loc></sitemap></sitemapindex>"
    )
    http_server.serve("/index.xml", outer_index.encode())
    http_server.serve("/inner.xml", inner_index.encode())
    http_server.serve(
        "/news.xml.gz", gzip.compress(urlset.encode()), headers={"Content-Type": "application/gzip"}
    )
    cfg = config(
        quick_settings,
        FeedConfig("maps", http_server.url("/index.xml"), kind="sitemap", full_text=False),
    )
    with Store(":memory:") as store:
        reports, _ = ingest(cfg, store, progress=False)
        rows = store.con.execute(
            "SELECT title, publisher_tickers, published FROM articles"
        ).fetchall()
    assert reports[0].new == 1
    title, tickers, published = rows[0]
    assert title == "Comfort Systems wins data-center work"
    assert tickers == ["NYSE:FIX", "NASDAQ:NVDA"]
    assert published.hour == 16  # 12:00 at -04:00, stored in UTC
    assert http_server.paths().count("/inner.xml") == 1  # each child followed once


def test_hosts_polled_in_parallel_one_request_at_a_time_per_host(
    http_servers: Callable[[], HttpServer], quick_settings: FetchSettings
) -> None:
    servers = [http_servers() for _ in range(3)]
    active: dict[int, int] = {}
    peak = {"all": 0, "per_host": 0}
    lock = threading.Lock()

    def slow_feed(port: int, n: int) -> Callable[[BaseHTTPRequestHandler], None]:
        def handle(h: BaseHTTPRequestHandler) -> None:
            with lock:
                active[port] = active.get(port, 0) + 1
                peak["all"] = max(peak["all"], sum(active.values()))
                peak["per_host"] = max(peak["per_host"], active[port])
            time.sleep(0.15)
            with lock:
                active[port] -= 1
            respond(h, 200, rss([(f"Story {port} {n}", f"https://news.example.com/{port}/{n}")]))

        return handle

    feeds = []
    for server in servers:
        for n in range(2):
            server.routes[f"/feed{n}"] = slow_feed(server.port, n)
            feeds.append(
                FeedConfig(f"f{server.port}-{n}", server.url(f"/feed{n}"), full_text=False)
            )
    with Store(":memory:") as store:
        reports, _ = ingest(config(quick_settings, *feeds), store, progress=False)
        assert store.counts()["articles"] == 6
    assert [r.feed_id for r in reports] == [f.id for f in feeds]  # reports in config order
    assert peak["per_host"] == 1
    assert peak["all"] >= 2


def test_a_round_into_a_store_file_stores_every_feed_and_its_validators(
    http_servers: Callable[[], HttpServer], quick_settings: FetchSettings, tmp_path: Path
) -> None:
    # Feeds read from their listings are handed to one writer thread, several per transaction:
    # every article lands once (a story two feeds list counts once), every feed keeps its
    # ETag, and the next round asks with it.
    servers = [http_servers() for _ in range(3)]
    seen_etags: list[str | None] = []
    feeds = []
    for s, server in enumerate(servers):
        for n in range(3):
            links = [f"https://news.example.com/{s}/{n}/{k}" for k in range(2)]
            if n == 0:
                links[1] = "https://news.example.com/shared"  # listed by three feeds

            def handle(h: BaseHTTPRequestHandler, links: list[str] = links) -> None:
                seen_etags.append(h.headers.get("If-None-Match"))
                tag = f'"{h.path}"'
                if h.headers.get("If-None-Match") == tag:
                    respond(h, 304, headers={"ETag": tag})
                    return
                body = rss([(f"Story at {link}", link) for link in links])
                respond(h, 200, body, {"ETag": tag})

            server.routes[f"/feed{n}"] = handle
            feeds.append(FeedConfig(f"f{s}-{n}", server.url(f"/feed{n}"), full_text=False))
    path = tmp_path / "news.duckdb"
    with Store(path) as store:
        reports, _ = ingest(config(quick_settings, *feeds), store, progress=False)
        again, _ = ingest(config(quick_settings, *feeds), store, progress=False)
        counts = store.counts()["articles"]
        states = store.feed_states([f.id for f in feeds])
    assert counts == 16  # 9 feeds x 2 links, the shared one stored once
    assert sum(r.new + r.near_duplicate for r in reports) == 16
    assert sum(r.already_stored for r in reports) == 2
    assert {f.id: states[f.id]["etag"] for f in feeds} == {
        f.id: f'"/feed{f.id[-1]}"' for f in feeds
    }
    assert seen_etags[:9] == [None] * 9 and sorted(seen_etags[9:]) == sorted(
        f'"/feed{f.id[-1]}"' for f in feeds
    )
    assert all(r.not_modified for r in again)


def test_a_store_failure_during_a_round_is_raised_not_lost(
    http_servers: Callable[[], HttpServer],
    quick_settings: FetchSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = http_servers()
    server.routes["/feed"] = lambda h: respond(
        h, 200, rss([("Story", "https://news.example.com/1")])
    )

    def full(*args: object, **kwargs: object) -> int:
        raise StoreError("disk full")

    monkeypatch.setattr(Store, "add_polled_articles", full)
    with Store(tmp_path / "news.duckdb") as store:
        with pytest.raises(StoreError, match="disk full"):
            ingest(
                config(quick_settings, FeedConfig("f", server.url("/feed"), full_text=False)),
                store,
                progress=False,
            )
        assert store.counts()["articles"] == 0
