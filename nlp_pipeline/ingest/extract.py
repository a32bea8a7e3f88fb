"""Full-text extraction from article pages (trafilatura), with payload checks first."""

from __future__ import annotations

import json
import re
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


_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_:.+-]+)""", re.IGNORECASE
)
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def meta_charset(content: bytes) -> str | None:
    """The charset a page declares in `<meta charset>` or `<meta http-equiv=Content-Type>`."""
    match = _META_CHARSET.search(content[:4096])
    return match.group(1).decode("ascii").lower() if match else None


def _candidates(charset: str | None) -> list[str]:
    # Valid UTF-8 with high bytes is almost never real windows-1252, so a Latin-1 label is
    # tried as UTF-8 first; any other label is trusted first, then UTF-8.
    if charset and charset.lower() in _WINDOWS_1252_LABELS:
        return ["utf-8", "cp1252"]
    return [charset, "utf-8"] if charset else ["utf-8"]


def decode_text(content: bytes, charset: str | None) -> str:
    """BOM first, then the declared (HTTP) charset, then the page's `<meta>` charset, then
    UTF-8, then detection; never raises on bad bytes. A declared charset that the bytes
    contradict (they do not decode) is skipped, as browsers effectively do."""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return content[len(bom) :].decode(encoding, errors="replace")
    candidates = _candidates(charset)
    declared_in_page = meta_charset(content)
    if declared_in_page:
        candidates[1:1] = [c for c in _candidates(declared_in_page) if c not in candidates]
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
