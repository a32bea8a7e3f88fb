"""Full-text extraction from article pages (nlp_pipeline/ingest/extract.py)."""

from __future__ import annotations

import pytest

from nlp_pipeline.errors import FeedParseError
from nlp_pipeline.ingest.extract import decode_text, extract_page, looks_binary

URL = "https://news.example.com/markets/lenders-deposits"
TITLE = "Lenders see steadier deposits as borrowing costs ease"
PARAGRAPHS = [
    "Regional lenders reported steadier deposit flows in the third quarter, according to "
    "filings published on Tuesday by several mid-sized banks across the Midwest.",
    "Executives said loan demand from small manufacturers picked up after borrowing costs "
    "eased, although commercial property exposure remained a concern for investors.",
    "Analysts at a Chicago brokerage wrote that net interest margins appear to have bottomed "
    "and could widen modestly next year if the yield curve steepens further.",
]
NAV = "Sign in to your brokerage account"
ASIDE = "Sponsored: ten gadgets every commuter needs this winter, tap for exclusive deals"
FOOTER = "Copyright 2026 Example Wire Holdings. All rights reserved. Cookie settings"


def page(paragraphs: list[str], charset: str = "utf-8", title: str = TITLE) -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="{charset}"><title>{title}</title></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/markets">Markets</a></li>
<li><a href="/login">{NAV}</a></li></ul></nav>
<article><h1>{title}</h1>
{body}
</article>
<aside><h3>Trending now</h3><p>{ASIDE}</p></aside>
<footer><p>{FOOTER}</p></footer>
</body></html>"""


def test_boilerplate_dropped_and_paragraphs_kept() -> None:
    result = extract_page(page(PARAGRAPHS).encode("utf-8"), URL, "text/html", "utf-8")
    lines = result.text.splitlines()
    assert lines == PARAGRAPHS
    for junk in (NAV, ASIDE, FOOTER, "Trending now"):
        assert junk not in result.text
    assert result.title == TITLE


def test_h1_title_not_repeated_as_first_line() -> None:
    result = extract_page(page(PARAGRAPHS).encode("utf-8"), URL, "text/html")
    assert result.title == TITLE
    assert TITLE not in result.text
    assert result.text.splitlines()[0] == PARAGRAPHS[0]


@pytest.mark.parametrize("charset", ["windows-1252", "cp1252"])
def test_windows_1252_page_with_declared_charset(charset: str) -> None:
    text = [*PARAGRAPHS[:2], "The café chain borrowed €40 million at a “fixed” rate."]
    content = page(text, charset="windows-1252").encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")  # the fixture really is not UTF-8
    result = extract_page(content, URL, "text/html", charset)
    assert "café" in result.text
    assert "€40 million" in result.text
    assert "“fixed”" in result.text
    assert "\ufffd" not in result.text


def test_latin_1_page_with_declared_charset() -> None:
    text = [*PARAGRAPHS[:2], "A déjà-vu rally lifted the Zürich exchange by 2½ percent."]
    content = page(text, charset="iso-8859-1").encode("latin-1")
    result = extract_page(content, URL, "text/html", "iso-8859-1")
    assert "déjà-vu" in result.text
    assert "Zürich" in result.text
    assert "2½" in result.text


def test_iso_8859_1_label_is_treated_as_windows_1252() -> None:
    assert decode_text("The café chain borrowed €40 million.".encode("cp1252"), "iso-8859-1") == (
        "The café chain borrowed €40 million."
    )


def test_decode_text_fallbacks() -> None:
    assert decode_text("naïve €".encode(), None) == "naïve €"
    assert decode_text(b"\xef\xbb\xbfBOM text", "latin-1") == "BOM text"
    # A wrong or unknown declared charset falls back to UTF-8.
    assert decode_text("naïve".encode(), "no-such-charset") == "naïve"
    assert decode_text("naïve".encode(), "ascii") == "naïve"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "image/png"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "text/html"),
        (b"<html>\x00\x00\x00<p>hidden</p></html>", ""),
    ],
)
def test_binary_payload_raises_naming_url(content: bytes, content_type: str) -> None:
    with pytest.raises(FeedParseError) as info:
        extract_page(content, URL, content_type)
    message = str(info.value)
    assert URL in message
    assert "binary" in message


@pytest.mark.parametrize("content_type", ["image/png", "application/pdf"])
def test_non_text_content_type_raises_even_without_nul_bytes(content_type: str) -> None:
    content = page(PARAGRAPHS).encode("utf-8")
    with pytest.raises(FeedParseError, match="binary"):
        extract_page(content, URL, content_type)


@pytest.mark.parametrize("content", [b"", b"   \n\t  \r\n"])
def test_empty_page_raises_naming_url(content: bytes) -> None:
    with pytest.raises(FeedParseError) as info:
        extract_page(content, URL, "text/html")
    assert URL in str(info.value)
    assert "empty" in str(info.value)


@pytest.mark.parametrize(
    "html",
    [
        b"<html><head><title>T</title></head><body><div></div></body></html>",
        f"<html><body><h1>{TITLE}</h1></body></html>".encode(),
    ],
    ids=["no-body-text", "headline-only"],
)
def test_page_without_article_text_raises(html: bytes) -> None:
    with pytest.raises(FeedParseError, match="no article text") as info:
        extract_page(html, URL, "text/html")
    assert URL in str(info.value)


def test_text_plain_passed_through() -> None:
    raw = "  Fed holds rates.\n\n<p>not html</p> — café\n  ".encode()
    result = extract_page(raw, "file:///tmp/note.txt", "text/plain", "utf-8")
    assert result.text == "Fed holds rates.\n\n<p>not html</p> — café"
    assert result.title == ""
    assert result.published is None


def test_looks_binary() -> None:
    assert looks_binary(b"abc\x00def")
    assert not looks_binary(b"plain ascii text")
    # UTF-16 text has NULs but a byte-order mark.
    assert not looks_binary("\ufeffhello".encode("utf-16-le"))
    # Only the head is inspected.
    assert not looks_binary(b"a" * 5000 + b"\x00")
