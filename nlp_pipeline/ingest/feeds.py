"""Turn feed documents (RSS, Atom, news sitemaps) into `FeedEntry` records."""

from __future__ import annotations

import calendar
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from lxml import etree

from nlp_pipeline.errors import FeedParseError
from nlp_pipeline.records import FeedEntry

_TAG = re.compile(r"<[^>]+>")
_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"


@dataclass
class ParsedFeed:
    entries: list[FeedEntry]
    title: str = ""
    # Problems that did not stop parsing (e.g. a malformed but recoverable feed).
    warnings: list[str] = field(default_factory=list)
    # Child sitemaps listed by a sitemap index.
    sitemaps: list[str] = field(default_factory=list)


def strip_html(text: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", text)).split())


def _struct_to_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _http_url(link: str, base_url: str) -> str | None:
    url = urljoin(base_url, link.strip())
    return url if urlsplit(url).scheme in ("http", "https", "file") else None


def parse_syndication_feed(content: bytes, feed_id: str, base_url: str) -> ParsedFeed:
    """RSS 0.9x/1.0/2.0 and Atom, tolerant of the malformed feeds found in the wild."""
    parsed = feedparser.parse(content, sanitize_html=False, resolve_relative_uris=False)
    warnings: list[str] = []
    if parsed.bozo:
        problem = parsed.get("bozo_exception")
        message = f"{type(problem).__name__}: {problem}" if problem else "malformed feed"
        if not parsed.entries:
            raise FeedParseError(f"feed {feed_id!r} at {base_url}: not a readable feed ({message})")
        warnings.append(f"feed {feed_id!r} at {base_url}: recovered from {message}")
    if not parsed.entries and not parsed.get("version"):
        raise FeedParseError(f"feed {feed_id!r} at {base_url}: no RSS or Atom feed found")
    entries: list[FeedEntry] = []
    for position, item in enumerate(parsed.entries):
        link = item.get("link") or ""
        if not link:
            for candidate in item.get("links", []):
                if candidate.get("href"):
                    link = candidate["href"]
                    break
        if not link and str(item.get("id", "")).startswith(("http://", "https://")):
            link = item["id"]
        url = _http_url(link, base_url) if link else None
        if url is None:
            warnings.append(f"feed {feed_id!r} item {position + 1}: no usable link, skipped")
            continue
        summary = strip_html(item.get("summary", "") or "")
        published = _struct_to_datetime(item.get("published_parsed")) or _struct_to_datetime(
            item.get("updated_parsed")
        )
        entries.append(
            FeedEntry(
                feed_id=feed_id,
                url=url,
                title=strip_html(item.get("title", "") or ""),
                summary=summary,
                published=published,
                author=str(item.get("author", "") or ""),
                guid=str(item.get("id", "") or ""),
            )
        )
    return ParsedFeed(entries, str(parsed.feed.get("title", "") or ""), warnings)


def _parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_sitemap(content: bytes, feed_id: str, base_url: str) -> ParsedFeed:
    """A (news) sitemap `urlset`, or a `sitemapindex` whose children are returned to fetch."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, recover=False, huge_tree=False
    )
    try:
        root = etree.fromstring(content, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise FeedParseError(f"sitemap {feed_id!r} at {base_url}: malformed XML ({exc})") from None
    tag = etree.QName(root).localname
    if tag == "sitemapindex":
        children = [
            loc.text.strip()
            for loc in root.iter(f"{_SITEMAP_NS}loc")
            if loc.text and _http_url(loc.text, base_url)
        ]
        return ParsedFeed([], sitemaps=children)
    if tag != "urlset":
        raise FeedParseError(
            f"sitemap {feed_id!r} at {base_url}: expected <urlset> or <sitemapindex>, got <{tag}>"
        )
    entries: list[FeedEntry] = []
    warnings: list[str] = []
    for position, node in enumerate(root.iter(f"{_SITEMAP_NS}url")):
        loc = node.findtext(f"{_SITEMAP_NS}loc")
        url = _http_url(loc, base_url) if loc else None
        if url is None:
            warnings.append(f"sitemap {feed_id!r} url {position + 1}: no usable <loc>, skipped")
            continue
        published = _parse_iso(node.findtext(f"{_NEWS_NS}news/{_NEWS_NS}publication_date"))
        entries.append(
            FeedEntry(
                feed_id=feed_id,
                url=url,
                title=(node.findtext(f"{_NEWS_NS}news/{_NEWS_NS}title") or "").strip(),
                published=published or _parse_iso(node.findtext(f"{_SITEMAP_NS}lastmod")),
            )
        )
    return ParsedFeed(entries, warnings=warnings)


def parse_feed(content: bytes, kind: str, feed_id: str, base_url: str) -> ParsedFeed:
    """Dispatch on the configured feed kind; a `page` feed is its own single entry."""
    if kind in ("rss", "atom"):
        return parse_syndication_feed(content, feed_id, base_url)
    if kind == "sitemap":
        return parse_sitemap(content, feed_id, base_url)
    if kind == "page":
        return ParsedFeed([FeedEntry(feed_id=feed_id, url=base_url)])
    raise FeedParseError(f"feed {feed_id!r}: unknown kind {kind!r}")
