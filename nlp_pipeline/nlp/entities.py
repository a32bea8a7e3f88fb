"""Rule-based financial entity recognition and linking (stand-in until the entity issue lands).

Finds exchange-tagged tickers "(NYSE: FIX)", Reuters RICs "( UPS.N )", cashtags "$NVDA", known
ticker symbols, and the aliases in `models/entities/aliases.yaml` (companies, indices, policies,
central banks and regulators, sectors), and links each to its canonical id (DESIGN.md 3.2).
Registered as the spaCy component `financial_entities`; results go to `doc.spans["fin_entities"]`
with the entity type as label and the canonical id as `kb_id`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.records import ENTITY_TYPES, Mention

SPAN_KEY = "fin_entities"
COMPONENT_VERSION = "rules-1"

_EXCHANGES = {
    "NYSE": "NYSE",
    "NASDAQ": "NASDAQ",
    "NASDAQGS": "NASDAQ",
    "NASDAQGM": "NASDAQ",
    "NASDAQCM": "NASDAQ",
    "NYSE AMERICAN": "NYSEAMERICAN",
    "NYSE MKT": "NYSEAMERICAN",
    "AMEX": "NYSEAMERICAN",
    "NYSE ARCA": "NYSEARCA",
    "NYSEARCA": "NYSEARCA",
    "CBOE": "CBOE",
    "BATS": "CBOE",
    "OTC": "OTC",
    "OTCQX": "OTC",
    "OTCQB": "OTC",
    "TSX": "TSX",
    "LSE": "LSE",
}
_RIC_EXCHANGES = {"N": "NYSE", "O": "NASDAQ", "OQ": "NASDAQ", "A": "NYSEAMERICAN", "P": "NYSEARCA"}
_SYMBOL = r"[A-Z]{1,5}(?:[.\-/][A-Z]{1,2})?"
_EXCHANGE_TAG = re.compile(
    r"\(\s*(?P<exchange>NYSE American|NYSE MKT|NYSE Arca|NYSEArca|NYSE|NASDAQ(?:GS|GM|CM)?|Nasdaq"
    r"(?:GS|GM|CM)?|AMEX|Cboe|CBOE|BATS|OTCQX|OTCQB|OTC|TSX|LSE)\s*:\s*(?P<symbol>"
    + _SYMBOL
    + r")\s*\)"
)
_RIC = re.compile(r"\(\s*(?P<symbol>[A-Z]{1,5})\.(?P<suffix>OQ|N|O|A|P)\s*\)")
_CASHTAG = re.compile(r"(?<![\w$])\$(?P<symbol>[A-Z]{1,5}(?:\.[A-Z]{1,2})?)(?![\w])")
# Bare symbols are only linked for known tickers this long, minus words that are also tickers.
_BARE_MIN_LEN = 3
_BARE_STOPLIST = frozenset({"CEO", "CFO", "GDP", "USA", "IPO", "ETF", "EPS", "NOW", "KEY", "LEN"})
_NAME_WORD = re.compile(r"^(?:[A-Z][\w&.'-]*|&|of|and|de)$")
_NAME_CONNECTORS = frozenset({"&", "of", "and", "de"})
# Capitalized only because they open a sentence or a phrase; never the start of a name.
_NOT_NAME_START = frozenset(
    {
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
    }
)


def normalize_symbol(symbol: str) -> str:
    """BRK-B, BRK/B and BRK.B are one id: BRK.B."""
    return re.sub(r"[-/]", ".", symbol.upper())


@dataclass(frozen=True)
class EntityRecord:
    type: str
    id: str
    name: str
    exchange: str | None = None


class AliasTable:
    """Canonical entities and their surface forms, read from a YAML file."""

    def __init__(self, path: Path) -> None:
        try:
            raw_text = path.read_bytes()
            data = yaml.safe_load(raw_text)
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot load entity alias table {path}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of entity types")
        self.path = path
        self.digest = hashlib.sha1(raw_text).hexdigest()[:8]
        self.entities: dict[tuple[str, str], EntityRecord] = {}
        # (alias, case_sensitive) -> entity key
        self.aliases: dict[tuple[str, bool], tuple[str, str]] = {}
        for etype in ENTITY_TYPES:
            for position, item in enumerate(data.get(etype, []) or []):
                if not isinstance(item, dict) or not item.get("id"):
                    raise ConfigError(f"{path}: {etype}[{position}] needs an id")
                entity_id = str(item["id"])
                if etype == "TICKER":
                    entity_id = normalize_symbol(entity_id)
                record = EntityRecord(
                    etype, entity_id, str(item.get("name", entity_id)), item.get("exchange")
                )
                self.entities[(etype, entity_id)] = record
                case_sensitive = bool(item.get("case_sensitive", True))
                for alias in item.get("aliases", []) or []:
                    self.aliases[(str(alias), case_sensitive)] = (etype, entity_id)

    def ticker(self, symbol: str) -> EntityRecord | None:
        return self.entities.get(("TICKER", normalize_symbol(symbol)))


class FinancialEntityRecognizer:
    """The `financial_entities` spaCy component."""

    def __init__(self, nlp: Language, table: AliasTable) -> None:
        self.table = table
        self.version = f"{COMPONENT_VERSION}+aliases-{table.digest}"
        self._exact = PhraseMatcher(nlp.vocab, attr="ORTH")
        self._lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self._alias_keys: dict[str, tuple[str, str]] = {}
        by_key: dict[tuple[str, bool], list[str]] = {}
        for (alias, case_sensitive), key in table.aliases.items():
            by_key.setdefault((f"{key[0]}|{key[1]}", case_sensitive), []).append(alias)
        for (label, case_sensitive), aliases in by_key.items():
            matcher = self._exact if case_sensitive else self._lower
            matcher.add(label, [nlp.make_doc(a) for a in aliases])
        self._bare = {
            entity_id
            for (etype, entity_id) in table.entities
            if etype == "TICKER"
            and len(entity_id) >= _BARE_MIN_LEN
            and entity_id not in _BARE_STOPLIST
            and entity_id.isalpha()
        }

    def __call__(self, doc: Doc) -> Doc:
        tagged: list[Span] = []  # explicit ticker notations win over any alias inside them
        for pattern, exchange_of in ((_EXCHANGE_TAG, _tag_exchange), (_RIC, _ric_exchange)):
            for match in pattern.finditer(doc.text):
                span = doc.char_span(match.start(), match.end(), alignment_mode="expand")
                if span is None:
                    continue
                symbol = normalize_symbol(match.group("symbol"))
                tagged.append(self._ticker_span(doc, span, symbol, exchange_of(match)))
        for match in _CASHTAG.finditer(doc.text):
            span = doc.char_span(match.start(), match.end(), alignment_mode="expand")
            if span is not None:
                symbol = normalize_symbol(match.group("symbol"))
                tagged.append(self._ticker_span(doc, span, symbol, None))
        found: list[Span] = []
        for matcher in (self._exact, self._lower):
            for match_id, start, end in matcher(doc):
                label = doc.vocab.strings[match_id]
                etype, entity_id = label.split("|", 1)
                found.append(Span(doc, start, end, label=etype, kb_id=entity_id))
        for token in doc:
            if token.text in self._bare:
                found.append(Span(doc, token.i, token.i + 1, label="TICKER", kb_id=token.text))
        kept = filter_spans(tagged)
        taken = {i for span in kept for i in range(span.start, span.end)}
        extra = [s for s in filter_spans(found) if not taken.intersection(range(s.start, s.end))]
        spans = sorted(kept + extra, key=lambda s: s.start)
        doc.spans[SPAN_KEY] = self._learn_names(doc, spans)
        return doc

    def _ticker_span(self, doc: Doc, span: Span, symbol: str, exchange: str | None) -> Span:
        out = Span(doc, span.start, span.end, label="TICKER", kb_id=symbol)
        if exchange:
            out._.set("exchange", exchange)
        return out

    def _learn_names(self, doc: Doc, spans: list[Span]) -> list[Span]:
        """Unknown tagged tickers take the capitalized words before them as their name, and
        later mentions of that name in the same text link to the ticker."""
        learned: dict[str, str] = {}
        for span in spans:
            if span.label_ != "TICKER" or self.table.ticker(span.kb_id_) is not None:
                continue
            if not span.text.startswith("("):
                continue
            words: list[str] = []
            for token in reversed(doc[max(0, span.start - 6) : span.start]):
                if not _NAME_WORD.match(token.text):
                    break
                words.insert(0, token.text)
                if token.is_sent_start:
                    break
            # Drop sentence-opening words and the connectors after them: "Shares of X" -> "X".
            while words and (words[0] in _NAME_CONNECTORS or words[0] in _NOT_NAME_START):
                words.pop(0)
            if words:
                name = " ".join(words)
                span._.set("name", name)
                learned[name] = span.kb_id_
        if not learned:
            return spans
        taken = {i for span in spans for i in range(span.start, span.end)}
        extra: list[Span] = []
        for name, symbol in learned.items():
            for match in re.finditer(re.escape(name), doc.text):
                found = doc.char_span(match.start(), match.end())
                if found is None or taken.intersection(range(found.start, found.end)):
                    continue
                new = Span(doc, found.start, found.end, label="TICKER", kb_id=symbol)
                new._.set("name", name)
                extra.append(new)
                taken.update(range(found.start, found.end))
        return sorted(spans + extra, key=lambda s: s.start)

    def mentions(self, doc: Doc) -> list[Mention]:
        """The linked mentions in a processed doc; a name directly followed by its own ticker
        tag ("Comfort Systems USA (NYSE: FIX)") counts as one mention."""
        out: list[Mention] = []
        for span in doc.spans.get(SPAN_KEY, []):
            etype, entity_id = span.label_, span.kb_id_
            record = self.table.entities.get((etype, entity_id))
            exchange = span._.get("exchange") or (record.exchange if record else None)
            name = record.name if record else (span._.get("name") or "")
            mention = Mention(
                etype, entity_id, span.start_char, span.end_char, span.text, name, exchange
            )
            previous = out[-1] if out else None
            if (
                previous is not None
                and previous.id == entity_id
                and previous.type == etype
                and not doc.text[previous.end : mention.start].strip()
            ):
                out[-1] = Mention(
                    etype,
                    entity_id,
                    previous.start,
                    mention.end,
                    doc.text[previous.start : mention.end],
                    name or previous.name,
                    exchange or previous.exchange,
                )
                continue
            out.append(mention)
        return out


def _tag_exchange(match: re.Match[str]) -> str | None:
    return _EXCHANGES.get(match.group("exchange").upper())


def _ric_exchange(match: re.Match[str]) -> str | None:
    return _RIC_EXCHANGES.get(match.group("suffix"))


for _attr in ("exchange", "name"):
    if not Span.has_extension(_attr):
        Span.set_extension(_attr, default=None)


@Language.factory("financial_entities", default_config={"aliases_path": ""})
def make_financial_entities(nlp: Language, name: str, aliases_path: str) -> Any:
    if not aliases_path:
        raise ConfigError("financial_entities needs aliases_path (models/entities/aliases.yaml)")
    return FinancialEntityRecognizer(nlp, AliasTable(Path(aliases_path)))
