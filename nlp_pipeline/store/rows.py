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

from nlp_pipeline.formatting import round_scores
from nlp_pipeline.records import (
    AnalysisResult,
    EntityAnalysis,
    RotationFlow,
    SentenceAnalysis,
    ThemeAnalysis,
)

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
    # A hot path (~50 rows per article, thousands of articles a batch), built column by column:
    # Python reads each result once; columns repeated per row (the article's, the entity's, the
    # theme's) are gathered with Arrow's `take` from the table they come from.
    results = [result for _, result in items]
    ids = [article_id for article_id, _ in items]
    meta = [articles[article_id] for article_id in ids]
    per_article = pa.table(
        {
            "article_id": pa.array(ids, pa.string()),
            "cluster_id": pa.array([m[0] for m in meta], pa.string()),
            "published": _array("published", [_micros(m[1]) for m in meta]),
            "first_seen_at": _array("first_seen_at", [_micros(m[2]) for m in meta]),
            "story_at": _array("story_at", [_micros(m[3]) for m in meta]),
        }
    )
    sentence_rows: list[SentenceAnalysis] = []
    sentence_of: list[int] = []  # the article (position in items) of each sentence row
    theme_rows: list[ThemeAnalysis] = []
    theme_of: list[int] = []
    rotation_rows: list[RotationFlow] = []
    rotation_of: list[int] = []
    entity_rows: list[EntityAnalysis] = []
    entity_of: list[int] = []
    fact_entity: list[int] = []  # entity_themes rows: an entity row and a theme row each
    fact_theme: list[int] = []
    fact_shared: list[bool] = []
    fact_tone: list[float | None] = []
    for position, result in enumerate(results):
        sentences = result.sentences
        sentence_rows += sentences
        sentence_of += [position] * len(sentences)
        first_theme = len(theme_rows)
        theme_rows += result.themes
        theme_of += [position] * len(result.themes)
        rotation_rows += result.rotations
        rotation_of += [position] * len(result.rotations)
        if not result.entities:
            continue
        tone: dict[int, float] = {}
        carried: dict[str, set[int]] = {}
        for x in sentences:
            tone[x.index] = x.sentiment.positive - x.sentiment.negative
            for theme_id in x.themes:
                carried.setdefault(theme_id, set()).add(x.index)
        theme_sets = [
            (first_theme + k, carried.get(t.id, set()).union(t.evidence))
            for k, t in enumerate(result.themes)
        ]
        for e in result.entities:
            entity_row = len(entity_rows)
            entity_rows.append(e)
            entity_of.append(position)
            where = entity_sentences(e, sentences)
            for theme_row, carries in theme_sets:
                shared = where & carries
                shared_tones = [tone[i] for i in shared if i in tone]
                fact_entity.append(entity_row)
                fact_theme.append(theme_row)
                fact_shared.append(bool(shared))
                fact_tone.append(sum(shared_tones) / len(shared_tones) if shared_tones else None)

    analyzed = _micros(analyzed_at)

    def article_columns(of: list[int], *keys: str) -> dict[str, Any]:
        """`keys` for rows that belong to the articles at positions `of`."""
        rows = per_article.take(pa.array(of, pa.int32()))
        return {
            key: rows[key]
            if key in per_article.column_names
            else _constant(key, len(of), version_key, analyzed)
            for key in keys
        }

    sentiments = [r.sentiment for r in results]
    tables = {
        "analyses": {
            "article_id": per_article["article_id"],
            "model_versions": _constant("model_versions", len(ids), version_key, analyzed),
            "run_id": pa.array([run_id] * len(ids), pa.string()),
            "analyzed_at": _constant("analyzed_at", len(ids), version_key, analyzed),
            "superseded_at": pa.nulls(len(ids), TIME),
            "sentiment_label": [s.label for s in sentiments],
            "sentiment_score": [s.score for s in sentiments],
            "p_positive": [s.positive for s in sentiments],
            "p_neutral": [s.neutral for s in sentiments],
            "p_negative": [s.negative for s in sentiments],
            "n_sentences": [len(r.sentences) for r in results],
        },
        "sentences": _sentence_columns(sentence_rows)
        | article_columns(sentence_of, "article_id", "model_versions"),
        "article_themes": article_columns(theme_of, "article_id", "model_versions")
        | {
            "theme_id": [t.id for t in theme_rows],
            "score": [t.score for t in theme_rows],
            "sentiment": [t.sentiment for t in theme_rows],
            "evidence": [t.evidence for t in theme_rows],
        },
        "article_rotations": article_columns(rotation_of, "article_id", "model_versions")
        | {
            "source_segment": [r.source for r in rotation_rows],
            "target_segment": [r.target for r in rotation_rows],
            "score": [r.score for r in rotation_rows],
            "sentiment": [r.sentiment for r in rotation_rows],
            "evidence": [r.evidence for r in rotation_rows],
        },
        "article_entities": article_columns(entity_of, *_HEAD)
        | {
            "entity_type": [e.type for e in entity_rows],
            "entity_id": [e.id for e in entity_rows],
            "name": [e.name or None for e in entity_rows],
            "exchange": [e.exchange for e in entity_rows],
            "mentions": [e.mentions for e in entity_rows],
            "relevance": [e.relevance for e in entity_rows],
            "sentiment": [e.sentiment for e in entity_rows],
            "spans": [e.spans for e in entity_rows],
        },
    }
    built = {name: _table(name, columns) for name, columns in tables.items()}
    entity_part = built["article_entities"].take(pa.array(fact_entity, pa.int32()))
    theme_part = built["article_themes"].take(pa.array(fact_theme, pa.int32()))
    built["entity_themes"] = _table(
        "entity_themes",
        {key: entity_part[key] for key in (*_HEAD, "entity_type", "entity_id", "relevance")}
        | {
            "theme_id": theme_part["theme_id"],
            "theme_score": theme_part["score"],
            "theme_sentiment": theme_part["sentiment"],
            "shared_sentence": fact_shared,
            "shared_sentiment": fact_tone,
        },
    )
    return {name: built[name] for name in _COLUMNS}


# The columns every article_entities and entity_themes row repeats from its article.
_HEAD = tuple(_COLUMNS["article_entities"].split()[:8])


def _constant(key: str, count: int, version_key: str, analyzed: int) -> pa.Array:
    """A column with one value for the whole batch (the model versions, the analysis time,
    no superseded time yet)."""
    if key == "model_versions":
        return pa.repeat(pa.scalar(version_key, pa.string()), count)
    if key == "analyzed_at":
        return pa.repeat(pa.scalar(analyzed, pa.int64()), count).cast(TIME)
    if key == "superseded_at":
        return pa.nulls(count, TIME)
    raise KeyError(key)


def _table(name: str, columns: Mapping[str, Any]) -> pa.Table:
    """`columns` (Arrow arrays, or Python lists converted here) as a table in `_COLUMNS` order."""
    return pa.table(
        {
            key: value if isinstance(value, pa.Array | pa.ChunkedArray) else _array(key, value)
            for key in _COLUMNS[name].split()
            for value in (columns[key],)
        }
    )


def _sentence_columns(sentences: list[SentenceAnalysis]) -> dict[str, list[Any]]:
    """The `sentences` table's own columns (article and model versions come from elsewhere)."""
    tones = [x.sentiment for x in sentences]
    positive = [t.positive for t in tones]
    negative = [t.negative for t in tones]
    return {
        "sentence_index": [x.index for x in sentences],
        "start_char": [x.start for x in sentences],
        "end_char": [x.end for x in sentences],
        "text": [x.text for x in sentences],
        "sentiment_label": [t.label for t in tones],
        "sentiment_score": [p - n for p, n in zip(positive, negative, strict=True)],
        "p_positive": positive,
        "p_neutral": [t.neutral for t in tones],
        "p_negative": negative,
        "themes": [x.themes for x in sentences],
    }


def _micros(moment: datetime) -> int:
    """Microseconds since the epoch: Arrow builds timestamps from these much faster than
    from datetime objects."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _array(key: str, values: Sequence[Any]) -> pa.Array:
    kind = _TYPES.get(key) or _default_type(key)
    if kind == TIME:
        return pa.array(values, pa.int64()).cast(TIME)
    if key in _FLOATS:
        # Stored scores follow the one rounding rule (nlp_pipeline.formatting), vectorized;
        # Arrow's own round can leave 0.42610000000000003.
        raw = pa.array(values, pa.float64())
        rounded = round_scores(raw.to_numpy(zero_copy_only=False))
        return pa.array(rounded, pa.float64(), mask=raw.is_null().to_numpy(zero_copy_only=False))
    return pa.array(values, kind)


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
