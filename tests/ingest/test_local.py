"""Local input: every supported file kind, bad files reported by name, the shared corpora."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nlp_pipeline.ingest.dedup import article_id
from nlp_pipeline.ingest.local import LocalProblem, read_local_file
from nlp_pipeline.records import Article
from nlp_pipeline.runner import ingest_files
from nlp_pipeline.store import Store
from tests.conftest import shared_data

SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://news.example.com/fix-wins</loc><news:news>
<news:title>Comfort Systems wins data-center contract</news:title>
<news:publication_date>2026-10-01T12:00:00Z</news:publication_date>
<news:stock_tickers>NYSE:FIX, NASDAQ:NVDA</news:stock_tickers></news:news></url>
</urlset>"""
RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><title>Small caps rally</title><link>https://news.example.com/small-caps?utm_source=x</link>
<pubDate>Tue, 04 Aug 2026 14:30:00 GMT</pubDate><description>Breadth widened.</description></item>
</channel></rss>"""
HTML = b"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Rates on hold</title></head>
<body><nav>Home Markets Login</nav><article><h1>Rates on hold</h1>
<p>The central bank left its policy rate unchanged on Wednesday, citing inflation that has
cooled more slowly than officials had expected at the start of the year.</p>
<p>Officials signalled that cuts remain possible later in the year if price pressures ease
and the labour market continues to cool gradually across most regions.</p></article>
</body></html>"""


def articles(path: Path) -> tuple[list[Article], list[LocalProblem]]:
    found = list(read_local_file(path, "t"))
    return (
        [a for a in found if isinstance(a, Article)],
        [p for p in found if isinstance(p, LocalProblem)],
    )


def test_jsonl_records_dates_and_bad_lines(tmp_path: Path) -> None:
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    lines = [
        {
            "title": "A",
            "body": "Alpha text.",
            "url": "http://x.test/a",
            "published": "Mon Jan 2, 2012 12:15pm EST",
        },
        {"title": "B", "text": "Beta text.", "url": "https://x.test/b", "published": future},
        {"title": "C", "text": "Gamma text.", "tickers": ["FIX"]},
        {"title": "", "text": ""},
        ["not", "an", "object"],
    ]
    path = tmp_path / "news.jsonl"
    path.write_text(
        "\n".join(json.dumps(x) for x in lines[:3])
        + "\n{broken json\n"
        + "\n".join(json.dumps(x) for x in lines[3:])
        + "\n"
    )
    found, problems = articles(path)
    assert [a.title for a in found] == ["A", "B", "C"]
    a, b, c = found
    assert a.text == "Alpha text." and a.published == datetime(2012, 1, 2, 17, 15, tzinfo=UTC)
    assert not a.published_fallback
    assert b.published_fallback and b.published == b.fetched_at  # future date: fetch time
    assert c.published_fallback and c.publisher_tickers == ["FIX"]
    assert c.url == f"{path.resolve().as_uri()}?line=3"
    assert [p.message.split(":")[0] for p in problems] == ["line 4", "line 5", "line 6"]
    assert "bad JSON" in problems[0].message and "neither title nor text" in problems[1].message
    assert all(not p.fatal for p in problems)


def test_feed_sitemap_html_text_and_gzip_files(tmp_path: Path) -> None:
    (tmp_path / "feed.rss").write_bytes(RSS)
    (tmp_path / "news.xml.gz").write_bytes(gzip.compress(SITEMAP))
    (tmp_path / "page.html").write_bytes(HTML)
    (tmp_path / "note.txt").write_text("Quarterly letter\nWe stayed overweight industrials.\n")
    rss_articles, _ = articles(tmp_path / "feed.rss")
    assert rss_articles[0].url == "https://news.example.com/small-caps"
    assert rss_articles[0].text == "Breadth widened."
    sitemap_articles, _ = articles(tmp_path / "news.xml.gz")
    assert sitemap_articles[0].publisher_tickers == ["NYSE:FIX", "NASDAQ:NVDA"]
    assert sitemap_articles[0].title == "Comfort Systems wins data-center contract"
    page, _ = articles(tmp_path / "page.html")
    assert page[0].title == "Rates on hold" and "policy rate unchanged" in page[0].text
    assert "Login" not in page[0].text
    note, _ = articles(tmp_path / "note.txt")
    assert (note[0].title, note[0].text) == (
        "Quarterly letter",
        "We stayed overweight industrials.",
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.xml", b"   ", "empty file"),
        ("blob.bin", b"\x00\x01\x02\x03" * 100, "binary content"),
        ("broken.xml", b"<rss><channel><item><description></description>", "has a title or text"),
        ("garbage.xml", b"<<<>>> \xff\xfe junk", "not a readable feed"),
        ("page.xml", b"<html><body>hello</body></html>", "no RSS or Atom feed found"),
        ("bad.xml.gz", b"\x1f\x8b not really gzip", "cannot read"),
    ],
)
def test_unusable_files_get_one_clear_line(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    found, problems = articles(path)
    assert found == []
    assert len(problems) == 1 and problems[0].fatal
    assert message in str(problems[0]) and str(problems[0]).startswith(str(path))


def test_folder_ingest_is_idempotent_and_names_missing_paths(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    (folder / "nested").mkdir(parents=True)
    (folder / "feed.xml").write_bytes(RSS)
    (folder / "nested" / "sitemap.xml").write_bytes(SITEMAP)
    (folder / "nested" / "junk.bin").write_bytes(b"\x00" * 64)
    with Store(":memory:") as store:
        first = ingest_files([folder, tmp_path / "missing.jsonl"], store, progress=False)
        second = ingest_files([folder], store, progress=False)
        tickers = store.con.execute(
            "SELECT publisher_tickers FROM articles WHERE article_id = ?",
            [article_id("https://news.example.com/fix-wins")],
        ).fetchone()
        assert store.counts()["articles"] == 2
        errors = store.con.execute("SELECT error FROM ingest_errors ORDER BY error").fetchall()
    assert (first.files, first.files_failed, first.new) == (3, 2, 2)
    assert any("missing.jsonl: no such file or folder" in e for e in first.errors)
    assert any("junk.bin: binary content" in e for e in first.errors)
    assert (second.new, second.already_stored) == (0, 2)
    assert tickers == (["NYSE:FIX", "NASDAQ:NVDA"],)
    assert len(errors) == 3  # two in the first run, the junk file again in the second


def test_every_shared_capture_and_feedparser_file_goes_through() -> None:
    """feedparser's own test feeds and the real captures: no traceback; a usable feed lands its
    entries; a broken one gets one line naming the file; news sitemaps keep their tickers."""
    roots = [shared_data("feedparser_tests"), shared_data("rss_captures")]
    files = [p for root in roots for p in root.rglob("*") if p.is_file()]
    with Store(":memory:") as store:
        report = ingest_files(roots, store, feed_id="corpus", progress=False)
        with_tickers = store.con.execute(
            "SELECT count(*) FROM articles WHERE len(publisher_tickers) > 0"
        ).fetchone()
        by_site = dict(
            store.con.execute(
                "SELECT split_part(url, '/', 3), count(*) FROM articles GROUP BY ALL"
            ).fetchall()
        )
    assert report.files == len(files)
    # Every unusable file is named once, on one line.
    named = [e.split(": ", 1)[0] for e in report.errors]
    assert len(named) == len(set(named)) == report.files_failed
    assert all("\n" not in e for e in report.errors)
    # Most failures are feedparser's snippets whose one entry has no title or text at all.
    assert report.files_failed < report.files // 2
    assert report.new + report.near_duplicate > 3000
    assert with_tickers is not None and with_tickers[0] > 500
    # The captures saved as quoted strings are recovered, not dropped.
    assert by_site.get("www.marketwatch.com", 0) >= 900
    assert by_site.get("www.bloomberg.com", 0) >= 700


def test_future_dated_article_does_not_shift_the_near_duplicate_lookback(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    story = "Regional lenders reported steadier deposit flows in the third quarter as costs eased."
    records = [
        {
            "title": "Old",
            "text": story,
            "url": "https://a.test/1",
            "published": (now - timedelta(days=20)).isoformat(),
        },
        {
            "title": "Typo date",
            "text": "Unrelated text about oil prices and refiners today.",
            "url": "https://a.test/2",
            "published": (now + timedelta(days=400)).isoformat(),
        },
    ]
    first = tmp_path / "first.jsonl"
    first.write_text("\n".join(json.dumps(r) for r in records))
    copy = tmp_path / "copy.jsonl"
    copy.write_text(json.dumps({"title": "Old", "text": story, "url": "https://b.test/copy"}))
    with Store(":memory:") as store:
        ingest_files([first], store, progress=False)
        # The far-future date was replaced by the fetch time, so the 20-day-old story is
        # still inside the 30-day lookback and its syndicated copy is caught.
        report = ingest_files([copy], store, progress=False)
        flags = store.con.execute("SELECT max(published) <= now() FROM articles").fetchone()
    assert (report.new, report.near_duplicate) == (0, 1)
    assert flags == (True,)
