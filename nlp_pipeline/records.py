"""Plain records that flow between stages: ingest -> nlp -> store.

A stage only ever hands the next one these types, never its own internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

SentimentLabel = Literal["positive", "neutral", "negative"]
EntityType = Literal["TICKER", "INDEX", "POLICY", "ORG", "SECTOR"]
ENTITY_TYPES: tuple[EntityType, ...] = ("TICKER", "INDEX", "POLICY", "ORG", "SECTOR")


@dataclass(frozen=True)
class FeedEntry:
    """One item announced by a feed (RSS/Atom item, sitemap url, or a page)."""

    feed_id: str
    url: str
    title: str = ""
    summary: str = ""
    published: datetime | None = None
    author: str = ""
    guid: str = ""


@dataclass
class Article:
    """An article as ingested: metadata plus the full text the NLP stage reads."""

    article_id: str
    feed_id: str
    url: str
    title: str
    text: str
    published: datetime | None
    fetched_at: datetime
    summary: str = ""
    author: str = ""
    content_hash: str = ""
    # Article id of the first stored article of the same story (near-duplicate clustering).
    cluster_id: str = ""
    minhash: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Sentiment:
    label: SentimentLabel
    positive: float
    neutral: float
    negative: float

    @property
    def score(self) -> float:
        """P(positive) - P(negative), in [-1, 1]."""
        return self.positive - self.negative

    @staticmethod
    def from_probs(positive: float, neutral: float, negative: float) -> Sentiment:
        label: SentimentLabel  # the most probable; ties go to positive, then neutral
        if positive >= neutral and positive >= negative:
            label = "positive"
        elif neutral >= negative:
            label = "neutral"
        else:
            label = "negative"
        return Sentiment(label, positive, neutral, negative)

    @staticmethod
    def neutral_default() -> Sentiment:
        return Sentiment("neutral", 0.0, 1.0, 0.0)


@dataclass(frozen=True)
class Mention:
    """One occurrence of an entity in the text, linked to its canonical id."""

    type: EntityType
    id: str
    start: int
    end: int
    text: str
    name: str = ""
    exchange: str | None = None


@dataclass
class SentenceAnalysis:
    index: int
    start: int
    end: int
    text: str
    sentiment: Sentiment
    themes: list[str] = field(default_factory=list)


@dataclass
class EntityAnalysis:
    """An entity aggregated over every mention in one text."""

    type: EntityType
    id: str
    name: str
    exchange: str | None
    mentions: int
    relevance: float
    sentiment: float
    spans: list[tuple[int, int]]


@dataclass
class ThemeAnalysis:
    id: str
    score: float
    sentiment: float
    evidence: list[int]


@dataclass
class RotationFlow:
    """Money moving from one market segment to another, aggregated over one text.

    `source` is None where the side money leaves is not named.
    """

    source: str | None
    target: str
    score: float
    sentiment: float
    evidence: list[int]


@dataclass
class AnalysisResult:
    """Everything the NLP stage says about one text (DESIGN.md section 3.1)."""

    sentiment: Sentiment
    entities: list[EntityAnalysis]
    themes: list[ThemeAnalysis]
    sentences: list[SentenceAnalysis]
    model_versions: dict[str, str]
    rotations: list[RotationFlow] = field(default_factory=list)


@dataclass
class FeedReport:
    """What one feed contributed to one run."""

    feed_id: str
    new: int = 0
    near_duplicate: int = 0
    already_stored: int = 0
    failed: int = 0
    not_modified: bool = False
    errors: list[str] = field(default_factory=list)
