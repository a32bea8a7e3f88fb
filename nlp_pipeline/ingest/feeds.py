"""Turn feed documents (RSS, Atom, news sitemaps) into `FeedEntry` records."""

from __future__ import annotations

import calendar
import html
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import feedparser
from lxml import etree

from nlp_pipeline.errors import FeedParseError
from nlp_pipeline.ingest.dates import parse_date
from nlp_pipeline.records import FeedEntry

# The sitemaps protocol's own cap on an uncompressed sitemap.
MAX_SITEMAP_BYTES = 50 * 1024 * 1024

_TAG = re.compile(r"<[^>]+>")


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


_ENTITY_DECLARATION = re.compile(
    rb"""<!ENTITY\s+%?\s*[\w.:-]+\s+(?:(?:SYSTEM|PUBLIC)\b[^>]*|"[^"]*"|'[^']*')\s*>"""
)
_ENTITY_REFERENCE = re.compile(rb"&[A-Za-z_%][\w.:-]*;|%[A-Za-z_][\w.:-]*;")


def defuse_entity_declarations(content: bytes) -> tuple[bytes, int]:
    """Remove DTD entity declarations that are external (SYSTEM/PUBLIC: file or network
    reads) or refer to other entities (the "billion laughs" expansion), before any parser sees
    them. References to a removed entity stay unexpanded. Returns (content, how many)."""
    head = content[:65536]
    if b"<!ENTITY" not in head:
        return content, 0
    removed = 0

    def dangerous(match: re.Match[bytes]) -> bytes:
        nonlocal removed
        declaration = match.group(0)
        if re.search(rb"\b(SYSTEM|PUBLIC)\b", declaration) or _ENTITY_REFERENCE.search(
            declaration.split(None, 2)[-1]
        ):
            removed += 1
            return b""
        return declaration

    cleaned = _ENTITY_DECLARATION.sub(dangerous, head)
    return cleaned + content[65536:], removed


def parse_syndication_feed(
    content: bytes,
    feed_id: str,
    base_url: str,
    headers: Mapping[str, str] | None = None,
    linkless_ids: bool = False,
) -> ParsedFeed:
    """RSS 0.9x/1.0/2.0 and Atom, tolerant of the malformed feeds found in the wild.

    feedparser only ever parses the bytes given (it never fetches); the response headers let it
    weigh the HTTP charset against the XML declaration. Its strict parser is expat, which
    resolves no external entity and refuses entity-expansion bombs; on such a refusal it falls
    back to a loose parser that leaves the entity unexpanded."""
    content, defused = defuse_entity_declarations(content)
    parsed = feedparser.parse(
        content,
        response_headers=dict(headers or {}),
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    warnings: list[str] = []
    if defused:
        warnings.append(
            f"feed {feed_id!r} at {base_url}: {defused} external or nested entity "
            "declaration(s) removed"
        )
    if parsed.bozo:
        problem = parsed.get("bozo_exception")
        message = f"{type(problem).__name__}: {problem}" if problem else "malformed feed"
        if not parsed.entries and not parsed.get("version"):
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
        if url is None and linkless_ids:
            # A local archive's item without a link is still content; it is named by the file
            # and its guid (or position) so re-reading the file finds the same article.
            guid = str(item.get("id", "") or "")
            url = f"{base_url}?{urlencode({'guid': guid} if guid else {'entry': position + 1})}"
        if url is None:
            warnings.append(f"feed {feed_id!r} item {position + 1}: no usable link, skipped")
            continue
        summary = strip_html(item.get("summary", "") or "")
        if not summary and item.get("content"):
            summary = strip_html(str(item["content"][0].get("value", "") or ""))
        published = _struct_to_datetime(item.get("published_parsed")) or _struct_to_datetime(
            item.get("updated_parsed")
        )
        if published is None:
            raw_date = item.get("published") or item.get("updated")
            published = parse_date(raw_date) if raw_date else None
            if raw_date and published is None:
                warnings.append(
                    f"feed {feed_id!r} item {position + 1}: unparsable date {str(raw_date)[:40]!r}"
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


def _gunzip(content: bytes, where: str, limit: int) -> bytes:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(content, limit + 1)
    except zlib.error as exc:
        raise FeedParseError(f"{where}: corrupt gzip data ({exc})") from None
    if len(out) > limit or decompressor.unconsumed_tail:
        raise FeedParseError(f"{where}: decompressed sitemap exceeds {limit} bytes")
    return out


def _unquote_python_repr(content: bytes) -> bytes | None:
    """A document saved as a Python string literal: a quote first, literal '\\n' inside."""
    head = content.lstrip()[:1]
    if head not in (b"'", b'"') or b"\\n" not in content[:4096]:
        return None
    body = content.strip()[1:]
    if body.endswith(head):
        body = body[:-1]
    return body.replace(b"\\n", b"\n").replace(b"\\'", b"'").replace(b'\\"', b'"')


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child_text(node: Any, *path: str) -> str:
    """Text of the first descendant along `path` (local names, any namespace)."""
    current = node
    for name in path:
        current = next((c for c in current if _local(c.tag) == name), None)
        if current is None:
            return ""
    return (current.text or "").strip()


def _xml_root(content: bytes, where: str, warnings: list[str]) -> Any:
    """Parse without entity expansion, DTD loading or network; recover what a broken file
    still holds, with a warning."""
    strict = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        return etree.fromstring(content, parser=strict)
    except etree.XMLSyntaxError as exc:
        first_error = exc
    unquoted = _unquote_python_repr(content)
    if unquoted is not None:
        content = unquoted
        warnings.append(f"{where}: document was saved as a quoted string; unquoted it")
        try:
            return etree.fromstring(content, parser=strict)
        except etree.XMLSyntaxError as exc:
            first_error = exc
    loose = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True
    )
    try:
        root = etree.fromstring(content, parser=loose)
    except etree.XMLSyntaxError:
        root = None
    if root is None:
        raise FeedParseError(f"{where}: malformed XML ({first_error})") from None
    warnings.append(f"{where}: recovered from malformed XML ({first_error})")
    return root


def parse_sitemap(
    content: bytes, feed_id: str, base_url: str, max_bytes: int = MAX_SITEMAP_BYTES
) -> ParsedFeed:
    """A (news) sitemap `urlset`, or a `sitemapindex` whose children are returned to fetch.
    Gzipped sitemaps are unpacked (capped); namespaces are matched loosely because real
    sitemaps misspell them."""
    where = f"sitemap {feed_id!r} at {base_url}"
    if content[:2] == b"\x1f\x8b":
        content = _gunzip(content, where, max_bytes)
    warnings: list[str] = []
    root = _xml_root(content, where, warnings)
    tag = _local(root.tag)
    if tag == "sitemapindex":
        children = []
        for node in root.iter():
            if _local(node.tag) == "loc" and node.text:
                child = _http_url(node.text, base_url)
                if child:
                    children.append(child)
        return ParsedFeed([], warnings=warnings, sitemaps=children)
    if tag != "urlset":
        raise FeedParseError(f"{where}: expected <urlset> or <sitemapindex>, got <{tag}>")
    entries: list[FeedEntry] = []
    for position, node in enumerate(n for n in root if _local(n.tag) == "url"):
        loc = _child_text(node, "loc")
        url = _http_url(loc, base_url) if loc else None
        if url is None:
            warnings.append(f"{where} url {position + 1}: no usable <loc>, skipped")
            continue
        raw_date = _child_text(node, "news", "publication_date") or _child_text(node, "lastmod")
        published = parse_date(raw_date) if raw_date else None
        if raw_date and published is None:
            warnings.append(f"{where} url {position + 1}: unparsable date {raw_date[:40]!r}")
        tickers = [
            t.strip()
            for t in _child_text(node, "news", "stock_tickers").split(",")
            if t.strip() and t.strip().lower() not in ("null", "none")
        ]
        entries.append(
            FeedEntry(
                feed_id=feed_id,
                url=url,
                title=strip_html(_child_text(node, "news", "title")),
                published=published,
                publisher_tickers=tickers,
            )
        )
    return ParsedFeed(entries, warnings=warnings)


_ROOT_TAG = re.compile(rb"<(?![?!])\s*([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")


def sniff_feed_kind(content: bytes) -> str | None:
    """'sitemap', 'rss' (RSS or Atom) or None, from the document's root element."""
    if content[:2] == b"\x1f\x8b":
        return "sitemap"
    head = content[:4096]
    if head[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00"):
        head = head.decode("utf-32", errors="ignore").encode("utf-8")
    elif head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    head = re.sub(rb"<!--.*?-->", b"", head, flags=re.S)
    match = _ROOT_TAG.search(head)
    if match is None:
        return None
    name = match.group(2).lower()
    if name in (b"urlset", b"sitemapindex"):
        return "sitemap"
    if name in (b"rss", b"feed", b"rdf", b"channel"):
        return "rss"
    return None


def parse_feed(
    content: bytes,
    kind: str,
    feed_id: str,
    base_url: str,
    headers: Mapping[str, str] | None = None,
    linkless_ids: bool = False,
) -> ParsedFeed:
    """Dispatch on the configured feed kind; a `page` feed is its own single entry. A feed
    configured as RSS/Atom that turns out to be a sitemap (or the reverse) is read as what it
    is, with a warning."""
    if kind in ("rss", "atom", "sitemap"):
        actual = sniff_feed_kind(content) or kind
        if (actual == "sitemap") != (kind == "sitemap"):
            parsed = (
                parse_sitemap(content, feed_id, base_url)
                if actual == "sitemap"
                else parse_syndication_feed(content, feed_id, base_url, headers, linkless_ids)
            )
            parsed.warnings.insert(
                0, f"feed {feed_id!r} at {base_url}: configured as {kind}, read as {actual}"
            )
            return parsed
        if kind == "sitemap":
            return parse_sitemap(content, feed_id, base_url)
        return parse_syndication_feed(content, feed_id, base_url, headers, linkless_ids)
    if kind == "page":
        return ParsedFeed([FeedEntry(feed_id=feed_id, url=base_url)])
    raise FeedParseError(f"feed {feed_id!r}: unknown kind {kind!r}")
