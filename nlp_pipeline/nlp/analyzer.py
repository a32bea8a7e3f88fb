"""The NLP stage: text in, `AnalysisResult` out. Knows nothing of feeds or the store."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import spacy
from spacy import about as spacy_about
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import compile_infix_regex

from nlp_pipeline import resources
from nlp_pipeline.errors import ConfigError
from nlp_pipeline.nlp import entities as _entities  # noqa: F401  (registers the component)
from nlp_pipeline.nlp.contract import to_contract
from nlp_pipeline.nlp.encoder import SentenceEncoder
from nlp_pipeline.nlp.entities import FinancialEntityRecognizer
from nlp_pipeline.nlp.registry import create, load_pipeline_config
from nlp_pipeline.nlp.rotations import Flow, RotationExtractor
from nlp_pipeline.nlp.sentiment import SentimentModel, article_sentiment
from nlp_pipeline.nlp.themes import ThemeClassifier
from nlp_pipeline.records import (
    AnalysisResult,
    EntityAnalysis,
    Mention,
    RotationFlow,
    SentenceAnalysis,
    Sentiment,
    ThemeAnalysis,
)

MODELS_ENV_VAR = resources.MODELS_ENV_VAR
MAX_TEXT_CHARS = 200_000  # longer inputs are analyzed up to here; the rest is not news text
ANALYZER_VERSION = "2"


def default_models_dir() -> Path:
    """./models, else $NLP_PIPELINE_MODELS, else the package's (see `nlp_pipeline.resources`)."""
    return resources.models_dir()


def pipeline_file(models_dir: Path, choice: str) -> Path:
    """The NLP stage's config for `--pipeline`: `models/pipeline-NAME.yaml` for a name, else
    the YAML file `choice` names."""
    named = models_dir / f"pipeline-{choice}.yaml"
    if named.is_file():
        return named
    if Path(choice).is_file():
        return Path(choice)
    known = sorted(p.stem.removeprefix("pipeline-") for p in models_dir.glob("pipeline-*.yaml"))
    raise ConfigError(
        f"no pipeline {choice!r}: neither {named} nor a file of that name "
        f"(named pipelines in {models_dir}: {', '.join(known) or 'none'})"
    )


@Language.component("newline_sentence_boundaries")
def newline_sentence_boundaries(doc: Doc) -> Doc:
    """A line break ends a sentence (headlines and list items carry no final period)."""
    for token in doc[:-1]:
        if token.is_space and "\n" in token.text:
            doc[token.i + 1].is_sent_start = True
    return doc


def pipeline_config(models_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """The spaCy components, by registered name, and their config, in order."""
    entities = models_dir / "entities"
    companies = entities / "companies.tsv"
    return [
        ("sentencizer", {}),
        ("newline_sentence_boundaries", {}),
        (
            "financial_entities",
            {
                "aliases_path": str(entities / "aliases.yaml"),
                # A models folder without a company table still links tags and curated names.
                "companies_path": str(companies) if companies.is_file() else "",
            },
        ),
    ]


def build_spacy_pipeline(
    models_dir: Path, components: Sequence[tuple[str, dict[str, Any]]] | None = None
) -> Language:
    """`spacy.blank("en")` plus the components of `pipeline_config` (or `components`)."""
    nlp = spacy.blank("en")
    # Split on parentheses inside a token: "(NASDAQ:GOOG)(NASDAQ:GOOGL)" is two ticker tags.
    infixes = [*(nlp.Defaults.infixes or []), r"(?<=[^\s(])[()](?=[^\s)])"]
    tokenizer: Any = nlp.tokenizer
    tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    for factory, config in components or pipeline_config(models_dir):
        nlp.add_pipe(factory, config=config)
    nlp.max_length = MAX_TEXT_CHARS + 1000
    return nlp


def _trimmed(span: Span) -> Span:
    """The sentence without leading/trailing whitespace tokens (line breaks)."""
    start, end = span.start, span.end
    while start < end and span.doc[start].is_space:
        start += 1
    while end > start and span.doc[end - 1].is_space:
        end -= 1
    return span.doc[start:end]


def _aggregate_rotations(
    flows: Sequence[Sequence[Flow]], sentences: Sequence[SentenceAnalysis]
) -> list[RotationFlow]:
    """One flow per (from, to) pair: noisy-OR score, mean tone and indices of its sentences."""
    evidence: dict[tuple[str | None, str], list[tuple[int, float]]] = {}
    for index, sentence_flows in enumerate(flows):
        for source, target, confidence in sentence_flows:
            evidence.setdefault((source, target), []).append((index, confidence))
    out = []
    for (source, target), hits in evidence.items():
        miss = 1.0
        for _, confidence in hits:
            miss *= 1.0 - confidence
        indices = sorted({i for i, _ in hits})
        tone = [sentences[i].sentiment.score for i in indices]
        out.append(
            RotationFlow(
                source=source,
                target=target,
                score=round(1.0 - miss, 4),
                sentiment=round(sum(tone) / len(tone), 4),
                evidence=indices,
            )
        )
    out.sort(key=lambda r: (-r.score, r.source or "", r.target))
    return out


class Analyzer:
    """Sentences, linked entities, sentiment, themes and rotation flows for any text.

    Documents go through spaCy in batches; the sentences of a whole batch go through one
    encoder call (deduplicated, cached, bucketed by length), whose output every head reads.

    >>> analyzer = Analyzer()
    >>> analyzer.tag("Comfort Systems USA (NYSE: FIX) raised its guidance.")["entities"][0]["id"]
    'FIX'
    """

    def __init__(
        self,
        models_dir: Path | None = None,
        themes_paths: Sequence[Path] = (),
        pipeline_config: Path | None = None,
        encoder_threads: int | None = None,
    ) -> None:
        self.models_dir = models_dir or default_models_dir()
        self.nlp = build_spacy_pipeline(self.models_dir)
        recognizer = self.nlp.get_pipe("financial_entities")
        assert isinstance(recognizer, FinancialEntityRecognizer)
        self.recognizer = recognizer
        config = load_pipeline_config(pipeline_config or self.models_dir / "pipeline.yaml")
        if encoder_threads:
            config["encoder"]["threads"] = encoder_threads
            config["sentiment"]["threads"] = encoder_threads  # a sentiment model of its own
        self.encoder: SentenceEncoder = create(
            "encoder", config["encoder"]["factory"], self.models_dir, config["encoder"]
        )
        shared = {"encoder": self.encoder, "extra_taxonomies": [str(p) for p in themes_paths]}

        def component(kind: str) -> Any:
            return create(kind, config[kind]["factory"], self.models_dir, config[kind] | shared)

        self.sentiment: SentimentModel = component("sentiment")
        self.themes: ThemeClassifier = component("themes")
        self.rotations: RotationExtractor = component("rotations")
        self.model_versions: dict[str, str] = {
            "analyzer": ANALYZER_VERSION,
            "spacy": f"blank-en+sentencizer/{spacy_about.__version__}",
            "entities": recognizer.version,
            "encoder": self.encoder.version,
            "sentiment": self.sentiment.version,
            "themes": self.themes.version,
            "rotations": self.rotations.version,
        }

    @property
    def version_key(self) -> str:
        """One string naming every model that shaped a result (stored with each analysis)."""
        return ";".join(f"{k}={v}" for k, v in sorted(self.model_versions.items()))

    def analyze(self, text: str) -> AnalysisResult:
        return next(self.analyze_many([text]))

    def analyze_many(self, texts: Iterable[str], batch_size: int = 32) -> Iterator[AnalysisResult]:
        """Results in input order; `batch_size` documents share one encoder call."""
        cleaned = (t[:MAX_TEXT_CHARS] if isinstance(t, str) else "" for t in texts)
        docs = self.nlp.pipe(cleaned, batch_size=batch_size)
        while batch := list(islice(docs, batch_size)):
            yield from self._analyze_batch(batch)

    def tag(self, text: str) -> dict[str, Any]:
        """The `nlp-pipeline tag` JSON for one text (docs/contract.md)."""
        return to_contract(self.analyze(text))

    def _analyze_batch(self, docs: Sequence[Doc]) -> list[AnalysisResult]:
        spans = [
            [_trimmed(s) for s in doc.sents if s.text.strip()] if len(doc) else [] for doc in docs
        ]
        texts = [s.text for doc_spans in spans for s in doc_spans]
        encoded = self.encoder.encode(texts)
        sentiments = self.sentiment.predict(texts, encoded)
        theme_scores = self.themes.predict(texts, encoded)
        flows = self.rotations.extract(texts, encoded)
        results = []
        offset = 0
        for doc, doc_spans in zip(docs, spans, strict=True):
            part = slice(offset, offset + len(doc_spans))
            offset += len(doc_spans)
            results.append(
                self._analyze_doc(doc, doc_spans, sentiments[part], theme_scores[part], flows[part])
            )
        return results

    def _analyze_doc(
        self,
        doc: Doc,
        sents: Sequence[Span],
        sentiments: Sequence[Sentiment],
        theme_scores: Sequence[dict[str, float]],
        flows: Sequence[Sequence[Flow]],
    ) -> AnalysisResult:
        sentences = [
            SentenceAnalysis(
                index=i,
                start=s.start_char,
                end=s.end_char,
                text=s.text,
                sentiment=sentiment,
                themes=sorted(scores, key=lambda k: -scores[k]),
            )
            for i, (s, sentiment, scores) in enumerate(
                zip(sents, sentiments, theme_scores, strict=True)
            )
        ]
        mentions = self.recognizer.mentions(doc)
        return AnalysisResult(
            sentiment=article_sentiment(sentiments),
            entities=self._aggregate_entities(mentions, sentences),
            themes=self._aggregate_themes(theme_scores, sentences),
            sentences=sentences,
            model_versions=dict(self.model_versions),
            rotations=_aggregate_rotations(flows, sentences),
        )

    def _aggregate_entities(
        self, mentions: Sequence[Mention], sentences: Sequence[SentenceAnalysis]
    ) -> list[EntityAnalysis]:
        grouped: dict[tuple[str, str], list[Mention]] = {}
        for mention in mentions:
            grouped.setdefault((mention.type, mention.id), []).append(mention)
        if not grouped:
            return []
        most = max(len(group) for group in grouped.values())
        starts = [s.start for s in sentences]

        def sentence_of(offset: int) -> int | None:
            i = bisect_right(starts, offset) - 1
            return i if i >= 0 and offset < sentences[i].end else None

        out = []
        for (etype, entity_id), group in grouped.items():
            indices = sorted({i for m in group if (i := sentence_of(m.start)) is not None})
            scores = [sentences[i].sentiment.score for i in indices]
            early = any(i <= 1 for i in indices)
            tagged = any(m.source in {"tag", "ric", "cashtag"} for m in group)
            confidence = max(m.confidence for m in group)
            # Relevance: mention share, prominence (headline/lead), repetition, an explicit
            # ticker notation, and how sure the link is.
            relevance = confidence * (
                0.4 * len(group) / most
                + 0.25 * early
                + 0.15 * min(1.0, len(group) / 3)
                + 0.2 * tagged
            )
            named = next((m for m in group if m.name), group[0])
            exchange = next((m.exchange for m in group if m.exchange), None)
            out.append(
                EntityAnalysis(
                    type=etype,  # type: ignore[arg-type]
                    id=entity_id,
                    name=named.name,
                    exchange=exchange,
                    mentions=len(group),
                    relevance=round(relevance, 4),
                    sentiment=round(sum(scores) / len(scores), 4) if scores else 0.0,
                    spans=[(m.start, m.end) for m in group],
                )
            )
        out.sort(key=lambda e: (-e.relevance, -e.mentions, e.type, e.id))
        return out

    def _aggregate_themes(
        self, theme_scores: Sequence[dict[str, float]], sentences: Sequence[SentenceAnalysis]
    ) -> list[ThemeAnalysis]:
        evidence: dict[str, list[int]] = {}
        for index, scores in enumerate(theme_scores):
            for theme_id in scores:
                evidence.setdefault(theme_id, []).append(index)
        out = []
        for theme_id, indices in evidence.items():
            # Noisy-OR of the evidence sentences' confidences.
            miss = 1.0
            for i in indices:
                miss *= 1.0 - theme_scores[i][theme_id]
            tone = [sentences[i].sentiment.score for i in indices]
            out.append(
                ThemeAnalysis(
                    id=theme_id,
                    score=round(1.0 - miss, 4),
                    sentiment=round(sum(tone) / len(tone), 4),
                    evidence=indices,
                )
            )
        out.sort(key=lambda t: (-t.score, -len(t.evidence), t.id))
        return out
