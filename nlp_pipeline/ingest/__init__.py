"""Ingestion: poll feeds, fetch and extract articles. Knows nothing of NLP or the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from nlp_pipeline.config import FeedConfig, FetchSettings
from nlp_pipeline.errors import FeedParseError, FetchError
from nlp_pipeline.ingest.dates import resolve_published
from nlp_pipeline.ingest.dedup import article_id, canonical_url, fingerprints
from nlp_pipeline.ingest.extract import extract_page
from nlp_pipeline.ingest.feeds import parse_feed
from nlp_pipeline.ingest.fetch import Fetcher, FetchResult
from nlp_pipeline.ingest.robots import RobotsCache
from nlp_pipeline.records import Article, FeedEntry

MAX_CHILD_SITEMAPS = 50
MAX_SITEMAP_DEPTH = 3

__all__ = ["FeedPoll", "Fetcher", "Ingestor", "article_id", "build_article", "canonical_url"]


@dataclass
class FeedPoll:
    """What one poll of a feed found."""

    feed: FeedConfig
    entries: list[FeedEntry]
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    warnings: list[str] = field(default_factory=list)
    # A `page` feed's document, kept so the article is not fetched twice.
    page: FetchResult | None = None


class Ingestor:
    """Polls feeds and builds articles. Thread-safe: one Ingestor serves a pool of workers."""

    def __init__(self, settings: FetchSettings | None = None, fetcher: Fetcher | None = None):
        self.fetcher = fetcher or Fetcher(settings)
        self.settings = self.fetcher.settings
        self.robots = RobotsCache(self.fetcher)

    def close(self) -> None:
        self.fetcher.close()

    def poll(
        self, feed: FeedConfig, etag: str | None = None, last_modified: str | None = None
    ) -> FeedPoll:
        """Fetch and parse a feed. Raises FetchError/FeedParseError naming the feed."""
        try:
            result = self.fetcher.fetch(feed.url, etag, last_modified)
        except FetchError as exc:
            raise FetchError(exc.url, f"feed {feed.id!r}: {exc.reason}", exc.status) from None
        if result.not_modified:
            return FeedPoll(feed, [], True, result.etag, result.last_modified)
        parsed = parse_feed(result.content, feed.kind, feed.id, result.url, result.headers)
        entries, warnings = list(parsed.entries), list(parsed.warnings)
        # Sitemap indexes may nest; follow them breadth-first, each child once, within limits.
        pending = [(child, 1) for child in parsed.sitemaps]
        seen = {result.url, feed.url}
        followed = 0
        while pending:
            child_url, depth = pending.pop(0)
            if child_url in seen:
                continue
            seen.add(child_url)
            if followed >= MAX_CHILD_SITEMAPS or depth > MAX_SITEMAP_DEPTH:
                warnings.append(
                    f"feed {feed.id!r}: sitemap {child_url} not followed "
                    f"(limits: {MAX_CHILD_SITEMAPS} children, depth {MAX_SITEMAP_DEPTH})"
                )
                continue
            followed += 1
            try:
                child = self.fetcher.fetch(child_url)
                child_parsed = parse_feed(child.content, "sitemap", feed.id, child.url)
            except (FetchError, FeedParseError) as exc:
                warnings.append(f"feed {feed.id!r}: child sitemap skipped: {exc}")
                continue
            entries.extend(child_parsed.entries)
            warnings.extend(child_parsed.warnings)
            pending.extend((grandchild, depth + 1) for grandchild in child_parsed.sitemaps)
        page = result if feed.kind == "page" else None
        return FeedPoll(feed, entries, False, result.etag, result.last_modified, warnings, page)

    def fetch_article(
        self, feed: FeedConfig, entry: FeedEntry, page: FetchResult | None = None
    ) -> Article:
        """Build the article for one entry, fetching its page when the feed wants full text."""
        title, text, author, published = entry.title, "", entry.author, entry.published
        if feed.full_text or feed.kind == "page":
            if (
                page is None
                and self.settings.respect_robots_txt
                and not self.robots.allowed(entry.url)
            ):
                raise FetchError(entry.url, "disallowed by the site's robots.txt")
            fetched = page or self.fetcher.fetch(entry.url)
            extracted = extract_page(
                fetched.content, entry.url, fetched.content_type, fetched.charset
            )
            text = extracted.text
            title = title or extracted.title
            author = author or extracted.author
            published = published or extracted.published
        else:
            text = entry.summary
        return build_article(
            feed.id,
            entry.url,
            title,
            text,
            published,
            summary=entry.summary,
            author=author,
            publisher_tickers=entry.publisher_tickers,
        )


def build_article(
    feed_id: str,
    url: str,
    title: str,
    text: str,
    published: datetime | None,
    *,
    summary: str = "",
    author: str = "",
    publisher_tickers: list[str] | None = None,
    fetched_at: datetime | None = None,
) -> Article:
    """An Article with its id, hashes and a UTC publication time (or the fetch time, flagged)."""
    if not text.strip() and not title.strip():
        raise FeedParseError(f"{url}: article has neither title nor text")
    fetched_at = fetched_at or datetime.now(UTC)
    published_at, fell_back = resolve_published(published, fetched_at)
    body = f"{title}\n{text}" if title else text
    body_hash, signature = fingerprints(body)
    return Article(
        article_id=article_id(url),
        feed_id=feed_id,
        url=canonical_url(url),
        title=title,
        text=text,
        published=published_at,
        fetched_at=fetched_at,
        summary=summary,
        author=author,
        content_hash=body_hash,
        minhash=signature,
        published_fallback=fell_back,
        publisher_tickers=list(publisher_tickers or []),
    )
