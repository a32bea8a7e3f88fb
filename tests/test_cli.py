from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from nlp_pipeline.cli import main
from tests.conftest import REPO

CONFIG = str(REPO / "feeds.yaml")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "demo.duckdb"
    assert main(["run", "--feeds", "demo", "--db", str(db), "--config", CONFIG, "-q"]) == 0
    return db


def test_run_prints_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "x.duckdb"
    assert main(["run", "--feeds", "demo", "--db", str(db), "--config", CONFIG, "-q"]) == 0
    out = capsys.readouterr().out
    for expected in (
        "Articles per feed",
        "demo",
        "Top tickers",
        "FIX",
        "RUT",
        "OBBBA",
        "FED",
        "small_cap_rotation",
        "previous",
    ):
        assert expected in out, expected


def test_tag_file_and_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text_file = tmp_path / "a.txt"
    text_file.write_text("Nvidia (NASDAQ: NVDA) shares slumped after weak guidance.")
    assert main(["tag", str(text_file)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["entities"][0]["id"] == "NVDA"
    assert payload["sentiment"]["label"] == "negative"

    lines = tmp_path / "many.jsonl"
    lines.write_text('{"text": "The Fed cut rates."}\n{"text": "about $FIX"}\n{"text": ""}\n')
    assert main(["tag", "--jsonl", str(lines)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(out) == 3
    assert out[1]["entities"][0]["id"] == "FIX" and out[2]["sentences"] == []


def test_tag_bad_jsonl_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = tmp_path / "bad.jsonl"
    lines.write_text('{"text": "ok"}\n{"text": broken\n')
    assert main(["tag", "--jsonl", str(lines)]) == 1  # some input failed; the rest is tagged
    assert f"{lines} line 2: not valid JSON" in capsys.readouterr().err


def test_trends_formats(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trends", "--ticker", "fix", "--db", str(demo_db), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {"period", "theme", "stories", "share", "sentiment"} <= set(rows[0])
    assert (
        main(
            [
                "trends",
                "--ticker",
                "FIX",
                "--theme",
                "infrastructure_capex",  # the demo's FIX sentences: data-center construction
                "--freq",
                "M",
                "--db",
                str(demo_db),
                "--format",
                "csv",
            ]
        )
        == 0
    )
    csv_lines = capsys.readouterr().out.strip().splitlines()
    assert csv_lines[0] == "period,theme,stories,share,sentiment,change,zscore"
    assert all(",infrastructure_capex," in line for line in csv_lines[1:]) and len(csv_lines) > 1
    assert main(["trends", "--ticker", "ZZZZ", "--db", str(demo_db)]) == 0
    assert "no stories mention ZZZZ" in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_export(demo_db: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"articles.{fmt}"
    assert main(["export", "--format", fmt, "--out", str(out), "--db", str(demo_db)]) == 0
    frame = {
        "parquet": pd.read_parquet,
        "csv": pd.read_csv,
        "jsonl": lambda p: pd.read_json(p, lines=True),
    }[fmt](out)
    assert len(frame) >= 40
    assert {
        "article_id",
        "title",
        "published",
        "sentiment_label",
        "tickers",
        "themes",
        "near_duplicate",
        "model_versions",
    } <= set(frame.columns)
    assert frame["sentiment_label"].isin(["positive", "neutral", "negative"]).all()


def test_query_is_read_only(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "query",
                "SELECT count(*) AS n FROM articles",
                "--db",
                str(demo_db),
                "--format",
                "json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)[0]["n"] >= 40
    assert main(["query", "DELETE FROM articles", "--db", str(demo_db)]) == 2
    assert "read-only" in capsys.readouterr().err


def test_feeds_list_and_status(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feeds", "list", "--config", CONFIG]) == 0
    out = capsys.readouterr().out
    assert "demo" in out and "fed-press" in out
    assert main(["feeds", "status", "--db", str(demo_db), "--config", CONFIG]) == 0
    assert "demo" in capsys.readouterr().out


def test_bad_config_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "feeds.yaml"
    bad.write_text("feeds:\n  - id: x\n    url: https://example.com/f\n    kind: podcast\n")
    assert main(["run", "--config", str(bad), "--db", str(tmp_path / "d.duckdb")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "feed 'x'.kind" in err


def test_db_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "env.duckdb"
    monkeypatch.setenv("NLP_PIPELINE_DB", str(db))
    assert main(["analyze", "-q"]) == 0
    assert db.exists()


def test_console_script_is_installed() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nlp_pipeline.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("nlp-pipeline ")


def test_tag_reads_invalid_utf8_from_stdin() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nlp_pipeline.cli", "tag"],
        input=b"\xff\xfe Nvidia (NASDAQ: NVDA) rallied \x80 today.",
        capture_output=True,
        check=True,
    )
    payload = json.loads(done.stdout)
    assert payload["entities"][0]["id"] == "NVDA"


def test_ingest_and_analyze_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "two-step.duckdb")
    assert main(["ingest", "--feeds", "demo", "--db", db, "--config", CONFIG, "-q"]) == 0
    assert "demo" in capsys.readouterr().out
    assert main(["analyze", "--db", db, "-q"]) == 0
    count = int(capsys.readouterr().out.split()[0])
    assert count >= 40
    assert main(["query", "SELECT status FROM runs", "--db", db, "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["status", "ok", "ok"]


def test_train_sentiment_rejects_bad_teacher_seeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["train", "sentiment", "--work-dir", str(tmp_path), "--teacher-seeds", "13,x"])
    assert code == 2
    assert "--teacher-seeds wants integers" in capsys.readouterr().err


def test_train_sentiment_rejects_a_negative_tweet_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["train", "sentiment", "--work-dir", str(tmp_path), "--teacher-tweets", "-5"])
    assert code == 2
    assert "teacher_tfns_examples must not be negative" in capsys.readouterr().err


def test_train_sentiment_accurate_only_needs_its_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["train", "sentiment", "--work-dir", str(tmp_path), "--accurate-only"])
    assert code == 2
    assert "accurate_only needs accurate_out" in capsys.readouterr().err


def test_tag_takes_a_pipeline_by_file_and_names_an_unknown_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nlp_pipeline.nlp import default_models_dir

    config = tmp_path / "mine.yaml"
    config.write_text((default_models_dir() / "pipeline.yaml").read_text())
    text = "Comfort Systems USA (NYSE: FIX) raised its outlook."
    assert main(["tag", "--pipeline", str(config), "--text", text]) == 0
    assert json.loads(capsys.readouterr().out)["entities"][0]["id"] == "FIX"
    assert main(["tag", "--pipeline", "precise", "--text", text]) == 2
    assert "no pipeline 'precise'" in capsys.readouterr().err
