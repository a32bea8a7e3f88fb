"""Articles from local files: RSS/Atom/sitemap files, HTML pages, JSONL, plain text, folders.

Files are read one at a time and JSONL line by line, so an archive of any size streams through
in flat memory. A file that cannot be used yields one `LocalProblem` naming the file and what
was wrong; the caller goes on with the next file.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from nlp_pipeline.errors import FeedParseError, PipelineError
from nlp_pipeline.ingest import build_article
from nlp_pipeline.ingest.dates import parse_date
from nlp_pipeline.ingest.extract import extract_page, looks_binary
from nlp_pipeline.ingest.feeds import parse_feed, sniff_feed_kind, strip_html
from nlp_pipeline.records import Article

FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom", ".rdf"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
TEXT_SUFFIXES = frozenset({".txt", ".text", ".md"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
DEFAULT_MAX_FILE_BYTES = 200_000_000
_TEXT_FIELDS = ("text", "body", "content")
_DATE_FIELDS = ("published", "published_at", "date", "datetime", "time")


@dataclass(frozen=True)
class LocalProblem:
    """Something wrong with a file or a record in it; `fatal`: nothing of the file was used."""

    path: Path
    message: str
    fatal: bool = False

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def iter_input_files(paths: Iterable[str | Path]) -> Iterator[Path | LocalProblem]:
    """Each file named, and every file under each folder named (sorted, hidden ones skipped)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield Path(folder) / name
        elif path.is_file():
            yield path
        elif path.exists():
            yield LocalProblem(path, "not a regular file or folder", fatal=True)
        else:
            yield LocalProblem(path, "no such file or folder", fatal=True)


def _file_uri(path: Path) -> str:
    return path.resolve().as_uri()


def read_local_file(
    path: Path,
    feed_id: str = "local",
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    fetched_at: datetime | None = None,
) -> Iterator[Article | LocalProblem]:
    """The articles in one file, and the problems met on the way (never raises for bad input)."""
    fetched_at = fetched_at or datetime.now(UTC)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            yield LocalProblem(path, f"{size} bytes, over the {max_bytes} byte limit", True)
            return
        suffixes = [s.lower() for s in path.suffixes[-2:]]
        gzipped = bool(suffixes) and suffixes[-1] == ".gz"
        suffix = (suffixes[-2] if len(suffixes) > 1 else "") if gzipped else path.suffix.lower()
        if suffix in JSONL_SUFFIXES:
            yield from _read_jsonl(path, feed_id, gzipped, fetched_at, max_bytes)
            return
        content = _read_bytes(path, gzipped, max_bytes)
        yield from _read_document(path, suffix, content, feed_id, fetched_at)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        yield LocalProblem(path, f"cannot read: {exc}", True)


def _read_bytes(path: Path, gzipped: bool, max_bytes: int) -> bytes:
    if not gzipped:
        return path.read_bytes()
    with gzip.open(path, "rb") as stream:
        content = stream.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise OSError(f"decompressed file exceeds the {max_bytes} byte limit")
    return content


def _read_document(
    path: Path, suffix: str, content: bytes, feed_id: str, fetched_at: datetime
) -> Iterator[Article | LocalProblem]:
    if not content.strip():
        yield LocalProblem(path, "empty file", True)
        return
    kind = sniff_feed_kind(content)
    if kind is None and suffix == ".json":
        yield from _read_json_document(path, content, feed_id, fetched_at)
        return
    if kind is not None or suffix in FEED_SUFFIXES:
        yield from _read_feed(path, content, kind or "rss", feed_id, fetched_at)
        return
    if looks_binary(content):
        yield LocalProblem(path, "binary content, not a feed, page or text file", True)
        return
    head = content[:2048].lstrip().lower()
    is_html = suffix in HTML_SUFFIXES or head.startswith((b"<!doctype html", b"<html"))
    try:
        if is_html:
            page = extract_page(content, _file_uri(path), "text/html")
            yield build_article(
                feed_id,
                _file_uri(path),
                page.title,
                page.text,
                page.published,
                author=page.author,
                fetched_at=fetched_at,
            )
            return
        text = extract_page(content, _file_uri(path), "text/plain").text
    except FeedParseError as exc:
        yield LocalProblem(path, _without_prefix(str(exc), _file_uri(path)), True)
        return
    title, _, rest = text.partition("\n")
    yield build_article(
        feed_id, _file_uri(path), title.strip(), rest.strip(), None, fetched_at=fetched_at
    )


def _without_prefix(message: str, url: str) -> str:
    return message.removeprefix(f"{url}: ")


def _read_feed(
    path: Path,
    content: bytes,
    kind: str,
    feed_id: str,
    fetched_at: datetime,
    headers: dict[str, str] | None = None,
) -> Iterator[Article | LocalProblem]:
    """Entries of a feed file become articles from what the feed carries (no page fetches:
    local input stays offline). Problems are summed up in one line per file."""
    uri = _file_uri(path)
    try:
        parsed = parse_feed(content, kind, feed_id, uri, headers, linkless_ids=True)
    except FeedParseError as exc:
        yield LocalProblem(path, _plain_reason(str(exc)), True)
        return
    used = 0
    skipped: list[str] = []
    for entry in parsed.entries:
        try:
            article = build_article(
                feed_id,
                entry.url,
                entry.title,
                entry.summary,
                entry.published,
                summary=entry.summary,
                author=entry.author,
                publisher_tickers=entry.publisher_tickers,
                fetched_at=fetched_at,
            )
        except FeedParseError as exc:
            skipped.append(str(exc))
            continue
        used += 1
        yield article
    warnings = [_plain_reason(w) for w in parsed.warnings]
    if used == 0 and skipped:
        # Entries, but none usable: one line saying why.
        reason = f"none of its {len(parsed.entries)} entries has a title or text"
        yield LocalProblem(path, "; ".join([reason, *warnings[:1]]), fatal=True)
        return
    notes = []
    if skipped:
        notes.append(f"{len(skipped)} of {len(parsed.entries)} entries have no title or text")
    if not parsed.entries:
        notes.append("feed has no entries")
    notes += warnings
    if notes:
        more = f" (+{len(notes) - 1} more)" if len(notes) > 1 else ""
        yield LocalProblem(path, notes[0] + more)


def _plain_reason(message: str) -> str:
    """Feed messages name a feed id and URL; for a file the path is named instead."""
    for marker in (" at file://",):
        if marker in message:
            _, _, tail = message.partition(marker)
            _, sep, reason = tail.partition(": ")
            if sep:
                return reason
    return message


def _read_json_document(
    path: Path, content: bytes, feed_id: str, fetched_at: datetime
) -> Iterator[Article | LocalProblem]:
    try:
        data = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        # Perhaps JSON Lines under a .json name.
        yield from _records(path, _lines(content.splitlines()), feed_id, fetched_at)
        return
    if isinstance(data, dict) and isinstance(data.get("items"), list):  # JSON Feed 1.x
        items = [_json_feed_item(item) for item in data["items"]]
        yield from _records(path, ((i + 1, r) for i, r in enumerate(items)), feed_id, fetched_at)
        return
    records = data if isinstance(data, list) else [data]
    yield from _records(path, ((i + 1, r) for i, r in enumerate(records)), feed_id, fetched_at)


def _json_feed_item(item: Any) -> Any:
    """A JSON Feed item (jsonfeed.org) in the shape of a JSONL record."""
    if not isinstance(item, dict):
        return item
    html_text = item.get("content_html")
    text = item.get("content_text") or (strip_html(html_text) if isinstance(html_text, str) else "")
    return {
        "title": item.get("title") or "",
        "text": text or item.get("summary") or "",
        "url": item.get("url") or item.get("external_url") or "",
        "published": item.get("date_published") or item.get("date_modified"),
        "summary": item.get("summary") or "",
    }


def _lines(lines: Iterable[bytes]) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield number, line


def _read_jsonl(
    path: Path, feed_id: str, gzipped: bool, fetched_at: datetime, max_bytes: int
) -> Iterator[Article | LocalProblem]:
    opener: Any = gzip.open if gzipped else open
    stream: BinaryIO
    with opener(path, "rb") as stream:
        yield from _records(path, _lines(stream), feed_id, fetched_at)


def _records(
    path: Path, numbered: Iterable[tuple[int, Any]], feed_id: str, fetched_at: datetime
) -> Iterator[Article | LocalProblem]:
    for number, raw in numbered:
        where = f"line {number}"
        record = raw
        if isinstance(raw, bytes):
            try:
                record = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                yield LocalProblem(path, f"{where}: bad JSON ({exc})")
                continue
        try:
            yield _record_article(path, number, record, feed_id, fetched_at)
        except PipelineError as exc:
            yield LocalProblem(path, f"{where}: {exc}")


def _string(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FeedParseError(f"field {key!r} is {type(value).__name__}, not a string")
    return value


def _record_article(
    path: Path, number: int, record: Any, feed_id: str, fetched_at: datetime
) -> Article:
    """A JSONL record: `title`, `text` or `body`, `url`, `published` (others optional)."""
    if not isinstance(record, dict):
        raise FeedParseError(f"expected a JSON object, got {type(record).__name__}")
    text = next((_string(record, k) for k in _TEXT_FIELDS if record.get(k)), "")
    url = _string(record, "url") or f"{_file_uri(path)}?line={number}"
    raw_date = next((record[k] for k in _DATE_FIELDS if record.get(k)), None)
    tickers = record.get("tickers") or record.get("publisher_tickers") or []
    if isinstance(tickers, str):
        tickers = [t.strip() for t in tickers.split(",") if t.strip()]
    if not isinstance(tickers, list) or not all(isinstance(t, str) for t in tickers):
        raise FeedParseError("field 'tickers' must be a list of strings")
    return build_article(
        feed_id,
        url,
        _string(record, "title").strip(),
        text.strip(),
        parse_date(raw_date),
        summary=_string(record, "summary"),
        author=_string(record, "author"),
        publisher_tickers=tickers,
        fetched_at=fetched_at,
    )
