"""Full-text extraction from article pages (trafilatura), with payload checks first."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import trafilatura
from charset_normalizer import from_bytes

from nlp_pipeline.errors import FeedParseError

_TEXT_TYPES = ("text/", "application/xhtml", "application/xml")
# Browsers read pages labelled Latin-1 or ASCII as windows-1252 (WHATWG Encoding Standard).
_WINDOWS_1252_LABELS = frozenset(
    {
        "iso-8859-1",
        "iso8859-1",
        "latin-1",
        "latin1",
        "l1",
        "us-ascii",
        "ascii",
        "windows-1252",
        "cp1252",
    }
)


@dataclass(frozen=True)
class ExtractedPage:
    text: str
    title: str = ""
    author: str = ""
    published: datetime | None = None


def looks_binary(content: bytes) -> bool:
    head = content[:4096]
    return b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff"))


def decode_text(content: bytes, charset: str | None) -> str:
    """Declared charset first, then detection; never raises on bad bytes."""
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="replace")
    # Valid UTF-8 with high bytes is almost never real windows-1252, so a Latin-1 label is
    # tried as UTF-8 first; any other label is trusted first, then UTF-8.
    if charset and charset.lower() in _WINDOWS_1252_LABELS:
        candidates = ["utf-8", "cp1252"]
    else:
        candidates = [charset, "utf-8"] if charset else ["utf-8"]
    for encoding in candidates:
        try:
            return content.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    best = from_bytes(content).best()
    return str(best) if best is not None else content.decode("latin-1")


def extract_page(
    content: bytes, url: str, content_type: str = "", charset: str | None = None
) -> ExtractedPage:
    """The main text of an HTML page, or the page itself when it is plain text."""
    if not content.strip():
        raise FeedParseError(f"{url}: empty page")
    known_text = not content_type or content_type.startswith(_TEXT_TYPES)
    if not known_text or looks_binary(content):
        raise FeedParseError(
            f"{url}: binary payload ({content_type or 'unknown type'}), not a page"
        )
    if content_type == "text/plain":
        return ExtractedPage(text=decode_text(content, charset).strip())
    html = decode_text(content, charset)
    raw = trafilatura.extract(
        html,
        url=url,
        output_format="json",
        with_metadata=True,
        include_comments=False,
        include_tables=False,
    )
    if not raw:
        raise FeedParseError(f"{url}: no article text found in the page")
    data = json.loads(raw)
    title = (data.get("title") or "").strip()
    lines = [line.strip() for line in (data.get("text") or "").splitlines() if line.strip()]
    if lines and title and lines[0] == title:
        lines = lines[1:]  # trafilatura keeps the <h1>; the title is stored on its own
    if not lines:
        raise FeedParseError(f"{url}: no article text found in the page")
    published = None
    if data.get("date"):
        try:
            published = datetime.fromisoformat(data["date"]).replace(tzinfo=UTC)
        except ValueError:
            published = None
    return ExtractedPage("\n".join(lines), title, (data.get("author") or "").strip(), published)
