from __future__ import annotations

from pathlib import Path

import pytest

from nlp_pipeline.errors import FeedParseError
from nlp_pipeline.ingest.feeds import parse_feed, parse_sitemap, parse_syndication_feed
from tests.conftest import DEMO_FEED, shared_data

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>Fed &amp; banks</title><link>articles/one.html</link>
<pubDate>Tue, 04 Aug 2026 14:30:00 GMT</pubDate>
<description>&lt;b&gt;Teaser&lt;/b&gt; text</description></item>
<item><title>No link at all</title></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>A</title><entry><title>Atom entry</title><link href="https://example.com/a1"/>
<id>urn:x</id><updated>2026-09-01T10:00:00Z</updated><summary>S</summary></entry></feed>"""

SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://example.com/story-1</loc><news:news><news:title>Story one</news:title>
<news:publication_date>2026-10-01T12:00:00Z</news:publication_date></news:news></url>
<url><loc>https://example.com/story-2</loc><lastmod>2026-10-02</lastmod></url></urlset>"""


def test_rss_relative_links_resolve_against_feed_url() -> None:
    parsed = parse_syndication_feed(RSS, "t", "file:///data/demo/feed.xml")
    assert [e.url for e in parsed.entries] == ["file:///data/demo/articles/one.html"]
    entry = parsed.entries[0]
    assert entry.title == "Fed & banks"
    assert entry.summary == "Teaser text"
    assert entry.published is not None and entry.published.isoformat().startswith("2026-08-04")
    assert any("no usable link" in w for w in parsed.warnings)


def test_atom() -> None:
    parsed = parse_feed(ATOM, "atom", "a", "https://example.com/feed")
    assert parsed.entries[0].url == "https://example.com/a1"
    assert parsed.entries[0].published is not None


def test_news_sitemap_and_index() -> None:
    parsed = parse_sitemap(SITEMAP, "s", "https://example.com/sitemap.xml")
    assert [e.title for e in parsed.entries] == ["Story one", ""]
    assert parsed.entries[1].published is not None
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://example.com/news-1.xml</loc></sitemap></sitemapindex>"""
    assert parse_sitemap(index, "s", "https://example.com/").sitemaps == [
        "https://example.com/news-1.xml"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html><body>not a feed</body></html>", "feed 'bad'"),
        (b"\x00\x01\x02binary", "feed 'bad'"),
        (b"", "feed 'bad'"),
    ],
)
def test_unreadable_feed_names_the_feed(content: bytes, message: str) -> None:
    with pytest.raises(FeedParseError, match=message):
        parse_syndication_feed(content, "bad", "https://example.com/bad.xml")


def test_malformed_sitemap_names_the_feed() -> None:
    with pytest.raises(FeedParseError, match="sitemap 'sm'.*malformed XML"):
        parse_sitemap(b"<<<\x00 not xml", "sm", "https://example.com/s.xml")


def test_truncated_sitemap_keeps_what_it_holds_with_a_warning() -> None:
    parsed = parse_sitemap(
        b"<urlset><url><loc>https://example.com/a</loc></url><url><loc>https://exa",
        "sm",
        "https://example.com/s.xml",
    )
    assert [e.url for e in parsed.entries][:1] == ["https://example.com/a"]
    assert any("sitemap 'sm'" in w and "recovered from malformed XML" in w for w in parsed.warnings)


def test_demo_feed_parses_cleanly() -> None:
    parsed = parse_syndication_feed(DEMO_FEED.read_bytes(), "demo", DEMO_FEED.as_uri())
    assert len(parsed.entries) >= 40
    assert parsed.warnings == []
    assert all(Path(e.url.removeprefix("file://")).is_file() for e in parsed.entries)


def test_real_captures_parse_or_fail_cleanly() -> None:
    """Every real capture (some saved broken) gives entries or a FeedParseError, never a crash."""
    root = shared_data("rss_captures")
    files = [
        p
        for p in root.rglob("*")
        if p.is_file() and p.suffix in (".xml", ".rss", "") and p.name != "MANIFEST.md"
    ]
    parsed_any = 0
    for path in files[:60]:
        content = path.read_bytes()
        kind = "sitemap" if b"<urlset" in content[:2000] else "rss"
        try:
            parsed = parse_feed(content, kind, "capture", path.as_uri())
        except FeedParseError as exc:
            assert "capture" in str(exc)
            continue
        parsed_any += bool(parsed.entries)
    assert parsed_any > 0
