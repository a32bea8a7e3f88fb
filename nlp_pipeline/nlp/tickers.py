"""Explicit ticker notations in news text: exchange tags, Reuters RICs and cashtags.

Everything here works on the plain text string in one left-to-right regex pass per notation, so
the cost is linear in the length of the text (never per mention over the whole text).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# Exchange names as news writes them -> the exchange code carried in the contract.
EXCHANGE_CODES: dict[str, str] = {
    "NYSE": "NYSE",
    "NEW YORK STOCK EXCHANGE": "NYSE",
    "NASDAQ": "NASDAQ",
    "NASDAQGS": "NASDAQ",
    "NASDAQGM": "NASDAQ",
    "NASDAQCM": "NASDAQ",
    "NASDAQ GLOBAL SELECT": "NASDAQ",
    "NASDAQ GLOBAL MARKET": "NASDAQ",
    "NASDAQ CAPITAL MARKET": "NASDAQ",
    "NYSE AMERICAN": "NYSEAMERICAN",
    "NYSEAMERICAN": "NYSEAMERICAN",
    "NYSE MKT": "NYSEAMERICAN",
    "NYSEMKT": "NYSEAMERICAN",
    "AMEX": "NYSEAMERICAN",
    "NYSE ARCA": "NYSEARCA",
    "NYSEARCA": "NYSEARCA",
    "CBOE": "CBOE",
    "CBOE BZX": "CBOE",
    "BATS": "CBOE",
    "OTC": "OTC",
    "OTCQX": "OTC",
    "OTCQB": "OTC",
    "OTC PINK": "OTC",
    "OTCMKTS": "OTC",
    "OTC MARKETS": "OTC",
    "PINK": "OTC",
    "TSX": "TSX",
    "TSXV": "TSXV",
    "TSX-V": "TSXV",
    "TSX VENTURE": "TSXV",
    "CSE": "CSE",
    "LSE": "LSE",
    "LON": "LSE",
    "AIM": "LSE",
    "ASX": "ASX",
    "HKEX": "HKEX",
    "HKG": "HKEX",
    "SEHK": "HKEX",
    "TYO": "TSE",
    "TSE": "TSE",
    "FRA": "FRA",
    "XETRA": "XETRA",
    "ETR": "XETRA",
    "EURONEXT": "EURONEXT",
    "EPA": "EURONEXT",
    "AMS": "EURONEXT",
    "SIX": "SIX",
    "SWX": "SIX",
    "NSE": "NSE",
    "BSE": "BSE",
    "KRX": "KRX",
    "KOSDAQ": "KOSDAQ",
    "SGX": "SGX",
    "JSE": "JSE",
    "NZX": "NZX",
    "BME": "BME",
    "STO": "NASDAQ_STOCKHOLM",
    "OSE": "OSE",
    "SSE": "SSE",
    "SZSE": "SZSE",
    "TWSE": "TWSE",
    "B3": "B3",
    "BMV": "BMV",
}
# Listings quoted in US dollars on US venues; everything else is a foreign listing.
US_EXCHANGES = frozenset({"NYSE", "NASDAQ", "NYSEAMERICAN", "NYSEARCA", "CBOE", "OTC"})

# Reuters Instrument Code suffixes -> exchange code.
RIC_EXCHANGES: dict[str, str] = {
    "N": "NYSE",
    "O": "NASDAQ",
    "OQ": "NASDAQ",
    "OB": "OTC",
    "PK": "OTC",
    "A": "NYSEAMERICAN",
    "P": "NYSEARCA",
    "K": "NYSE",
    "L": "LSE",
    "T": "TSE",
    "TO": "TSX",
    "V": "TSXV",
    "HK": "HKEX",
    "DE": "XETRA",
    "F": "FRA",
    "PA": "EURONEXT",
    "AS": "EURONEXT",
    "BR": "EURONEXT",
    "LS": "EURONEXT",
    "I": "EURONEXT",
    "MI": "BIT",
    "MC": "BME",
    "S": "SIX",
    "VX": "SIX",
    "SW": "SIX",
    "AX": "ASX",
    "KS": "KRX",
    "KQ": "KOSDAQ",
    "SS": "SSE",
    "SZ": "SZSE",
    "TW": "TWSE",
    "BO": "BSE",
    "NS": "NSE",
    "SI": "SGX",
    "ST": "NASDAQ_STOCKHOLM",
    "CO": "NASDAQ_COPENHAGEN",
    "HE": "NASDAQ_HELSINKI",
    "OL": "OSE",
    "SA": "B3",
    "MX": "BMV",
    "J": "JSE",
    "NZ": "NZX",
    "VI": "WBAG",
    "WA": "GPW",
    "IS": "BIST",
    "SAO": "B3",
}
US_RIC_SUFFIXES = frozenset(k for k, v in RIC_EXCHANGES.items() if v in US_EXCHANGES)

# A US symbol with an optional share class ("BRK.B", "BRK-B", "BRK/B"); foreign venues also use
# digits ("0700", "7203", "D05").
_US_SYMBOL = r"[A-Z]{1,5}(?:[.\-/][A-Z]{1,2})?"
_ANY_SYMBOL = r"[A-Z0-9]{1,6}(?:[.\-/][A-Z0-9]{1,3})?"
_EXCHANGE_NAMES = sorted(EXCHANGE_CODES, key=len, reverse=True)
_EXCHANGE_ALT = "|".join(re.escape(name).replace(r"\ ", r"\s+") for name in _EXCHANGE_NAMES)
# One "EXCHANGE: SYMBOL" pair; several may share a parenthesis: "(NYSE: ABC; TSX: ABC)".
_TAG_PAIR = rf"(?i:{_EXCHANGE_ALT})\s*:\s*{_ANY_SYMBOL}"
EXCHANGE_TAG = re.compile(
    rf"\(\s*(?P<body>{_TAG_PAIR}(?:\s*[,;/]\s*{_TAG_PAIR})*)\s*\)",
)
_PAIR = re.compile(
    rf"(?P<exchange>(?i:{_EXCHANGE_ALT}))\s*:\s*(?P<symbol>{_ANY_SYMBOL})",
)
# "( UPS.N )", "(AAPL.O)", "(BRKb.N)" (Reuters writes share classes in lower case), "<IBM.N>".
RIC = re.compile(
    r"(?P<open>[(<])\s*(?P<root>[A-Z0-9]{1,6})(?P<cls>[a-z])?\.(?P<suffix>[A-Z]{1,3})\s*(?P<close>[)>])"
)
# Reuters also writes RICs bare after a name: "Dell DELL.O and Nvidia"; only US suffixes.
BARE_RIC = re.compile(
    r"(?<![\w.$])(?P<root>[A-Z]{1,5})(?P<cls>[a-z])?\.(?P<suffix>N|O|OQ)(?![\w.])"
)
# "$NVDA", "$BRK.B": a dollar sign not inside a word or after a currency letter ("US$5"), a
# letter first (never "$5"), and nothing word-like right after.
CASHTAG = re.compile(r"(?<![\w$])\$(?P<symbol>[A-Z]{1,5}(?:\.[A-Z]{1,2})?)(?![\w])")


def normalize_symbol(symbol: str) -> str:
    """BRK-B, BRK/B, BRK.B and brk.b are one id: BRK.B."""
    return re.sub(r"[-/]", ".", symbol.strip().upper())


@dataclass(frozen=True)
class TickerNotation:
    """One explicit ticker in the text: where, which symbol, which exchange, which notation."""

    start: int
    end: int
    symbol: str
    exchange: str | None
    kind: str  # "tag" | "ric" | "cashtag"


def exchange_code(name: str) -> str | None:
    return EXCHANGE_CODES.get(re.sub(r"\s+", " ", name.strip().upper()))


def find_exchange_tags(text: str) -> Iterator[TickerNotation]:
    """ "(NYSE: FIX)", "(Nasdaq:NVDA)", "(NYSE American: X)", "(NYSE: ABC, TSX: ABC)". Each pair
    is one notation; the first takes the opening parenthesis, the last the closing one."""
    for match in EXCHANGE_TAG.finditer(text):
        body_start = match.start("body")
        pairs = list(_PAIR.finditer(match.group("body")))
        for index, pair in enumerate(pairs):
            symbol = pair.group("symbol")
            exchange = exchange_code(pair.group("exchange"))
            if exchange in US_EXCHANGES and not re.fullmatch(_US_SYMBOL, symbol):
                continue  # "(NYSE: 2021)" is not a listing
            start = match.start() if index == 0 else body_start + pair.start()
            end = match.end() if index == len(pairs) - 1 else body_start + pair.end()
            yield TickerNotation(start, end, normalize_symbol(symbol), exchange, "tag")


def find_rics(text: str) -> Iterator[TickerNotation]:
    for match in RIC.finditer(text):
        if (match.group("open") == "(") != (match.group("close") == ")"):
            continue
        suffix = match.group("suffix")
        exchange = RIC_EXCHANGES.get(suffix)
        if exchange is None:
            continue
        root = match.group("root")
        if exchange in US_EXCHANGES and not root.isalpha():
            continue
        symbol = root + (f".{match.group('cls').upper()}" if match.group("cls") else "")
        yield TickerNotation(match.start(), match.end(), symbol, exchange, "ric")


def find_bare_rics(text: str) -> Iterator[TickerNotation]:
    for match in BARE_RIC.finditer(text):
        symbol = match.group("root") + (
            f".{match.group('cls').upper()}" if match.group("cls") else ""
        )
        yield TickerNotation(
            match.start(), match.end(), symbol, RIC_EXCHANGES[match.group("suffix")], "ric"
        )


def find_cashtags(text: str) -> Iterator[TickerNotation]:
    for match in CASHTAG.finditer(text):
        symbol = normalize_symbol(match.group("symbol"))
        yield TickerNotation(match.start(), match.end(), symbol, None, "cashtag")


def find_ticker_notations(text: str) -> list[TickerNotation]:
    """Every explicit ticker in `text`, in order, without overlaps (a tag wins over a cashtag
    inside it)."""
    found = [
        *find_exchange_tags(text),
        *find_rics(text),
        *find_bare_rics(text),
        *find_cashtags(text),
    ]
    found.sort(key=lambda n: (n.start, -(n.end - n.start)))
    out: list[TickerNotation] = []
    for notation in found:
        if out and notation.start < out[-1].end:
            continue
        out.append(notation)
    return out


def strip_rics(text: str) -> tuple[str, list[tuple[int, int, TickerNotation]]]:
    """The text with every RIC removed (for the `reuters-ric` evaluation), and for each removed
    RIC its position in the new text (where the name before it ends) and the notation."""
    pieces: list[str] = []
    removed: list[tuple[int, int, TickerNotation]] = []
    cursor = 0
    length = 0
    for notation in find_rics(text):
        before = text[cursor : notation.start].rstrip(" ")
        pieces.append(before)
        length += len(before)
        removed.append((length, length, notation))
        cursor = notation.end
    pieces.append(text[cursor:])
    return "".join(pieces), removed
