"""Store benchmark on a synthetic store of 1,000,000 articles (built by this script).

Prints JSON, then a short table, with:
- trends warm: `Store.trends("FIX", freq="W")` over one year, median of repeated calls, both
  with the default file handling (the file attached per call, so writers can get in between)
  and with `hold=True`;
- CLI trends end to end: `nlp-pipeline trends --entity FIX ...` as a fresh process, wall time;
- analysis writes: `Store.save_analyses` in batches of 1,024 (as `analyze` writes them), of
  realistic results (20 sentences, 5 entities, 3 themes each), into the 1M-article store;
  beside it the foundation's per-article `executemany` path on the same kind of rows;
- Parquet export of 100,000 articles (article level, nested entities and themes).

    python bench/store.py [--db /tmp/nlp-pipeline-bench-1m.duckdb] [--articles 1000000]

The store is built once with SQL (dates over 2025-2026, 10% syndicated copies, 2 tickers, an
index and a sector per article, 2 themes, no sentence rows) and reused; --rebuild rebuilds it.
It is written as ingestion writes (row groups of `WRITE_ROW_GROUP_ROWS` rows), then
`Store.optimize()` rewrites its fact tables (by entity, then date, in full-size row groups).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from nlp_pipeline.export import export
from nlp_pipeline.records import (
    AnalysisResult,
    EntityAnalysis,
    SentenceAnalysis,
    Sentiment,
    ThemeAnalysis,
)
from nlp_pipeline.store import Store
from nlp_pipeline.store.schema import MIGRATIONS

THEMES = [
    "small_cap_rotation", "megacap_concentration", "ai_infrastructure", "ai_adoption",
    "monetary_easing", "monetary_tightening", "fiscal_policy", "valuation", "earnings",
    "economic_growth", "inflation", "credit_banking", "regulation", "trade_tariffs",
    "mergers_acquisitions", "infrastructure_capex", "real_estate", "energy_commodities",
]  # fmt: skip
SECTORS = [
    "INDUSTRIALS", "FINANCIALS", "REAL_ESTATE", "ENERGY", "UTILITIES", "MATERIALS",
    "HEALTH_CARE", "CONSUMER_STAPLES", "CONSUMER_DISCRETIONARY", "INFORMATION_TECHNOLOGY",
    "COMMUNICATION_SERVICES",
]  # fmt: skip
START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_S = 2 * 365 * 86400


def build(path: Path, n: int) -> None:
    """The synthetic store, generated in SQL."""
    for suffix in ("", ".wal", ".writer"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    started = time.perf_counter()
    with Store(path, hold=True) as store:
        con = store.con
        step = SPAN_S / n
        themes = "[" + ", ".join(f"'{t}'" for t in THEMES) + "]"
        sectors = "[" + ", ".join(f"'{s}'" for s in SECTORS) + "]"
        con.execute(f"""
            CREATE TEMP TABLE gen AS
            SELECT i, CASE WHEN i % 10 = 9 THEN i - 1 ELSE i END AS base,
                   'b' || lpad(i::VARCHAR, 15, '0') AS article_id,
                   'b' || lpad((CASE WHEN i % 10 = 9 THEN i - 1 ELSE i END)::VARCHAR, 15, '0')
                       AS cluster_id,
                   TIMESTAMPTZ '{START.isoformat()}' + to_microseconds((i * {step} * 1e6)::BIGINT)
                       AS published,
                   TIMESTAMPTZ '{START.isoformat()}'
                       + to_microseconds(((CASE WHEN i % 10 = 9 THEN i - 1 ELSE i END)
                                          * {step} * 1e6)::BIGINT) AS story_at
            FROM range({n}) r(i)""")
        con.execute("""
            INSERT INTO articles
            SELECT article_id, 'feed' || (hash(base) % 20), 'https://news.test/' || article_id,
                   'Headline ' || i, 'Article ' || i || ': ' || repeat('market news text ', 30),
                   NULL, NULL, published, published + INTERVAL 4 MINUTE, 'h' || i, cluster_id,
                   NULL, published + INTERVAL 5 MINUTE, false, story_at, []::VARCHAR[]
            FROM gen""")
        con.execute("""
            INSERT INTO analyses
            SELECT article_id, 'v1', 'bench', published + INTERVAL 10 MINUTE, NULL, 'neutral',
                   (hash(base) % 2001) / 1000.0 - 1, 0.3, 0.4, 0.3, 20
            FROM gen""")
        # entities: two tickers (FIX in 1 of 300 stories), an index, a sector
        con.execute(f"""
            CREATE TEMP TABLE ents AS
            SELECT g.*, e.k,
                   CASE e.k WHEN 0 THEN 'TICKER' WHEN 1 THEN 'TICKER' WHEN 2 THEN 'INDEX'
                            ELSE 'SECTOR' END AS entity_type,
                   CASE e.k
                     WHEN 0 THEN CASE WHEN hash(base) % 300 = 0 THEN 'FIX'
                                      ELSE 'T' || (hash(base) % 2000) END
                     WHEN 1 THEN 'T' || (hash(base * 7 + 1) % 2000)
                     WHEN 2 THEN ['SPX', 'RUT', 'NDX', 'DJI'][(hash(base + 3) % 4 + 1)::BIGINT]
                     ELSE {sectors}[(hash(base + 4) % 11 + 1)::BIGINT] END AS entity_id,
                   (hash(base + e.k) % 1000) / 1000.0 AS relevance,
                   (hash(base + e.k + 17) % 2001) / 1000.0 - 1 AS sentiment
            FROM gen g, range(4) e(k)""")
        con.execute("""
            INSERT INTO article_entities
            SELECT article_id, 'v1', published + INTERVAL 10 MINUTE, NULL, cluster_id,
                   published, published + INTERVAL 5 MINUTE, story_at, entity_type, entity_id,
                   NULL, NULL, 1, relevance, sentiment, [[0, 3]]
            FROM ents ORDER BY entity_type, entity_id, story_at""")
        con.execute(f"""
            CREATE TEMP TABLE ths AS
            SELECT g.*, t.j,
                   {themes}[(((hash(base + 5) % 18) + t.j * (1 + hash(base + 11) % 17)) % 18
                             + 1)::BIGINT] AS theme_id,
                   (hash(base + t.j + 23) % 2001) / 1000.0 - 1 AS sentiment
            FROM gen g, range(2) t(j)""")
        con.execute("""
            INSERT INTO article_themes
            SELECT article_id, theme_id, 0.8, sentiment, [0], 'v1' FROM ths""")
        con.execute("""
            INSERT INTO entity_themes
            SELECT e.article_id, 'v1', e.published + INTERVAL 10 MINUTE, NULL, e.cluster_id,
                   e.published, e.published + INTERVAL 5 MINUTE, e.story_at, e.entity_type,
                   e.entity_id, e.relevance, t.theme_id, 0.8, t.sentiment,
                   hash(e.base + e.k * 3 + t.j) % 3 = 0, t.sentiment
            FROM ents e JOIN ths t USING (article_id)
            ORDER BY e.entity_type, e.entity_id, t.theme_id, e.story_at""")
        for table in ("gen", "ents", "ths"):
            con.execute(f"DROP TABLE {table}")
        con.execute("CHECKPOINT")
        store.optimize()
    print(f"built {n} articles in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def result(seed: int) -> AnalysisResult:
    """A realistic analysis: 20 sentences, 5 entities, 3 themes."""
    sentences = []
    offset = 0
    for k in range(20):
        text = f"Sentence {k} of article {seed} about markets, rates and earnings today."
        p = ((seed + k) % 10) / 10
        themes = [THEMES[(seed + k) % 18]] if k % 4 == 0 else []
        sentences.append(
            SentenceAnalysis(
                k, offset, offset + len(text), text, Sentiment.from_probs(p, 1 - p, 0.0), themes
            )
        )
        offset += len(text) + 1
    entities = [
        EntityAnalysis(
            "TICKER", f"T{(seed * 7 + j) % 2000}", "Name", "NYSE", 3, 0.5, 0.1,
            [(sentences[j * 3].start, sentences[j * 3].start + 3)] * 3,
        )
        for j in range(5)
    ]  # fmt: skip
    themes = [ThemeAnalysis(THEMES[(seed + 4 * j) % 18], 0.7, 0.2, [4 * j]) for j in range(3)]
    return AnalysisResult(Sentiment.from_probs(0.5, 0.3, 0.2), entities, themes, sentences, {})


def bench_writes(path: Path, count: int, batch: int) -> tuple[float, float]:
    """Articles/s through save_analyses into the big store (articles inserted untimed):
    per second of wall time, and per second of this process's CPU time."""
    tag = f"w{int(time.time() * 1000) % 10**9}"
    ids = [f"{tag}-{n:07d}" for n in range(count)]
    results = [result(n) for n in range(count)]
    now = datetime(2027, 1, 2, tzinfo=UTC)
    rows = pa.table(
        {
            "article_id": ids,
            "feed_id": ["bench"] * count,
            "url": [f"https://news.test/{i}" for i in ids],
            "title": ["t"] * count,
            "text": ["x"] * count,
            "published": pa.array([now] * count, pa.timestamp("us", tz="UTC")),
            "fetched_at": pa.array([now] * count, pa.timestamp("us", tz="UTC")),
            "content_hash": ids,
            "cluster_id": ids,
            "first_seen_at": pa.array([now] * count, pa.timestamp("us", tz="UTC")),
            "published_fallback": [False] * count,
            "story_at": pa.array([now] * count, pa.timestamp("us", tz="UTC")),
        }
    )
    with Store(path) as store:
        with store.transaction() as con:
            con.register("_new", rows)
            con.execute("INSERT INTO articles BY NAME SELECT * FROM _new").fetchall()
            con.unregister("_new")
        started, cpu = time.perf_counter(), time.process_time()
        for first in range(0, count, batch):
            items = list(
                zip(ids[first : first + batch], results[first : first + batch], strict=True)
            )
            store.save_analyses(items, "bench-v2", "bench")
        return count / (time.perf_counter() - started), count / (time.process_time() - cpu)


def bench_executemany(count: int) -> float:
    """The foundation's write path (per article: DELETE, INSERT, executemany) on a v1 schema."""
    folder = Path(tempfile.mkdtemp())
    con = duckdb.connect(str(folder / "v1.duckdb"))
    con.execute(MIGRATIONS[0][1])
    results = [result(n) for n in range(count)]
    started = time.perf_counter()
    for n, r in enumerate(results):
        key = f"a{n}"
        con.execute("BEGIN TRANSACTION")
        for table in ("analyses", "sentences", "article_entities", "article_themes"):
            con.execute(f"DELETE FROM {table} WHERE article_id = ?", [key])
        s = r.sentiment
        con.execute(
            "INSERT INTO analyses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [key, "v", None, datetime.now(UTC), s.label, s.score, s.positive, s.neutral,
             s.negative, len(r.sentences)],
        )  # fmt: skip
        con.executemany(
            "INSERT INTO sentences VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[key, x.index, x.start, x.end, x.text, x.sentiment.label, x.sentiment.score,
              x.sentiment.positive, x.sentiment.neutral, x.sentiment.negative, x.themes, "v"]
             for x in r.sentences],
        )  # fmt: skip
        con.executemany(
            "INSERT INTO article_entities VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[key, e.type, e.id, e.name, e.exchange, e.mentions, e.relevance, e.sentiment,
              [list(x) for x in e.spans], "v"] for e in r.entities],
        )  # fmt: skip
        con.executemany(
            "INSERT INTO article_themes VALUES (?, ?, ?, ?, ?, ?)",
            [[key, t.id, t.score, t.sentiment, t.evidence, "v"] for t in r.themes],
        )
        con.execute("COMMIT")
    rate = count / (time.perf_counter() - started)
    con.close()
    shutil.rmtree(folder)
    return rate


def median_ms(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--db", default=str(Path(tempfile.gettempdir()) / "nlp-pipeline-bench-1m.duckdb")
    )
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--writes", type=int, default=5000)
    parser.add_argument("--export", type=int, default=100_000)
    args = parser.parse_args()
    path = Path(args.db)
    if args.rebuild or not path.exists():
        build(path, args.articles)
    year = ("2026-01-01", "2027-01-01")
    figures: dict[str, object] = {}

    with Store(path, read_only=True) as store:
        store.trends("FIX", freq="W", start=year[0], end=year[1])  # cold
        frame = store.trends("FIX", freq="W", start=year[0], end=year[1])
        figures["trends_rows"] = len(frame)
        figures["fix_stories_in_year"] = int(
            store.query(
                "SELECT count(DISTINCT cluster_id) AS n FROM article_entities WHERE entity_id = "
                "'FIX' AND story_at >= '2026-01-01' AND story_at < '2027-01-01'"
            )["n"][0]
        )
        figures["trends_warm_ms"] = round(
            median_ms(lambda: store.trends("FIX", freq="W", start=year[0], end=year[1]), 15), 1
        )
    with Store(path, read_only=True, hold=True) as held:
        held.trends("FIX", freq="W", start=year[0], end=year[1])
        figures["trends_warm_hold_ms"] = round(
            median_ms(lambda: held.trends("FIX", freq="W", start=year[0], end=year[1]), 15), 1
        )
    cli = [sys.executable, "-m", "nlp_pipeline.cli", "trends", "--entity", "FIX", "--start",
           year[0], "--end", year[1], "--db", str(path), "--format", "csv"]  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    subprocess.run(cli, capture_output=True, check=True, env=env)
    figures["cli_trends_ms"] = round(
        median_ms(lambda: subprocess.run(cli, capture_output=True, check=True, env=env), 5), 0
    )

    export_span = timedelta(seconds=SPAN_S * args.export / args.articles)
    since = datetime(2026, 3, 1, tzinfo=UTC)
    out = Path(tempfile.mkdtemp()) / "export.parquet"
    with Store(path, read_only=True) as store:
        started, cpu = time.perf_counter(), time.process_time()
        written = export(store, out, "parquet", since=since, until=since + export_span).articles
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    figures["export_articles"] = written
    figures["export_articles_per_s"] = round(written / seconds)
    figures["export_articles_per_cpu_s"] = round(written / cpu_seconds)
    figures["export_mb"] = round(out.stat().st_size / 1e6, 1)
    shutil.rmtree(out.parent)

    wall, cpu_rate = bench_writes(path, args.writes, 1024)  # runner.WRITE_BATCH
    figures["writes_articles_per_s"] = round(wall)
    figures["writes_articles_per_cpu_s"] = round(cpu_rate)
    figures["writes_executemany_articles_per_s"] = round(bench_executemany(300), 1)
    figures["articles_in_store"] = args.articles
    figures["machine"] = (
        f"{platform.machine()} {os.cpu_count()} cpu, python {platform.python_version()}, duckdb {duckdb.__version__}"  # noqa: E501
    )
    figures["load_average_1m"] = round(os.getloadavg()[0], 1)  # other work on the machine
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
