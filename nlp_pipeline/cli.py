"""`nlp-pipeline`: a thin command line over the Python API (runner, Analyzer, Store)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import pandas as pd

from nlp_pipeline import __version__
from nlp_pipeline.config import Config, default_config_path, default_db_path, load_config
from nlp_pipeline.errors import PipelineError
from nlp_pipeline.records import FeedReport
from nlp_pipeline.store import Store
from nlp_pipeline.store.store import EXPORT_FORMATS, FREQUENCIES

if TYPE_CHECKING:  # imported where used: answers from the store need no spaCy
    from nlp_pipeline import runner
    from nlp_pipeline.nlp import Analyzer

DEFAULT_WINDOW_DAYS = 28  # runner.DEFAULT_WINDOW_DAYS, without importing the NLP stack


def _table(frame: pd.DataFrame, out: TextIO, empty: str = "(nothing yet)") -> None:
    if frame.empty:
        print(f"  {empty}", file=out)
        return
    shown = frame.copy()
    for column in shown.columns:
        if pd.api.types.is_datetime64_any_dtype(shown[column]):
            times = shown[column].dropna()
            whole_days = bool((times == times.dt.normalize()).all())
            shown[column] = shown[column].dt.strftime(
                "%Y-%m-%d" if whole_days else "%Y-%m-%d %H:%M"
            )
    text = shown.to_string(index=False, na_rep="-", max_colwidth=60)
    print("\n".join("  " + line for line in text.splitlines()), file=out)


def _print_reports(reports: Sequence[FeedReport], out: TextIO) -> None:
    frame = pd.DataFrame(
        [
            {
                "feed": r.feed_id,
                "new": r.new,
                "near_dup": r.near_duplicate,
                "already_stored": r.already_stored,
                "failed": r.failed,
                "note": "not modified" if r.not_modified else "",
            }
            for r in reports
        ]
    )
    print("Articles per feed (near_dup: new copies of a stored story):", file=out)
    _table(frame, out)
    errors = [(r.feed_id, e) for r in reports for e in r.errors]
    if errors:
        print(f"Failures ({len(errors)}):", file=out)
        for feed_id, error in errors[:20]:
            print(f"  [{feed_id}] {error}", file=out)
        if len(errors) > 20:
            print(f"  ... and {len(errors) - 20} more (see the ingest_errors table)", file=out)


def _print_summary(summary: runner.Summary, out: TextIO) -> None:
    if summary.window_end is None:
        print("The store is empty.", file=out)
        return
    days = summary.window_days
    end = summary.window_end.strftime("%Y-%m-%d")
    print(f"\nTop tickers, {days} days to {end} (stories, mean tone -1..1):", file=out)
    _table(summary.top_tickers, out)
    print(f"\nTop indices, policies, institutions, sectors, {days} days to {end}:", file=out)
    _table(summary.top_other_entities, out)
    print(f"\nThemes: stories in the {days} days to {end} vs the {days} days before:", file=out)
    _table(summary.themes, out)


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config or default_config_path())


def _db(args: argparse.Namespace) -> Path:
    return Path(args.db) if args.db else default_db_path()


def _analyzer(args: argparse.Namespace) -> Analyzer:
    from nlp_pipeline.nlp import Analyzer

    return Analyzer(themes_paths=[Path(p) for p in args.themes or []])


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline import runner

    config, analyzer = _config(args), _analyzer(args)
    with Store(_db(args)) as store:
        result = runner.run(
            config, store, analyzer, args.feeds, progress=not args.quiet, window_days=args.window
        )
    print(
        f"Run {result.run_id}: {result.status}; {result.analyzed} articles analyzed "
        f"into {_db(args)}",
        file=out,
    )
    _print_reports(result.reports, out)
    for warning in result.warnings[:10]:
        print(f"  warning: {warning}", file=sys.stderr)
    if result.summary is not None:
        _print_summary(result.summary, out)
    every_feed_failed = result.reports and all(
        r.failed and not (r.new or r.near_duplicate or r.already_stored) for r in result.reports
    )
    return 1 if every_feed_failed else 0


def cmd_ingest(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline import runner

    config = _config(args)
    with Store(_db(args)) as store:
        reports, warnings = runner.ingest(config, store, args.feeds, progress=not args.quiet)
    _print_reports(reports, out)
    for warning in warnings[:10]:
        print(f"  warning: {warning}", file=sys.stderr)
    return 0


def cmd_analyze(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline import runner

    analyzer = _analyzer(args)
    with Store(_db(args)) as store:
        count = runner.analyze(store, analyzer, reanalyze=args.all, progress=not args.quiet)
    print(f"{count} articles analyzed with {analyzer.version_key}", file=out)
    return 0


def cmd_tag(args: argparse.Namespace, out: TextIO) -> int:
    analyzer = _analyzer(args)
    try:
        # Undecodable bytes become U+FFFD rather than an error: tag must answer for any input.
        if args.file in (None, "-"):
            data = sys.stdin.buffer.read().decode("utf-8", errors="replace")
        else:
            data = Path(args.file).read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise PipelineError(f"cannot read {args.file}: {exc.strerror}") from None
    if args.jsonl:
        for number, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            text = line
            if line.lstrip().startswith("{"):
                try:
                    record: Any = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise PipelineError(
                        f"{args.file or '-'} line {number}: bad JSON: {exc}"
                    ) from None
                text = record.get("text", "") if isinstance(record, dict) else ""
                if not isinstance(text, str):
                    raise PipelineError(f"{args.file or '-'} line {number}: 'text' is not a string")
            print(json.dumps(analyzer.tag(text), ensure_ascii=False), file=out)
        return 0
    print(json.dumps(analyzer.tag(data), ensure_ascii=False, indent=2), file=out)
    return 0


def _render(
    frame: pd.DataFrame, args: argparse.Namespace, out: TextIO, title: str, empty: str
) -> None:
    """An answer as a table (with a title), CSV or JSON records."""
    if args.format == "csv":
        frame.to_csv(out, index=False)
        return
    if args.format == "json":
        shown = frame.copy()
        for column in shown.columns:
            if shown[column].map(lambda v: hasattr(v, "isoformat")).any():
                shown[column] = shown[column].map(
                    lambda v: v.isoformat() if hasattr(v, "isoformat") else v
                )
        print(shown.to_json(orient="records", indent=1, date_format="iso"), file=out)
        return
    print(title, file=out)
    shown = frame.copy()
    for column in shown.columns:
        if isinstance(shown[column].dtype, pd.Int64Dtype):  # to_string shows <NA> otherwise
            shown[column] = shown[column].map(lambda v: "-" if pd.isna(v) else str(v))
    _table(shown, out, empty)


def _as_of_note(args: argparse.Namespace) -> str:
    return f" as of {args.as_of}" if args.as_of else ""


def cmd_trends(args: argparse.Namespace, out: TextIO) -> int:
    if not args.entity and not args.theme:
        raise PipelineError("trends needs --entity (or --ticker), --theme, or both")
    by = args.by or ("theme" if args.entity else "entity")
    with Store(_db(args), read_only=True) as store:
        frame = store.trends(
            entity=args.entity,
            theme=args.theme,
            freq=args.freq,
            start=args.start,
            end=args.end,
            by=by,
            scope=args.scope,
            as_of=args.as_of,
            min_relevance=args.min_relevance,
        )
    subject = args.entity.upper() if args.entity else args.theme
    unit = FREQUENCIES[args.freq.upper()]
    what = "Themes in stories mentioning" if by == "theme" else "Entities in stories about"
    if args.plot:
        from nlp_pipeline.plots import plot_trends

        plot_trends(frame, Path(args.plot), subject=subject, freq=args.freq, by=by)
        print(f"plot written to {args.plot}", file=sys.stderr)
    _render(
        frame,
        args,
        out,
        f"{what} {subject} by {unit}{_as_of_note(args)} (stories: unique; share of its "
        f"stories; tone -1..1 per story; change vs previous {unit}; zscore vs trailing {unit}s):",
        f"no stories mention {subject}",
    )
    return 0


def cmd_top(args: argparse.Namespace, out: TextIO) -> int:
    with Store(_db(args), read_only=True) as store:
        frame = store.top(
            kind=args.kind,
            since=args.since,
            until=args.until,
            as_of=args.as_of,
            limit=args.limit,
            min_stories=args.min_stories,
        )
    _render(
        frame,
        args,
        out,
        f"Rising {args.kind}{_as_of_note(args)} (stories in the window vs the 4 windows before; "
        f"at least {args.min_stories} stories):",
        "nothing with enough stories in the window",
    )
    return 0


def cmd_comentions(args: argparse.Namespace, out: TextIO) -> int:
    with Store(_db(args), read_only=True) as store:
        frame = store.comentions(
            args.entity,
            since=args.since,
            until=args.until,
            as_of=args.as_of,
            scope=args.scope,
            limit=args.limit,
        )
    _render(
        frame,
        args,
        out,
        f"Entities and themes in stories with {args.entity.upper()}{_as_of_note(args)} "
        "(lift > 1: together more often than chance):",
        f"no stories mention {args.entity.upper()}",
    )
    return 0


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "entity": args.entity,
        "theme": args.theme,
        "entity_type": args.entity_type,
        "since": args.since,
        "until": args.until,
        "feeds": args.feed,
        "min_relevance": args.min_relevance,
        "scope": args.scope,
        "as_of": args.as_of,
    }


def cmd_articles(args: argparse.Namespace, out: TextIO) -> int:
    with Store(_db(args), read_only=True) as store:
        frame = store.articles(limit=args.limit, **_filters(args))
    if args.format == "table":
        frame = frame.drop(columns=["url", "cluster_id", "model_versions"])
        for column in ("entities", "themes"):
            frame[column] = frame[column].map(lambda v: " ".join(v))
        frame["evidence"] = frame["evidence"].map(lambda v: " | ".join(v))
    _render(frame, args, out, f"Articles{_as_of_note(args)}, newest first:", "no article matches")
    return 0


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.export import export

    with Store(_db(args), read_only=True) as store:
        result = export(
            store,
            Path(args.out),
            args.format,
            tables=args.tables,
            partition_by_month=args.by_month,
            card=not args.no_card,
            **_filters(args),
        )
    tables = ", ".join(f"{name} {rows}" for name, rows in result.tables.items())
    print(f"{result.articles} articles written to {args.out} ({args.format}; {tables})", file=out)
    return 0


def cmd_query(args: argparse.Namespace, out: TextIO) -> int:
    with Store(_db(args), read_only=True, sandboxed=True) as store:
        frame = store.query(args.sql)
    if args.format == "csv":
        frame.to_csv(out, index=False)
    elif args.format == "json":
        print(frame.to_json(orient="records", date_format="iso", indent=1), file=out)
    else:
        _table(frame, out, "(no rows)")
    return 0


def cmd_feeds(args: argparse.Namespace, out: TextIO) -> int:
    config = _config(args)
    if args.action == "list":
        frame = pd.DataFrame(
            [
                {
                    "id": f.id,
                    "kind": f.kind,
                    "every": f"{f.poll_interval_s // 60}m",
                    "full_text": f.full_text,
                    "enabled": f.enabled,
                    "url": f.url,
                }
                for f in config.feeds
            ]
        )
        _table(frame, out)
        return 0
    if not _db(args).exists():
        print(f"No store at {_db(args)} yet; no feed has been polled.", file=out)
        return 0
    with Store(_db(args), read_only=True) as store:
        frame = store.feed_status()
    _table(frame, out, "no feed has been polled yet")
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", help="DuckDB store file (default: $NLP_PIPELINE_DB or ./nlp_pipeline.duckdb)"
    )
    common.add_argument(
        "--config", help="feeds file (default: $NLP_PIPELINE_FEEDS or ./feeds.yaml)"
    )
    common.add_argument(
        "--themes",
        action="append",
        metavar="YAML",
        help="extra theme definitions (same shape as models/themes/taxonomy.yaml)",
    )
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars")

    parser = argparse.ArgumentParser(
        prog="nlp-pipeline",
        description="Financial news NLP: ingest feeds, tag tickers, sentiment and themes, "
        "and query the results.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", parents=[common], help="ingest, analyze and store; print a summary")
    p.add_argument("--feeds", nargs="+", metavar="ID", help="feed ids (default: every enabled)")
    p.add_argument(
        "--window",
        type=int,
        default=DEFAULT_WINDOW_DAYS,
        metavar="DAYS",
        help="summary window in days (default %(default)s)",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("ingest", parents=[common], help="poll feeds and store new articles")
    p.add_argument("--feeds", nargs="+", metavar="ID")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser(
        "analyze",
        parents=[common],
        help="analyze stored articles not yet analyzed by the current models",
    )
    p.add_argument("--all", action="store_true", help="re-analyze every article")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("tag", parents=[common], help="print contract JSON for text")
    p.add_argument("file", nargs="?", help="text file, or - for standard input (default)")
    p.add_argument(
        "--jsonl",
        action="store_true",
        help="one text per line (plain, or JSON with a 'text' field); JSON per line out",
    )
    p.set_defaults(func=cmd_tag)

    answer = argparse.ArgumentParser(add_help=False)
    answer.add_argument(
        "--as-of",
        metavar="TIMESTAMP",
        help="answer with only what the store held then (ingested and analyzed), e.g. "
        "2026-10-05T14:00Z; for backtests",
    )
    answer.add_argument("--format", default="table", choices=["table", "csv", "json"])

    def article_filters(p: argparse.ArgumentParser, entity_required: bool = False) -> None:
        p.add_argument("--entity", "--ticker", dest="entity", help="entity: FIX or TICKER:FIX")
        p.add_argument("--theme", help="theme id (small_cap_rotation, ...)")
        p.add_argument("--entity-type", help="only articles naming an entity of this type")
        p.add_argument("--since", metavar="DATE", help="published at or after (UTC)")
        p.add_argument("--until", metavar="DATE", help="published before (UTC)")
        p.add_argument("--feed", action="append", metavar="ID", help="only this feed (repeatable)")
        p.add_argument("--min-relevance", type=float, default=0.0, metavar="R")
        p.add_argument(
            "--scope",
            default="sentence",
            choices=["sentence", "article"],
            help="entity and theme in one sentence (default) or anywhere in the article",
        )

    p = sub.add_parser(
        "trends",
        parents=[common, answer],
        help="themes around an entity (or entities around a theme) over time",
    )
    p.add_argument("--entity", "--ticker", dest="entity", help="FIX, TICKER:FIX, RUT, OBBBA...")
    p.add_argument("--theme", help="only this theme id (with --by entity: the theme to follow)")
    p.add_argument(
        "--freq",
        default="W",
        choices=sorted(FREQUENCIES) + [f.lower() for f in FREQUENCIES],
        help="D, W, M or Q (default W)",
    )
    p.add_argument("--start", metavar="DATE", help="first period (UTC date)")
    p.add_argument("--end", metavar="DATE", help="stories before this date only")
    p.add_argument(
        "--by",
        choices=["theme", "entity"],
        help="one row per theme (default with --entity) or per entity (default with only --theme)",
    )
    p.add_argument("--scope", default="sentence", choices=["sentence", "article"])
    p.add_argument("--min-relevance", type=float, default=0.0, metavar="R")
    p.add_argument(
        "--plot", metavar="FILE", help="also draw volume and tone: FILE.png or FILE.html"
    )
    p.set_defaults(func=cmd_trends)

    p = sub.add_parser("top", parents=[common, answer], help="rising themes, tickers or entities")
    p.add_argument("kind", nargs="?", default="themes", choices=["themes", "tickers", "entities"])
    p.add_argument("--since", metavar="DATE", help="window start (default: 4 weeks before its end)")
    p.add_argument("--until", metavar="DATE", help="window end (default: as-of, else the newest)")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--min-stories", type=int, default=3, help="volume guard (default 3)")
    p.set_defaults(func=cmd_top)

    p = sub.add_parser(
        "comentions", parents=[common, answer], help="entities and themes that go with an entity"
    )
    p.add_argument("entity", help="FIX or TICKER:FIX")
    p.add_argument("--since", metavar="DATE")
    p.add_argument("--until", metavar="DATE")
    p.add_argument("--scope", default="sentence", choices=["sentence", "article"])
    p.add_argument("--limit", type=int, default=30)
    p.set_defaults(func=cmd_comentions)

    p = sub.add_parser(
        "articles", parents=[common, answer], help="tagged articles with evidence sentences"
    )
    article_filters(p)
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_articles)

    p = sub.add_parser("export", parents=[common], help="write the tagged article dataset")
    p.add_argument("--format", required=True, choices=list(EXPORT_FORMATS))
    p.add_argument("--out", required=True, help="output file (a folder with --tables/--by-month)")
    p.add_argument(
        "--tables",
        action="store_true",
        help="flat tables (articles, sentences, mentions, themes) in the folder --out",
    )
    p.add_argument("--by-month", action="store_true", help="Parquet partitioned by month")
    p.add_argument("--no-card", action="store_true", help="no README dataset card beside it")
    p.add_argument("--as-of", metavar="TIMESTAMP", help="only what the store held then")
    article_filters(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("query", parents=[common], help="run read-only SQL against the store")
    p.add_argument("sql")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("feeds", parents=[common], help="list configured feeds or their status")
    p.add_argument("action", choices=["list", "status"])
    p.set_defaults(func=cmd_feeds)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args, out or sys.stdout)
        return code
    except PipelineError as exc:
        print(f"nlp-pipeline {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted; everything committed so far is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
