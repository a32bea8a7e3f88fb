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

EXIT_OK = 0
EXIT_INPUT_FAILED = 1  # some input failed; everything else was processed
EXIT_USAGE = 2  # bad arguments or configuration; nothing was done
# Kept equal to the store's and runner's (tests check), so that building the parser needs
# neither pandas nor DuckDB.
EXPORT_FORMATS = ("parquet", "csv", "jsonl")
FREQUENCIES = {"D": "day", "W": "week", "M": "month", "Q": "quarter"}
DEFAULT_WINDOW_DAYS = 28
STDOUT = "-"


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
    from nlp_pipeline.nlp.analyzer import Analyzer

    return Analyzer(themes_paths=[Path(p) for p in args.themes or []])


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

    config = _config(args)
    with Store(_db(args)) as store:
        reports, warnings = runner.ingest(config, store, args.feeds, progress=not args.quiet)
    _print_reports(reports, out)
    for warning in warnings[:10]:
        print(f"  warning: {warning}", file=sys.stderr)
    return EXIT_INPUT_FAILED if _some_failed(reports) else EXIT_OK


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


def _known_themes(store: Any) -> list[str]:
    """Theme ids the store has seen, plus the core taxonomy's."""
    from nlp_pipeline import resources
    from nlp_pipeline.nlp.themes import load_taxonomy

    stored = store.query("SELECT DISTINCT theme_id FROM article_themes")["theme_id"].tolist()
    try:
        core, _ = load_taxonomy([resources.models_dir() / "themes" / "taxonomy.yaml"])
    except PipelineError:
        core = []
    return sorted({*stored, *(t.id for t in core)})


def cmd_trends(args: argparse.Namespace, out: TextIO) -> int:
    from nlp_pipeline.formatting import round_frame
    from nlp_pipeline.store import Store
    from nlp_pipeline.suggest import did_you_mean

    ticker = args.ticker.upper()
    with Store(_db(args), read_only=True) as store:
        if args.theme:
            known = _known_themes(store)
            if args.theme not in known:
                raise PipelineError(
                    f"unknown theme {args.theme!r}{did_you_mean(args.theme, known)}; "
                    f"known themes: {', '.join(known)}"
                )
        frame = round_frame(store.theme_trends(args.ticker, args.theme, args.freq))
        hint = ""
        if frame.empty:
            ids = store.query("SELECT DISTINCT entity_id FROM article_entities")["entity_id"]
            known_ids = ids.tolist()
            if ticker not in {i.upper() for i in known_ids}:
                hint = did_you_mean(ticker, known_ids)
    if args.format == "csv":
        frame.to_csv(out, index=False)
    elif args.format == "json":
        frame["period"] = frame["period"].astype(str)
        print(frame.to_json(orient="records", indent=1), file=out)
    else:
        print(
            f"Themes in stories mentioning {ticker} by "
            f"{FREQUENCIES[args.freq.upper()]} (share of its stories; tone -1..1):",
            file=out,
        )
        about = f" about {args.theme}" if args.theme else ""
        _table(frame, out, f"no stories{about} mention {ticker}{hint}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    import shutil
    import tempfile

    from nlp_pipeline.store import Store

    with Store(_db(args), read_only=True) as store:
        if args.out != STDOUT:
            rows = store.export(args.format, Path(args.out))
            print(f"{rows} articles written to {args.out} ({args.format})", file=out)
            return EXIT_OK
        binary = getattr(out, "buffer", None)
        if args.format == "parquet" and (binary is None or out.isatty()):
            raise PipelineError("parquet is binary: give --out FILE, or pipe standard output")
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / f"export.{args.format}"
            rows = store.export(args.format, path)
            out.flush()
            with path.open("rb") as handle:
                if binary is not None:
                    shutil.copyfileobj(handle, binary)
                    binary.flush()
                else:
                    out.write(handle.read().decode("utf-8"))
    print(f"{rows} articles written to standard output ({args.format})", file=sys.stderr)
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
    import pandas as pd

    from nlp_pipeline.store import Store

    columns = ["feed_id", "last_polled_at", "last_success_at", "failures", "last_error"]
    polled = pd.DataFrame(columns=[*columns, "articles"])
    if _db(args).exists():
        with Store(_db(args), read_only=True) as store:
            polled = store.feed_status()
    else:
        print(f"No store at {_db(args)} yet; no feed has been polled.", file=out)
    configured = pd.DataFrame(
        {"feed_id": [f.id for f in config.feeds], "enabled": [f.enabled for f in config.feeds]}
    )
    # Every configured feed (polled or not), then any polled feed no longer configured.
    frame = configured.merge(polled, on="feed_id", how="outer", sort=False)
    frame["enabled"] = frame["enabled"].map(
        lambda v: "-" if v is None or v != v else ("yes" if v else "no")
    )
    for count in ("failures", "articles"):
        frame[count] = frame[count].fillna(0).astype(int)
    frame = frame.rename(columns={"feed_id": "feed"})
    _table(frame, out, "no feeds configured")
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


def _command(
    sub: Any,
    name: str,
    func: Callable[[argparse.Namespace, TextIO], int],
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
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument("-q", "--quiet", action="store_true", help="no progress bars")

    parser = argparse.ArgumentParser(
        prog="nlp-pipeline",
        description="Financial news NLP: ingest feeds, tag tickers, sentiment and themes, "
        "and query the results.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _command(
        sub,
        "run",
        cmd_run,
        "ingest, analyze and store; print a summary",
        ["nlp-pipeline run --feeds demo", "nlp-pipeline run --window 7 --db news.duckdb"],
        [db, config, themes, quiet],
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
        "poll feeds and store new articles (no analysis)",
        ["nlp-pipeline ingest --feeds demo fed-press"],
        [db, config, quiet],
    )
    p.add_argument("--feeds", nargs="+", metavar="ID", help="feed ids (default: every enabled)")

    p = _command(
        sub,
        "analyze",
        cmd_analyze,
        "analyze stored articles not yet analyzed by the current models",
        ["nlp-pipeline analyze", "nlp-pipeline analyze --all --themes my_themes.yaml"],
        [db, themes, quiet],
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
        [themes],
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

    p = _command(
        sub,
        "trends",
        cmd_trends,
        "themes in the stories around a ticker (or any entity id) over time",
        [
            "nlp-pipeline trends --ticker FIX --freq M",
            "nlp-pipeline trends --ticker RUT --theme small_cap_rotation --format csv",
        ],
        [db],
    )
    p.add_argument("--ticker", required=True, help="ticker or other entity id (FIX, RUT, OBBBA)")
    p.add_argument("--theme", help="only this theme id")
    p.add_argument(
        "--freq",
        default="W",
        choices=sorted(FREQUENCIES) + [f.lower() for f in FREQUENCIES],
        help="D, W, M or Q (default W)",
    )
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])

    p = _command(
        sub,
        "export",
        cmd_export,
        "write the tagged article dataset (one row per article)",
        [
            "nlp-pipeline export --format parquet --out out/articles.parquet",
            "nlp-pipeline export --format jsonl --out - | head -n 1",
        ],
        [db],
    )
    p.add_argument("--format", required=True, choices=list(EXPORT_FORMATS))
    p.add_argument("--out", required=True, help="output file, or - for standard output")

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
        help="list: the feeds file; status: last poll, failures and articles of every feed "
        "(--db applies to status only)",
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
