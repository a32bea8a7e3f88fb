"""Entity evaluation: `nlp-pipeline eval entities --dataset NAME` prints these figures as JSON.

Datasets (read from ../shared/data or $NLP_PIPELINE_SHARED_DATA; never copied into the repo):
- `reuters-ric`: Reuters 2012-13 articles tag companies with RICs ("( UPS.N )"). The tags are
  removed and each US-listed company must still be found and linked from its name.
- `fnspid`: Nasdaq.com articles about one stock; that symbol must be among the entities found.
- `finer-ord`: FiNER-ORD test ORG spans; how many the recognizer finds (any entity type).
- `team`: sentences of ../shared/data labeled by the project (`models/entities/team_set.jsonl`:
  source file, record id, character offsets and gold entities, never text).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spacy.language import Language

from nlp_pipeline.errors import ConfigError
from nlp_pipeline.nlp.entities import FinancialEntityRecognizer
from nlp_pipeline.nlp.tickers import US_EXCHANGES, strip_rics
from nlp_pipeline.records import Mention

DATASETS = ("reuters-ric", "fnspid", "finer-ord", "team")
SHARED_DATA_ENV = "NLP_PIPELINE_SHARED_DATA"
TAGGED_SOURCES = frozenset({"tag", "ric", "cashtag"})
# Listings a Reuters RIC of these suffixes names; OTC and foreign listings are left out.
_REUTERS_US = US_EXCHANGES - {"OTC"}
# Symbols that changed since 2012-13 for the same company (public facts): a link to today's
# symbol is right. Reported separately from the strict figures.
SYMBOL_CHANGES = {
    "FB": "META",
    "GOOG": "GOOGL",
    "GPS": "GAP",
    "BK": "BNY",
    "BRK.A": "BRK.B",
    "CHK": "EXE",
    "UTX": "RTX",
    "TWC": "CHTR",
    "KFT": "MDLZ",
    "HNZ": "KHC",
    "DTV": "T",
    "MON": "BAYRY",
    "BBT": "TFC",
    "STI": "TFC",
    "COV": "MDT",
    "DOW": "DOW",
    "ABX": "B",
    "CBS": "PARA",
    "VIAB": "PARA",
    "HCN": "WELL",
    "LLL": "LHX",
    "HRS": "LHX",
    "RTN": "RTX",
    "ESRX": "CI",
    "AET": "CVS",
    "WAG": "WBA",
    "MHP": "SPGI",
    "NYX": "ICE",
    "LUK": "JEF",
    "SNDK": "WDC",
    "SLE": "HSY",
}
_NAME_TOKEN = re.compile(r"^(?:[A-Z0-9][\w&.'-]*[^,;:]|[A-Z0-9]|&|of|de)$")


def shared_data_dir() -> Path:
    env = os.environ.get(SHARED_DATA_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


def team_set_path(models_dir: Path) -> Path:
    return models_dir / "entities" / "team_set.jsonl"


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: set[Any], predicted: set[Any]) -> None:
        self.tp += len(gold & predicted)
        self.fp += len(predicted - gold)
        self.fn += len(gold - predicted)

    def scores(self) -> dict[str, float | int]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(f, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


class EntityEvaluator:
    """Runs the entity stage alone (spaCy pipeline, no sentiment or themes) over a dataset."""

    def __init__(self, nlp: Language, data_dir: Path | None = None, batch_size: int = 64) -> None:
        self.nlp = nlp
        recognizer = nlp.get_pipe("financial_entities")
        assert isinstance(recognizer, FinancialEntityRecognizer)
        self.recognizer = recognizer
        self.data_dir = data_dir or shared_data_dir()
        self.batch_size = batch_size

    def mentions(self, texts: Iterable[str]) -> Iterator[list[Mention]]:
        for doc in self.nlp.pipe(texts, batch_size=self.batch_size):
            yield self.recognizer.mentions(doc)

    def _path(self, *parts: str) -> Path:
        path = self.data_dir.joinpath(*parts)
        if not path.exists():
            raise ConfigError(f"dataset file not found: {path} (set {SHARED_DATA_ENV})")
        return path

    def run(
        self, dataset: str, limit: int | None = None, team_path: Path | None = None
    ) -> dict[str, Any]:
        if dataset == "reuters-ric":
            return self.reuters_ric(limit)
        if dataset == "fnspid":
            return self.fnspid(limit)
        if dataset == "finer-ord":
            return self.finer_ord(limit)
        if dataset == "team":
            if team_path is None:
                raise ConfigError("the team dataset needs the path of its label file")
            return self.team(team_path, limit)
        raise ConfigError(f"unknown dataset {dataset!r} (one of {', '.join(DATASETS)})")

    # -- reuters-ric --------------------------------------------------------------------------

    def reuters_ric(self, limit: int | None = None) -> dict[str, Any]:
        path = self._path("reuters_2012_2013", "reuters_sample.jsonl")
        articles = []
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                stripped, removed = strip_rics(record.get("body") or "")
                gold_positions = [
                    (pos, n.symbol) for pos, _, n in removed if n.exchange in _REUTERS_US
                ]
                other_positions = [pos for pos, _, n in removed if n.exchange not in _REUTERS_US]
                if gold_positions:
                    articles.append((stripped, gold_positions, other_positions))
                if limit and len(articles) >= limit:
                    break
        reference = self.recognizer.reference
        article_level = Counts()
        article_level_today = Counts()
        at_tags = Counts()
        at_tags_today = Counts()
        at_tags_listed = Counts()
        unlinked_names: Counter[str] = Counter()
        wrong_links: Counter[str] = Counter()
        for (text, gold_positions, other_positions), mentions in zip(
            articles, self.mentions(a[0] for a in articles), strict=True
        ):
            tickers = [m for m in mentions if m.type == "TICKER"]
            gold = {symbol for _, symbol in gold_positions}
            today = {SYMBOL_CHANGES.get(s, s) for s in gold}
            # Predictions at a foreign company's tag (Toyota's US ADR for "Toyota ( 7203.T )")
            # are neither right nor wrong here.
            foreign = {m.id for m in tickers if _at_name(text, m, other_positions)}
            predicted = {m.id for m in tickers} - (foreign - gold - today)
            article_level.add(gold, predicted)
            listed = {s for s in today if reference.get(s) is not None}
            article_level_today.add(listed, predicted & (listed | _listed(reference, predicted)))
            for position, symbol in gold_positions:
                at = {m.id for m in tickers if _at_name(text, m, [position])}
                at_tags.add({symbol}, at)
                current = SYMBOL_CHANGES.get(symbol, symbol)
                at_tags_today.add({current}, at)
                if reference.get(current) is not None:
                    at_tags_listed.add({current}, at)
                if not at:
                    unlinked_names[_name_before(text, position)] += 1
                for entity_id in at - {symbol, SYMBOL_CHANGES.get(symbol, symbol)}:
                    wrong_links[
                        f"{_name_before(text, position)} -> {entity_id} (gold {symbol})"
                    ] += 1
        return {
            "dataset": "reuters-ric",
            "articles": len(articles),
            "gold_tags": sum(len(a[1]) for a in articles),
            "name_to_ticker": {
                "at_tag_positions": at_tags.scores(),
                "at_tag_positions_today": at_tags_today.scores(),
                "at_tag_positions_listed_today": at_tags_listed.scores(),
                "article_level": article_level.scores(),
                "article_level_listed_today": article_level_today.scores(),
            },
            "notes": (
                "at_tag_positions: does the company name right before each removed US tag link, "
                "and to the tagged symbol (precision: links made there that are right). "
                "*_today: a 2012-13 symbol since changed for the same company (FB -> META, "
                "GOOG -> GOOGL, ...; eval_entities.SYMBOL_CHANGES) counts as linked by today's "
                "symbol; *_listed_today also leaves out of the gold the companies whose symbol "
                "is not in today's reference table (delisted or merged since). article_level: "
                "the US tickers tagged in an article vs every ticker found in it once the tags "
                "are gone; a company named without a tag (Thomson Reuters in the sign-off, the "
                "banks quoted as analysts) counts against precision, so it is a lower bound."
            ),
            "top_unlinked_names": unlinked_names.most_common(15),
            "top_wrong_links": wrong_links.most_common(15),
        }

    # -- fnspid -------------------------------------------------------------------------------

    def fnspid(self, limit: int | None = None) -> dict[str, Any]:
        csv.field_size_limit(sys.maxsize)
        items: list[tuple[str, str]] = []
        contents = self._path("fnspid_nasdaq", "news_contents_aapl.csv")
        with contents.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("Mark") in {"1", "2"} and len(row.get("Text") or "") > 1:
                    items.append(("AAPL", row["Text"]))
        summarized = self._path("fnspid_nasdaq", "news_summarized_AA.csv")
        with summarized.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("Mark") == "1" and len(row.get("New_text") or "") > 1:
                    items.append(("AA", row["New_text"]))
        if limit:
            items = items[:limit]
        found: Counter[str] = Counter()
        total: Counter[str] = Counter()
        per_article = []
        for (symbol, _), mentions in zip(items, self.mentions(t for _, t in items), strict=True):
            total[symbol] += 1
            ids = {m.id for m in mentions if m.type == "TICKER"}
            found[symbol] += symbol in ids
            per_article.append(len(ids))
        return {
            "dataset": "fnspid",
            "articles": len(items),
            "symbol_found": {
                s: {"recall": round(found[s] / total[s], 4), "articles": total[s]} for s in total
            },
            "recall": round(sum(found.values()) / max(1, len(items)), 4),
            "mean_tickers_per_article": round(sum(per_article) / max(1, len(per_article)), 2),
        }

    # -- finer-ord ----------------------------------------------------------------------------

    def finer_ord(self, limit: int | None = None) -> dict[str, Any]:
        path = self._path("finer_ord", "test.csv")
        sentences: dict[tuple[str, str], list[tuple[str, int]]] = {}
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                key = (row["doc_idx"], row["sent_idx"])
                sentences.setdefault(key, []).append((row["gold_token"], int(row["gold_label"])))
        items = []
        for tokens in sentences.values():
            words: list[str] = []
            spans: list[list[int]] = []
            offset = 0
            current: list[int] | None = None
            for token, label in tokens:
                start = offset
                words.append(token)
                offset += len(token) + 1
                if label == 5:  # ORG_B
                    current = [start, start + len(token)]
                    spans.append(current)
                elif label == 6 and current is not None:  # ORG_I
                    current[1] = start + len(token)
                else:
                    current = None
            items.append((" ".join(words), [(s[0], s[1]) for s in spans]))
            if limit and len(items) >= limit:
                break
        counts = Counts()
        by_type: Counter[str] = Counter()
        predicted_orgs = 0
        for (_, gold), mentions in zip(items, self.mentions(t for t, _ in items), strict=True):
            company_like = [m for m in mentions if m.type in {"TICKER", "ORG"}]
            predicted_orgs += len(company_like)
            hit = {g for g in gold if any(m.start < g[1] and g[0] < m.end for m in mentions)}
            counts.tp += len(hit)
            counts.fn += len(gold) - len(hit)
            for m in company_like:
                if not any(m.start < g[1] and g[0] < m.end for g in gold):
                    counts.fp += 1
                    by_type[m.type] += 1
        scores = counts.scores()
        return {
            "dataset": "finer-ord",
            "sentences": len(items),
            "gold_org_spans": counts.tp + counts.fn,
            "org_recall": scores["recall"],
            "company_org_precision": scores["precision"],
            "notes": (
                "recall: gold ORG spans overlapped by any entity found. FiNER ORG covers every "
                "organization (private firms, universities, news agencies), most of which are not "
                "listed or public bodies, so recall is bounded well below 1. precision: TICKER and "
                "ORG mentions that overlap a gold ORG span."
            ),
            "counts": scores,
        }

    # -- team ---------------------------------------------------------------------------------

    def team(self, path: Path, limit: int | None = None) -> dict[str, Any]:
        labels = load_team_set(path)
        if limit:
            labels = labels[:limit]
        texts = self._team_texts(labels)
        by_type: dict[str, Counts] = {}
        tagged = Counts()
        ipc = Counts()  # indices, policies, central banks/regulators/governments
        errors: list[dict[str, Any]] = []
        for label, mentions in zip(labels, self.mentions(texts), strict=True):
            gold = {(e["type"], e["id"]) for e in label["entities"]}
            predicted = {(m.type, m.id) for m in mentions}
            for etype in {t for t, _ in gold | predicted}:
                by_type.setdefault(etype, Counts()).add(
                    {g for g in gold if g[0] == etype}, {p for p in predicted if p[0] == etype}
                )
            ipc.add(
                {g for g in gold if g[0] in {"INDEX", "POLICY", "ORG"}},
                {p for p in predicted if p[0] in {"INDEX", "POLICY", "ORG"}},
            )
            gold_tagged = {
                (e["start"], e["end"], e["id"])
                for e in label["entities"]
                if e.get("tagged") and e["type"] == "TICKER"
            }
            predicted_tagged = {
                (m.start, m.end, m.id)
                for m in mentions
                if m.type == "TICKER" and m.source in TAGGED_SOURCES
            }
            tagged.add(_align(gold_tagged, predicted_tagged), predicted_tagged)
            if gold != predicted:
                errors.append(
                    {
                        "record": label["record"],
                        "start": label["start"],
                        "missed": sorted(gold - predicted),
                        "spurious": sorted(predicted - gold),
                    }
                )
        everything = Counts()
        for counts in by_type.values():
            everything.tp += counts.tp
            everything.fp += counts.fp
            everything.fn += counts.fn
        return {
            "dataset": "team",
            "sentences": len(labels),
            "gold_entities": sum(len(label["entities"]) for label in labels),
            "per_type": {t: by_type[t].scores() for t in sorted(by_type)},
            "all": everything.scores(),
            "tagged_tickers": tagged.scores(),
            "indices_policies_orgs": ipc.scores(),
            "errors": errors,
        }

    def _team_texts(self, labels: list[dict[str, Any]]) -> list[str]:
        cache: dict[str, dict[str, str]] = {}
        texts = []
        for label in labels:
            records = cache.get(label["source"])
            if records is None:
                records = cache[label["source"]] = _source_records(
                    self._path(*label["source"].split("/"))
                )
            document = records.get(str(label["record"]))
            if document is None:
                raise ConfigError(f"team set: record {label['record']} not in {label['source']}")
            text = document[label["start"] : label["end"]]
            digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]
            if label.get("sha1") and digest != label["sha1"]:
                raise ConfigError(
                    f"team set: {label['source']} record {label['record']} at "
                    f"{label['start']}:{label['end']} no longer holds the labeled text"
                )
            texts.append(text)
        return texts


def _listed(reference: Any, symbols: set[str]) -> set[str]:
    return {s for s in symbols if reference.get(s) is not None}


def _at_name(text: str, mention: Mention, positions: list[int]) -> bool:
    """The mention lies in the run of capitalized words right before a removed tag ("Newmont"
    in "Newmont Mining Corp ( NEM.N )")."""
    for position in positions:
        if not position - 40 <= mention.end <= position + 1:
            continue
        start = position
        for word in reversed(list(re.finditer(r"\S+", text[max(0, position - 80) : position]))):
            if not _NAME_TOKEN.match(word.group()):
                break
            start = max(0, position - 80) + word.start()
        if mention.start < position and start < mention.end:
            return True
    return False


def _align(gold: set[tuple[int, int, str]], predicted: set[tuple[int, int, str]]) -> set[Any]:
    """Gold tagged mentions, each replaced by the prediction that overlaps it with the same id
    (a prediction may include the company name before the tag)."""
    out: set[Any] = set()
    for start, end, entity_id in gold:
        match = next(
            (p for p in predicted if p[2] == entity_id and p[0] < end and start < p[1]), None
        )
        out.add(match or (start, end, entity_id))
    return out


def _name_before(text: str, position: int) -> str:
    words = text[max(0, position - 40) : position].split()
    return " ".join(words[-3:])


def _source_records(path: Path) -> dict[str, str]:
    """Record id -> text for a labeled source file (the text a team label's offsets point in)."""
    out: dict[str, str] = {}
    if path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                out[str(record["id"])] = record.get("body") or ""
        return out
    if path.suffix == ".csv":
        csv.field_size_limit(sys.maxsize)
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            field = next(
                f
                for f in ("Text", "New_text", "text", "Headline")
                if f in (reader.fieldnames or [])
            )
            for number, row in enumerate(reader):
                out[str(number)] = row.get(field) or ""
        return out
    raise ConfigError(f"team set: unsupported source file {path}")


def load_team_set(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read team set {path}: {exc}") from None
    labels = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            label = json.loads(line)
            for key in ("source", "record", "start", "end", "entities"):
                label[key]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path} line {number}: bad team label ({exc})") from None
        labels.append(label)
    return labels


def evaluate(dataset: str, models_dir: Path, limit: int | None = None) -> dict[str, Any]:
    """`nlp-pipeline eval entities --dataset NAME`: the entity stage of the default pipeline
    (models in `models_dir`) on one dataset."""
    from nlp_pipeline.nlp.analyzer import build_spacy_pipeline

    evaluator = EntityEvaluator(build_spacy_pipeline(models_dir))
    return evaluator.run(dataset, limit, team_set_path(models_dir))
