"""The CLI as users meet it: instant help, descriptions and examples, exit codes, bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from nlp_pipeline import cli
from nlp_pipeline.cli import build_parser, main
from nlp_pipeline.config import load_config
from tests.conftest import REPO

CONFIG = str(REPO / "feeds.yaml")
COMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("usability") / "demo.duckdb"
    assert main(["run", "--feeds", "demo", "--db", str(db), "--config", CONFIG, "-q"]) == 0
    return db


def _modules_loaded_by(argv: list[str]) -> set[str]:
    """Top-level modules (and nlp_pipeline submodules) imported by running the CLI."""
    script = (
        "import sys, io\n"
        "from nlp_pipeline.cli import main\n"
        f"try:\n    main({argv!r}, out=io.StringIO())\n"
        "except SystemExit:\n    pass\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    )
    return set(done.stdout.split())


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["tag", "--help"]])
def test_help_and_version_import_nothing_heavy(argv: list[str]) -> None:
    loaded = _modules_loaded_by(argv)
    for heavy in ("spacy", "pandas", "duckdb", "numpy", "nlp_pipeline.nlp.analyzer"):
        assert heavy not in loaded, heavy


def test_trends_answers_without_importing_pandas(demo_db: Path) -> None:
    """pandas takes most of a second to import: the answer most asked for does without it."""
    db = ["--db", str(demo_db)]
    for argv in (
        ["trends", "--ticker", "FIX", *db],
        ["trends", "--ticker", "FIX", "--theme", "earnings", *db, "--format", "csv"],
        ["trends", "--theme", "earnings", *db, "--format", "json"],
        ["trends", "--ticker", "FXI", *db],  # no stories: the hint too
    ):
        assert "pandas" not in _modules_loaded_by(argv), argv


def test_light_commands_never_load_spacy_or_models(demo_db: Path) -> None:
    for argv in (
        ["feeds", "list", "--config", CONFIG],
        ["query", "SELECT count(*) FROM articles", "--db", str(demo_db)],
        ["trends", "--ticker", "FIX", "--theme", "earnings", "--db", str(demo_db)],
        ["schema"],
    ):
        loaded = _modules_loaded_by(argv)
        assert "spacy" not in loaded and "nlp_pipeline.nlp.analyzer" not in loaded, argv
        assert "nlp_pipeline.nlp.entities" not in loaded, argv
    assert "pandas" not in _modules_loaded_by(["feeds", "list", "--config", CONFIG])


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_a_description_and_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert re.search(r"\n\n[A-Z][^\n]+\.\n", text), "a one-line description"
    assert re.search(rf"examples?:\n  (.*&& )?nlp-pipeline {command}\b", text), text
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    assert re.search(rf"\n    {command} +\S", top), f"{command} listed with its summary"
    assert f"nlp-pipeline {command}" in top, f"an example for {command} in --help"
    assert "exit status:" in top and "1  some input failed" in top


@pytest.mark.parametrize(
    ("command", "absent"),
    [
        ("tag", ["--db", "--config", "--quiet"]),
        ("query", ["--themes", "--config", "--quiet"]),
        ("trends", ["--themes", "--config", "--quiet"]),
        ("export", ["--themes", "--config", "--quiet"]),
        ("analyze", ["--config"]),
        ("ingest", ["--themes"]),
        ("init", ["--db", "--config", "--themes"]),
    ],
)
def test_options_are_listed_only_where_they_act(
    command: str, absent: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    for option in absent:
        assert option not in text, f"{command} --help lists {option}"
    with pytest.raises(SystemExit) as exited:
        main([command, absent[0], "x"])
    assert exited.value.code == 2


@pytest.mark.parametrize("sql", ["", ";", "  ; ;", "-- only a comment", "/* c */ ;"])
def test_query_without_a_statement_is_a_usage_error(
    sql: str, demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["query", sql, "--db", str(demo_db)]) == 2
    err = capsys.readouterr().err
    assert "no SQL statement given" in err and "Traceback" not in err


def test_query_out_file_and_dash(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql = "SELECT count(*) AS n FROM articles"
    assert main(["query", sql, "--db", str(demo_db), "--format", "csv", "--out", "-"]) == 0
    assert capsys.readouterr().out.split() == ["n", "51"]
    target = tmp_path / "q" / "n.json"
    assert main(["query", sql, "--db", str(demo_db), "--format", "json", "--out", str(target)]) == 0
    assert json.loads(target.read_text()) == [{"n": 51}]


def test_trends_unknown_theme_suggests_the_close_one(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["trends", "--ticker", "FIX", "--theme", "small_caps", "--db", str(demo_db)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "unknown theme 'small_caps' (did you mean 'small_cap_rotation'?)" in err
    # A known theme with no story for the ticker is an empty answer, not an error.
    assert main(["trends", "--ticker", "FIX", "--theme", "ai_adoption", "--db", str(demo_db)]) == 0
    assert "no stories about ai_adoption mention FIX\n" in capsys.readouterr().out


def test_trends_unknown_ticker_suggests_stored_ids(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trends", "--ticker", "FXI", "--db", str(demo_db)]) == 0
    assert "no stories mention FXI (did you mean 'FIX'" in capsys.readouterr().out
    # A misspelt company name points at its ticker.
    assert main(["trends", "--entity", "Comfort Sytems", "--db", str(demo_db)]) == 0
    assert "(did you mean 'FIX' (Comfort Systems USA)" in capsys.readouterr().out


@pytest.mark.parametrize("window", ["-5", "0", "two"])
def test_run_rejects_a_window_below_one_day(
    window: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--window", window])
    assert exited.value.code == 2
    assert "argument --window" in capsys.readouterr().err


def test_ingest_and_run_exit_1_when_feeds_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - id: gone\n    url: missing.xml\n")
    db = str(tmp_path / "x.duckdb")
    assert main(["ingest", "--config", str(feeds), "--db", db, "-q"]) == 1
    assert "[gone]" in capsys.readouterr().out
    assert main(["run", "--config", str(feeds), "--db", db, "-q"]) == 1
    assert main(["ingest", "--config", str(feeds), "--db", db, "--feeds", "nope", "-q"]) == 2
    assert "unknown feed id 'nope'" in capsys.readouterr().err
    assert main(["ingest", "--config", CONFIG, "--db", db, "--feeds", "fed-pres", "-q"]) == 2
    assert "unknown feed id 'fed-pres' in" in (err := capsys.readouterr().err)
    assert "(did you mean 'fed-press'" in err and "; known: demo, cnbc-markets" in err


def test_unknown_command_suggests_the_close_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["trend", "--ticker", "FIX"])
    assert exited.value.code == 2
    assert "unknown command 'trend' (did you mean 'trends'" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_export_dash_writes_standard_output_with_rounded_scores(
    fmt: str,
    demo_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--format", fmt, "--out", "-", "--db", str(demo_db)]) == 0
    assert not (tmp_path / "-").exists()
    captured = capfdbinary.readouterr()
    assert b"51 articles written to standard output" in captured.err
    data = tmp_path / f"got.{fmt}"
    data.write_bytes(captured.out)
    frame = {
        "jsonl": lambda p: pd.read_json(p, lines=True),
        "csv": pd.read_csv,
        "parquet": pd.read_parquet,
    }[fmt](data)
    assert len(frame) == 51
    # At most 4 decimals (the readers' float parsing may add a last-digit wobble).
    assert all(abs(s * 1e4 - round(s * 1e4)) < 1e-6 for s in frame["sentiment_score"])
    if fmt != "parquet":
        # A long fraction after a lone digit is an unrounded score; timestamps' seconds
        # ("42.503388") have two digits before the point.
        assert not re.search(rb"(?<!\d)\d\.\d{5,}", captured.out.split(b"\n", 1)[1][:200_000])


def test_tables_never_print_none_or_negative_zero(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["feeds", "status", "--db", str(demo_db), "--config", CONFIG]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "None" not in out
    # Configured feeds never polled are listed too, with "-" for what is unknown.
    assert rows["fed-press"].split()[1:4] == ["yes", "-", "-"]
    assert rows["cnbc-news-sitemap"].split()[1] == "no"
    assert rows["demo"].split()[-1] == "51"
    sql = "SELECT -0.0::DOUBLE AS tone, NULL::VARCHAR AS note, 0.123456789 AS x"
    assert main(["query", sql, "--db", str(demo_db)]) == 0
    table = capsys.readouterr().out
    assert "-0.0" not in table and "None" not in table and "0.1235" in table


def test_yaml_errors_name_the_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "feeds.yaml"
    bad.write_text("feeds:\n  - id: x\n    url: [unclosed\n")
    assert main(["feeds", "list", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad} line 4, column 1: invalid YAML" in err and "<unicode string>" not in err
    themes = tmp_path / "themes.yaml"
    themes.write_text("themes:\n  - id: a\n   keywords: [x]\n")
    assert main(["tag", "--text", "x", "--themes", str(themes)]) == 2
    assert f"{themes} line 3" in capsys.readouterr().err


def test_tag_text_and_compact(capsys: pytest.CaptureFixture[str]) -> None:
    text = "Nvidia (NASDAQ: NVDA) shares slumped after weak guidance."
    assert main(["tag", "--text", text, "--compact"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    payload = json.loads(out)
    assert payload["entities"][0]["id"] == "NVDA" and payload["entities"][0]["spans"] == [[0, 21]]
    assert main(["tag", "--text", text, "-"]) == 2
    assert "not both" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 64 + b"$FIX $I $I", "an executable (ELF), not text"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF document, not text"),
        (b"Nvidia \x00\x00\x01 (NASDAQ: NVDA)", "binary data (NUL byte at offset 7"),
        (bytes(range(1, 32)) * 40, "binary data (84% of its first 1,240 characters are control"),
    ],
)
def test_tag_refuses_binary_input(
    payload: bytes, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(payload)
    assert main(["tag", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{path}: {expected}" in captured.err
    assert main(["tag", "--jsonl", str(path)]) == 1
    assert "not text" in capsys.readouterr().err


def test_tag_long_input_says_what_was_cut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "long.txt"
    path.write_text("Shares were steady " * 10_000 + "today.\n" * 4000)  # 218,000 characters
    assert main(["tag", str(path), "--compact"]) == 0
    captured = capsys.readouterr()
    note = json.loads(captured.out)["truncated"]
    assert note["chars"] == 218_000 and note["analyzed_chars"] == 200_000
    assert "218,000 characters; only the first 200,000" in captured.err


def test_tag_jsonl_every_bad_line_is_named_and_the_batch_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = tmp_path / "in.jsonl"
    lines.write_text(
        "\n".join(
            [
                '{"id": "a", "text": "Nvidia (NASDAQ: NVDA) rallied."}',
                '{"title": "x"}',
                '{"text": 5}',
                "[1, 2]",
                "plain text",
                "",
                '{"id": "b", "source": "wire", "text": "The Fed cut rates."}',
            ]
        )
    )
    assert main(["tag", "--jsonl", str(lines)]) == 1
    captured = capsys.readouterr()
    out = [json.loads(line) for line in captured.out.splitlines()]
    assert [o["id"] for o in out] == ["a", "b"]
    assert out[0]["entities"][0]["id"] == "NVDA" and out[1]["source"] == "wire"
    assert list(out[1])[:2] == ["id", "source"] and "text" not in out[1]
    err = captured.err
    assert f"{lines} line 2: no 'text' field (fields: title)" in err
    assert f"{lines} line 3: 'text' must be a string, got int" in err
    assert f"{lines} line 4: expected a JSON object with a 'text' field, got an array" in err
    assert f"{lines} line 5: not valid JSON" in err
    assert "4 line(s)" in err


def test_schema_prints_tables_and_columns(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"\narticles\n  article_id +VARCHAR +NOT NULL", out)
    assert re.search(r"\n  spans +INTEGER\[\]\[\] +NOT NULL", out)
    assert main(["schema", "--db", str(demo_db)]) == 0
    assert f"Tables and columns of {demo_db}" in capsys.readouterr().out
    assert main(["schema", "--db", str(demo_db.parent / "none.duckdb")]) == 2


def test_init_writes_a_starter_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "news"
    assert main(["init", str(project)]) == 0
    assert "nlp-pipeline run --feeds demo" in capsys.readouterr().out
    assert (project / "feeds.yaml").read_text() == (REPO / "feeds.yaml").read_text()
    articles = sorted(p.name for p in (project / "examples/demo/articles").iterdir())
    assert articles == sorted(p.name for p in (REPO / "examples/demo/articles").iterdir())
    assert main(["init", str(project)]) == 2
    assert "already exist" in capsys.readouterr().err
    assert main(["init", str(project), "--force"]) == 0
    config = load_config(project / "feeds.yaml")
    assert config.feed("demo").url == (project / "examples/demo/feed.xml").resolve().as_uri()


def test_parser_constants_match_the_modules_they_mirror() -> None:
    from nlp_pipeline import runner
    from nlp_pipeline.nlp import analyzer
    from nlp_pipeline.store import store
    from nlp_pipeline.tagging import MAX_TEXT_CHARS

    assert cli.EXPORT_FORMATS == store.EXPORT_FORMATS
    assert cli.FREQUENCIES == store.FREQUENCIES
    assert cli.DEFAULT_WINDOW_DAYS == runner.DEFAULT_WINDOW_DAYS
    assert MAX_TEXT_CHARS == analyzer.MAX_TEXT_CHARS
