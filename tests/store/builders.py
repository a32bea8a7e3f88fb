"""Hand-built analyses, so that a test knows every right answer.

`analysis(sentences, entities)` builds the AnalysisResult the NLP stage would hand the store:
sentences with their tone and themes; entities as "TYPE:ID" -> (sentence indices, relevance),
each mention a span at the start of its sentence; themes with evidence = the sentences carrying
them and tone = their mean tone.
"""

from __future__ import annotations

from datetime import UTC, datetime

from nlp_pipeline.records import (
    AnalysisResult,
    Article,
    EntityAnalysis,
    SentenceAnalysis,
    Sentiment,
    ThemeAnalysis,
)
from nlp_pipeline.store import Store

Sentence = tuple[str, float, list[str]]  # text, tone -1..1, themes


def tone(score: float) -> Sentiment:
    return Sentiment.from_probs(max(score, 0.0), 1.0 - abs(score), max(-score, 0.0))


def analysis(
    sentences: list[Sentence], entities: dict[str, tuple[list[int], float]]
) -> AnalysisResult:
    built: list[SentenceAnalysis] = []
    offset = 0
    for index, (text, score, themes) in enumerate(sentences):
        built.append(SentenceAnalysis(index, offset, offset + len(text), text, tone(score), themes))
        offset += len(text) + 1
    theme_ids = sorted({t for s in built for t in s.themes})
    themes = []
    for theme in theme_ids:
        where = [s.index for s in built if theme in s.themes]
        mean = sum(built[i].sentiment.score for i in where) / len(where)
        themes.append(ThemeAnalysis(theme, 0.9, mean, where))
    ents = []
    for key, (where, relevance) in entities.items():
        kind, ident = key.split(":")
        mean = sum(built[i].sentiment.score for i in where) / len(where)
        spans = [(built[i].start, built[i].start + 2) for i in where]
        ents.append(
            EntityAnalysis(kind, ident, ident.title(), None, len(where), relevance, mean, spans)  # type: ignore[arg-type]
        )
    overall = sum(s.sentiment.score for s in built) / len(built)
    return AnalysisResult(tone(overall), ents, themes, built, {"test": "1"})


def add(
    store: Store,
    key: str,
    published: datetime | None,
    result: AnalysisResult,
    cluster: str = "",
    seen: datetime | None = None,
    version: str = "v1",
    analyzed: datetime | None = None,
    feed: str = "wire",
) -> str:
    """Store an article `key` (also its id) and its analysis; returns the article id."""
    fetched = datetime(2026, 12, 1, tzinfo=UTC)
    article = Article(
        article_id=key,
        feed_id=feed,
        url=f"https://news.test/{key}",
        title=f"Title {key}",
        text=" ".join(s.text for s in result.sentences),
        published=published,
        fetched_at=fetched,
        content_hash=key,
        cluster_id=cluster or key,
    )
    store.add_article(article, seen_at=seen or datetime(2026, 1, 1, tzinfo=UTC))
    store.save_analyses([(key, result)], version, None, analyzed_at=analyzed or seen)
    return key


def at(day: str, hour: int = 12, minute: int = 0) -> datetime:
    """A UTC time on an ISO day."""
    y, m, d = (int(p) for p in day.split("-"))
    return datetime(y, m, d, hour, minute, tzinfo=UTC)
