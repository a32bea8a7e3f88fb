"""`nlp-pipeline`: a thin command line over the Python API (runner, Analyzer, Store)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from nlp_pipeline import __version__, runner
from nlp_pipeline.config import Config, default_config_path, default_db_path, load_config
from nlp_pipeline.errors import PipelineError
from nlp_pipeline.nlp import Analyzer
from nlp_pipeline.records import FeedReport
from nlp_pipeline.store import Store
from nlp_pipeline.store.store import EXPORT_FORMATS, FREQUENCIES

# Mirrors nlp_pipeline.evaluation.sentiment.DATASETS without importing it at start-up.
SENTIMENT_DATASETS = ("fpb", "fpb-allagree", "fpb-dev", "tfns", "semeval", "fiqa")


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
    return Analyzer(themes_paths=[Path(p) for p in args.themes or []])


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
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
    config = _config(args)
    with Store(_db(args)) as store:
        reports, warnings = runner.ingest(config, store, args.feeds, progress=not args.quiet)
    _print_reports(reports, out)
    for warning in warnings[:10]:
        print(f"  warning: {warning}", file=sys.stderr)
    return 0


def cmd_analyze(args: argparse.Namespace, out: TextIO) -> int:
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


def cmd_trends(args: argparse.Namespace, out: TextIO) -> int:
    if args.rotations:
        return _rotation_trends(args, out)
    if not args.ticker:
        raise PipelineError("trends needs --ticker (or --rotations)")
    with Store(_db(args), read_only=True) as store:
        frame = store.theme_trends(args.ticker, args.theme, args.freq)
    if args.format == "csv":
        frame.to_csv(out, index=False)
    elif args.format == "json":
        frame["period"] = frame["period"].astype(str)
        print(frame.to_json(orient="records", indent=1), file=out)
    else:
        print(
            f"Themes in stories mentioning {args.ticker.upper()} by "
            f"{FREQUENCIES[args.freq.upper()]} (share of its stories; tone -1..1):",
            file=out,
        )
        _table(frame, out, f"no stories mention {args.ticker.upper()}")
    return 0


def _rotation_trends(args: argparse.Namespace, out: TextIO) -> int:
    with Store(_db(args), read_only=True) as store:
        frame = store.rotation_flows(args.freq)
    if args.format == "csv":
        frame.to_csv(out, index=False)
    elif args.format == "json":
        frame["period"] = frame["period"].astype(str)
        print(frame.to_json(orient="records", indent=1), file=out)
    else:
        print(
            f"Rotation flows by {FREQUENCIES[args.freq.upper()]} (stories; from None: the side "
            "left is not named; tone -1..1):",
            file=out,
        )
        _table(frame, out, "no rotation flows stored")
    return 0


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    with Store(_db(args), read_only=True) as store:
        rows = store.export(args.format, Path(args.out))
    print(f"{rows} articles written to {args.out} ({args.format})", file=out)
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


def cmd_train_themes(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.nlp.analyzer import default_models_dir
    from nlp_pipeline.train.themes import ThemeTrainingConfig, train

    config = ThemeTrainingConfig(
        models_dir=Path(args.models) if args.models else default_models_dir(),
        encoder_dir=Path(args.encoder) if args.encoder else None,
        out_dir=Path(args.out) if args.out else None,
        data_dir=Path(args.data) if args.data else None,
    )
    report = train(config, log=lambda message: print(message, file=sys.stderr))
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


def cmd_eval_themes(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.evaluation.themes import evaluate

    report = evaluate(
        args.dataset,
        args.split,
        themes_paths=[Path(p) for p in args.themes or []],
        data_dir=Path(args.data) if args.data else None,
    )
    print(json.dumps(report, indent=1), file=out)
    return 0


def cmd_themes(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.nlp.analyzer import default_models_dir
    from nlp_pipeline.nlp.themes import theme_catalog

    catalog = theme_catalog(default_models_dir(), [Path(p) for p in args.themes or []])
    if args.action == "list":
        frame = pd.DataFrame(
            [
                {
                    "id": t["id"],
                    "source": t["source"],
                    "examples": len(t["examples"]),  # type: ignore[arg-type]
                    "name": t["name"],
                }
                for t in catalog
            ]
        )
        _table(frame, out)
        return 0
    if not args.id:
        raise PipelineError("themes explain needs a theme id (see `nlp-pipeline themes list`)")
    theme = next((t for t in catalog if t["id"] == args.id), None)
    if theme is None:
        raise PipelineError(f"unknown theme {args.id!r} (see `nlp-pipeline themes list`)")
    print(f"{theme['id']} ({theme['source']}): {theme['name']}", file=out)
    print(f"  {theme['definition']}", file=out)
    print("Examples:", file=out)
    for example in theme["examples"]:  # type: ignore[attr-defined]
        print(f"  - {example}", file=out)
    for counter in theme["counter_examples"]:  # type: ignore[attr-defined]
        print(f"  not this theme ({', '.join(counter['themes'])}): {counter['text']}", file=out)
    db = _db(args)
    if db.exists():
        with Store(db, read_only=True) as store:
            frame = store.theme_evidence(args.id, args.limit)
        print(f"Stored sentences that scored highest for it ({db}):", file=out)
        _table(frame, out, "(none stored)")
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
        default=runner.DEFAULT_WINDOW_DAYS,
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

    p = sub.add_parser("trends", parents=[common], help="themes around a ticker over time")
    p.add_argument("--ticker", help="ticker or other entity id (FIX, RUT, OBBBA)")
    p.add_argument(
        "--rotations", action="store_true", help="which way money rotates: flows per period"
    )
    p.add_argument("--theme", help="only this theme id")
    p.add_argument(
        "--freq",
        default="W",
        choices=sorted(FREQUENCIES) + [f.lower() for f in FREQUENCIES],
        help="D, W, M or Q (default W)",
    )
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])
    p.set_defaults(func=cmd_trends)

    p = sub.add_parser("themes", parents=[common], help="list themes, or explain one")
    p.add_argument("action", choices=["list", "explain"])
    p.add_argument("id", nargs="?", help="theme id (explain)")
    p.add_argument("--limit", type=int, default=5, help="stored sentences to show (explain)")
    p.set_defaults(func=cmd_themes)

    p = sub.add_parser("export", parents=[common], help="write the tagged article dataset")
    p.add_argument("--format", required=True, choices=list(EXPORT_FORMATS))
    p.add_argument("--out", required=True, help="output file")
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
    q = train_sub.add_parser(
        "themes", help="fit the theme head on the encoder in models/sentiment (seconds to minutes)"
    )
    q.add_argument("--encoder", help="encoder folder (default: MODELS/sentiment)")
    q.add_argument("--models", help="models folder (default: $NLP_PIPELINE_MODELS or models/)")
    q.add_argument("--out", help="where the head goes (default: MODELS/themes)")
    q.add_argument("--data", help="shared data folder (default: $NLP_PIPELINE_SHARED_DATA)")
    q.set_defaults(func=cmd_train_themes)

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
    q = eval_sub.add_parser("themes", parents=[common], help="themes and rotation flows")
    q.add_argument("--dataset", required=True, choices=["team", "tfn-topics"])
    q.add_argument("--split", default="test", choices=["dev", "test"], help="team split")
    q.add_argument("--data", help="shared data folder (default: $NLP_PIPELINE_SHARED_DATA)")
    q.set_defaults(func=cmd_eval_themes)

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
