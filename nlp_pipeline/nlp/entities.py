"""Financial entity recognition and linking: the spaCy component `financial_entities`.

Finds, in one pass over a document, and links to canonical ids (DESIGN.md 3.2):
- explicit tickers: exchange tags "(NYSE: FIX)", Reuters RICs "( UPS.N )", cashtags "$NVDA"
  (`tickers.py`);
- the curated aliases of `models/entities/aliases.yaml`: indices, policies, central banks,
  regulators and governments, GICS sectors, and hand-written company short names;
- company names of every listed company in the reference table `models/entities/companies.tsv`
  (`refdata.py`), with generated aliases and a confidence from context (`gazetteer.py`);
- aliases learned from earlier articles (given by the caller, e.g. from the store);
- bare symbols ("MRVL") only where safe: a listed symbol that is not a word or acronym, in a
  financial context or already named in the same text.

Each kept mention carries a confidence in [0, 1]; candidates below `min_confidence` are dropped.
Results go to `doc.spans["fin_entities"]` with the entity type as label, the canonical id as
`kb_id`, and the extensions `exchange`, `name`, `confidence` and `source`.

Every step is linear in the length of the document: `doc.text` is built once per call, regexes
run once over it, matchers and token scans run once over the tokens.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.nlp.gazetteer import (
    ACRONYMS,
    FORCED_AMBIGUOUS,
    capitalized,
    context_cues,
)
from nlp_pipeline.nlp.gazetteer import (
    all_caps_context as _all_caps_context,
)
from nlp_pipeline.nlp.refdata import CompanyRecord, ReferenceData
from nlp_pipeline.nlp.tickers import find_ticker_notations, normalize_symbol
from nlp_pipeline.records import ENTITY_TYPES, AnalysisResult, Mention
from nlp_pipeline.yamlfile import safe_load

SPAN_KEY = "fin_entities"
COMPONENT_VERSION = "gazetteer-2"
DEFAULT_MIN_CONFIDENCE = 0.5

# Cashtags of index symbols name the index ("$SPX", "$VIX").
_INDEX_CASHTAGS = {
    "SPX": "SPX",
    "NDX": "NDX",
    "DJI": "DJI",
    "VIX": "VIX",
    "RUT": "RUT",
    "COMP": "COMP",
}
# Tokens that make a sentence about markets: a bare symbol near one of these is a ticker.
_MARKET_CUES = frozenset(
    [
        "shares",
        "share",
        "stock",
        "stocks",
        "ticker",
        "traded",
        "trading",
        "rose",
        "fell",
        "gained",
        "lost",
        "jumped",
        "slid",
        "rallied",
        "dropped",
        "climbed",
        "surged",
        "plunged",
        "tumbled",
        "soared",
        "sank",
        "slipped",
        "advanced",
        "declined",
        "upgrade",
        "upgraded",
        "downgrade",
        "downgraded",
        "buy",
        "sell",
        "hold",
        "outperform",
        "underperform",
        "overweight",
        "underweight",
        "nasdaq",
        "nyse",
        "earnings",
        "eps",
        "revenue",
        "dividend",
        "premarket",
        "after-hours",
        "options",
        "calls",
        "puts",
        "short",
        "%",
        "percent",
    ]
)
_NAME_WORD = re.compile(r"^(?:[A-Z][\w&.'’-]*|&|of|de)$")
_NAME_CONNECTORS = frozenset({"&", "of", "de"})
# Capitalized only because they open a sentence or a phrase; never the start of a name.
_NOT_NAME_START = frozenset(
    [
        "The",
        "A",
        "An",
        "Shares",
        "Stock",
        "Stocks",
        "Investors",
        "Analysts",
        "In",
        "At",
        "On",
        "For",
        "From",
        "By",
        "With",
        "As",
        "After",
        "Before",
        "While",
        "When",
        "Meanwhile",
        "But",
        "And",
        "Also",
        "Rival",
        "Peer",
        "Unit",
        "Parent",
        "Rivals",
        "Peers",
        "Competitor",
        "Competitors",
        "Companies",
        "Company",
        "Firms",
        "Banks",
        "Both",
        "Including",
        "Like",
        "Such",
        "Said",
        "Says",
        "Led",
        "Lenders",
    ]
)
_LEGAL_AFTER = frozenset(
    [
        "inc",
        "inc.",
        "corp",
        "corp.",
        "corporation",
        "co",
        "co.",
        "company",
        "cos",
        "ltd",
        "ltd.",
        "limited",
        "plc",
        "llc",
        "lp",
        "l.p.",
        "ag",
        "sa",
        "s.a.",
        "nv",
        "n.v.",
        "se",
        "holdings",
        "group",
    ]
)
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ufffd]")
_BINARY_SHARE = 0.02


@dataclass(frozen=True)
class EntityRecord:
    type: str
    id: str
    name: str
    exchange: str | None = None


@dataclass(frozen=True)
class AliasRule:
    """When a curated alias may link: a word from `context` nearby (if any are given), and none
    of `not_followed_by` / `not_preceded_by` right next to it."""

    context: frozenset[str] = frozenset()
    not_followed_by: frozenset[str] = frozenset()
    not_preceded_by: frozenset[str] = frozenset()


class AliasTable:
    """Curated canonical entities and their surface forms, read from YAML files (the shipped
    `aliases.yaml`, then any user files, which add entities or aliases)."""

    def __init__(self, path: Path, extra_paths: Sequence[Path] = ()) -> None:
        self.path = path
        self.entities: dict[tuple[str, str], EntityRecord] = {}
        # (alias, case_sensitive) -> entity key
        self.aliases: dict[tuple[str, bool], tuple[str, str]] = {}
        self.rules: dict[tuple[str, str, str], AliasRule] = {}  # (type, id, alias) -> rule
        digest = hashlib.sha1()
        for source in (path, *extra_paths):
            digest.update(self._read(source))
        self.digest = digest.hexdigest()[:8]

    def _read(self, path: Path) -> bytes:
        try:
            raw_text = path.read_bytes()
            data = safe_load(raw_text)
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot load entity alias table {path}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of entity types")
        for etype in ENTITY_TYPES:
            items = data.get(etype, []) or []
            if not isinstance(items, list):
                raise ConfigError(f"{path}: {etype} must be a list of entities")
            for position, item in enumerate(items):
                if not isinstance(item, dict) or not item.get("id"):
                    raise ConfigError(f"{path}: {etype}[{position}] needs an id")
                entity_id = str(item["id"])
                if etype == "TICKER":
                    entity_id = normalize_symbol(entity_id)
                known = self.entities.get((etype, entity_id))
                record = EntityRecord(
                    etype,
                    entity_id,
                    str(item.get("name") or (known.name if known else entity_id)),
                    item.get("exchange") or (known.exchange if known else None),
                )
                self.entities[(etype, entity_id)] = record
                case_sensitive = bool(item.get("case_sensitive", True))
                entity_rule = _rule(item)
                for alias in item.get("aliases", []) or []:
                    rule = entity_rule
                    if isinstance(alias, dict):
                        rule = _rule(alias, entity_rule)
                        alias = alias.get("alias", "")
                    if not alias:
                        raise ConfigError(f"{path}: {etype} {entity_id} has an empty alias")
                    forms = [str(alias)]
                    if case_sensitive and forms[0].startswith("the "):
                        forms.append("The " + forms[0][4:])  # "The Dow" opening a sentence
                    for form in forms:
                        self.aliases[(form, case_sensitive)] = (etype, entity_id)
                        if rule != AliasRule():
                            self.rules[(etype, entity_id, form.lower())] = rule
        return raw_text

    def ticker(self, symbol: str) -> EntityRecord | None:
        return self.entities.get(("TICKER", normalize_symbol(symbol)))


def _words(value: Any) -> frozenset[str]:
    return frozenset(str(v).lower() for v in (value or []))


def _rule(item: dict[str, Any], base: AliasRule | None = None) -> AliasRule:
    base = base or AliasRule()
    return AliasRule(
        _words(item.get("context")) or base.context,
        _words(item.get("not_followed_by")) or base.not_followed_by,
        _words(item.get("not_preceded_by")) or base.not_preceded_by,
    )


@dataclass
class Candidate:
    start: int  # token offsets
    end: int
    type: str
    id: str
    confidence: float
    source: str  # tag | ric | cashtag | alias | learned | name | symbol
    exchange: str | None = None
    name: str | None = None
    rank: int = 1  # 0 for explicit notations, which win over anything they overlap


@dataclass(frozen=True)
class _CompanyAlias:
    symbol: str
    ambiguous: bool
    cased: tuple[str, ...]  # the tokens as the reference writes them, when in mixed case
    notable: bool  # an index member: a name news uses without introducing it
    upper: bool  # a short all-capitals alias ("TIM", "IES"): only matches in capitals


class _Gazetteer:
    """Every company alias of the reference table, keyed by its lower-case tokens. A dict
    lookup per token and candidate length: linear in the text, and built in a blink from the
    pre-tokenized table (a PhraseMatcher over 20,000 names takes seconds to build)."""

    def __init__(self, reference: ReferenceData, skip: set[str]) -> None:
        self.aliases: dict[tuple[str, ...], _CompanyAlias] = {}
        self.lengths: dict[str, tuple[int, ...]] = {}
        lengths: dict[str, set[int]] = {}
        for symbol, record in reference.records.items():
            for alias in record.aliases:
                tokens = tuple(alias.split(" "))
                key = tuple(t.lower() for t in tokens)
                if " ".join(key) in skip or key in self.aliases:
                    continue
                letters = [c for c in alias if c.isalpha()]
                mixed = any(c.islower() for c in letters) and any(c.isupper() for c in letters)
                self.aliases[key] = _CompanyAlias(
                    symbol,
                    alias in record.ambiguous,
                    tokens if mixed else (),
                    bool(record.indices),
                    len(tokens) == 1 and len(alias) <= 4 and alias.isupper(),
                )
                lengths.setdefault(key[0], set()).add(len(key))
        self.lengths = {k: tuple(sorted(v, reverse=True)) for k, v in lengths.items()}

    def matches(self, lowers: Sequence[str]) -> Iterable[tuple[int, int, _CompanyAlias]]:
        """(start, end, alias) of the longest alias starting at each token."""
        n = len(lowers)
        for i, first in enumerate(lowers):
            candidate_lengths = self.lengths.get(first)
            if candidate_lengths is None:
                continue
            for length in candidate_lengths:
                if i + length > n:
                    continue
                entry = self.aliases.get(tuple(lowers[i : i + length]))
                if entry is not None:
                    yield i, i + length, entry
                    break


class FinancialEntityRecognizer:
    """The `financial_entities` spaCy component."""

    def __init__(
        self,
        nlp: Language,
        table: AliasTable,
        reference: ReferenceData | None = None,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
        reference_digest: str = "none",
    ) -> None:
        self.nlp = nlp
        self.table = table
        self.reference = reference or ReferenceData()
        self.min_confidence = min_confidence
        self.version = f"{COMPONENT_VERSION}+aliases-{table.digest}+ref-{reference_digest}"
        self._exact = PhraseMatcher(nlp.vocab, attr="ORTH")
        self._lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        by_key: dict[tuple[str, bool], list[str]] = {}
        for (alias, case_sensitive), key in table.aliases.items():
            by_key.setdefault((f"{key[0]}|{key[1]}", case_sensitive), []).append(alias)
        for (label, case_sensitive), aliases in by_key.items():
            matcher = self._exact if case_sensitive else self._lower
            matcher.add(label, [nlp.make_doc(alias) for alias in aliases])
        curated = {
            " ".join(t.lower_ for t in nlp.tokenizer(alias) if not t.is_space)
            for alias, _ in table.aliases
        }
        self._gazetteer = _Gazetteer(self.reference, curated)
        self._ambiguous_words = set(FORCED_AMBIGUOUS) | {
            alias.lower() for r in self.reference.records.values() for alias in r.ambiguous
        }
        self._learned = PhraseMatcher(nlp.vocab, attr="ORTH")
        self._learned_names: dict[str, str] = {}
        self._symbols = {
            symbol: record
            for symbol, record in self.reference.records.items()
            if symbol.isalpha() and 2 <= len(symbol) <= 5 and record.exchange is not None
        }
        for (etype, entity_id), record in table.entities.items():
            if etype == "TICKER" and entity_id.isalpha() and 2 <= len(entity_id) <= 5:
                self._symbols.setdefault(entity_id, CompanyRecord(entity_id, record.exchange))

    # -- aliases learned from the corpus --------------------------------------------------------

    def add_aliases(self, aliases: Iterable[tuple[str, str]]) -> int:
        """Link `alias` -> ticker `symbol` in every later text (case-sensitive, whole words).
        Returns how many were new."""
        added = 0
        for alias, symbol in aliases:
            alias, symbol = alias.strip(), normalize_symbol(symbol)
            if not alias or self._learned_names.get(alias) == symbol:
                continue
            if alias in self._learned_names:
                self._learned.remove(alias)
            self._learned.add(alias, [self.nlp.make_doc(alias)])
            self._learned_names[alias] = symbol
            added += 1
        return added

    # -- the component --------------------------------------------------------------------------

    def __call__(self, doc: Doc) -> Doc:
        text = doc.text  # built once: spaCy rebuilds doc.text on every access
        # A few undecodable bytes in a story are noise; many, at a steady share, are a binary.
        junk = len(_BINARY_CHARS.findall(text)) > max(16, _BINARY_SHARE * len(text))
        if junk:
            # A binary payload decoded as text ("$H", "(I)", "ALL" by the hundred): no entities.
            doc.spans[SPAN_KEY] = []
            return doc
        candidates = self._notations(doc, text)
        candidates += self._curated(doc)
        if not junk:
            candidates += self._learn_names(doc, candidates)
            candidates += self._learned_matches(doc)
            candidates += self._company_names(doc)
        strong = {c.id for c in candidates if c.type == "TICKER" and c.confidence >= 0.85}
        candidates = [self._with_context(doc, c, strong) for c in candidates]
        if not junk:
            candidates += self._bare_symbols(doc, strong, candidates)
            # A name right before its own ticker ("Ford (F)", "Target (NYSE: TGT)") is sure.
            notation_at = {c.start: c.id for c in candidates if c.source in {"tag", "ric", "paren"}}
            for c in candidates:
                if c.source == "name" and notation_at.get(c.end) == c.id:
                    c.confidence = max(c.confidence, 0.95)
        kept = self._select(candidates)
        kept.sort(key=lambda c: c.start)
        spans = []
        for c in kept:
            span = Span(doc, c.start, c.end, label=c.type, kb_id=c.id)
            span._.set("exchange", c.exchange)
            span._.set("name", c.name)
            span._.set("confidence", round(c.confidence, 3))
            span._.set("source", c.source)
            spans.append(span)
        doc.spans[SPAN_KEY] = spans
        return doc

    def _notations(self, doc: Doc, text: str) -> list[Candidate]:
        out = []
        for notation in find_ticker_notations(text):
            span = doc.char_span(notation.start, notation.end, alignment_mode="expand")
            if span is None:
                continue
            if notation.kind == "cashtag" and notation.symbol in _INDEX_CASHTAGS:
                out.append(
                    Candidate(
                        span.start,
                        span.end,
                        "INDEX",
                        _INDEX_CASHTAGS[notation.symbol],
                        1.0,
                        "cashtag",
                        rank=0,
                    )
                )
                continue
            known = self._record(notation.symbol) is not None
            confidence = 1.0 if notation.kind != "cashtag" or known else 0.9
            out.append(
                Candidate(
                    span.start,
                    span.end,
                    "TICKER",
                    notation.symbol,
                    confidence,
                    notation.kind,
                    notation.exchange,
                    rank=0,
                )
            )
        return out

    def _curated(self, doc: Doc) -> list[Candidate]:
        out = []
        lowers = [t.lower_ for t in doc]
        for matcher in (self._exact, self._lower):
            for match_id, start, end in matcher(doc):
                etype, entity_id = doc.vocab.strings[match_id].split("|", 1)
                confidence = 0.95
                rule = self.table.rules.get((etype, entity_id, doc[start:end].text.lower()))
                if rule is not None and not _rule_allows(doc, start, end, rule):
                    confidence = 0.0
                if (
                    etype == "ORG"
                    and doc[start].lower_ == "bank"
                    and start > 0
                    and doc[start - 1].is_title
                    and not doc[start - 1].is_sent_start
                    and doc[start - 1].lower_ not in {"the", "u.s.", "us"}
                ):
                    confidence = 0.0  # "Development Bank of Japan" is not the Bank of Japan
                source = "alias"
                if etype == "TICKER":
                    end = _legal_suffix_end(lowers, end)
                if etype == "TICKER" and doc[start:end].text.lower() in self._ambiguous_words:
                    # A curated company name that is also a word ("Apple", "Amazon") is judged
                    # by its context like any other.
                    confidence, source = min(confidence, 0.35), "name"
                out.append(Candidate(start, end, etype, entity_id, confidence, source))
        return out

    def _learned_matches(self, doc: Doc) -> list[Candidate]:
        if not self._learned_names:
            return []
        out = []
        for match_id, start, end in self._learned(doc):
            symbol = self._learned_names.get(doc.vocab.strings[match_id])
            if symbol:
                out.append(Candidate(start, end, "TICKER", symbol, 0.85, "learned"))
        return out

    def _company_names(self, doc: Doc) -> list[Candidate]:
        out = []
        lowers = [t.lower_ for t in doc]
        for start, end, entry in self._gazetteer.matches(lowers):
            span = doc[start:end]
            if not capitalized(span, entry.cased):
                continue
            if entry.upper and not span.text.isupper():
                continue  # "Tim" is not TIM S.A.
            ambiguous = entry.ambiguous
            if len(span) == 1 and span.text.isupper() and len(span.text) <= 4 and not entry.cased:
                # An all-caps short alias ("GAP", "IES") is written like a symbol: judge it so.
                ambiguous = ambiguous or span.text in ACRONYMS
            if len(span) > 1:
                confidence = 0.9 if entry.notable else 0.85
            elif entry.notable:
                confidence = 0.35 if ambiguous else 0.8
            else:
                # A small company known by one word ("Leslie's", "Ryan Specialty") needs
                # context; if the word is also ordinary, the company named in full nearby.
                confidence = 0.2 if ambiguous else 0.45
            if len(span) == 1 and _inside_proper_name(doc, start, end, ambiguous):
                confidence -= 0.35  # "Tim Cook", "Carl Icahn", "John Williams"
            # The span takes the legal suffix written after the name: "Target Corp", "JPMorgan
            # Chase & Co", "Goldman Sachs Group Inc"; such a suffix also says "a company".
            suffix_end = _legal_suffix_end(lowers, end)
            if suffix_end > end:
                confidence = max(confidence, 0.9)
            out.append(Candidate(start, suffix_end, "TICKER", entry.symbol, confidence, "name"))
        return out

    def _with_context(self, doc: Doc, c: Candidate, strong: set[str]) -> Candidate:
        """Names that are also ordinary words, or of little-known companies, need the context
        of a company: a cue nearby, or the same company named unambiguously in the text."""
        if c.source != "name" or c.confidence >= 0.85:
            return c
        company, other = context_cues(doc, c.start, c.end)
        confidence = c.confidence
        if company and c.confidence >= 0.3:
            confidence += 0.3  # a cue alone never vouches for an ordinary word of a small cap
        if c.confidence >= 0.3 and not doc[c.start].is_sent_start and doc[c.start].is_title:
            # Capitalized mid-sentence: a name, not the fruit or the shop-window target.
            confidence += 0.3
        if other:
            confidence -= 0.5
        if c.start > 0 and doc[c.start - 1].lower_ in {"the", "a", "an"}:
            confidence -= 0.2  # "the Amazon", "a Target" are rarely the company
        if c.id in strong and not other:
            confidence += 0.4
        c.confidence = max(0.0, min(1.0, confidence))
        return c

    def _bare_symbols(
        self, doc: Doc, strong: set[str], candidates: list[Candidate]
    ) -> list[Candidate]:
        # Token index right after each linked name -> its ticker ("Ford (F)": "(" follows Ford).
        named_before = {c.end: c.id for c in candidates if c.type == "TICKER" and c.confidence > 0}
        out = []
        for token in doc:
            symbol = token.text
            record = self._symbols.get(symbol)
            if record is None or not symbol.isupper():
                continue
            i = token.i
            # "Prologis (PLD)": a listed symbol in parentheses right after a capitalized name.
            in_parens = (
                0 < i < len(doc) - 1
                and doc[i - 1].text == "("
                and doc[i + 1].text == ")"
                and i >= 2
                and doc[i - 2].text[:1].isupper()
            )
            word_like = symbol in record.ambiguous or symbol in ACRONYMS or len(symbol) < 3
            if in_parens:
                if named_before.get(i - 1) == symbol:
                    confidence = 0.95
                elif not word_like:
                    confidence = 0.85
                else:
                    continue  # "Anthony Fields & Associates (AFA)": an abbreviation
                out.append(Candidate(i - 1, i + 2, "TICKER", symbol, confidence, "paren"))
                continue
            if named_before.get(i) == symbol:
                # "Apple AAPL, Amazon AMZN": the symbol right after its own company's name.
                out.append(Candidate(i, i + 1, "TICKER", symbol, 0.9, "paren"))
                continue
            if self._caps_neighbour(doc, i) or _all_caps_context(doc, i):
                continue  # "SAN FRANCISCO", "CVI Investments": part of another name
            lo, hi = max(0, i - 6), min(len(doc), i + 7)
            market = any(t.lower_ in _MARKET_CUES for t in doc[lo:hi])
            if symbol in strong:
                confidence = 0.9 if not word_like else 0.7
            elif word_like and len(symbol) >= 4 and symbol not in ACRONYMS and market:
                confidence = 0.6  # "Shares of SNAP rose": a longer word in capitals, traded
            elif word_like:
                continue  # CAT, NOW, IT, ON, ARE, ALL, CEO: only with a tag in the same text
            else:
                confidence = 0.75 if market else 0.3
            out.append(Candidate(i, i + 1, "TICKER", symbol, confidence, "symbol"))
        return out

    def _caps_neighbour(self, doc: Doc, i: int) -> bool:
        """A neighbouring word in capitals that is no symbol, or a capitalized word right after:
        the token is part of a longer name."""
        for j in (i - 1, i + 1):
            if 0 <= j < len(doc):
                text = doc[j].text
                if (
                    len(text) >= 3
                    and text.isalpha()
                    and text.isupper()
                    and text not in self._symbols
                ):
                    return True
        nxt = doc[i + 1] if i + 1 < len(doc) else None
        return nxt is not None and nxt.is_title and nxt.lower_ not in _LEGAL_AFTER

    def _select(self, candidates: list[Candidate]) -> list[Candidate]:
        """Non-overlapping candidates above the threshold: explicit notations first, then the
        longest match, then the most confident."""
        usable = [c for c in candidates if c.confidence >= self.min_confidence]
        usable.sort(key=lambda c: (c.rank, -(c.end - c.start), -c.confidence, c.start))
        taken: set[int] = set()
        kept = []
        for c in usable:
            if any(i in taken for i in range(c.start, c.end)):
                continue
            taken.update(range(c.start, c.end))
            kept.append(c)
        return kept

    def _learn_names(self, doc: Doc, notations: list[Candidate]) -> list[Candidate]:
        """A tagged ticker takes the capitalized words right before it as its name ("Acme
        Widgets Corp (NASDAQ: ACMW)"), and every mention of that name in the same text links to
        it. One pass over the tokens for all learned names together."""
        tagged = [c for c in notations if c.source in {"tag", "ric"}]
        taken = {i for c in tagged for i in range(c.start, c.end)}
        learned: dict[tuple[str, ...], tuple[str, str | None]] = {}
        for c in tagged:
            words = self._name_before(doc, c.start, taken)
            if not words:
                continue
            name = " ".join(t.text for t in words)
            c.name = c.name or name
            learned[tuple(t.text for t in words)] = (c.id, c.exchange)
        if not learned:
            return []
        by_first: dict[str, list[tuple[str, ...]]] = {}
        for words_key in learned:
            by_first.setdefault(words_key[0], []).append(words_key)
        extra = []
        i = 0
        while i < len(doc):
            for words_key in sorted(by_first.get(doc[i].text, []), key=len, reverse=True):
                end = i + len(words_key)
                if end <= len(doc) and tuple(t.text for t in doc[i:end]) == words_key:
                    if not any(j in taken for j in range(i, end)):
                        symbol, exchange = learned[words_key]
                        extra.append(
                            Candidate(
                                i,
                                end,
                                "TICKER",
                                symbol,
                                0.95,
                                "learned",
                                exchange,
                                " ".join(words_key),
                            )
                        )
                        i = end - 1
                    break
            i += 1
        return extra

    @staticmethod
    def _name_before(doc: Doc, start: int, taken: set[int]) -> list[Any]:
        words: list[Any] = []
        for token in reversed(doc[max(0, start - 6) : start]):
            if token.i in taken or not _NAME_WORD.match(token.text):
                break
            words.insert(0, token)
            if token.is_sent_start:
                break
        if words and words[-1].text in _NAME_CONNECTORS:
            return []  # "Holders of (NYSE: BRK-B)": no name right before the tag
        # Drop sentence-opening words and the connectors after them: "Shares of X" -> "X".
        while words and (words[0].text in _NAME_CONNECTORS or words[0].text in _NOT_NAME_START):
            words.pop(0)
        if len(words) == 1 and words[0].is_sent_start and words[0].text.istitle():
            return []  # one capitalized word opening a sentence says nothing
        return words

    def _record(self, symbol: str) -> CompanyRecord | None:
        return self.reference.get(symbol)

    def new_aliases(self, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """The (name, symbol) pairs no table or learned alias links that way yet."""
        out = []
        for name, symbol in pairs:
            tokens = tuple(t.lower_ for t in self.nlp.tokenizer(name) if not t.is_space)
            if (
                not tokens
                or (name, False) in self.table.aliases
                or (name, True) in self.table.aliases
            ):
                continue
            if self._learned_names.get(name) == symbol:
                continue
            entry = self._gazetteer.aliases.get(tokens)
            if entry is not None and entry.symbol == symbol:
                continue
            out.append((name, symbol))
        return out

    def describe(self, etype: str, entity_id: str) -> tuple[str, str | None]:
        """Display name and exchange of an entity, from the curated table, else the reference."""
        record = self.table.entities.get((etype, entity_id))
        if record is not None:
            return record.name, record.exchange
        if etype == "TICKER":
            company = self._record(entity_id)
            if company is not None:
                return company.name, company.exchange
        return "", None

    def entity_table(self, etype: str | None = None) -> list[tuple[str, str, str, str]]:
        """(type, id, name, exchange) of every entity the recognizer can link: the curated
        table, and for TICKER also the companies of the reference table."""
        rows = {
            (r.type, r.id): (r.type, r.id, r.name, r.exchange or "")
            for r in self.table.entities.values()
        }
        if etype in (None, "TICKER"):
            for symbol, company in self.reference.records.items():
                if company.aliases:
                    rows.setdefault(
                        ("TICKER", symbol), ("TICKER", symbol, company.name, company.exchange or "")
                    )
        return sorted(r for r in rows.values() if etype is None or r[0] == etype)

    def mentions(self, doc: Doc) -> list[Mention]:
        """The linked mentions in a processed doc; a name directly followed by a ticker tag
        ("Comfort Systems USA (NYSE: FIX)") counts as one mention of the tagged ticker."""
        text = doc.text  # once, not per mention
        out: list[Mention] = []
        for span in doc.spans.get(SPAN_KEY, []):
            etype, entity_id = span.label_, span.kb_id_
            table_name, table_exchange = self.describe(etype, entity_id)
            exchange = span._.get("exchange") or table_exchange
            name = table_name or span._.get("name") or ""
            source = span._.get("source") or ""
            mention = Mention(
                etype,
                entity_id,
                span.start_char,
                span.end_char,
                span.text,
                name,
                exchange,
                float(span._.get("confidence") or 1.0),
                source,
            )
            previous = out[-1] if out else None
            if (
                previous is not None
                and previous.type == "TICKER" == etype
                and (previous.id == entity_id or source in {"tag", "ric", "paren"})
                and previous.source not in {"tag", "ric", "cashtag", "paren"}
                and not text[previous.end : mention.start].strip()
            ):
                out[-1] = Mention(
                    etype,
                    entity_id,
                    previous.start,
                    mention.end,
                    text[previous.start : mention.end],
                    name or previous.name,
                    exchange or previous.exchange,
                    1.0,
                    source,
                )
                continue
            if (
                previous is not None
                and previous.id == entity_id
                and previous.type == etype
                and not text[previous.end : mention.start].strip()
            ):
                # "( VRX.TO ) ( VRX.N )", "(GSK) ( GSK.L )": one mention, its strongest notation.
                stronger = source if source in {"tag", "ric", "cashtag"} else previous.source
                out[-1] = Mention(
                    etype,
                    entity_id,
                    previous.start,
                    mention.end,
                    text[previous.start : mention.end],
                    name or previous.name,
                    previous.exchange or exchange,
                    max(previous.confidence, mention.confidence),
                    stronger,
                )
                continue
            out.append(mention)
        return out


_NAMED_TAG = re.compile(r"^(?P<name>[^()<>]+?)\s*[(<][^()<>]*[)>]$")


def learned_aliases(text: str, result: AnalysisResult) -> list[tuple[str, str]]:
    """(name, symbol) for each ticker mention written as a name right before its tag ("Acme
    Widgets Corp (NASDAQ: ACMW)") in an analyzed text: the corpus teaching a new alias."""
    out: list[tuple[str, str]] = []
    for entity in result.entities:
        if entity.type != "TICKER":
            continue
        for start, end in entity.spans:
            match = _NAMED_TAG.match(text[start:end])
            if match is None:
                continue
            name = " ".join(match.group("name").split())
            if name and name != entity.id and (name, entity.id) not in out:
                out.append((name, entity.id))
    return out


_HONORIFICS = frozenset(
    ["mr", "mrs", "ms", "dr", "sen", "rep", "gov", "judge", "president", "chairman", "ceo"]
)


def _inside_proper_name(doc: Doc, start: int, end: int, ordinary_word: bool) -> bool:
    """The match touches another capitalized word: part of a longer proper name ("Carl
    Icahn"; for an ordinary word also "Southern California")."""

    def capital(i: int) -> bool:
        if not 0 <= i < len(doc):
            return False
        text = doc[i].text
        return text[:1].isupper() and text.isalpha() and text.lower() not in _LEGAL_AFTER

    before = capital(start - 1) and not doc[start - 1].is_sent_start
    honorific = start > 0 and doc[start - 1].lower_.rstrip(".") in _HONORIFICS
    return before or honorific or (ordinary_word and capital(end))


def _legal_suffix_end(lowers: Sequence[str], end: int) -> int:
    """Where a company name ends once the legal suffix after it is included."""
    suffix_end = end
    while suffix_end < len(lowers) and suffix_end - end < 3:
        if lowers[suffix_end] in _LEGAL_AFTER:
            suffix_end += 1
        elif (
            lowers[suffix_end] == ","
            and suffix_end + 1 < len(lowers)
            and lowers[suffix_end + 1] in _LEGAL_AFTER
        ) or (
            lowers[suffix_end] == "&"
            and suffix_end + 1 < len(lowers)
            and lowers[suffix_end + 1] in {"co", "co."}
        ):
            suffix_end += 2
        else:
            break
    return suffix_end


def _rule_allows(doc: Doc, start: int, end: int, rule: AliasRule) -> bool:
    if rule.not_followed_by and end < len(doc) and doc[end].lower_ in rule.not_followed_by:
        return False
    if rule.not_preceded_by and start > 0 and doc[start - 1].lower_ in rule.not_preceded_by:
        return False
    if rule.context:
        lo, hi = max(0, start - 12), min(len(doc), end + 12)
        return any(t.lower_ in rule.context for t in doc[lo:hi])
    return True


for _attr in ("exchange", "name", "confidence", "source"):
    if not Span.has_extension(_attr):
        Span.set_extension(_attr, default=None)


_REFERENCE_CACHE: dict[tuple[str, float], tuple[ReferenceData, str]] = {}


def load_reference(path: Path) -> tuple[ReferenceData, str]:
    """The company table at `path` and its digest, cached per file version (the table is
    read once per process, however many pipelines are built)."""
    try:
        stamp = path.stat().st_mtime
    except OSError as exc:
        raise ConfigError(f"cannot read company reference table {path}: {exc}") from None
    key = (str(path), stamp)
    if key not in _REFERENCE_CACHE:
        digest = hashlib.sha1(path.read_bytes()).hexdigest()[:8]
        _REFERENCE_CACHE[key] = (ReferenceData.load(path), digest)
    return _REFERENCE_CACHE[key]


@Language.factory(
    "financial_entities",
    default_config={
        "aliases_path": "",
        "extra_aliases_paths": [],
        "companies_path": "",
        "min_confidence": DEFAULT_MIN_CONFIDENCE,
    },
)
def make_financial_entities(
    nlp: Language,
    name: str,
    aliases_path: str,
    extra_aliases_paths: list[str],
    companies_path: str,
    min_confidence: float,
) -> Any:
    if not aliases_path:
        raise ConfigError("financial_entities needs aliases_path (models/entities/aliases.yaml)")
    if not 0.0 <= min_confidence <= 1.0:
        raise ConfigError(
            f"financial_entities min_confidence must be in [0, 1], not {min_confidence}"
        )
    table = AliasTable(Path(aliases_path), [Path(p) for p in extra_aliases_paths])
    reference, digest = (ReferenceData(), "none")
    if companies_path:
        reference, digest = load_reference(Path(companies_path))
    return FinancialEntityRecognizer(nlp, table, reference, min_confidence, digest)
