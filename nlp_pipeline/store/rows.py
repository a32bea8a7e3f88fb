"""Analysis results as Arrow tables, one per store table, for one bulk insert each.

Here the fact rows (article x entity x theme) get their `shared_sentence` flag: whether some
sentence both names the entity (one of its spans starts inside the sentence) and carries the theme
(the sentence's own themes, or the theme's evidence sentences).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from nlp_pipeline.records import AnalysisResult, EntityAnalysis, SentenceAnalysis, ThemeAnalysis

TIME = pa.timestamp("us", tz="UTC")


def entity_sentences(entity: EntityAnalysis, sentences: Sequence[SentenceAnalysis]) -> set[int]:
    """Indices of the sentences in which one of the entity's spans starts."""
    starts = [s.start for s in sentences]
    found: set[int] = set()
    for span_start, _ in entity.spans:
        position = bisect_right(starts, span_start) - 1
        if position >= 0 and span_start < sentences[position].end:
            found.add(sentences[position].index)
    return found


def theme_sentences(theme: ThemeAnalysis, sentences: Sequence[SentenceAnalysis]) -> set[int]:
    return set(theme.evidence) | {s.index for s in sentences if theme.id in s.themes}


def analysis_tables(
    items: Sequence[tuple[str, AnalysisResult]],
    articles: Mapping[str, tuple[str, datetime, datetime, datetime]],
    version_key: str,
    run_id: str | None,
    analyzed_at: datetime,
) -> dict[str, pa.Table]:
    """Arrow tables for `analyses`, `sentences`, `article_entities`, `article_themes` and
    `entity_themes`. `articles` maps article_id to (cluster_id, published, first_seen_at,
    story_at)."""
    cols: dict[str, dict[str, list[Any]]] = {
        name: {} for name in ("analyses", "sentences", "article_entities", "article_themes")
    }
    cols["entity_themes"] = {}

    def add(table: str, **values: Any) -> None:
        columns = cols[table]
        for key, value in values.items():
            columns.setdefault(key, []).append(value)

    for article_id, result in items:
        cluster_id, published, first_seen_at, story_at = articles[article_id]
        s = result.sentiment
        add(
            "analyses",
            article_id=article_id,
            model_versions=version_key,
            run_id=run_id,
            analyzed_at=analyzed_at,
            superseded_at=None,
            sentiment_label=s.label,
            sentiment_score=s.score,
            p_positive=s.positive,
            p_neutral=s.neutral,
            p_negative=s.negative,
            n_sentences=len(result.sentences),
        )
        tone = {}
        for x in result.sentences:
            tone[x.index] = x.sentiment.score
            add(
                "sentences",
                article_id=article_id,
                sentence_index=x.index,
                start_char=x.start,
                end_char=x.end,
                text=x.text,
                sentiment_label=x.sentiment.label,
                sentiment_score=x.sentiment.score,
                p_positive=x.sentiment.positive,
                p_neutral=x.sentiment.neutral,
                p_negative=x.sentiment.negative,
                themes=list(x.themes),
                model_versions=version_key,
            )
        common = {
            "article_id": article_id,
            "model_versions": version_key,
            "analyzed_at": analyzed_at,
            "superseded_at": None,
            "cluster_id": cluster_id,
            "published": published,
            "first_seen_at": first_seen_at,
            "story_at": story_at,
        }
        for t in result.themes:
            add(
                "article_themes",
                article_id=article_id,
                theme_id=t.id,
                score=t.score,
                sentiment=t.sentiment,
                evidence=list(t.evidence),
                model_versions=version_key,
            )
        theme_sets = [(t, theme_sentences(t, result.sentences)) for t in result.themes]
        for e in result.entities:
            add(
                "article_entities",
                **common,
                entity_type=e.type,
                entity_id=e.id,
                name=e.name or None,
                exchange=e.exchange,
                mentions=e.mentions,
                relevance=e.relevance,
                sentiment=e.sentiment,
                spans=[list(span) for span in e.spans],
            )
            where = entity_sentences(e, result.sentences)
            for t, carries in theme_sets:
                shared = where & carries
                shared_tones = [tone[i] for i in shared if i in tone]
                add(
                    "entity_themes",
                    **common,
                    entity_type=e.type,
                    entity_id=e.id,
                    relevance=e.relevance,
                    theme_id=t.id,
                    theme_score=t.score,
                    theme_sentiment=t.sentiment,
                    shared_sentence=bool(shared),
                    shared_sentiment=(sum(shared_tones) / len(shared_tones))
                    if shared_tones
                    else None,
                )
    return {name: pa.table(_arrays(columns)) for name, columns in cols.items()}


_TYPES: dict[str, pa.DataType] = {
    "analyzed_at": TIME,
    "superseded_at": TIME,
    "published": TIME,
    "first_seen_at": TIME,
    "story_at": TIME,
    "sentence_index": pa.int32(),
    "start_char": pa.int32(),
    "end_char": pa.int32(),
    "n_sentences": pa.int32(),
    "mentions": pa.int32(),
    "themes": pa.list_(pa.string()),
    "evidence": pa.list_(pa.int32()),
    "spans": pa.list_(pa.list_(pa.int32())),
    "shared_sentence": pa.bool_(),
}
_FLOATS = {
    "sentiment_score",
    "p_positive",
    "p_neutral",
    "p_negative",
    "relevance",
    "sentiment",
    "score",
    "theme_score",
    "theme_sentiment",
    "shared_sentiment",
}


def _arrays(columns: dict[str, list[Any]]) -> dict[str, pa.Array]:
    arrays = {}
    for key, values in columns.items():
        kind = _TYPES.get(key) or (pa.float64() if key in _FLOATS else pa.string())
        arrays[key] = pa.array(values, kind)
    return arrays
