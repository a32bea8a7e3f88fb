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

# Mirrors nlp_pipeline.evaluation.sentiment.DATASETS without importing it at start-up.
SENTIMENT_DATASETS = ("fpb", "fpb-allagree", "fpb-dev", "tfns", "semeval", "fiqa")

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

    if args.file:
        return _ingest_files(args, out)
    config = _config(args)
    with Store(_db(args)) as store:
        reports, warnings = runner.ingest(config, store, args.feeds, progress=not args.quiet)
    _print_reports(reports, out)
    for warning in warnings[:10]:
        print(f"  warning: {warning}", file=sys.stderr)
    return 0


def _ingest_files(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline import runner

    with Store(_db(args)) as store:
        report = runner.ingest_files(
            args.file, store, feed_id=args.feed_id, progress=not args.quiet
        )
    rate = report.articles / report.elapsed_s if report.elapsed_s else 0.0
    print(
        f"{report.files} files read, {report.files_failed} unusable; articles: {report.new} new, "
        f"{report.near_duplicate} near-duplicate, {report.already_stored} already stored, "
        f"{report.failed} bad records; {report.elapsed_s:.1f} s ({rate:.0f} articles/s) "
        f"into {_db(args)}",
        file=out,
    )
    if report.errors:
        print(f"Problems ({len(report.errors)}):", file=out)
        for error in report.errors[:20]:
            print(f"  {error}", file=out)
        if len(report.errors) > 20:
            print(
                f"  ... and {len(report.errors) - 20} more (see the ingest_errors table)", file=out
            )
    for warning in report.warnings[:10]:
        print(f"  warning: {warning}", file=sys.stderr)
    if len(report.warnings) > 10:
        print(f"  ... and {len(report.warnings) - 10} more warnings", file=sys.stderr)
    return 1 if report.files_failed and not report.articles else 0


def cmd_watch(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.watch import WatchRound, watch

    config, analyzer = _config(args), _analyzer(args)

    def show(done: WatchRound) -> None:
        parts = ", ".join(
            f"{r.feed_id} {'not modified' if r.not_modified else f'{r.new + r.near_duplicate} new'}"
            + (f" ({r.failed} failed)" if r.failed else "")
            for r in done.reports
        )
        print(
            f"{done.started_at:%Y-%m-%d %H:%M:%S} round {done.number}: {parts}; "
            f"{done.analyzed} analyzed",
            file=out,
            flush=True,
        )
        for feed_id, error in [(r.feed_id, e) for r in done.reports for e in r.errors][:5]:
            print(f"  [{feed_id}] {error}", file=out, flush=True)

    rounds = watch(
        config,
        _db(args),
        analyzer,
        args.feeds,
        max_rounds=args.rounds,
        on_round=show,
        on_error=lambda exc: print(f"  store busy, retrying: {exc}", file=sys.stderr),
        progress=not args.quiet,
    )
    print(f"watch stopped after {rounds} rounds; everything committed is kept", file=out)
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
    from nlp_pipeline import runner

    if not _db(args).exists():
        print(f"No store at {_db(args)} yet; no feed has been polled.", file=out)
        _table(runner.feed_status(config, None), out)
        return 0
    with Store(_db(args), read_only=True) as store:
        frame = runner.feed_status(config, store)
    _table(frame, out, "no feeds configured")
    return 0


def cmd_train_sentiment(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.train.sentiment import SentimentTrainingConfig, train

    config = SentimentTrainingConfig(
        work_dir=Path(args.work_dir),
        out_dir=Path(args.out),
        distill=args.distill,
        teacher_base=Path(args.teacher) if args.teacher else None,
        seed=args.seed,
        threads=args.threads,
        data_dir=Path(args.data) if args.data else None,
    )
    report = train(config, log=lambda line: print(line, file=out, flush=True))
    print(json.dumps(report, indent=1), file=out)
    return 0


def cmd_eval_sentiment(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.evaluation.sentiment import evaluate
    from nlp_pipeline.nlp import default_models_dir

    model_dir = Path(args.model) if args.model else default_models_dir() / "sentiment"
    data_dir = Path(args.data) if args.data else None
    report = evaluate(model_dir, args.dataset, data_dir, threads=args.threads)
    code = 0
    if args.floors:
        failures = check_floors(report, Path(args.floors))
        report["floors"] = {"file": args.floors, "failed": failures}
        code = 1 if failures else 0
    print(json.dumps(report, indent=1), file=out)
    for failure in report.get("floors", {}).get("failed", []):
        print(f"nlp-pipeline eval: below the pinned floor: {failure}", file=sys.stderr)
    return code


def check_floors(report: dict[str, Any], path: Path) -> list[str]:
    """The metrics of `report` below the floors pinned for its dataset in `path` (JSON)."""
    try:
        floors = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PipelineError(f"cannot read floors file {path}: {exc}") from None
    pinned = floors.get(report["dataset"])
    if not isinstance(pinned, dict):
        raise PipelineError(f"{path}: no floors for dataset {report['dataset']!r}")
    failures = []
    for metric, floor in pinned.items():
        value = report.get(metric)
        if not isinstance(value, int | float):
            raise PipelineError(f"{path}: {report['dataset']}.{metric} is not a reported metric")
        # 'ece' is an error: its pinned number is a ceiling.
        if (value > floor) if metric.startswith("ece") else (value < floor):
            failures.append(f"{report['dataset']} {metric} = {value} (pinned {floor})")
    return failures


def cmd_eval_entities(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.eval_entities import evaluate
    from nlp_pipeline.nlp.analyzer import default_models_dir

    result = evaluate(args.dataset, default_models_dir(), args.limit)
    if not args.errors:
        result.pop("errors", None)
    print(json.dumps(result, indent=2, ensure_ascii=False), file=out)
    return 0


def cmd_aliases(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.store import aliases as store_aliases

    if args.action == "list":
        with Store(_db(args)) as store:
            _table(store_aliases.list_aliases(store, args.all), out, "(no aliases yet)")
        return 0
    if not args.alias or (args.action == "add" and not args.ticker):
        raise PipelineError(
            f"aliases {args.action} needs ALIAS" + (" TICKER" if args.action == "add" else "")
        )
    from nlp_pipeline.nlp.tickers import normalize_symbol

    ticker = normalize_symbol(args.ticker) if args.ticker else None
    with Store(_db(args)) as store:
        if args.action == "add":
            assert ticker is not None
            new = store_aliases.record_aliases(store, [(args.alias, ticker)], source="user")
            print(f"{args.alias!r} -> {ticker}: {'added' if new else 'already known'}", file=out)
        else:
            removed = store_aliases.remove_alias(store, args.alias, ticker)
            print(f"{args.alias!r}: {removed} alias(es) removed", file=out)
    return 0


def cmd_refdata(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.nlp.analyzer import default_models_dir
    from nlp_pipeline.nlp.gazetteer import AliasClassifier
    from nlp_pipeline.nlp.refdata import download_official, import_files

    table = Path(args.table) if args.table else default_models_dir() / "entities" / "companies.tsv"
    classifier = AliasClassifier()
    if not classifier.available:
        print(
            "note: wordfreq and spacy-lookups-data are not installed; every one-word company "
            "name will need context to link",
            file=sys.stderr,
        )
    if args.action == "update":
        paths = download_official(Path(args.dest))
    else:
        if not args.paths:
            raise PipelineError("refdata import needs one or more files or folders")
        paths = [Path(p) for p in args.paths]
    touched = import_files(table, paths, classifier)
    print(f"{touched} listings merged into {table}", file=out)
    return 0


def cmd_entities(args: argparse.Namespace, out: TextIO) -> int:
    analyzer = _analyzer(args)
    rows = analyzer.recognizer.entity_table(args.type)
    frame = pd.DataFrame(rows, columns=["type", "id", "name", "exchange"])
    _table(frame, out, "(no entities)")
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

    p = sub.add_parser(
        "ingest",
        parents=[common],
        help="poll feeds (or read local files) and store new articles",
    )
    p.add_argument("--feeds", nargs="+", metavar="ID")
    p.add_argument(
        "--file",
        nargs="+",
        metavar="PATH",
        help="ingest local files or folders instead: RSS/Atom/sitemap files, HTML pages, "
        "JSONL (title, text or body, url, published), plain text; .gz too",
    )
    p.add_argument(
        "--feed-id", default="local", help="feed id recorded for --file input (default: local)"
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser(
        "watch",
        parents=[common],
        help="poll each feed on its interval and analyze what is new, until stopped",
    )
    p.add_argument("--feeds", nargs="+", metavar="ID", help="feed ids (default: every enabled)")
    p.add_argument("--rounds", type=int, metavar="N", help="stop after N polling rounds")
    p.set_defaults(func=cmd_watch)

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

    p = sub.add_parser("train", help="train a model from ../shared/data (needs the train extra)")
    train_sub = p.add_subparsers(dest="model", required=True)
    t = train_sub.add_parser(
        "sentiment",
        help="reproduce models/sentiment (MiniLM-L6 on FPB + TFNS, ONNX int8)",
        description="Fine-tunes all-MiniLM-L6-v2 on the FPB train split and TFNS train, picks "
        "the epoch by FPB dev, calibrates a temperature on FPB dev and exports ONNX int8. Steps "
        "checkpoint under --work-dir, so a rerun resumes. Example: nlp-pipeline train sentiment "
        "--out models/sentiment",
    )
    t.add_argument("--out", default="models/sentiment", help="output model folder")
    t.add_argument("--work-dir", default="build/train-sentiment", help="checkpoints and logs")
    t.add_argument("--distill", action="store_true", help="train an mpnet teacher and distill")
    t.add_argument("--teacher", metavar="DIR", help="all-mpnet-base-v2 folder (with --distill)")
    t.add_argument("--seed", type=int, default=13)
    t.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    t.add_argument("--data", metavar="DIR", help="shared data folder (default ../shared/data)")
    t.set_defaults(func=cmd_train_sentiment)

    p = sub.add_parser("eval", help="evaluate a model on a labeled dataset; JSON out")
    eval_sub = p.add_subparsers(dest="model", required=True)
    e = eval_sub.add_parser(
        "sentiment",
        help="accuracy, macro-F1, per-class scores, confusion, ECE (or sign accuracy, Pearson)",
        description="Example: nlp-pipeline eval sentiment --dataset fpb-allagree",
    )
    e.add_argument("--dataset", required=True, choices=SENTIMENT_DATASETS)
    e.add_argument("--model", metavar="DIR", help="model folder (default: models/sentiment)")
    e.add_argument("--data", metavar="DIR", help="shared data folder (default ../shared/data)")
    e.add_argument("--threads", type=int, help="ONNX Runtime threads (default: all cores)")
    e.add_argument(
        "--floors",
        metavar="JSON",
        help="exit 1 when a metric is below its floor pinned in this file (quality gate)",
    )
    e.set_defaults(func=cmd_eval_sentiment)

    p = sub.add_parser("feeds", parents=[common], help="list configured feeds or their status")
    p.add_argument("action", choices=["list", "status"])
    p.set_defaults(func=cmd_feeds)

    q = eval_sub.add_parser("entities", help="entity recognition and linking")
    q.add_argument(
        "--dataset", required=True, choices=["reuters-ric", "fnspid", "finer-ord", "team"]
    )
    q.add_argument("--limit", type=int, help="only the first N items")
    q.add_argument("--errors", action="store_true", help="list the team set's errors too")
    q.set_defaults(func=cmd_eval_entities)

    p = sub.add_parser("aliases", parents=[common], help="company aliases kept in the store")
    p.add_argument("action", choices=["list", "add", "remove"])
    p.add_argument("alias", nargs="?", help="the name as news writes it")
    p.add_argument("ticker", nargs="?", help="its ticker (remove: only this ticker's alias)")
    p.add_argument("--all", action="store_true", help="list removed aliases too")
    p.set_defaults(func=cmd_aliases)

    p = sub.add_parser("refdata", parents=[common], help="company reference data (tickers)")
    p.add_argument("action", choices=["import", "update"])
    p.add_argument("paths", nargs="*", help="import: SEC, Nasdaq Trader, S&P or iShares files")
    p.add_argument("--table", help="table to update (default: models/entities/companies.tsv)")
    p.add_argument("--dest", default="refdata-downloads", help="update: where downloads are saved")
    p.set_defaults(func=cmd_refdata)

    p = sub.add_parser("entities", parents=[common], help="list the entities that can be linked")
    p.add_argument("action", choices=["list"])
    p.add_argument("--type", choices=["TICKER", "INDEX", "POLICY", "ORG", "SECTOR"])
    p.set_defaults(func=cmd_entities)
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
