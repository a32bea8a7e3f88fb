"""`ingest --file` and `feeds status` from the command line."""

from __future__ import annotations

import io
import json
from pathlib import Path

from nlp_pipeline.cli import main


def test_ingest_file_summary_and_bad_file(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    records = inbox / "news.jsonl"
    records.write_text(
        json.dumps({"title": "Fed holds", "body": "Rates unchanged.", "url": "https://x.test/1"})
        + "\nnot json\n"
    )
    (inbox / "blob.xml").write_bytes(b"\x00\x01garbage")
    db = tmp_path / "s.duckdb"
    out = io.StringIO()
    code = main(["ingest", "--db", str(db), "-q", "--file", str(inbox)], out)
    text = out.getvalue()
    assert code == 0
    assert "2 files read, 1 unusable; articles: 1 new" in text and "1 bad records" in text
    assert f"{records}: line 2: bad JSON" in text
    assert f"{inbox / 'blob.xml'}:" in text
    again = io.StringIO()
    main(["ingest", "--db", str(db), "-q", "--file", str(records)], again)
    assert "0 new" in again.getvalue() and "1 already stored" in again.getvalue()


def test_feeds_status_lists_every_configured_feed(tmp_path: Path) -> None:
    (tmp_path / "feed.xml").write_text(
        '<rss version="2.0"><channel><title>W</title><item><title>One</title>'
        "<link>https://x.test/one</link><description>Text.</description></item></channel></rss>"
    )
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "feeds:\n  - id: good\n    url: feed.xml\n    full_text: false\n"
        "  - id: broken\n    url: missing.xml\n  - id: never\n    url: feed.xml\n"
        "    enabled: false\n"
    )
    db = tmp_path / "s.duckdb"
    before = io.StringIO()
    main(["feeds", "status", "--config", str(config), "--db", str(db)], before)
    assert "No store" in before.getvalue() and "never" in before.getvalue()
    main(["ingest", "--config", str(config), "--db", str(db), "-q"], io.StringIO())
    out = io.StringIO()
    main(["feeds", "status", "--config", str(config), "--db", str(db)], out)
    lines = {line.split()[0]: line for line in out.getvalue().splitlines()[1:]}
    assert set(lines) == {"good", "broken", "never"}
    assert "file not found" in lines["broken"]
    assert lines["good"].split()[-3:] == ["-", "0", "1"]  # no last error; errors, articles
    assert "-" in lines["never"]  # never polled
