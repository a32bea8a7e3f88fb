"""CLI: aliases, entities list, refdata import, eval entities."""

from __future__ import annotations

import io
import json
from pathlib import Path

from nlp_pipeline.cli import main
from tests.conftest import shared_data
from tests.nlp.test_entities_refdata import write_reference_files


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out)
    return code, out.getvalue()


def test_aliases_add_list_remove(tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    assert run("aliases", "add", "Zorblax Dynamics", "zrbx", "--db", db)[0] == 0
    code, listing = run("aliases", "list", "--db", db)
    assert code == 0 and "Zorblax Dynamics" in listing and "ZRBX" in listing
    assert run("aliases", "remove", "Zorblax Dynamics", "--db", db) == (
        0,
        "'Zorblax Dynamics': 1 alias(es) removed\n",
    )
    assert "Zorblax" not in run("aliases", "list", "--db", db)[1]
    assert run("aliases", "add", "--db", db)[0] == 2  # no alias given: a clear error


def test_entities_list_by_type() -> None:
    code, listing = run("entities", "list", "--type", "POLICY")
    assert code == 0
    assert "OBBBA" in listing and "SECTION_179" in listing and "TICKER" not in listing


def test_refdata_import_into_a_table(tmp_path: Path) -> None:
    files = write_reference_files(tmp_path / "ref")
    table = tmp_path / "companies.tsv"
    code, text = run("refdata", "import", str(tmp_path / "ref"), "--table", str(table))
    assert code == 0 and "listings merged" in text
    assert "GBXW" in table.read_text(encoding="utf-8")
    assert len(files) == 5
    assert run("refdata", "import", "--table", str(table))[0] == 2


def test_eval_entities_team_prints_json() -> None:
    shared_data("reuters_2012_2013", "reuters_sample.jsonl")
    code, text = run("eval", "entities", "--dataset", "team", "--limit", "40")
    assert code == 0
    result = json.loads(text)
    assert result["dataset"] == "team" and result["sentences"] == 40
    assert 0.0 <= result["all"]["precision"] <= 1.0
    assert "errors" not in result
