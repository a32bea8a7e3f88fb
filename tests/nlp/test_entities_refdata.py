"""Reference data: readers for each official file, merging, generated aliases (nlp/refdata.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.nlp.gazetteer import AliasClassifier, company_aliases, display_name
from nlp_pipeline.nlp.refdata import (
    ReferenceData,
    download_official,
    import_files,
    read_reference_file,
)
from tests.conftest import REPO, LocalServer, Route

# Small files in each official layout, written for these tests (invented companies).
SEC_EXCHANGE = {
    "fields": ["cik", "name", "ticker", "exchange"],
    "data": [
        [11, "GLOBEX WIDGETS CORP", "GBXW", "Nasdaq"],
        [12, "The Initech Company", "INTC9", "NYSE"],
        [13, "ACME HOLDINGS INC", "ACMH-B", "NYSE"],
        [13, "ACME HOLDINGS INC", "ACMH-A", "NYSE"],
        [14, "Foreign Giant AG", "FGNTY", "OTC"],
        [15, "GLOBEX WIDGETS CORP", "GBXW-PA", "Nasdaq"],
    ],
}
NASDAQ_LISTED = (
    "Symbol|Security Name|Market Category|Test Issue|Financial Status|Round Lot Size|ETF|"
    "NextShares\n"
    "ZXZZT|NASDAQ TEST STOCK|G|Y|N|100|N|N\n"
    "UMBR|Umbrella Biotech, Inc. - Common Stock|G|N|N|100|N|N\n"
    "UMBRW|Umbrella Biotech, Inc. - Warrants|G|N|N|100|N|N\n"
    "File Creation Time: 0721202521:31|||||||\n"
)
OTHER_LISTED = (
    "ACT Symbol|Security Name|Exchange|CQS Symbol|ETF|Round Lot Size|Test Issue|NASDAQ Symbol\n"
    "HOOL|Hooli Corporation Common Stock|N|HOOL|N|100|N|HOOL\n"
    "VLTY|Vandelay Industries Class A Common Stock|A|VLTY|N|100|N|VLTY\n"
    "File Creation Time: 0721202521:31|||||||\n"
)
SP_CONSTITUENTS = (
    "Symbol,Security,GICS Sector,GICS Sub-Industry,Headquarters Location,Date added,CIK,Founded\n"
    'GBXW,Globex Widgets,Industrials,Machinery,"Springfield, Oregon",2020-01-01,0000000011,1989\n'
)
ISHARES = (
    '\ufeffiShares Russell 2000 ETF\nFund Holdings as of,"May 05, 2026"\n \n'
    "Ticker,Name,Sector,Asset Class,Market Value,Weight (%),Notional Value,Quantity,Price,"
    "Location,Exchange,Currency,FX Rate,Market Currency,Accrual Date\n"
    '"VLTY","VANDELAY INDUSTRIES","Industrials","Equity","1","1","1","1","1","United States",'
    '"NYSE","USD","1.00","USD","-"\n'
    '"USD","USD CASH","Cash and/or Derivatives","Money Market","1","1","1","1","1","United States",'
    '"-","USD","1.00","USD","-"\n'
)


def write_reference_files(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "company_tickers_exchange.json": json.dumps(SEC_EXCHANGE),
        "nasdaqlisted.txt": NASDAQ_LISTED,
        "otherlisted.txt": OTHER_LISTED,
        "constituents.csv": SP_CONSTITUENTS,
        "IWM_holdings.csv": ISHARES,
    }
    for name, body in files.items():
        (folder / name).write_text(body, encoding="utf-8")
    return [folder / name for name in files]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Apple Inc.", ["Apple Inc", "Apple"]),
        (
            "The Walt Disney Company",
            ["The Walt Disney Company", "Walt Disney", "Walt Disney Company"],
        ),
        ("JPMORGAN CHASE & CO", ["JPMORGAN CHASE & CO", "JPMORGAN CHASE"]),
        (
            "Goldman Sachs Group Inc",
            ["Goldman Sachs Group Inc", "Goldman Sachs Group", "Goldman Sachs"],
        ),
        ("Alphabet Inc. Class A", ["Alphabet Inc", "Alphabet"]),
        ("Shell plc", ["Shell plc", "Shell"]),
    ],
)
def test_company_aliases_drop_legal_suffixes_and_the(name: str, expected: list[str]) -> None:
    assert company_aliases(name) == expected


def test_display_name_title_cases_capitals_but_keeps_acronyms() -> None:
    assert display_name("NVIDIA CORP") == "Nvidia Corp"
    assert display_name("AT&T INC.") == "AT&T Inc"
    assert display_name("eBay Inc.") == "eBay Inc"


def test_import_merges_every_official_format(tmp_path: Path) -> None:
    files = write_reference_files(tmp_path / "ref")
    table = tmp_path / "companies.tsv"
    import_files(table, files, AliasClassifier())
    data = ReferenceData.load(table)
    globex = data.get("GBXW")
    assert globex is not None
    assert (globex.exchange, globex.name, globex.sector) == (
        "NASDAQ",
        "Globex Widgets",
        "INDUSTRIALS",
    )
    assert globex.indices == {"SPX"}
    assert "Globex Widgets" in globex.aliases
    # Share classes normalized; the SEC's first-listed class owns the company name.
    acme_b, acme_a = data.get("ACMH/B"), data.get("ACMH.A")
    assert acme_b is not None and acme_a is not None
    assert "Acme" in acme_b.aliases and acme_a.aliases == []
    # Preferred shares and OTC quotes link through tags only, never by name.
    preferred, otc = data.get("GBXW-PA"), data.get("FGNTY")
    assert preferred is not None and preferred.aliases == []
    assert otc is not None and otc.aliases == [] and otc.exchange == "OTC"
    # Nasdaq Trader: test issues and warrants dropped, the issue description stripped.
    assert data.get("ZXZZT") is None and data.get("UMBRW") is None
    umbrella = data.get("UMBR")
    assert umbrella is not None and umbrella.name == "Umbrella Biotech, Inc"
    vandelay = data.get("VLTY")
    assert vandelay is not None
    assert (vandelay.exchange, vandelay.name) == ("NYSEAMERICAN", "Vandelay Industries")
    assert vandelay.indices == {"RUT"}  # from the iShares Russell 2000 holdings
    assert data.get("USD") is None  # cash rows are not companies


def test_import_is_repeatable_and_extends_an_existing_table(tmp_path: Path) -> None:
    files = write_reference_files(tmp_path / "ref")
    table = tmp_path / "companies.tsv"
    import_files(table, files[:1], AliasClassifier())
    first = table.read_text(encoding="utf-8")
    import_files(table, files[:1], AliasClassifier())
    assert table.read_text(encoding="utf-8") == first
    import_files(table, files[1:], AliasClassifier())
    assert ReferenceData.load(table).get("HOOL") is not None
    assert ReferenceData.load(table).get("GBXW") is not None


def test_unknown_or_broken_reference_files_are_named(tmp_path: Path) -> None:
    odd = tmp_path / "prices.csv"
    odd.write_text("date,close\n2026-01-01,5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="prices.csv"):
        read_reference_file(odd)
    broken = tmp_path / "company_tickers.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="company_tickers.json"):
        read_reference_file(broken)
    table = tmp_path / "bad.tsv"
    table.write_text("symbol\texchange\nX\tNYSE\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.tsv"):
        ReferenceData.load(table)


def test_shipped_table_covers_listed_companies_and_loads() -> None:
    data = ReferenceData.load(REPO / "models" / "entities" / "companies.tsv")
    assert len(data) > 9000
    for symbol, name_part in [("AAPL", "Apple"), ("BRK.B", "Berkshire"), ("MRVL", "Marvell")]:
        record = data.get(symbol)
        assert record is not None and name_part in record.name
    spx = [r for r in data.records.values() if "SPX" in r.indices]
    assert 450 <= len(spx) <= 520


def test_update_downloads_with_a_declared_user_agent(
    tmp_path: Path, local_server: LocalServer
) -> None:
    local_server.routes["/files/company_tickers_exchange.json"] = Route(
        body=json.dumps(SEC_EXCHANGE).encode()
    )
    local_server.routes["/SymDir/nasdaqlisted.txt"] = Route(body=NASDAQ_LISTED.encode())
    urls = [
        local_server.url("/files/company_tickers_exchange.json"),
        local_server.url("/SymDir/nasdaqlisted.txt"),
    ]
    saved = download_official(tmp_path / "dl", min_interval_s=0.0, urls=urls)
    assert [p.name for p in saved] == ["company_tickers_exchange.json", "nasdaqlisted.txt"]
    assert all(
        "nlp-pipeline" in headers.get("User-Agent", "") for _, headers in local_server.requests
    )
    assert all("contact" in headers.get("User-Agent", "") for _, headers in local_server.requests)
    with pytest.raises(ConfigError, match="missing.txt"):
        download_official(
            tmp_path / "dl", min_interval_s=0.0, urls=[local_server.url("/missing.txt")]
        )
    assert (tmp_path / "dl" / "nasdaqlisted.txt").read_text(encoding="utf-8") == NASDAQ_LISTED
