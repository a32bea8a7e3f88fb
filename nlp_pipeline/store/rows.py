"""Analysis results as Arrow tables, one per store table, for one bulk insert each.

Here the fact rows (article x entity x theme) get their `shared_sentence` flag: whether some
sentence both names the entity (one of its spans starts inside the sentence) and carries the theme
(the sentence's own themes, or the theme's evidence sentences).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from nlp_pipeline.formatting import round_score
from nlp_pipeline.records import AnalysisResult, EntityAnalysis, SentenceAnalysis, ThemeAnalysis

TIME = pa.timestamp("us", tz="UTC")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


_COLUMNS = {
    "analyses": (
        "article_id model_versions run_id analyzed_at superseded_at sentiment_label "
        "sentiment_score p_positive p_neutral p_negative n_sentences"
    ),
    "sentences": (
        "article_id sentence_index start_char end_char text sentiment_label sentiment_score "
        "p_positive p_neutral p_negative themes model_versions"
    ),
    "article_themes": "article_id theme_id score sentiment evidence model_versions",
    "article_rotations": (
        "article_id source_segment target_segment score sentiment evidence model_versions"
    ),
    "article_entities": (
        "article_id model_versions analyzed_at superseded_at cluster_id published "
        "first_seen_at story_at entity_type entity_id name exchange mentions relevance "
        "sentiment spans"
    ),
    "entity_themes": (
        "article_id model_versions analyzed_at superseded_at cluster_id published "
        "first_seen_at story_at entity_type entity_id relevance theme_id theme_score "
        "theme_sentiment shared_sentence shared_sentiment"
    ),
}


def analysis_tables(
    items: Sequence[tuple[str, AnalysisResult]],
    articles: Mapping[str, tuple[str, datetime, datetime, datetime]],
    version_key: str,
    run_id: str | None,
    analyzed_at: datetime,
) -> dict[str, pa.Table]:
    """Arrow tables for `analyses`, `sentences`, `article_entities`, `article_themes`,
    `article_rotations` and `entity_themes`. `articles` maps article_id to (cluster_id,
    published, first_seen_at, story_at)."""
    # Rows as tuples in column order (a hot loop: ~50 rows per article), then columns.
    rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in _COLUMNS}
    analyzed = _micros(analyzed_at)
    analyses, sentences = rows["analyses"].append, rows["sentences"].append
    themes_out, entities_out = rows["article_themes"].append, rows["article_entities"].append
    facts, rotations_out = rows["entity_themes"].append, rows["article_rotations"].append
    for article_id, result in items:
        cluster_id, *times = articles[article_id]
        published, first_seen_at, story_at = (_micros(t) for t in times)
        s = result.sentiment
        analyses(
            (article_id, version_key, run_id, analyzed, None, s.label, s.score, s.positive,
             s.neutral, s.negative, len(result.sentences))
        )  # fmt: skip
        tone = {}
        for x in result.sentences:
            x_s = x.sentiment
            score = x_s.positive - x_s.negative
            tone[x.index] = score
            sentences(
                (article_id, x.index, x.start, x.end, x.text, x_s.label, score, x_s.positive,
                 x_s.neutral, x_s.negative, list(x.themes), version_key)
            )  # fmt: skip
        for t in result.themes:
            themes_out((article_id, t.id, t.score, t.sentiment, list(t.evidence), version_key))
        for r in result.rotations:
            rotations_out(
                (article_id, r.source, r.target, r.score, r.sentiment, list(r.evidence),
                 version_key)
            )  # fmt: skip
        theme_sets = [(t, theme_sentences(t, result.sentences)) for t in result.themes]
        head = (article_id, version_key, analyzed, None, cluster_id, published, first_seen_at,
                story_at)  # fmt: skip
        for e in result.entities:
            entities_out(
                (*head, e.type, e.id, e.name or None, e.exchange, e.mentions, e.relevance,
                 e.sentiment, [list(span) for span in e.spans])
            )  # fmt: skip
            where = entity_sentences(e, result.sentences)
            for t, carries in theme_sets:
                shared = where & carries
                shared_tones = [tone[i] for i in shared if i in tone]
                facts(
                    (*head, e.type, e.id, e.relevance, t.id, t.score, t.sentiment, bool(shared),
                     sum(shared_tones) / len(shared_tones) if shared_tones else None)
                )  # fmt: skip
    tables = {}
    for name, spec in _COLUMNS.items():
        names = spec.split()
        columns = list(zip(*rows[name], strict=True)) if rows[name] else [()] * len(names)
        tables[name] = pa.table(
            {key: _array(key, values) for key, values in zip(names, columns, strict=True)}
        )
    return tables


def _micros(moment: datetime) -> int:
    """Microseconds since the epoch: Arrow builds timestamps from these much faster than
    from datetime objects."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _array(key: str, values: Sequence[Any]) -> pa.Array:
    kind = _TYPES.get(key) or _default_type(key)
    if kind == TIME:
        return pa.array(list(values), pa.int64()).cast(TIME)
    if key in _FLOATS:
        # Stored scores follow the one rounding rule (nlp_pipeline.formatting): Python's round
        # gives the nearest double (Arrow's round can leave 0.42610000000000003).
        return pa.array([None if v is None else round_score(v) for v in values], kind)
    return pa.array(list(values), kind)


def _default_type(key: str) -> pa.DataType:
    return pa.float64() if key in _FLOATS else pa.string()


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
