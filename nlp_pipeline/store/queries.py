"""The answers: trends, what is rising, co-mentions and tagged articles, as pandas DataFrames
(and `trends` also as plain rows, for the command line, which then answers without pandas).

Counting rules every answer shares:
- A story is a near-duplicate cluster: syndicated copies count once, and a story belongs to the
  period of its first copy (its earliest `published`, in UTC).
- Tone is averaged per story first (over its copies), then over stories, so a story syndicated ten
  times weighs as much as one that ran once.
- An entity is matched by type and id (`TICKER:FIX`; a bare id is resolved to its type).
- A theme belongs to an entity with `scope="sentence"` (the default) only where some sentence both
  names the entity and carries the theme; `scope="article"` takes every theme of the article.
- `as_of` restricts every answer to what the store held then: articles first seen by then, and
  for each article the analysis that was current at that time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from nlp_pipeline.errors import NotFoundError, StoreError
from nlp_pipeline.records import ENTITY_TYPES

if TYPE_CHECKING:
    import pandas as pd

FREQUENCIES = {"D": "day", "W": "week", "M": "month", "Q": "quarter"}
_STEP = {"D": "1 day", "W": "7 days", "M": "1 month", "Q": "3 months"}
_PERIOD_DAYS = {"D": 1, "W": 7, "M": 31, "Q": 92}
SCOPES = ("sentence", "article")
TOP_KINDS = ("themes", "tickers", "entities")
Scope = Literal["sentence", "article"]


def utc(value: datetime | str | None) -> datetime | None:
    """A timestamp in UTC; naive times and bare dates are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise StoreError(
                f"bad timestamp {value!r}; use ISO 8601 like 2026-10-05 or 2026-10-05T14:00Z"
            ) from None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def check_frequency(freq: str) -> str:
    code = freq.upper()
    if code not in FREQUENCIES:
        raise StoreError(f"unknown frequency {freq!r}; use one of {', '.join(FREQUENCIES)}")
    return code


def check_scope(scope: str) -> Scope:
    if scope not in SCOPES:
        raise StoreError(f"unknown scope {scope!r}; use sentence or article")
    return "sentence" if scope == "sentence" else "article"


@dataclass(frozen=True)
class EntityKey:
    type: str
    id: str

    def __str__(self) -> str:
        return f"{self.type}:{self.id}"


def resolve_entity(con: Any, entity: str, entity_type: str | None = None) -> EntityKey:
    """`TICKER:FIX`, or `FIX` with its type looked up (an id held by two types must say which)."""
    text = entity.strip()
    if ":" in text and entity_type is None:
        entity_type, text = text.split(":", 1)
    ident = text.strip().upper()
    if not ident:
        raise StoreError("empty entity id")
    if entity_type is not None:
        kind = entity_type.strip().upper()
        if kind not in ENTITY_TYPES:
            raise StoreError(f"unknown entity type {entity_type!r}; use {', '.join(ENTITY_TYPES)}")
        return EntityKey(kind, ident)
    rows = con.execute(
        "SELECT DISTINCT entity_type FROM article_entities WHERE entity_id = ? ORDER BY 1",
        [ident],
    ).fetchall()
    kinds = [r[0] for r in rows]
    if len(kinds) > 1:
        choices = ", ".join(f"{k}:{ident}" for k in kinds)
        raise StoreError(f"{ident} names entities of several types; say which: {choices}")
    return EntityKey(kinds[0] if kinds else "TICKER", ident)


def _current(alias: str, as_of: datetime | None, seen: bool = True) -> str:
    """The rows of `alias` (a table with analyzed_at/superseded_at) current now or `as_of`."""
    if as_of is None:
        return f"{alias}.superseded_at IS NULL"
    condition = (
        f"{alias}.analyzed_at <= $as_of AND "
        f"({alias}.superseded_at IS NULL OR {alias}.superseded_at > $as_of)"
    )
    if seen:
        condition += f" AND {alias}.first_seen_at <= $as_of"
    return condition


def _seen(alias: str, as_of: datetime | None) -> str:
    return f"{alias}.first_seen_at <= $as_of" if as_of is not None else "true"


def used_params(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters `sql` names (DuckDB refuses named parameters a query does not use)."""
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}


def _run(con: Any, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    frame: pd.DataFrame = con.execute(sql, used_params(sql, params)).df()
    return frame


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


@dataclass(frozen=True)
class Rows:
    """An answer as column names and plain Python rows (dates as `date`, missing as None)."""

    columns: list[str]
    rows: list[tuple[Any, ...]]


def _story_cte(clusters_sql: str, unit: str | None, as_of: datetime | None) -> str:
    """Stories among `clusters_sql` (rows of cluster_id, story_at), each dated by its first
    copy. Now, that is the stored `story_at`; as of a past time, the first copy of those seen
    by then (a copy seen later may have been dated earlier)."""
    if as_of is None:
        period = f", date_trunc('{unit}', min(u.story_at))::DATE AS period" if unit else ""
        return (
            f"SELECT u.cluster_id, min(u.story_at) AS story_at{period} "
            f"FROM ({clusters_sql}) u GROUP BY u.cluster_id"
        )
    period = f", date_trunc('{unit}', min(a.published))::DATE AS period" if unit else ""
    return (
        f"SELECT a.cluster_id, min(a.published) AS story_at{period} FROM articles a "
        f"WHERE a.cluster_id IN (SELECT u.cluster_id FROM ({clusters_sql}) u) "
        f"AND {_seen('a', as_of)} GROUP BY a.cluster_id"
    )


def trends_frame(answer: Rows) -> pd.DataFrame:
    """A `trends_rows` answer as a DataFrame: `period` dates, `change` a nullable integer."""
    import pandas as pd

    if not answer.rows:
        return _empty(answer.columns)
    frame = pd.DataFrame(answer.rows, columns=answer.columns)
    for column in ("share", "sentiment", "zscore"):  # all None reads as object
        frame[column] = frame[column].astype(float)
    frame["change"] = frame["change"].astype("Int64")
    return frame


def trends_rows(
    con: Any,
    entity: str | None = None,
    theme: str | None = None,
    freq: str = "W",
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    by: str = "theme",
    scope: str = "sentence",
    as_of: datetime | str | None = None,
    min_relevance: float = 0.0,
    window: int = 8,
    entity_type: str | None = None,
) -> Rows:
    """Per period and key (a theme, or an entity): unique stories, their share of the period's
    stories in the universe (the entity's stories, or the theme's, or all), tone per story, and
    momentum: `change` vs the previous period and `zscore` vs the `window` periods before."""
    code = check_frequency(freq)
    unit = FREQUENCIES[code]
    scope = check_scope(scope)
    if by not in ("theme", "entity"):
        raise StoreError(f"unknown grouping by={by!r}; use theme or entity")
    cut = utc(as_of)
    first, last = utc(start), utc(end)
    key: EntityKey | None = resolve_entity(con, entity, entity_type) if entity else None
    params: dict[str, Any] = {
        "as_of": cut,
        "etype": key.type if key else None,
        "eid": key.id if key else None,
        "theme": theme,
        "min_rel": min_relevance,
    }
    shared = "AND f.shared_sentence" if scope == "sentence" else ""
    tone = "f.shared_sentiment" if scope == "sentence" else "f.theme_sentiment"
    entity_match = "f.entity_type = $etype AND f.entity_id = $eid" if key else "true"
    if by == "theme":
        key_columns = ["theme"]
        if key:
            universe = (
                f"SELECT f.cluster_id, f.story_at FROM article_entities f WHERE {entity_match} "
                f"AND {_current('f', cut)} AND f.relevance >= $min_rel"
            )
            tagged = (
                f"SELECT f.cluster_id, f.theme_id AS theme, avg({tone}) AS story_tone "
                f"FROM entity_themes f WHERE {entity_match} AND {_current('f', cut)} "
                f"AND f.relevance >= $min_rel {shared} "
                f"{'AND f.theme_id = $theme' if theme else ''} GROUP BY ALL"
            )
        else:
            universe = _analyzed_clusters(cut)
            tagged = (
                f"SELECT a.cluster_id, t.theme_id AS theme, avg(t.sentiment) AS story_tone "
                f"FROM article_themes t JOIN analyses n USING (article_id, model_versions) "
                f"JOIN articles a USING (article_id) WHERE {_current_analysis('n', 'a', cut)} "
                f"{'AND t.theme_id = $theme' if theme else ''} GROUP BY ALL"
            )
    else:
        key_columns = ["type", "entity"]
        if theme:
            universe = (
                f"SELECT a.cluster_id, a.story_at FROM article_themes t "
                f"JOIN analyses n USING (article_id, model_versions) "
                f"JOIN articles a USING (article_id) "
                f"WHERE t.theme_id = $theme AND {_current_analysis('n', 'a', cut)}"
            )
            tagged = (
                f"SELECT f.cluster_id, f.entity_type AS type, f.entity_id AS entity, "
                f"avg({tone}) AS story_tone FROM entity_themes f "
                f"WHERE f.theme_id = $theme AND {entity_match} AND {_current('f', cut)} "
                f"AND f.relevance >= $min_rel {shared} GROUP BY ALL"
            )
        else:
            universe = _analyzed_clusters(cut)
            tagged = (
                f"SELECT f.cluster_id, f.entity_type AS type, f.entity_id AS entity, "
                f"avg(f.sentiment) AS story_tone FROM article_entities f "
                f"WHERE {entity_match} AND {_current('f', cut)} AND f.relevance >= $min_rel "
                f"GROUP BY ALL"
            )
    # Momentum needs the periods before `start`: read `window` + 1 more of them.
    window_filter = ""
    if first is not None:
        params["lookback"] = first - timedelta(days=_PERIOD_DAYS[code] * (window + 1))
        window_filter += " AND story_at >= $lookback"
    if last is not None:
        params["end"] = last
        window_filter += " AND story_at < $end"
    keys = ", ".join(f"t.{c}" for c in key_columns)
    plain = ", ".join(key_columns)
    params["first_period"] = _truncate(first, code) if first is not None else None
    since_first = "AND period >= $first_period" if first is not None else ""
    # Momentum over a dense grid of periods (a period without stories counts 0): change vs
    # the previous period, and a z-score against the `window` periods before (at least 3 of
    # them, with some variation).
    sql = f"""
        WITH story AS (SELECT * FROM ({_story_cte(universe, unit, cut)})
                       WHERE true {window_filter}),
        totals AS (SELECT period, count(*) AS all_stories FROM story GROUP BY period),
        tagged AS ({tagged}),
        agg AS (SELECT s.period, {keys}, count(*) AS stories,
                       any_value(tot.all_stories) AS all_stories, avg(t.story_tone) AS sentiment
                FROM tagged t JOIN story s USING (cluster_id) JOIN totals tot USING (period)
                GROUP BY ALL),
        grid AS (SELECT g.period::DATE AS period, k.*
                 FROM (SELECT min(period) AS lo, max(period) AS hi FROM agg) b,
                      generate_series(b.lo, b.hi, INTERVAL '{_STEP[code]}') g(period),
                      (SELECT DISTINCT {plain} FROM agg) k),
        dense AS (SELECT grid.*, coalesce(agg.stories, 0) AS n, agg.stories, agg.all_stories,
                         agg.sentiment
                  FROM grid LEFT JOIN agg USING (period, {plain})),
        momentum AS (
            SELECT *, n - lag(n) OVER by_key AS change,
                   avg(n) OVER before_w AS mean_before, stddev_samp(n) OVER before_w AS sd_before,
                   count(n) OVER before_w AS periods_before
            FROM dense
            WINDOW by_key AS (PARTITION BY {plain} ORDER BY period),
                   before_w AS (PARTITION BY {plain} ORDER BY period
                                ROWS BETWEEN {int(window)} PRECEDING AND 1 PRECEDING))
        SELECT period, {plain}, stories, round(stories / all_stories, 3) AS share,
               round(sentiment, 3) AS sentiment, change,
               CASE WHEN periods_before >= 3 AND sd_before > 0
                    THEN round((n - mean_before) / sd_before, 2) END AS zscore
        FROM momentum WHERE stories IS NOT NULL {since_first}
        ORDER BY period, stories DESC, {plain}"""
    columns = ["period", *key_columns, "stories", "share", "sentiment", "change", "zscore"]
    return Rows(columns, con.execute(sql, used_params(sql, params)).fetchall())


def _analyzed_clusters(cut: datetime | None) -> str:
    return (
        f"SELECT a.cluster_id, a.story_at FROM analyses n JOIN articles a USING (article_id) "
        f"WHERE {_current_analysis('n', 'a', cut)}"
    )


def _current_analysis(analysis: str, article: str, cut: datetime | None) -> str:
    return f"{_current(analysis, cut, seen=False)} AND {_seen(article, cut)}"


def _truncate(moment: datetime, code: str) -> date:
    """The first day of the period (`code`) that `moment` falls in."""
    day = moment.date()
    if code == "W":
        return day - timedelta(days=day.weekday())
    if code == "M":
        return day.replace(day=1)
    if code == "Q":
        return day.replace(day=1, month=3 * ((day.month - 1) // 3) + 1)
    return day


def _window(
    con: Any, since: datetime | str | None, until: datetime | str | None, cut: datetime | None
) -> tuple[datetime, datetime]:
    """[since, until): until defaults to `as_of` or just after the newest article; since to
    four weeks before until."""
    end = utc(until) or cut
    if end is None:
        row = con.execute("SELECT max(published) FROM articles").fetchone()
        newest = row[0] if row else None
        end = (utc(newest) or datetime.now(UTC)) + timedelta(seconds=1)
    begin = utc(since) or end - timedelta(days=28)
    if begin >= end:
        raise StoreError(
            f"empty window: since {begin:%Y-%m-%d %H:%M} is not before {end:%Y-%m-%d %H:%M}"
        )
    return begin, end


def top(
    con: Any,
    kind: str = "themes",
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    as_of: datetime | str | None = None,
    limit: int = 20,
    min_stories: int = 3,
    baseline: int = 4,
) -> pd.DataFrame:
    """What is rising: stories in [since, until) per theme (or ticker, or entity) against the
    `baseline` windows of the same length before it. `zscore` = (stories - baseline mean) /
    max(baseline std, sqrt(baseline mean), 1), so a key going from 0 to 1 story is not news;
    keys with fewer than `min_stories` stories in the window are left out."""
    if kind not in TOP_KINDS:
        raise StoreError(f"unknown kind {kind!r}; use {', '.join(TOP_KINDS)}")
    cut = utc(as_of)
    begin, end = _window(con, since, until, cut)
    length = (end - begin).total_seconds()
    params: dict[str, Any] = {
        "as_of": cut,
        "since": begin,
        "end": end,
        "lookfrom": begin - timedelta(seconds=length * baseline),
        "length": length,
    }
    if kind == "themes":
        keys = ["theme"]
        tagged = (
            "SELECT a.cluster_id, t.theme_id AS theme, avg(t.sentiment) AS story_tone, "
            "min(a.story_at) AS story_at "
            "FROM article_themes t JOIN analyses n USING (article_id, model_versions) "
            f"JOIN articles a USING (article_id) WHERE {_current_analysis('n', 'a', cut)} "
            "GROUP BY ALL"
        )
    else:
        keys = ["type", "entity"]
        types = "AND f.entity_type = 'TICKER'" if kind == "tickers" else ""
        tagged = (
            "SELECT f.cluster_id, f.entity_type AS type, f.entity_id AS entity, "
            "any_value(f.name) AS name, avg(f.sentiment) AS story_tone, "
            "min(f.story_at) AS story_at FROM article_entities f "
            f"WHERE {_current('f', cut)} {types} GROUP BY f.cluster_id, f.entity_type, f.entity_id"
        )
    key_list = ", ".join(f"t.{k}" for k in keys)
    name = ", any_value(t.name) AS name" if kind != "themes" else ""
    sql = f"""
        WITH tagged AS ({tagged}),
        story AS (SELECT * FROM ({_story_cte("SELECT cluster_id, story_at FROM tagged", None, cut)})
                  WHERE story_at >= $lookfrom AND story_at < $end),
        bucketed AS (
            SELECT t.*, floor((epoch(s.story_at) - epoch($since)) / $length)::INTEGER AS bucket
            FROM tagged t JOIN story s USING (cluster_id))
        SELECT {key_list}{name},
               count(*) FILTER (WHERE bucket = 0) AS stories,
               count(*) FILTER (WHERE bucket = -1) AS previous,
               list(bucket) FILTER (WHERE bucket < 0) AS earlier,
               avg(story_tone) FILTER (WHERE bucket = 0) AS sentiment
        FROM bucketed t GROUP BY ALL"""
    import numpy as np

    frame = _run(con, sql, params)
    columns = [*keys, *(["name"] if kind != "themes" else [])]
    columns += ["stories", "previous", "baseline", "change", "zscore", "sentiment"]
    if frame.empty:
        return _empty(columns)
    per_window = np.zeros((len(frame), baseline))
    for row, earlier in enumerate(frame["earlier"]):
        for bucket in earlier if isinstance(earlier, list | np.ndarray) else []:
            if -baseline <= bucket < 0:
                per_window[row, -bucket - 1] += 1
    mean = per_window.mean(axis=1)
    spread = np.maximum.reduce([per_window.std(axis=1, ddof=1), np.sqrt(mean), np.ones(len(mean))])
    frame["baseline"] = mean.round(2)
    frame["change"] = frame["stories"] - frame["previous"]
    frame["zscore"] = ((frame["stories"] - mean) / spread).round(2)
    frame["sentiment"] = frame["sentiment"].astype(float).round(3)
    frame = frame[frame["stories"] >= min_stories]
    frame = frame.sort_values(
        ["zscore", "stories", *keys], ascending=[False, False] + [True] * len(keys)
    )
    return frame[columns].head(limit).reset_index(drop=True)


def comentions(
    con: Any,
    entity: str,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    as_of: datetime | str | None = None,
    scope: str = "sentence",
    limit: int = 30,
    entity_type: str | None = None,
) -> pd.DataFrame:
    """Entities and themes in the entity's stories in [since, until) (default: the whole
    store): `stories` together, `share` of the entity's stories, and `lift` = P(both) /
    (P(entity) P(other)) over all stories of the window (above 1: together more than chance)."""
    scope = check_scope(scope)
    cut = utc(as_of)
    key = resolve_entity(con, entity, entity_type)
    begin = utc(since) or datetime(1900, 1, 1, tzinfo=UTC)
    end = utc(until) or datetime(9999, 1, 1, tzinfo=UTC)
    params = {"as_of": cut, "etype": key.type, "eid": key.id, "since": begin, "end": end}
    shared = "AND f.shared_sentence" if scope == "sentence" else ""
    tone = "f.shared_sentiment" if scope == "sentence" else "f.theme_sentiment"
    sql = f"""
        WITH story AS (SELECT * FROM ({_story_cte(_analyzed_clusters(cut), None, cut)})
                       WHERE story_at >= $since AND story_at < $end),
        ents AS (SELECT f.cluster_id, f.entity_type, f.entity_id, avg(f.sentiment) AS tone
                 FROM article_entities f JOIN story USING (cluster_id)
                 WHERE {_current("f", cut)} GROUP BY ALL),
        mine AS (SELECT cluster_id FROM ents WHERE entity_type = $etype AND entity_id = $eid),
        themes AS (SELECT a.cluster_id, t.theme_id FROM article_themes t
                   JOIN analyses n USING (article_id, model_versions)
                   JOIN articles a USING (article_id) JOIN story USING (cluster_id)
                   WHERE {_current_analysis("n", "a", cut)} GROUP BY ALL),
        theme_pairs AS (SELECT f.cluster_id, f.theme_id, avg({tone}) AS tone
                        FROM entity_themes f JOIN story USING (cluster_id)
                        WHERE f.entity_type = $etype AND f.entity_id = $eid
                          AND {_current("f", cut)} {shared} GROUP BY ALL)
        SELECT 'entity' AS kind, e.entity_type AS type, e.entity_id AS id,
               count(*) FILTER (WHERE e.cluster_id IN (SELECT cluster_id FROM mine)) AS stories,
               count(*) AS other_stories,
               avg(e.tone) FILTER (WHERE e.cluster_id IN (SELECT cluster_id FROM mine)) AS sentiment
        FROM ents e WHERE NOT (e.entity_type = $etype AND e.entity_id = $eid) GROUP BY ALL
        UNION ALL
        SELECT 'theme', 'THEME', t.theme_id,
               (SELECT count(*) FROM theme_pairs p WHERE p.theme_id = t.theme_id),
               count(*),
               (SELECT avg(p.tone) FROM theme_pairs p WHERE p.theme_id = t.theme_id)
        FROM themes t GROUP BY t.theme_id"""
    frame = _run(con, sql, params)
    sizes_sql = f"""WITH story AS (SELECT * FROM ({_story_cte(_analyzed_clusters(cut), None, cut)})
                           WHERE story_at >= $since AND story_at < $end)
            SELECT (SELECT count(*) FROM story),
                   (SELECT count(DISTINCT f.cluster_id) FROM article_entities f
                    JOIN story USING (cluster_id) WHERE f.entity_type = $etype
                    AND f.entity_id = $eid AND {_current("f", cut)})"""
    sizes = con.execute(sizes_sql, used_params(sizes_sql, params)).fetchone()
    n_all, n_a = (int(sizes[0]), int(sizes[1])) if sizes else (0, 0)
    columns = ["kind", "type", "id", "stories", "share", "lift", "sentiment"]
    frame = frame[frame["stories"] > 0] if not frame.empty else frame
    if frame.empty or n_a == 0:
        return _empty(columns)
    frame = frame.copy()
    frame["share"] = (frame["stories"] / n_a).round(3)
    frame["lift"] = (frame["stories"] * n_all / (n_a * frame["other_stories"])).round(2)
    frame["sentiment"] = frame["sentiment"].astype(float).round(3)
    frame = frame.sort_values(["stories", "lift", "id"], ascending=[False, False, True])
    return frame[columns].head(limit).reset_index(drop=True)


@dataclass
class ArticleFilter:
    """Which articles an answer or an export covers."""

    entity: str | None = None
    theme: str | None = None
    entity_type: str | None = None
    since: datetime | str | None = None
    until: datetime | str | None = None
    feeds: Sequence[str] | None = None
    min_relevance: float = 0.0
    scope: str = "sentence"
    as_of: datetime | str | None = None
    # `since`/`until` bound the article's own `published` time, or with "story" its story's
    # date (its first copy's), as `trends` counts it: a trends point's articles, copies included.
    dated_by: str = "published"


DATED_BY = ("published", "story")


def selected_articles_sql(con: Any, f: ArticleFilter) -> tuple[str, dict[str, Any]]:
    """SQL selecting (article_id, model_versions) of the matching articles, with their current
    analysis (as of `f.as_of`), and its parameters."""
    cut = utc(f.as_of)
    scope = check_scope(f.scope)
    params: dict[str, Any] = {"as_of": cut, "min_rel": f.min_relevance}
    conditions = [_current_analysis("n", "a", cut)]
    key = None
    if f.entity:
        key = resolve_entity(con, f.entity, f.entity_type)
        params.update(etype=key.type, eid=key.id)
    elif f.entity_type:
        kind = f.entity_type.strip().upper()
        if kind not in ENTITY_TYPES:
            raise StoreError(
                f"unknown entity type {f.entity_type!r}; use {', '.join(ENTITY_TYPES)}"
            )
        params["etype"] = kind
    if f.theme:
        params["theme"] = f.theme
    if f.entity and f.theme:
        shared = "AND x.shared_sentence" if scope == "sentence" else ""
        conditions.append(
            "EXISTS (SELECT 1 FROM entity_themes x WHERE x.article_id = n.article_id "
            "AND x.model_versions = n.model_versions AND x.entity_type = $etype "
            f"AND x.entity_id = $eid AND x.theme_id = $theme AND x.relevance >= $min_rel {shared})"
        )
    else:
        if f.entity or f.entity_type or f.min_relevance > 0:
            match = "AND x.entity_id = $eid" if f.entity else ""
            kind = "AND x.entity_type = $etype" if (f.entity or f.entity_type) else ""
            conditions.append(
                "EXISTS (SELECT 1 FROM article_entities x WHERE x.article_id = n.article_id "
                f"AND x.model_versions = n.model_versions {kind} {match} "
                "AND x.relevance >= $min_rel)"
            )
        if f.theme:
            conditions.append(
                "EXISTS (SELECT 1 FROM article_themes x WHERE x.article_id = n.article_id "
                "AND x.model_versions = n.model_versions AND x.theme_id = $theme)"
            )
    if f.dated_by not in DATED_BY:
        raise StoreError(f"unknown dated_by={f.dated_by!r}; use {' or '.join(DATED_BY)}")
    date = "a.published" if f.dated_by == "published" else "a.story_at"
    if f.since is not None:
        params["since"] = utc(f.since)
        conditions.append(f"{date} >= $since")
    if f.until is not None:
        params["until"] = utc(f.until)
        conditions.append(f"{date} < $until")
    if f.feeds:
        params["feeds"] = list(f.feeds)
        conditions.append("list_contains($feeds, a.feed_id)")
    sql = (
        "SELECT n.article_id, n.model_versions FROM analyses n JOIN articles a USING (article_id) "
        f"WHERE {' AND '.join(conditions)}"
    )
    return sql, params


def articles(con: Any, f: ArticleFilter, limit: int | None = 100, offset: int = 0) -> pd.DataFrame:
    """Matching articles, newest first, with their tags and evidence sentences: the sentences
    that carry the filter's theme (any theme without one) and, with an entity, name it.
    `offset` skips that many matches (pages of `limit`)."""
    selected, params = selected_articles_sql(con, f)
    evidence_theme = (
        "(list_contains(s.themes, $theme) OR list_contains(ev.evidence, s.sentence_index))"
        if f.theme
        else "len(s.themes) > 0"
    )
    evidence_entity = ""
    if f.entity:
        evidence_entity = (
            "AND EXISTS (SELECT 1 FROM article_entities x WHERE x.article_id = s.article_id "
            "AND x.model_versions = s.model_versions AND x.entity_type = $etype "
            "AND x.entity_id = $eid AND len(list_filter(x.spans, "
            "lambda p: p[1] >= s.start_char AND p[1] < s.end_char)) > 0)"
        )
    theme_evidence = (
        "LEFT JOIN (SELECT article_id, model_versions, evidence FROM article_themes "
        "WHERE theme_id = $theme) ev USING (article_id, model_versions)"
        if f.theme
        else ""
    )
    params["limit"] = limit if limit is not None else 2**62
    params["offset"] = max(0, offset)
    sql = f"""
        WITH sel AS ({selected}),
        ent AS (SELECT e.article_id, list(e.entity_type || ':' || e.entity_id
                       ORDER BY e.relevance DESC, e.entity_id) AS entities
                FROM article_entities e JOIN sel USING (article_id, model_versions) GROUP BY 1),
        th AS (SELECT t.article_id, list(t.theme_id ORDER BY t.score DESC, t.theme_id) AS themes
               FROM article_themes t JOIN sel USING (article_id, model_versions) GROUP BY 1),
        evid AS (SELECT s.article_id, list(s.text ORDER BY s.sentence_index) AS evidence
                 FROM sentences s JOIN sel USING (article_id, model_versions) {theme_evidence}
                 WHERE {evidence_theme} {evidence_entity} GROUP BY 1)
        SELECT a.article_id, a.published, a.feed_id, a.title, a.url, a.cluster_id,
               a.cluster_id <> a.article_id AS near_duplicate, n.sentiment_label,
               round(n.sentiment_score, 3) AS sentiment, coalesce(ent.entities, []) AS entities,
               coalesce(th.themes, []) AS themes, coalesce(evid.evidence, []) AS evidence,
               n.model_versions
        FROM sel JOIN articles a USING (article_id)
        JOIN analyses n USING (article_id, model_versions)
        LEFT JOIN ent USING (article_id) LEFT JOIN th USING (article_id)
        LEFT JOIN evid USING (article_id)
        ORDER BY a.published DESC, a.article_id LIMIT $limit OFFSET $offset"""
    return _run(con, sql, params)


def article_detail(
    con: Any, article_id: str, as_of: datetime | str | None = None
) -> dict[str, Any]:
    """One article in full, from its current analysis (as of `as_of`): its fields, its
    sentences with their tone and themes, its entities, themes and rotation flows.
    Raises `NotFoundError` naming the id when the store has no such (analyzed) article."""
    cut = utc(as_of)
    head = _json_rows(
        con,
        f"""SELECT a.article_id, a.published, a.published_fallback, a.first_seen_at, a.feed_id,
                   a.title, a.url, a.author, a.cluster_id,
                   a.cluster_id <> a.article_id AS near_duplicate, n.sentiment_label,
                   round(n.sentiment_score, 3) AS sentiment, n.model_versions
            FROM articles a JOIN analyses n USING (article_id)
            WHERE a.article_id = $id AND {_current_analysis("n", "a", cut)}""",
        {"id": article_id, "as_of": cut},
    )
    if not head:
        raise NotFoundError(f"no analyzed article {article_id!r} in the store")
    detail = head[0]
    keys = {"id": article_id, "mv": detail["model_versions"]}
    parts = {
        "sentences": """SELECT sentence_index AS "index", text, sentiment_label,
                               round(sentiment_score, 3) AS sentiment, themes
                        FROM sentences WHERE article_id = $id AND model_versions = $mv
                        ORDER BY sentence_index""",
        "entities": """SELECT entity_type AS type, entity_id AS id, name, exchange, mentions,
                              round(relevance, 3) AS relevance,
                              round(sentiment, 3) AS sentiment, spans
                       FROM article_entities WHERE article_id = $id AND model_versions = $mv
                       ORDER BY relevance DESC, entity_type, entity_id""",
        "themes": """SELECT theme_id AS id, round(score, 3) AS score,
                            round(sentiment, 3) AS sentiment, evidence
                     FROM article_themes WHERE article_id = $id AND model_versions = $mv
                     ORDER BY score DESC, theme_id""",
        "rotations": """SELECT source_segment AS "from", target_segment AS "to",
                               round(score, 3) AS score, round(sentiment, 3) AS sentiment,
                               evidence
                        FROM article_rotations WHERE article_id = $id AND model_versions = $mv
                        ORDER BY score DESC, target_segment""",
    }
    for name, sql in parts.items():
        detail[name] = _json_rows(con, sql, keys)
    return detail


def _json_rows(con: Any, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows as dicts of JSON-ready values (DuckDB gives Python values; times become ISO 8601,
    NaN becomes None)."""
    rows = con.execute(sql, used_params(sql, params)).fetchall()
    columns = [c[0] for c in con.description]
    return [
        {
            key: value.isoformat()
            if hasattr(value, "isoformat")
            else (None if isinstance(value, float) and value != value else value)
            for key, value in zip(columns, row, strict=True)
        }
        for row in rows
    ]


def stored_entities(
    con: Any,
    search: str | None = None,
    entity_type: str | None = None,
    limit: int | None = 50,
    offset: int = 0,
) -> pd.DataFrame:
    """Entities the store's current analyses name, most stories first: type, id, name, stories
    (syndicated copies once) and tone per story. `search` matches the id or the name (case
    aside; an exact id first); `entity_type` keeps one type."""
    params: dict[str, Any] = {"limit": limit if limit is not None else 2**62}
    params["offset"] = max(0, offset)
    conditions = ["e.superseded_at IS NULL"]
    if entity_type:
        kind = entity_type.strip().upper()
        if kind not in ENTITY_TYPES:
            raise StoreError(f"unknown entity type {entity_type!r}; use {', '.join(ENTITY_TYPES)}")
        params["etype"] = kind
        conditions.append("e.entity_type = $etype")
    order = "stories DESC, type, id"
    if search and search.strip():
        wanted = search.strip().split(":")[-1]
        params["q"] = wanted.lower()
        escaped = re.sub(r"([\\%_])", r"\\\1", wanted.lower())  # LIKE wildcards taken literally
        params["like"] = f"%{escaped}%"
        conditions.append(
            "(lower(e.entity_id) LIKE $like ESCAPE '\\' OR lower(e.name) LIKE $like ESCAPE '\\')"
        )
        order = f"lower(id) = $q DESC, {order}"  # the exact id first
    sql = f"""
        WITH per_story AS (
            SELECT e.entity_type AS type, e.entity_id AS id, any_value(e.name) AS name,
                   e.cluster_id, avg(e.sentiment) AS tone
            FROM article_entities e WHERE {" AND ".join(conditions)}
            GROUP BY e.entity_type, e.entity_id, e.cluster_id)
        SELECT type, id, any_value(name) AS name, count(*) AS stories,
               round(avg(tone), 3) AS sentiment
        FROM per_story GROUP BY type, id
        ORDER BY {order} LIMIT $limit OFFSET $offset"""
    return _run(con, sql, params)
