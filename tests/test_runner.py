"""End to end: feeds -> ingest -> analyze -> DuckDB, through the same functions the CLI calls."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from nlp_pipeline import runner
from nlp_pipeline.config import Config, FeedConfig, FetchSettings, load_config
from nlp_pipeline.ingest import Ingestor
from nlp_pipeline.nlp import Analyzer
from nlp_pipeline.records import Article, FeedEntry
from nlp_pipeline.store import Store
from tests.conftest import CORE_THEME_IDS, REPO, LocalServer, Route


@pytest.fixture(scope="module")
def demo_config() -> Config:
    return load_config(REPO / "feeds.yaml")


def test_demo_run_end_to_end(tmp_path: Path, demo_config: Config, analyzer: Analyzer) -> None:
    with Store(tmp_path / "demo.duckdb") as store:
        result = runner.run(demo_config, store, analyzer, ["demo"], progress=False)
        (report,) = result.reports
        assert result.status == "ok" and report.failed == 0
        assert report.new >= 40 and report.near_duplicate >= 3
        counts = store.counts()
        assert counts["articles"] == counts["analyses"] == report.new + report.near_duplicate
        assert result.analyzed == counts["articles"]

        types = set(store.query("SELECT DISTINCT entity_type FROM article_entities")["entity_type"])
        assert types == {"TICKER", "INDEX", "POLICY", "ORG", "SECTOR"}
        themes = set(store.query("SELECT DISTINCT theme_id FROM article_themes")["theme_id"])
        assert themes == set(CORE_THEME_IDS)
        fix = store.query("SELECT DISTINCT exchange FROM article_entities WHERE entity_id = 'FIX'")
        assert fix["exchange"].tolist() == ["NYSE"]
        ids = set(store.query("SELECT DISTINCT entity_id FROM article_entities")["entity_id"])
        assert {"SPX", "RUT", "OBBBA", "FED", "INDUSTRIALS", "NVDA", "EME"} <= ids
        # Every syndicated copy is clustered with its original story.
        copies = store.query("SELECT url, cluster_id <> article_id AS dup FROM articles")
        syndicated = copies[copies["url"].str.endswith("-syndicated.html")]
        assert len(syndicated) == report.near_duplicate and syndicated["dup"].all()
        # Article text is the extracted body, not the page boilerplate.
        texts = store.query("SELECT text FROM articles")["text"]
        assert not texts.str.contains("Sign up for").any()
        assert texts.str.contains(r"\((?:Demo Market Wire|.*Demo Wire Syndication)\) -").all()

        summary = result.summary
        assert summary is not None and not summary.top_tickers.empty
        assert "FIX" in set(summary.top_tickers["id"])
        trends = store.theme_trends("FIX", freq="W")
        assert trends["period"].nunique() >= 5

        # Second run: nothing new, nothing duplicated (feed not modified).
        again = runner.run(demo_config, store, analyzer, ["demo"], progress=False)
        assert again.reports[0].new == 0 and again.analyzed == 0
        assert store.counts() == counts
        # Even when the feed's validators are lost, stored articles are recognized.
        store.con.execute("UPDATE feed_state SET last_modified = NULL, etag = NULL")
        third = runner.run(demo_config, store, analyzer, ["demo"], progress=False)
        assert third.reports[0].already_stored == counts["articles"]
        assert store.counts() == counts


def _rss(items: list[tuple[str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link>"
        f"<pubDate>Tue, 06 Oct 2026 1{i}:00:00 GMT</pubDate></item>"
        for i, (title, link) in enumerate(items)
    )
    channel = f"<channel><title>t</title>{body}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


PAGE = (
    b"<html><head><meta charset='utf-8'><title>X</title></head><body><nav>Home Markets</nav>"
    b"<article><h1>Headline</h1><p>NEW YORK - %s</p>"
    b"<p>The Federal Reserve is expected to cut rates next month, traders said.</p>"
    b"</article><footer>Copyright</footer></body></html>"
)
GOOD = (
    b"Comfort Systems USA (NYSE: FIX) shares rose 5% after the company raised its guidance, "
    b"and analysts said demand for data center work stayed strong."
)
GZIPPED = (
    b"EMCOR said on Tuesday that its backlog of hospital and factory projects hit a record, "
    b"while its chief executive warned that labor costs keep climbing."
)
HEALED = (
    b"Quanta Services agreed to buy a grid engineering firm for $1.2 billion in cash, "
    b"its largest acquisition in three years."
)


def test_http_feeds_with_bad_input(
    tmp_path: Path,
    local_server: LocalServer,
    loopback_settings: FetchSettings,
    analyzer: Analyzer,
) -> None:
    good_feed = _rss(
        [
            ("Good", "/a/good"),
            ("Server error", "/a/error"),
            ("Binary", "/a/binary"),
            ("Gzipped", "/a/gz"),
        ]
    )
    local_server.routes.update(
        {
            "/good.xml": Route(
                body=good_feed, headers={"Content-Type": "application/rss+xml", "ETag": '"g1"'}
            ),
            "/broken.xml": Route(body=b"<html>this is no feed</html>"),
            "/a/good": Route(body=PAGE % GOOD, headers={"Content-Type": "text/html"}),
            "/a/error": Route(500, b"oops"),
            "/a/binary": Route(
                body=b"\x89PNG\r\n\x1a\n\x00\x00\x00", headers={"Content-Type": "image/png"}
            ),
            "/a/gz": Route(
                body=gzip.compress(PAGE % GZIPPED),
                headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
            ),
        }
    )
    settings = FetchSettings(
        allow_private_hosts=True,
        per_host_delay_s=0.0,
        backoff_base_s=0.0,
        max_retries=1,
        timeout_s=5.0,
    )
    config = Config(
        feeds=(
            FeedConfig("good", local_server.url("/good.xml")),
            FeedConfig("broken", local_server.url("/broken.xml")),
            FeedConfig("missing", local_server.url("/missing.xml")),
        ),
        settings=settings,
    )
    with Store(tmp_path / "s.duckdb") as store:
        result = runner.run(config, store, analyzer, progress=False)
        good, broken, missing = result.reports
        assert (good.new, good.failed) == (2, 2)
        assert any("HTTP 500" in e and "/a/error" in e for e in good.errors)
        assert any("binary payload" in e and "/a/binary" in e for e in good.errors)
        assert broken.failed == 1 and "feed 'broken'" in broken.errors[0]
        assert missing.failed == 1 and "HTTP 404" in missing.errors[0]
        assert result.status == "partial"
        errors = store.query("SELECT feed_id, url FROM ingest_errors ORDER BY url")
        assert len(errors) == 4
        tickers = set(store.query("SELECT entity_id FROM article_entities")["entity_id"])
        assert {"FIX", "EME"} <= tickers
        assert store.feed_state("good")["etag"] is None  # failures: validators not trusted yet

        # The server heals: the failed article is picked up, nothing stored twice.
        local_server.routes["/a/error"] = Route(
            body=PAGE % HEALED, headers={"Content-Type": "text/html"}
        )
        again = runner.run(config, store, analyzer, ["good"], progress=False)
        assert (again.reports[0].new, again.reports[0].already_stored) == (1, 2)
        assert store.counts()["articles"] == 3
        assert store.feed_state("good")["etag"] is None  # the binary item still fails


class CrashingIngestor(Ingestor):
    """Dies (like a killed process) when it reaches the nth article."""

    def __init__(self, settings: FetchSettings, crash_at: int) -> None:
        super().__init__(settings)
        self.calls = 0
        self.crash_at = crash_at

    def fetch_article(self, feed: FeedConfig, entry: FeedEntry, page: object = None) -> Article:
        self.calls += 1
        if self.calls == self.crash_at:
            raise KeyboardInterrupt
        return super().fetch_article(feed, entry, page)  # type: ignore[arg-type]


def test_crash_mid_run_keeps_what_was_committed(
    tmp_path: Path, demo_config: Config, analyzer: Analyzer
) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as store, pytest.raises(KeyboardInterrupt):
        runner.run(
            demo_config,
            store,
            analyzer,
            ["demo"],
            ingestor=CrashingIngestor(demo_config.settings, crash_at=6),
            progress=False,
        )
    with Store(path) as store:
        assert store.counts()["articles"] == 5
        result = runner.run(demo_config, store, analyzer, ["demo"], progress=False)
        assert result.reports[0].already_stored == 5
        total = store.counts()
        assert (
            total["articles"]
            == total["analyses"]
            == 5 + result.reports[0].new + result.reports[0].near_duplicate
        )
        assert (
            store.query("SELECT count(DISTINCT url) AS n FROM articles")["n"][0]
            == total["articles"]
        )


def test_ingest_then_analyze_as_runs_of_their_own(
    tmp_path: Path, demo_config: Config, analyzer: Analyzer
) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        reports, _ = runner.ingest(demo_config, store, ["demo"], progress=False)
        stored = store.counts()["articles"]
        assert stored == reports[0].new + reports[0].near_duplicate and stored > 0
        assert store.counts()["analyses"] == 0
        assert runner.analyze(store, analyzer, progress=False) == stored
        assert runner.analyze(store, analyzer, progress=False) == 0  # nothing pending
        assert runner.analyze(store, analyzer, reanalyze=True, progress=False) == stored
        runs = store.query(
            "SELECT command, status, articles_new, analyzed FROM runs ORDER BY started_at"
        )
        assert runs["status"].tolist() == ["ok"] * 4
        assert runs["command"].tolist() == ["ingest", "analyze", "analyze", "analyze"]
        assert runs["analyzed"].tolist() == [0, stored, 0, stored]
