"""Company names as news writes them: alias generation and context-aware confidence.

`company_aliases("The Walt Disney Company")` gives the forms a name is written in ("Walt Disney
Company", "Walt Disney"); `AliasClassifier` says which aliases are also ordinary words ("Target",
"Gap", "Apple") and so need context before they link; `mention_confidence` weighs that context.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.tokens import Doc, Span

# Legal and corporate-form suffixes that news drops: "Apple Inc." -> "Apple".
_LEGAL_SUFFIX = re.compile(
    r"(?:[\s,]+|\s*&\s*)(?:inc|incorporated|corp|corporation|co|company|companies|cos|ltd|limited"
    r"|plc|llc|l\.l\.c|lp|l\.p|n\.v|nv|s\.a|sa|ag|se|s\.p\.a|spa|a/s|asa|ab|oyj|holdings?|hldgs"
    r"|group|/[a-z]{2,3}/?|\(the\)|the|com|new)\.?$",
    re.IGNORECASE,
)
_SEC_ARTIFACT = re.compile(r"\s*/[A-Z]{2,3}/?\s*$|\s+\\[A-Z]{2}\\?\s*$")
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)
# A single-word alias this common ("match", "first") is never linked on its own.
_TOO_COMMON_ZIPF = 5.0
# A word this common that is also a dictionary word needs context to link ("Target", "Gap").
_COMMON_ZIPF = 3.8
# A word this common is ordinary whether or not the dictionary lists it ("investors").
_VERY_COMMON_ZIPF = 5.5
# Words that are ambiguous in news whatever their frequency: places, rivers, brands of things.
FORCED_AMBIGUOUS = frozenset(
    {
        "amazon",
        "apple",
        "target",
        "gap",
        "visa",
        "meta",
        "block",
        "snap",
        "square",
        "shell",
        "ford",
        "chase",
        "delta",
        "southern",
        "progressive",
        "sierra",
        "phoenix",
        "jordan",
    }
)
# Names of exchanges and other words that head index or venue mentions, never a company alone.
BLOCKED_ALIASES = frozenset(
    {"nasdaq", "nyse", "cboe", "dow", "s&p", "russell", "reuters", "bloomberg", "fed", "treasury"}
    | {"q1", "q2", "q3", "q4", "h1", "h2", "fy", "ai", "us", "uk", "eu"}
)
# Upper-case words in news that are not tickers unless a tag or cashtag says so.
ACRONYMS = frozenset(
    [
        "CEO",
        "CFO",
        "COO",
        "CTO",
        "GDP",
        "USA",
        "IPO",
        "ETF",
        "ETFS",
        "EPS",
        "FDA",
        "SEC",
        "FBI",
        "CIA",
        "NYSE",
        "LLC",
        "EU",
        "UK",
        "US",
        "UN",
        "IMF",
        "ECB",
        "FED",
        "OPEC",
        "NATO",
        "AI",
        "API",
        "CPI",
        "PPI",
        "PMI",
        "ESG",
        "EV",
        "EVS",
        "TV",
        "PC",
        "USB",
        "GPS",
        "CDC",
        "EPA",
        "FTC",
        "DOJ",
        "IRS",
        "NASA",
        "OECD",
        "WTO",
        "WHO",
        "BOE",
        "BOJ",
        "PBOC",
        "ISM",
        "NFP",
        "ADP",
        "REIT",
        "REITS",
        "LBO",
        "SPAC",
        "ATM",
        "IT",
        "HR",
        "PR",
        "ID",
        "OK",
        "AM",
        "PM",
        "ET",
        "EST",
        "EDT",
        "PST",
        "GMT",
        "CNBC",
        "CNN",
        "BBC",
        "ABC",
        "NBC",
        "CBS",
        "FOX",
        "ESPN",
        "NFL",
        "NBA",
        "MLB",
        "NCAA",
        "LNG",
        "OTC",
        "ETN",
        "AGM",
        "EBIT",
        "EBITDA",
        "CAGR",
        "YOY",
        "QOQ",
        "ROE",
        "ROI",
        "ROIC",
        "FCF",
        "IPOS",
        "MBA",
        "PHD",
        "CEOS",
        "LTD",
        "INC",
        "CORP",
        "PLC",
        "NAV",
        "AUM",
        "ADR",
        "ADRS",
        "FX",
        "OIS",
        "LIBOR",
        "SOFR",
        "TARP",
        "FOMC",
        "FHFA",
        "FDIC",
        "OCC",
        "CFPB",
        "CFTC",
        "FINRA",
        "ISDA",
        "SIFI",
        "TLAC",
        "DC",
        "NY",
        "LA",
        "SF",
        "EUR",
        "USD",
        "GBP",
        "JPY",
        "CNY",
        "CHF",
        "CAD",
        "AUD",
        "UAE",
        "DRC",
        "EV",
        "EVS",
        "AR",
        "VR",
        "BTC",
        "ETH",
        "NFT",
        "DNA",
        "RNA",
        "COVID",
        "SARS",
        "HIV",
    ]
)
_CONNECTORS = frozenset({"of", "and", "&", "the", "de", "du", "la", "le", "for", "-", "'s", "."})


_SHARE_CLASS = re.compile(
    r"[\s,]*(?:\(?\b(?:class|series|cl)\s+[A-Z0-9]\b\)?|\b(?:common|ordinary) (?:stock|shares)"
    r"|\bADRs?\b|\bADS\b)\s*$",
    re.IGNORECASE,
)


def clean_company_name(name: str) -> str:
    name = _SEC_ARTIFACT.sub("", name.strip())
    for _ in range(2):
        name = _SHARE_CLASS.sub("", name)
    name = re.sub(r"\s+", " ", name).strip(" ,.;")
    return name


def company_aliases(name: str) -> list[str]:
    """The forms news writes `name` in, longest first: the full name, then with legal suffixes
    ("Inc.", "Corp", "Holdings", "Group", "plc") and a leading "The" dropped. Possessives need
    no alias: the tokenizer splits "Apple's" into "Apple" "'s"."""
    current = clean_company_name(name)
    out: list[str] = []

    def add(form: str) -> None:
        form = form.strip(" ,.;&-")
        if form and form.lower() not in {o.lower() for o in out}:
            out.append(form)

    add(current)
    for _ in range(4):
        stripped = _LEADING_THE.sub("", current)
        stripped = _LEGAL_SUFFIX.sub("", stripped).strip(" ,")
        if stripped == current or not stripped:
            break
        current = stripped
        add(current)
    if out and _LEADING_THE.match(out[0]):
        add(_LEADING_THE.sub("", out[0]))
    return [a for a in out if _usable(a)]


def _usable(alias: str) -> bool:
    words = alias.split()
    if len(words) == 1:
        word = words[0]
        has_digit = any(c.isdigit() for c in word)
        long_enough = len(word) >= 3 or (has_digit and len(word) >= 2)
        return long_enough and not word.isdigit() and word.lower() not in STOP_WORDS
    return not all(w.lower() in STOP_WORDS for w in words)


def display_name(name: str) -> str:
    """SEC writes many names in capitals ("NVIDIA CORP"); show them in title case, keeping short
    vowel-less or 3-letter words as acronyms ("IBM", "AT&T")."""
    name = clean_company_name(name)
    letters = [c for c in name if c.isalpha()]
    if not letters or not all(c.isupper() for c in letters):
        return name

    def word(w: str) -> str:
        bare = re.sub(r"[^A-Za-z]", "", w)
        if "&" in w or len(bare) <= 2 or (len(bare) == 3 and w.isalpha() and w not in _TITLE3):
            return w
        if not re.search(r"[AEIOUY]", bare):
            return w
        return w.capitalize()

    return " ".join(word(w) for w in name.split())


_TITLE3 = frozenset({"INC", "COM", "LTD", "PLC", "LLC", "NEW", "THE", "AND", "ONE", "TWO", "OIL"})


class AliasClassifier:
    """Which aliases are ordinary words. Built from word frequencies (`wordfreq`) and a
    dictionary (WordNet lemmas via `spacy-lookups-data`) when those are installed; they are only
    needed to build the reference table. Without them every one-word alias counts as ambiguous,
    which costs recall, never precision."""

    def __init__(self) -> None:
        try:
            import gzip
            import json
            from importlib import resources

            from wordfreq import zipf_frequency

            data = resources.files("spacy_lookups_data") / "data" / "en_lemma_index.json.gz"
            with gzip.open(str(data), "rt", encoding="utf-8") as handle:
                index = json.load(handle)
            self._dictionary: frozenset[str] | None = frozenset(
                w.lower() for words in index.values() for w in words
            )
            self._zipf = zipf_frequency
        except (ImportError, OSError, ValueError):
            self._dictionary = None

    @property
    def available(self) -> bool:
        return self._dictionary is not None

    @lru_cache(maxsize=65536)  # noqa: B019  (one classifier per build; the cache is the point)
    def zipf(self, word: str) -> float:
        if self._dictionary is None:
            return 0.0
        return float(self._zipf(word.lower(), "en"))

    def is_common(self, word: str) -> bool:
        low = word.lower()
        if not low.isalpha():
            return low in STOP_WORDS
        if low in STOP_WORDS or low in FORCED_AMBIGUOUS:
            return True
        if self._dictionary is None:
            return True
        zipf = self.zipf(low)
        in_dictionary = low in self._dictionary or low.removesuffix("s") in self._dictionary
        return zipf >= _VERY_COMMON_ZIPF or (in_dictionary and zipf >= _COMMON_ZIPF)

    def is_ambiguous(self, alias: str) -> bool:
        words = alias.split()
        if len(words) != 1:
            return False
        return self.is_common(words[0]) or words[0].lower() in FORCED_AMBIGUOUS

    def is_too_common(self, alias: str) -> bool:
        words = alias.split()
        if len(words) != 1:
            return False
        low = words[0].lower()
        if low in STOP_WORDS or low in BLOCKED_ALIASES:
            return True
        # wordfreq splits "AT&T" into pieces; only whole words are judged by frequency.
        return low.isalpha() and self.available and self.zipf(low) >= _TOO_COMMON_ZIPF


# -- context ---------------------------------------------------------------------------------------

# Words near a name that say "this is a company" ...
COMPANY_CUES = frozenset(
    [
        "shares",
        "share",
        "stock",
        "stocks",
        "inc",
        "inc.",
        "corp",
        "corp.",
        "co.",
        "ltd",
        "plc",
        "company",
        "companies",
        "ceo",
        "cfo",
        "executive",
        "chief",
        "earnings",
        "revenue",
        "revenues",
        "profit",
        "profits",
        "quarter",
        "quarterly",
        "sales",
        "analyst",
        "analysts",
        "investors",
        "retailer",
        "retailers",
        "maker",
        "makers",
        "giant",
        "brand",
        "stores",
        "chain",
        "nasdaq",
        "nyse",
        "dividend",
        "guidance",
        "outlook",
        "acquire",
        "acquired",
        "acquisition",
        "acquisitions",
        "deal",
        "merger",
        "rival",
        "rivals",
        "competitor",
        "competitors",
        "customers",
        "subscribers",
        "spokesman",
        "spokeswoman",
        "spokesperson",
        "statement",
        "announced",
        "reported",
        "forecast",
        "downgraded",
        "upgraded",
        "rating",
        "results",
        "listed",
        "traded",
        "buyback",
        "iphone",
        "ipad",
        "iphones",
        "aws",
        "prime",
        "cards",
        "payments",
        "network",
        "lawsuit",
        "sued",
        "layoffs",
        "jobs",
        "workers",
        "employees",
        "headquarters",
        "based",
        "unit",
        "division",
        "subsidiary",
        "investor",
        "market",
        "valuation",
        "said",
        "says",
        "told",
        "business",
        "businesses",
        "product",
        "products",
        "platform",
        "software",
        "devices",
        "services",
        "supplier",
        "suppliers",
        "parts",
        "plant",
        "plants",
        "factory",
        "factories",
        "executives",
        "buy",
        "bought",
        "sell",
        "sold",
        "cash",
        "financial",
        "ios",
        "app",
        "apps",
    ]
)
# ... and words that say it is a river, a fruit, a travel document or a gap between things.
NON_COMPANY_CUES = frozenset(
    [
        "river",
        "rivers",
        "jungle",
        "jungles",
        "rainforest",
        "rainforests",
        "forest",
        "forests",
        "basin",
        "tribe",
        "tribes",
        "indigenous",
        "deforestation",
        "amazonian",
        "recipe",
        "recipes",
        "pie",
        "pies",
        "juice",
        "cider",
        "orchard",
        "orchards",
        "fruit",
        "fruits",
        "tree",
        "trees",
        "bake",
        "baked",
        "baking",
        "tablespoon",
        "tablespoons",
        "sliced",
        "peel",
        "applications",
        "visas",
        "immigration",
        "immigrant",
        "immigrants",
        "passport",
        "passports",
        "embassy",
        "consulate",
        "tourist",
        "tourists",
        "asylum",
        "waiver",
        "between",
        "widening",
        "narrowing",
        "gaps",
    ]
)
_DETERMINERS = frozenset({"the", "a", "an", "this", "that"})
WINDOW = 8


def context_cues(doc: Doc, start: int, end: int) -> tuple[bool, bool]:
    """(company cue nearby, non-company cue nearby) within WINDOW tokens of doc[start:end]."""
    lo, hi = max(0, start - WINDOW), min(len(doc), end + WINDOW)
    company = other = False
    for token in doc[lo:hi]:
        if start <= token.i < end:
            continue
        low = token.lower_
        if low in COMPANY_CUES:
            company = True
        elif low in NON_COMPANY_CUES:
            other = True
    return company, other


def capitalized(span: Span, cased_alias: Iterable[str] = ()) -> bool:
    """Every content word of the surface starts with a capital or a digit ("Home Depot", "3M"),
    or is written exactly as the reference writes it ("eBay")."""
    cased = set(cased_alias)
    for token in span:
        text = token.text
        if token.lower_ in _CONNECTORS or not text[0].isalpha():
            continue
        if not text[0].isupper() and text not in cased:
            return False
    return True


def all_caps_context(doc: Doc, i: int) -> bool:
    """The token sits among all-capital words (a shouted headline, a table, binary junk)."""

    def caps(j: int) -> bool:
        if not 0 <= j < len(doc):
            return False
        t = doc[j].text
        return len(t) > 1 and t.isalpha() and t.isupper()

    return (
        (caps(i - 1) and caps(i + 1))
        or (caps(i - 1) and caps(i - 2))
        or (caps(i + 1) and caps(i + 2))
    )
