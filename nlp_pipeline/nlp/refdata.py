"""Company reference data: which symbols are listed where, under which names, in which indices.

The shipped table `models/entities/companies.tsv` is built from public-domain and openly licensed
files by `nlp-pipeline refdata import` (see `models/entities/README.md`); users extend or refresh it
with the same command (SEC `company_tickers*.json`, Nasdaq Trader `nasdaqlisted.txt` /
`otherlisted.txt`, S&P constituents CSV, iShares holdings CSV, `symbol,name` index lists) or with
`refdata update`, which downloads the official SEC and Nasdaq Trader files.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.nlp.gazetteer import ACRONYMS, AliasClassifier, company_aliases, display_name
from nlp_pipeline.nlp.tickers import normalize_symbol

TABLE_COLUMNS = (
    "symbol",
    "exchange",
    "name",
    "cik",
    "rank",
    "sector",
    "indices",
    "aliases",
    "ambiguous",
    "names",
)
# The order of preference when one company (CIK) lists several symbols, or a name is shared.
EXCHANGE_RANK = {"NYSE": 0, "NASDAQ": 0, "NYSEAMERICAN": 1, "NYSEARCA": 2, "CBOE": 2, "OTC": 5}
_SEC_EXCHANGES = {"NYSE": "NYSE", "NASDAQ": "NASDAQ", "CBOE": "CBOE", "OTC": "OTC"}
_NASDAQ_OTHER_EXCHANGES = {
    "A": "NYSEAMERICAN",
    "N": "NYSE",
    "P": "NYSEARCA",
    "Z": "CBOE",
    "V": "IEX",
}
_SECTORS = {
    "communication services": "COMMUNICATION_SERVICES",
    "communication": "COMMUNICATION_SERVICES",
    "consumer discretionary": "CONSUMER_DISCRETIONARY",
    "consumer staples": "CONSUMER_STAPLES",
    "energy": "ENERGY",
    "financials": "FINANCIALS",
    "health care": "HEALTH_CARE",
    "industrials": "INDUSTRIALS",
    "information technology": "INFORMATION_TECHNOLOGY",
    "materials": "MATERIALS",
    "real estate": "REAL_ESTATE",
    "utilities": "UTILITIES",
}
# Index ids (DESIGN.md 3.2) named by a constituents file's name or an iShares fund.
_INDEX_BY_FILE = {
    "djia": "DJI",
    "nasdaq": "NDX",
    "ndx": "NDX",
    "russell": "RUI",
    "sp400": "MID",
    "sp500": "SPX",
    "sp600": "SML",
    "constituents": "SPX",
}
_INDEX_BY_FUND = {
    "russell 2000": "RUT",
    "russell 1000": "RUI",
    "russell 3000": "RUA",
    "core s&p mid-cap": "MID",
    "core s&p small-cap": "SML",
    "core s&p 500": "SPX",
    "s&p 500": "SPX",
}
# Security-name tails in the Nasdaq Trader files that describe the issue, not the company.
_ISSUE_TAIL = re.compile(
    r"\s+(?:-\s+.*|(?:Class [A-Z] )?(?:Common|Ordinary) (?:Stock|Shares).*|American Depositary.*"
    r"|Depositary Shares.*|Units?\b.*|Warrants?\b.*|Rights?\b.*)$",
    re.IGNORECASE,
)
_NON_COMMON = re.compile(r"\b(?:warrants?|rights?|units?|preferred|notes? due|debentures?)\b", re.I)

SEC_URLS = (
    "https://www.sec.gov/files/company_tickers_exchange.json",
    "https://www.nasdaqtrader.com/dynamic/SymDir/nasdaqlisted.txt",
    "https://www.nasdaqtrader.com/dynamic/SymDir/otherlisted.txt",
)
USER_AGENT = "nlp-pipeline refdata (financial news NLP analyzer; contact: nlp-pipeline@example.org)"


@dataclass
class CompanyRecord:
    symbol: str
    exchange: str | None = None
    name: str = ""
    cik: str = ""
    rank: int = 999_999  # position in the SEC file (largest companies first)
    sector: str = ""
    indices: set[str] = field(default_factory=set)
    aliases: list[str] = field(default_factory=list)
    ambiguous: set[str] = field(default_factory=set)
    # Every name seen while importing (SEC's legal name, S&P's short name...): all give aliases.
    names: set[str] = field(default_factory=set)


@dataclass
class Listing:
    """One row read from a reference file, before merging."""

    symbol: str
    name: str = ""
    exchange: str | None = None
    cik: str = ""
    sector: str = ""
    index: str = ""
    rank: int = 0  # order within its file (SEC orders by size)


class ReferenceData:
    """Listed companies by symbol (share classes normalized: BRK.B)."""

    def __init__(self, records: Iterable[CompanyRecord] = ()) -> None:
        self.records: dict[str, CompanyRecord] = {r.symbol: r for r in records}

    def get(self, symbol: str) -> CompanyRecord | None:
        return self.records.get(normalize_symbol(symbol))

    def __len__(self) -> int:
        return len(self.records)

    # -- the table file --------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path) -> ReferenceData:
        try:
            handle = path.open(encoding="utf-8", newline="")
        except OSError as exc:
            raise ConfigError(f"cannot read company reference table {path}: {exc}") from None
        records = []
        with handle:
            lines = (line for line in handle if not line.startswith("#"))
            reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(reader, None)
            if header is None or tuple(header) != TABLE_COLUMNS:
                expected = " ".join(TABLE_COLUMNS)
                raise ConfigError(f"{path}: expected a tab-separated header: {expected}")
            for number, row in enumerate(reader, start=2):
                if len(row) != len(TABLE_COLUMNS):
                    raise ConfigError(f"{path}: line {number} has {len(row)} fields")
                symbol, exchange, name, cik, rank, sector, indices, aliases, ambiguous, names = row
                records.append(
                    CompanyRecord(
                        symbol=normalize_symbol(symbol),
                        exchange=exchange or None,
                        name=name,
                        cik=cik,
                        rank=int(rank or 999_999),
                        sector=sector,
                        indices=set(filter(None, indices.split("|"))),
                        aliases=list(filter(None, aliases.split("|"))),
                        ambiguous=set(filter(None, ambiguous.split("|"))),
                        names=set(filter(None, [*names.split("|"), name])),
                    )
                )
        return cls(records)

    def save(self, path: Path, comment: str = "") -> None:
        out = io.StringIO()
        if comment:
            out.writelines(f"# {line}\n" for line in comment.splitlines())
        out.write("\t".join(TABLE_COLUMNS) + "\n")
        for symbol in sorted(self.records):
            r = self.records[symbol]
            fields = [
                r.symbol,
                r.exchange or "",
                r.name,
                r.cik,
                str(r.rank),
                r.sector,
                "|".join(sorted(r.indices)),
                "|".join(r.aliases),
                "|".join(sorted(r.ambiguous)),
                "|".join(sorted(r.names - {r.name})),
            ]
            out.write("\t".join(_clean_field(f) for f in fields) + "\n")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(out.getvalue(), encoding="utf-8")
        tmp.replace(path)

    # -- merging imported listings ---------------------------------------------------------------

    def merge(self, listings: Iterable[Listing], classifier: AliasClassifier) -> int:
        """Add or update companies from `listings`; returns how many symbols were touched.
        Names and exchanges from a file replace older ones; index membership accumulates."""
        touched: set[str] = set()
        for listing in listings:
            symbol = normalize_symbol(listing.symbol)
            if not symbol:
                continue
            record = self.records.setdefault(symbol, CompanyRecord(symbol))
            touched.add(symbol)
            if listing.exchange and (record.exchange is None or listing.index == ""):
                record.exchange = listing.exchange
            if listing.cik:
                record.cik = listing.cik
            if listing.index == "" and listing.exchange:
                record.rank = min(record.rank, listing.rank)
            if listing.sector:
                record.sector = listing.sector
            if listing.index:
                record.indices.add(listing.index)
            if listing.name and _better_name(record.name, listing):
                record.name = display_name(listing.name)
            if listing.name and listing.index in {"", "SPX"}:
                record.names.add(display_name(listing.name))
        self._assign_aliases(classifier)
        return len(touched)

    def _assign_aliases(self, classifier: AliasClassifier) -> None:
        """Aliases for every company; a name two companies share goes to the primary listing
        (NYSE/Nasdaq over OTC, common stock over other classes, larger first)."""
        owners: dict[str, list[CompanyRecord]] = {}
        candidates: dict[str, list[str]] = {}
        for record in self.records.values():
            # OTC listings (mostly foreign companies' US quotes) link through tags only.
            linkable = record.exchange in EXCHANGE_RANK and record.exchange != "OTC"
            if not record.name or not linkable or _other_issue(record):
                candidates[record.symbol] = []
                continue
            forms: list[str] = []
            for full in [record.name, *sorted(record.names - {record.name})]:
                forms += [a for a in company_aliases(full) if a not in forms]
            names = list(
                dict.fromkeys(tokenized(a) for a in forms if not classifier.is_too_common(a))
            )
            candidates[record.symbol] = names
            for alias in names:
                owners.setdefault(alias.lower(), []).append(record)
        first_words: dict[str, list[CompanyRecord]] = {}
        for record in self.records.values():
            # Index members also go by their first word ("Exxon", "Goldman", "Lockheed") when
            # that word is no ordinary word and no other company starts with it.
            names = candidates[record.symbol]
            words = names[-1].split() if names else []
            if (
                len(words) > 1
                and words[1].isalpha()
                and len(words[0]) >= 4
                and words[0].isalpha()
                and words[0].lower() not in _GIVEN_NAMES
                and not classifier.is_common(words[0])
                and not classifier.is_too_common(words[0])
            ):
                first_words.setdefault(words[0].lower(), []).append(record)
        for record in self.records.values():
            kept: list[str] = []
            ambiguous: set[str] = set()
            for alias in candidates[record.symbol]:
                rivals = owners[alias.lower()]
                if _primary(rivals) is not record:
                    continue
                kept.append(alias)
                if classifier.is_ambiguous(alias) or len({r.cik or r.symbol for r in rivals}) > 1:
                    ambiguous.add(alias)
            names = candidates[record.symbol]
            if names and record.indices:
                first = names[-1].split()[0]
                if (
                    len(first_words.get(first.lower(), [])) == 1
                    and first.lower() not in owners
                    and first not in kept
                ):
                    kept.append(first)
            # The symbol itself, written bare, is ambiguous when it is also a word or acronym.
            if record.symbol.upper() in ACRONYMS or classifier.is_common(record.symbol):
                ambiguous.add(record.symbol)
            record.aliases = kept
            record.ambiguous = ambiguous


# Company names that start with a founder's first name ("Walt Disney") do not go by it.
_GIVEN_NAMES = frozenset(
    [
        "walt",
        "john",
        "james",
        "charles",
        "william",
        "robert",
        "thomas",
        "george",
        "henry",
        "jack",
        "louis",
        "david",
        "michael",
        "steven",
        "steve",
        "tim",
        "dave",
        "barry",
        "leslie",
        "ryan",
        "carl",
        "kevin",
        "peter",
        "paul",
        "mark",
        "richard",
        "joseph",
        "daniel",
        "edward",
        "frank",
        "gary",
        "larry",
        "scott",
        "eric",
        "brian",
        "jeff",
        "jeffrey",
        "ken",
        "kenneth",
        "ron",
        "ronald",
        "roger",
        "bruce",
        "howard",
        "warren",
        "martin",
        "harold",
        "harry",
        "fred",
        "albert",
        "arthur",
        "alfred",
    ]
)


def _other_issue(record: CompanyRecord) -> bool:
    """Preferred shares, warrants, units and rights ("JPM.PC", "BA.PA"): the company's name
    belongs to its common stock. One-letter classes ("BRK.B", "BF.B") are common stock."""
    _, dot, suffix = record.symbol.partition(".")
    return bool(dot) and len(suffix) != 1


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    import spacy

    return spacy.blank("en").tokenizer


def tokenized(alias: str) -> str:
    """The alias as the pipeline's tokenizer splits it, tokens joined by one space ("Coca - Cola",
    "AT&T"): the table stores aliases this way so loading needs no tokenizer."""
    return " ".join(t.text for t in _tokenizer()(alias) if not t.is_space)


def _primary(records: list[CompanyRecord]) -> CompanyRecord:
    def key(r: CompanyRecord) -> tuple[int, int, str]:
        return (EXCHANGE_RANK.get(r.exchange or "", 9), r.rank, r.symbol)

    # By venue, then the SEC's order (largest first; of one company's share classes the SEC
    # lists the main one first: BRK.B before BRK.A, GOOGL before GOOG).
    return min(records, key=key)


def _better_name(current: str, listing: Listing) -> bool:
    """A listing file's name replaces any older one; an index file's name (possibly years old,
    its symbol since reused) only fills a gap or fixes the case of the same name."""
    if not current:
        return True
    if listing.index == "":
        return not (_is_upper(listing.name) and not _is_upper(current))

    def stem(name: str) -> str:
        return re.sub(r"[^a-z0-9]", "", name.lower())[:4]

    return stem(current) == stem(listing.name) and not _is_upper(listing.name)


def _is_upper(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def _clean_field(value: str) -> str:
    return re.sub(r"[\t\r\n]+", " ", value).strip()


# -- readers for each kind of reference file -----------------------------------------------------


def read_reference_file(path: Path) -> list[Listing]:
    """Read any supported reference file, recognized by its name and contents."""
    name = path.name.lower()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read reference file {path}: {exc}") from None
    text = raw.decode("utf-8-sig", errors="replace")
    try:
        if name.endswith(".json"):
            return _read_sec_json(text, path)
        if name.startswith("nasdaqlisted"):
            return _read_nasdaq_listed(text)
        if name.startswith("otherlisted"):
            return _read_other_listed(text)
        if name.endswith(".csv"):
            first = text.lstrip().splitlines()[0] if text.strip() else ""
            if "Fund Holdings" in text[:400] or first.startswith("iShares"):
                return _read_ishares(text)
            header = first.lower()
            if header.startswith("symbol,security"):
                return _read_sp_constituents(text)
            if header.startswith("symbol,name"):
                index = _INDEX_BY_FILE.get(path.stem.lower(), "")
                return _read_symbol_name(text, index)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ConfigError(f"{path}: not a readable reference file ({exc})") from None
    raise ConfigError(
        f"{path}: unknown reference file (expected SEC company_tickers*.json, nasdaqlisted.txt, "
        "otherlisted.txt, S&P constituents CSV, iShares holdings CSV or a symbol,name CSV)"
    )


def _read_sec_json(text: str, path: Path) -> list[Listing]:
    data = json.loads(text)
    out: list[Listing] = []
    if isinstance(data, dict) and "fields" in data:
        fields = data["fields"]
        pos = {f: fields.index(f) for f in ("cik", "name", "ticker", "exchange")}
        for rank, row in enumerate(data["data"]):
            exchange = _SEC_EXCHANGES.get(str(row[pos["exchange"]] or "").upper())
            ticker = str(row[pos["ticker"]] or "")
            if not ticker or exchange is None:
                continue
            out.append(
                Listing(
                    ticker,
                    str(row[pos["name"]] or ""),
                    exchange,
                    str(row[pos["cik"]]),
                    rank=rank,
                )
            )
        return out
    if isinstance(data, dict):
        for rank, item in enumerate(data.values()):
            out.append(
                Listing(
                    str(item["ticker"]), str(item["title"]), None, str(item["cik_str"]), rank=rank
                )
            )
        return out
    raise ValueError(f"unexpected JSON layout in {path.name}")


def _pipe_rows(text: str) -> Iterator[dict[str, str]]:
    lines = [line for line in text.splitlines() if line and not line.startswith("File Creation")]
    yield from csv.DictReader(lines, delimiter="|")


def _read_nasdaq_listed(text: str) -> list[Listing]:
    out = []
    for row in _pipe_rows(text):
        if row.get("Test Issue") == "Y" or row.get("ETF") == "Y":
            continue
        name = row["Security Name"]
        if _NON_COMMON.search(name):
            continue
        out.append(Listing(row["Symbol"], _ISSUE_TAIL.sub("", name).strip(), "NASDAQ"))
    return out


def _read_other_listed(text: str) -> list[Listing]:
    out = []
    for row in _pipe_rows(text):
        if row.get("Test Issue") == "Y" or row.get("ETF") == "Y":
            continue
        exchange = _NASDAQ_OTHER_EXCHANGES.get(row.get("Exchange", ""))
        name = row["Security Name"]
        if exchange is None or _NON_COMMON.search(name):
            continue
        out.append(Listing(row["ACT Symbol"], _ISSUE_TAIL.sub("", name).strip(), exchange))
    return out


def _read_sp_constituents(text: str) -> list[Listing]:
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        sector = _SECTORS.get(row.get("GICS Sector", "").strip().lower(), "")
        out.append(
            Listing(
                row["Symbol"],
                row.get("Security", ""),
                None,
                str(row.get("CIK", "") or "").lstrip("0"),
                sector,
                "SPX",
            )
        )
    return out


def _read_symbol_name(text: str, index: str) -> list[Listing]:
    # Membership only: these lists are dated, and a symbol may since name another company.
    return [
        Listing(row["symbol"], "", None, index=index)
        for row in csv.DictReader(io.StringIO(text))
        if row.get("symbol")
    ]


def _read_ishares(text: str) -> list[Listing]:
    lines = text.splitlines()
    fund = lines[0].strip().lower() if lines else ""
    index = next((v for k, v in _INDEX_BY_FUND.items() if k in fund), "")
    start = next(i for i, line in enumerate(lines) if line.startswith("Ticker,"))
    out = []
    for row in csv.DictReader(io.StringIO("\n".join(lines[start:]))):
        if row.get("Asset Class") != "Equity" or not row.get("Ticker"):
            continue
        exchange = {"NYSE": "NYSE", "NASDAQ": "NASDAQ"}.get((row.get("Exchange") or "").upper())
        sector = _SECTORS.get((row.get("Sector") or "").strip().lower(), "")
        out.append(Listing(row["Ticker"], "", exchange, sector=sector, index=index))
    return out


# -- commands ------------------------------------------------------------------------------------


def import_files(table: Path, paths: Iterable[Path], classifier: AliasClassifier) -> int:
    """Merge reference files into the table at `table` (created if absent)."""
    data = ReferenceData.load(table) if table.exists() else ReferenceData()
    listings: list[Listing] = []
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.suffix.lower() in {".json", ".csv", ".txt"} and file.name != "datapackage.json":
                try:
                    listings.extend(read_reference_file(file))
                except ConfigError:
                    if not path.is_dir():
                        raise
    # Exchange-bearing listings first, so index files only add membership and sectors.
    listings.sort(key=lambda item: (item.index != "", item.rank))
    touched = data.merge(listings, classifier)
    data.save(table, _TABLE_COMMENT)
    return touched


def download_official(
    dest: Path,
    min_interval_s: float = 0.1,
    timeout_s: float = 30.0,
    urls: Iterable[str] = SEC_URLS,
) -> list[Path]:
    """Fetch the official SEC and Nasdaq Trader files into `dest` (declared User-Agent with a
    contact, at most 10 requests a second as the SEC asks). A file is saved only once it has
    arrived whole, so a failed download leaves the previous copy in place."""
    dest.mkdir(parents=True, exist_ok=True)
    saved = []
    for url in urls:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                body = response.read(50_000_000)
        except OSError as exc:
            raise ConfigError(f"cannot download {url}: {exc}") from None
        target = dest / url.rsplit("/", 1)[1]
        partial = target.with_suffix(target.suffix + ".part")
        partial.write_bytes(body)
        partial.replace(target)
        saved.append(target)
        time.sleep(min_interval_s)
    return saved


_TABLE_COMMENT = (
    "Company reference table for the financial_entities component (models/entities/README.md).\n"
    "Columns are tab-separated; lists are |-separated.\n"
    "Regenerate with `nlp-pipeline refdata import`."
)
