"""Ingestion: poll feeds, fetch and extract articles. Knows nothing of NLP or the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from nlp_pipeline.config import FeedConfig, FetchSettings
from nlp_pipeline.errors import FeedParseError, FetchError
from nlp_pipeline.ingest.dedup import article_id, canonical_url, content_hash, minhash
from nlp_pipeline.ingest.extract import extract_page
from nlp_pipeline.ingest.feeds import parse_feed
from nlp_pipeline.ingest.fetch import Fetcher, FetchResult
from nlp_pipeline.records import Article, FeedEntry

MAX_CHILD_SITEMAPS = 50

__all__ = ["FeedPoll", "Fetcher", "Ingestor", "article_id", "canonical_url"]


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
    def __init__(self, settings: FetchSettings | None = None, fetcher: Fetcher | None = None):
        self.fetcher = fetcher or Fetcher(settings)

    def poll(
        self, feed: FeedConfig, etag: str | None = None, last_modified: str | None = None
    ) -> FeedPoll:
        """Fetch and parse a feed. Raises FetchError/FeedParseError naming the feed."""
        try:
            result = self.fetcher.fetch(feed.url, etag, last_modified)
        except FetchError as exc:
            raise FetchError(exc.url, f"feed {feed.id!r}: {exc.reason}") from None
        if result.not_modified:
            return FeedPoll(feed, [], True, result.etag, result.last_modified)
        parsed = parse_feed(result.content, feed.kind, feed.id, result.url)
        entries, warnings = list(parsed.entries), list(parsed.warnings)
        for child_url in parsed.sitemaps[:MAX_CHILD_SITEMAPS]:
            try:
                child = self.fetcher.fetch(child_url)
                child_parsed = parse_feed(child.content, "sitemap", feed.id, child.url)
            except (FetchError, FeedParseError) as exc:
                warnings.append(f"feed {feed.id!r}: child sitemap skipped: {exc}")
                continue
            entries.extend(child_parsed.entries)
            warnings.extend(child_parsed.warnings)
        page = result if feed.kind == "page" else None
        return FeedPoll(feed, entries, False, result.etag, result.last_modified, warnings, page)

    def fetch_article(
        self, feed: FeedConfig, entry: FeedEntry, page: FetchResult | None = None
    ) -> Article:
        """Build the article for one entry, fetching its page when the feed wants full text."""
        title, text, author, published = entry.title, "", entry.author, entry.published
        if feed.full_text or feed.kind == "page":
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
        if not text.strip() and not title.strip():
            raise FeedParseError(f"{entry.url}: article has neither title nor text")
        body = f"{title}\n{text}" if title else text
        return Article(
            article_id=article_id(entry.url),
            feed_id=feed.id,
            url=canonical_url(entry.url),
            title=title,
            text=text,
            published=published,
            fetched_at=datetime.now(UTC),
            summary=entry.summary,
            author=author,
            content_hash=content_hash(body),
            minhash=minhash(body),
        )
