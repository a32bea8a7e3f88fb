"""The tagged article dataset: Parquet, CSV or JSON Lines, filtered, with a dataset card.

Article level (the default): one row per article with its entities and themes nested (CSV gets
them flattened to `;`-joined text). `tables=True`: a folder of flat tables, `articles`,
`sentences`, `mentions` (article x entity) and `themes` (article x theme), joined by
`article_id`. Parquet can be partitioned by month (`month=YYYY-MM` folders, hive style), which
pandas, DuckDB and `datasets.load_dataset("parquet", ...)` all read directly. A README.md
dataset card beside the data gives its schema, counts, date range and model versions.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from nlp_pipeline import __version__
from nlp_pipeline.errors import StoreError
from nlp_pipeline.store.queries import ArticleFilter, selected_articles_sql, used_params

if TYPE_CHECKING:
    from nlp_pipeline.store import Store

FORMATS = ("parquet", "csv", "jsonl")
_EXTENSIONS = {"parquet": "parquet", "csv": "csv", "jsonl": "jsonl"}
_COPY = {"parquet": "FORMAT parquet", "csv": "FORMAT csv, HEADER true", "jsonl": "FORMAT json"}


@dataclass
class ExportResult:
    path: Path
    articles: int
    files: list[Path] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)


# Entities and themes per article, nested: list_sort over structs whose first fields are the
# sort keys rather than an ordered list aggregate, which made DuckDB sort every group's rows and
# took most of an export's time (relevance and score negated for descending order).
_NESTED = """
    ent AS (SELECT article_id,
                   list_transform(s, lambda x: {'type': x.t, 'id': x.i, 'name': x.n,
                                  'relevance': -x.r, 'sentiment': x.s, 'mentions': x.m})
                       AS entities,
                   list_transform(list_filter(s, lambda x: x.t = 'TICKER'), lambda x: x.i)
                       AS tickers
            FROM (SELECT e.article_id,
                         list_sort(list({'r': -e.relevance, 'i': e.entity_id, 't': e.entity_type,
                                         'n': e.name, 's': e.sentiment, 'm': e.mentions})) AS s
                  FROM article_entities e JOIN _export_sel USING (article_id, model_versions)
                  GROUP BY 1)),
    th AS (SELECT article_id,
                  list_transform(s, lambda x: {'id': x.i, 'score': -x.r, 'sentiment': x.s,
                                 'evidence': x.e}) AS themes
           FROM (SELECT t.article_id,
                        list_sort(list({'r': -t.score, 'i': t.theme_id, 's': t.sentiment,
                                        'e': t.evidence})) AS s
                 FROM article_themes t JOIN _export_sel USING (article_id, model_versions)
                 GROUP BY 1))"""

# The same as `;`-joined text, for CSV.
_FLAT = """
    ent AS (SELECT e.article_id,
                   string_agg(e.entity_type || ':' || e.entity_id, ';'
                              ORDER BY e.relevance DESC, e.entity_id) AS entities,
                   string_agg(e.entity_id, ';' ORDER BY e.relevance DESC, e.entity_id)
                       FILTER (WHERE e.entity_type = 'TICKER') AS tickers
            FROM article_entities e JOIN _export_sel USING (article_id, model_versions)
            GROUP BY 1),
    th AS (SELECT t.article_id, string_agg(t.theme_id, ';' ORDER BY t.score DESC, t.theme_id)
                      AS themes
           FROM article_themes t JOIN _export_sel USING (article_id, model_versions)
           GROUP BY 1)"""


def _article_sql(nested: bool) -> str:
    return f"""
        WITH {_NESTED if nested else _FLAT}
        SELECT a.article_id, a.feed_id, a.url, a.title, a.published, a.published_fallback,
               a.first_seen_at, a.cluster_id, a.cluster_id <> a.article_id AS near_duplicate,
               n.sentiment_label, n.sentiment_score, ent.tickers, ent.entities, th.themes,
               n.model_versions, n.analyzed_at, a.text,
               strftime(a.published, '%Y-%m') AS month
        FROM _export_sel s JOIN articles a USING (article_id)
        JOIN analyses n USING (article_id, model_versions)
        LEFT JOIN ent USING (article_id) LEFT JOIN th USING (article_id)
        ORDER BY a.published, a.article_id"""


_TABLES = {
    "articles": """
        SELECT a.article_id, a.feed_id, a.url, a.title, a.published, a.published_fallback,
               a.first_seen_at, a.cluster_id, a.cluster_id <> a.article_id AS near_duplicate,
               n.sentiment_label, n.sentiment_score, n.p_positive, n.p_neutral, n.p_negative,
               n.model_versions, n.analyzed_at, a.text, strftime(a.published, '%Y-%m') AS month
        FROM _export_sel JOIN articles a USING (article_id)
        JOIN analyses n USING (article_id, model_versions) ORDER BY a.published, a.article_id""",
    "sentences": """
        SELECT s.article_id, s.sentence_index, s.start_char, s.end_char, s.text,
               s.sentiment_label, s.sentiment_score, s.themes,
               strftime(a.published, '%Y-%m') AS month
        FROM sentences s JOIN _export_sel USING (article_id, model_versions)
        JOIN articles a USING (article_id) ORDER BY a.published, s.article_id, s.sentence_index""",
    "mentions": """
        SELECT e.article_id, e.entity_type, e.entity_id, e.name, e.exchange, e.mentions,
               e.relevance, e.sentiment, e.spans, strftime(e.published, '%Y-%m') AS month
        FROM article_entities e JOIN _export_sel USING (article_id, model_versions)
        ORDER BY e.published, e.article_id, e.relevance DESC, e.entity_id""",
    "themes": """
        SELECT t.article_id, t.theme_id, t.score, t.sentiment, t.evidence,
               strftime(a.published, '%Y-%m') AS month
        FROM article_themes t JOIN _export_sel USING (article_id, model_versions)
        JOIN articles a USING (article_id) ORDER BY a.published, t.article_id, t.score DESC""",
}


def _copy(con: Any, sql: str, target: Path, fmt: str, by_month: bool) -> list[Path]:
    quoted = str(target).replace("'", "''")
    if by_month:
        con.execute(
            f"COPY ({sql}) TO '{quoted}' "
            f"(FORMAT parquet, PARTITION_BY (month), OVERWRITE_OR_IGNORE true)"
        )
        return sorted(target.rglob("*.parquet"))
    con.execute(f"COPY (SELECT * EXCLUDE (month) FROM ({sql})) TO '{quoted}' ({_COPY[fmt]})")
    return [target]


def export(
    store: Store,
    out: str | Path,
    fmt: str = "parquet",
    *,
    tables: bool = False,
    partition_by_month: bool = False,
    card: bool = True,
    **filters: Any,
) -> ExportResult:
    """Write the articles matching `filters` (see `queries.ArticleFilter`) to `out`: a file
    (article level), or a folder with `tables` or `partition_by_month`. Returns what was written."""
    if fmt not in FORMATS:
        raise StoreError(f"unknown export format {fmt!r}; use {', '.join(FORMATS)}")
    if partition_by_month and fmt != "parquet":
        raise StoreError("partitioning by month needs --format parquet")
    try:
        chosen = ArticleFilter(**filters)
    except TypeError as exc:
        raise StoreError(f"bad export filter: {exc}") from None
    path = Path(out)
    folder = tables or partition_by_month
    if folder and path.exists() and not path.is_dir():
        raise StoreError(f"{path} is a file; a folder is needed for --tables or --by-month")
    try:
        with store._session() as con:
            selected, params = selected_articles_sql(con, chosen)
            # Temporary tables live outside the store's file, so read-only stores allow them.
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _export_sel AS {selected}",
                used_params(selected, params),
            )
            result = _write(con, path, fmt, tables, partition_by_month, folder)
            result.tables["articles"] = result.articles
            if card:
                _write_card(con, result, fmt, chosen, tables, partition_by_month)
            con.execute("DROP TABLE IF EXISTS _export_sel")
    except duckdb.Error as exc:
        raise StoreError(f"export to {path} failed: {exc}") from None
    return result


def _write(
    con: Any, path: Path, fmt: str, tables: bool, by_month: bool, folder: bool
) -> ExportResult:
    if folder:
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    row = con.execute("SELECT count(*) FROM _export_sel").fetchone()
    result = ExportResult(path, int(row[0]) if row else 0)
    if tables:
        for name, sql in _TABLES.items():
            target = path / name if by_month else path / f"{name}.{_EXTENSIONS[fmt]}"
            if fmt == "csv" and name in ("sentences", "mentions", "themes"):
                sql = _flatten_lists(name, sql)
            result.files += _copy(con, sql, target, fmt, by_month)
            counted = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()
            result.tables[name] = int(counted[0]) if counted else 0
    else:
        target = path / "articles" if by_month else path
        result.files += _copy(con, _article_sql(fmt != "csv"), target, fmt, by_month)
    return result


def _flatten_lists(name: str, sql: str) -> str:
    """CSV has no lists: list columns become JSON text."""
    column = {"sentences": "themes", "mentions": "spans", "themes": "evidence"}[name]
    return f"SELECT * REPLACE (to_json({column})::VARCHAR AS {column}) FROM ({sql})"


def _write_card(
    con: Any,
    result: ExportResult,
    fmt: str,
    chosen: ArticleFilter,
    tables: bool,
    by_month: bool,
) -> None:
    stats = con.execute(
        """SELECT min(a.published), max(a.published), count(DISTINCT a.cluster_id),
                  count(DISTINCT a.feed_id)
           FROM _export_sel JOIN articles a USING (article_id)"""
    ).fetchone()
    versions = con.execute(
        "SELECT model_versions, count(*) FROM _export_sel GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    first, last, stories, feeds = stats if stats else (None, None, 0, 0)
    folder = result.path if result.path.is_dir() else result.path.parent
    name = result.path.name
    filters = {k: v for k, v in asdict(chosen).items() if v not in (None, 0.0, [], ())}
    filters.pop("scope", None) if not (chosen.entity and chosen.theme) else None
    layout = (
        "flat tables: " + ", ".join(result.tables)
        if tables
        else "one row per article, entities and themes nested"
        + (" (CSV: `;`-joined)" if fmt == "csv" else "")
    )
    if by_month:
        layout += "; Parquet partitioned by month (`month=YYYY-MM/` folders)"
    # what to point readers at: the file, or (with --tables) the articles table
    sample = name
    if tables:
        sample = f"{name}/articles" + ("" if by_month else f".{_EXTENSIONS[fmt]}")
    glob = f"{sample}/**/*.parquet" if by_month else sample
    reader = {"parquet": "read_parquet", "csv": "read_csv", "jsonl": "read_json"}[fmt]
    loader = f'datasets.load_dataset("{ {"jsonl": "json"}.get(fmt, fmt) }", data_files="{glob}")'
    lines = [
        f"# Tagged financial news: {name}",
        "",
        f"Exported by nlp-pipeline {__version__} on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"- Layout: {layout}",
        f"- Articles: {result.articles} ({stories} stories after near-duplicate clustering; "
        f"{feeds} feeds)",
        f"- Published: {_day(first)} to {_day(last)} (UTC)",
        f"- Filters: {filters or 'none'}",
        "- Models (analysis model versions: articles):",
        *[f"  - `{v}`: {n}" for v, n in versions],
        "",
        "| table | rows |",
        "|---|---|",
        *[f"| {t} | {n} |" for t, n in result.tables.items()],
        "",
        "## Reading it",
        "",
        "```python",
        "import pandas as pd, duckdb, datasets",
        f'pd.{reader}("{sample}"{", lines=True" if fmt == "jsonl" else ""})',
        f"duckdb.sql(\"SELECT * FROM '{glob}'\")",
        loader,
        "```",
        "",
        "## Columns",
        "",
        "- `published`: publication time in UTC; where the source gave none, the fetch time, and",
        "  `published_fallback` is true. `first_seen_at`: when the store first held the article.",
        "- `cluster_id`: the story (near-duplicate cluster); `near_duplicate`: a later copy.",
        "- `sentiment_score`: P(positive) - P(negative), -1..1; entity and theme `sentiment` the",
        "  same on their sentences. `relevance` 0..1: how central the entity is to the article.",
        "- Entity ids: TICKER symbols, INDEX (SPX, RUT...), POLICY, ORG, SECTOR (DESIGN.md 3.2);",
        "  theme ids: the narrative taxonomy (DESIGN.md 3.3). `evidence`: sentence indices.",
        '- Offsets (`start_char`, `end_char`, `spans`) point into `title + "\\n\\n" + text`.',
        "",
        "Article text comes from the feeds' publishers: check their terms before redistributing.",
        "",
    ]
    (folder / (f"{name}.README.md" if not result.path.is_dir() else "README.md")).write_text(
        "\n".join(lines), encoding="utf-8"
    )


def _day(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if isinstance(value, datetime) else "-"
