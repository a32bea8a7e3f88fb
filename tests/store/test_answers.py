"""The store's answers on hand-built stores where every right answer is known."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from nlp_pipeline.errors import StoreError
from nlp_pipeline.records import Article
from nlp_pipeline.store import Store
from tests.conftest import REPO
from tests.store.builders import add, analysis, at

SMALL = "small_cap_rotation"
AI = "ai_infrastructure"


def one_story(ticker: str, score: float, theme: str = SMALL) -> object:
    return analysis(
        [(f"{ticker} moved as the narrative went on.", score, [theme])],
        {f"TICKER:{ticker}": ([0], 0.8)},
    )


# -- time zones ------------------------------------------------------------------------------


def test_sessions_run_in_utc_whatever_the_machine_time_zone(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        # 23:30 UTC on 5 August is already 6 August in Auckland.
        add(store, "late", at("2026-08-05", 23, 30), one_story("FIX", 0.5))
    script = (
        "import sys; from nlp_pipeline.store import Store\n"
        "s = Store(sys.argv[1], read_only=True)\n"
        "print(s.trends('FIX', freq='D')['period'].tolist(), "
        "s.query(\"SELECT current_setting('TimeZone') AS tz\")['tz'][0])"
    )
    for zone in ("UTC", "Pacific/Auckland", "America/Los_Angeles"):
        shown = subprocess.run(
            [sys.executable, "-c", script, str(path)],
            env={**os.environ, "TZ": zone},
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        ).stdout.strip()
        assert shown == "[datetime.date(2026, 8, 5)] UTC", zone


def test_published_is_stored_in_utc_with_a_flag_where_it_fell_back(tmp_path: Path) -> None:
    from datetime import timezone

    with Store(tmp_path / "s.duckdb") as store:
        fetched = datetime(2026, 9, 1, 8, tzinfo=UTC)
        plus_two = timezone(timedelta(hours=2))
        for key, published in [
            ("aware", datetime(2026, 8, 6, 1, 0, tzinfo=plus_two)),
            ("naive", datetime(2026, 8, 5, 23, 0)),
            ("none", None),
        ]:
            store.add_article(
                Article(key, "f", f"https://x.test/{key}", key, "Body.", published, fetched)
            )
        rows = store.query(
            "SELECT article_id, published, published_fallback FROM articles ORDER BY 1"
        )
        got = {
            r.article_id: (r.published.isoformat(), r.published_fallback) for r in rows.itertuples()
        }
        assert got == {
            "aware": ("2026-08-05T23:00:00+00:00", False),
            "naive": ("2026-08-05T23:00:00+00:00", False),
            "none": ("2026-09-01T08:00:00+00:00", True),
        }


# -- stories, copies and tone ----------------------------------------------------------------


def test_a_story_counts_once_in_the_period_of_its_first_copy_with_tone_per_story() -> None:
    store = Store(":memory:")
    # Story S runs Friday of week 1 (tone +0.8); three syndicated copies run in week 2 (-0.4).
    add(store, "s", at("2026-08-07"), one_story("FIX", 0.8))
    for n in range(3):
        add(store, f"s-copy{n}", at("2026-08-11"), one_story("FIX", -0.4), cluster="s")
    add(store, "t", at("2026-08-05"), one_story("FIX", -0.2))  # story T, week 1
    frame = store.trends("FIX", freq="W")
    assert frame["period"].tolist() == [date(2026, 8, 3)]  # nothing in week 2
    row = frame.iloc[0]
    assert (row["theme"], row["stories"], row["share"]) == (SMALL, 2, 1.0)
    # per story: S = mean(0.8, -0.4, -0.4, -0.4) = -0.1, T = -0.2; per copy it would be -0.12
    assert row["sentiment"] == pytest.approx(-0.15)


def test_a_market_wrap_gives_each_ticker_only_the_themes_of_its_own_sentences() -> None:
    store = Store(":memory:")
    wrap = analysis(
        [
            ("FIX rose as small caps rallied.", 0.8, [SMALL]),
            ("NVDA gained on AI chip demand.", 0.5, [AI]),
            ("EME ended flat.", 0.0, []),
        ],
        {"TICKER:FIX": ([0], 0.6), "TICKER:NVDA": ([1], 0.5), "TICKER:EME": ([2], 0.3)},
    )
    add(store, "wrap", at("2026-08-05"), wrap)
    assert store.trends("FIX")["theme"].tolist() == [SMALL]
    assert store.trends("NVDA")["theme"].tolist() == [AI]
    assert store.trends("EME").empty
    article_scope = store.trends("EME", scope="article")
    assert sorted(article_scope["theme"]) == [AI, SMALL]
    by_entity = store.trends(theme=SMALL, by="entity")
    assert by_entity[["type", "entity"]].values.tolist() == [["TICKER", "FIX"]]
    flags = store.query(
        "SELECT entity_id, theme_id, shared_sentence, shared_sentiment FROM entity_themes "
        "ORDER BY 1, 2"
    )
    fix = flags[flags["entity_id"] == "FIX"]
    assert fix[["theme_id", "shared_sentence"]].values.tolist() == [[AI, False], [SMALL, True]]
    assert pd.isna(fix["shared_sentiment"].iloc[0]) and fix["shared_sentiment"].iloc[1] == 0.8


def test_entities_match_by_type_as_well_as_id() -> None:
    store = Store(":memory:")
    act = analysis(
        [("The IRA credits were extended.", 0.4, ["fiscal_policy"])], {"POLICY:IRA": ([0], 0.9)}
    )
    stock = analysis([("IRA beat estimates.", 0.6, ["earnings"])], {"TICKER:IRA": ([0], 0.9)})
    add(store, "act", at("2026-08-05"), act)
    add(store, "stock", at("2026-08-05"), stock)
    assert store.trends("POLICY:IRA")["theme"].tolist() == ["fiscal_policy"]
    assert store.trends("ticker:ira")["theme"].tolist() == ["earnings"]
    with pytest.raises(StoreError, match="several types; say which: POLICY:IRA, TICKER:IRA"):
        store.trends("IRA")


# -- momentum ---------------------------------------------------------------------------------


def test_trend_momentum_is_change_and_zscore_against_the_trailing_weeks() -> None:
    store = Store(":memory:")
    mondays = [date(2026, 8, 3) + timedelta(weeks=w) for w in range(6)]
    per_week = [1, 2, 1, 2, 0, 5]  # week 5 has no story at all
    for week, count in enumerate(per_week):
        for n in range(count):
            day = mondays[week] + timedelta(days=1)
            add(store, f"w{week}-{n}", at(day.isoformat()), one_story("FIX", 0.1))
    frame = store.trends("FIX", freq="W")
    assert frame["period"].tolist() == [m for m, c in zip(mondays, per_week, strict=True) if c]
    last = frame.iloc[-1]
    assert last["stories"] == 5 and last["change"] == 5  # vs 0 in the empty week
    trailing = pd.Series([1, 2, 1, 2, 0])
    assert last["zscore"] == pytest.approx((5 - trailing.mean()) / trailing.std(), abs=0.01)
    assert pd.isna(frame.iloc[1]["zscore"])  # fewer than 3 weeks behind it
    # a start date keeps the momentum computed from the weeks before it
    tail = store.trends("FIX", freq="W", start="2026-09-07")
    assert tail["period"].tolist() == [mondays[5]]
    assert tail.iloc[0]["zscore"] == pytest.approx(last["zscore"])
    store.optimize()  # rewrites the fact tables in entity order: same answers
    pd.testing.assert_frame_equal(store.trends("FIX", freq="W"), frame)


# -- point in time ---------------------------------------------------------------------------


def test_as_of_sees_only_what_was_ingested_and_analyzed_by_then() -> None:
    store = Store(":memory:")
    t1, t2, t3 = at("2026-08-05", 13), at("2026-08-06", 9), at("2026-08-07", 9)
    first = one_story("FIX", 0.5, SMALL)
    add(store, "a", at("2026-08-05"), first, seen=t1, version="v1", analyzed=t1)
    # a new model re-reads article a the next morning and finds a different narrative
    store.save_analyses([("a", one_story("FIX", -0.5, AI))], "v2", None, analyzed_at=t2)
    add(store, "b", at("2026-08-04"), one_story("FIX", 0.3, SMALL), seen=t3, analyzed=t3)

    def themes(as_of: datetime | None) -> list[tuple[str, int]]:
        frame = store.trends("FIX", freq="M", as_of=as_of)
        return list(zip(frame["theme"], frame["stories"], strict=True))

    assert themes(t1 - timedelta(minutes=1)) == []
    assert themes(t1) == [(SMALL, 1)]
    assert themes(t2 + timedelta(minutes=1)) == [(AI, 1)]
    assert sorted(themes(None)) == [(AI, 1), (SMALL, 1)]
    # earlier model outputs are kept, marked superseded
    versions = store.query(
        "SELECT model_versions, superseded_at IS NULL AS current FROM analyses "
        "WHERE article_id = 'a' ORDER BY analyzed_at"
    )
    assert versions.values.tolist() == [["v1", False], ["v2", True]]
    assert store.counts()["analyses"] == 2  # current analyses: a (v2) and b
    listed = store.articles(as_of=t2 + timedelta(minutes=1))
    assert listed["article_id"].tolist() == ["a"] and listed["themes"][0].tolist() == [AI]
    top = store.top("tickers", since="2026-08-01", until="2026-08-08", as_of=t1, min_stories=1)
    assert top[["entity", "stories"]].values.tolist() == [["FIX", 1]]


def test_a_copy_seen_later_does_not_move_a_story_in_the_past() -> None:
    """As of before the earlier-dated copy was seen, the story dates from the copy then known."""
    store = Store(":memory:")
    seen_early, seen_late = at("2026-08-12"), at("2026-08-20")
    add(store, "s", at("2026-08-11"), one_story("FIX", 0.2), seen=seen_early)
    add(store, "s-early", at("2026-08-04"), one_story("FIX", 0.2), cluster="s", seen=seen_late)
    assert store.trends("FIX", as_of=seen_early)["period"].tolist() == [date(2026, 8, 10)]
    assert store.trends("FIX")["period"].tolist() == [date(2026, 8, 3)]


# -- top, co-mentions, articles ---------------------------------------------------------------


def test_top_ranks_what_is_rising_with_a_volume_guard() -> None:
    store = Store(":memory:")
    # four quiet weeks of AI stories (2 a week), then a burst of small-cap stories
    for week in range(4):
        for n in range(2):
            add(
                store, f"ai{week}{n}", at(f"2026-08-{3 + 7 * week:02d}"), one_story("NVDA", 0.2, AI)
            )
    for n in range(4):
        add(store, f"sc{n}", at("2026-08-31"), one_story("FIX", 0.6, SMALL))
    add(store, "ai-now", at("2026-08-31"), one_story("NVDA", 0.2, AI))
    top = store.top("themes", since="2026-08-31", until="2026-09-07", min_stories=1)
    assert top["theme"].tolist() == [SMALL, AI]
    assert top.iloc[0][["stories", "previous", "baseline", "change"]].tolist() == [4, 0, 0.0, 4]
    assert top.iloc[0]["zscore"] == pytest.approx(4.0)  # (4 - 0) / max(0, sqrt(0), 1)
    # AI: 1 story vs 2 in each earlier week; std 0, so the spread is sqrt(2)
    assert top.iloc[1]["zscore"] == pytest.approx(round(-1 / 2**0.5, 2))
    guarded = store.top("themes", since="2026-08-31", until="2026-09-07", min_stories=2)
    assert guarded["theme"].tolist() == [SMALL]


def test_comentions_count_stories_together_and_their_lift() -> None:
    store = Store(":memory:")

    def story(key: str, tickers: list[str]) -> None:
        sentences = [(f"{t} was in the news.", 0.1, [SMALL] if t == "FIX" else []) for t in tickers]
        ents = {f"TICKER:{t}": ([i], 0.5) for i, t in enumerate(tickers)}
        add(store, key, at("2026-08-05"), analysis(sentences, ents))

    story("one", ["FIX", "EME"])
    story("two", ["FIX", "NVDA"])
    story("three", ["NVDA"])
    story("four", ["NVDA", "AMD"])
    frame = store.comentions("FIX").set_index("id")
    # 4 stories; FIX in 2; EME in 1 (with FIX); NVDA in 3 (1 with FIX)
    assert frame.loc["EME", ["stories", "share", "lift"]].tolist() == [1, 0.5, 2.0]
    assert frame.loc["NVDA", ["stories", "share", "lift"]].tolist() == [1, 0.5, 0.67]
    assert frame.loc[SMALL, ["kind", "stories", "lift"]].tolist() == ["theme", 2, 2.0]
    assert "AMD" not in frame.index


def test_articles_carry_tags_and_evidence_sentences() -> None:
    store = Store(":memory:")
    wrap = analysis(
        [
            ("FIX rose as small caps rallied.", 0.8, [SMALL]),
            ("NVDA gained on AI chip demand.", 0.5, [AI]),
            ("Small caps led again.", 0.6, [SMALL]),
        ],
        {"TICKER:FIX": ([0], 0.6), "TICKER:NVDA": ([1], 0.5)},
    )
    add(store, "wrap", at("2026-08-05"), wrap, feed="wire")
    add(store, "other", at("2026-08-06"), one_story("EME", 0.1), feed="blog")
    found = store.articles(entity="FIX", theme=SMALL)
    assert found["article_id"].tolist() == ["wrap"]
    assert found["evidence"][0].tolist() == ["FIX rose as small caps rallied."]
    assert found["entities"][0].tolist() == ["TICKER:FIX", "TICKER:NVDA"]
    assert store.articles(theme=SMALL, feeds=["wire"])["evidence"][0].tolist() == [
        "FIX rose as small caps rallied.",
        "Small caps led again.",
    ]
    assert store.articles(entity="NVDA", theme=SMALL).empty  # not in the same sentence
    assert store.articles(entity="NVDA", theme=SMALL, scope="article")["article_id"].tolist() == [
        "wrap"
    ]
    assert store.articles(feeds=["blog"])["article_id"].tolist() == ["other"]
    assert store.articles(since="2026-08-06")["article_id"].tolist() == ["other"]
    assert store.articles(min_relevance=0.7)["article_id"].tolist() == ["other"]  # EME 0.8
    assert store.articles(min_relevance=0.85).empty


def test_articles_page_and_can_be_dated_by_their_story() -> None:
    store = Store(":memory:")
    add(store, "first", at("2026-08-07"), one_story("FIX", 0.5))  # Friday of the week of 08-03
    add(store, "copy", at("2026-08-11"), one_story("FIX", 0.5), cluster="first")  # next Monday
    add(store, "later", at("2026-08-12"), one_story("FIX", -0.2))
    newest = store.articles(entity="FIX")["article_id"].tolist()
    assert newest == ["later", "copy", "first"]
    pages = [store.articles(entity="FIX", limit=2, offset=o)["article_id"].tolist() for o in (0, 2)]
    assert pages == [["later", "copy"], ["first"]]
    week = {"since": "2026-08-10", "until": "2026-08-17"}
    assert store.articles(**week)["article_id"].tolist() == ["later", "copy"]
    # By story, the copy belongs to its story's week (as trends counts it), not to its own.
    assert store.articles(dated_by="story", **week)["article_id"].tolist() == ["later"]
    earlier = store.articles(dated_by="story", since="2026-08-03", until="2026-08-10")
    assert earlier["article_id"].tolist() == ["copy", "first"]
    with pytest.raises(StoreError, match="unknown dated_by='day'"):
        store.articles(dated_by="day")


def test_one_article_in_full_from_its_current_analysis() -> None:
    store = Store(":memory:")
    add(store, "a", at("2026-08-05"), one_story("FIX", 0.5), seen=at("2026-08-05"))
    newer = analysis([("FIX fell hard.", -0.6, [AI])], {"TICKER:FIX": ([0], 0.9)})
    add(store, "a", at("2026-08-05"), newer, version="v2", analyzed=at("2026-08-09"))
    now = store.article("a")
    assert [s["text"] for s in now["sentences"]] == ["FIX fell hard."]
    assert now["themes"] == [{"id": AI, "score": 0.9, "sentiment": -0.6, "evidence": [0]}]
    assert now["entities"][0]["spans"] == [[0, 2]] and now["model_versions"] == "v2"
    then = store.article("a", as_of="2026-08-06")  # before the re-analysis
    assert [s["text"] for s in then["sentences"]] == ["FIX moved as the narrative went on."]
    assert then["published"] == "2026-08-05T12:00:00+00:00" and then["rotations"] == []
    with pytest.raises(StoreError, match="no analyzed article 'b'"):
        store.article("b")


def test_stored_entities_by_stories_with_search() -> None:
    store = Store(":memory:")
    for n, ticker in enumerate(["FIX", "FIX", "EME", "FIX_A"]):
        add(store, f"s{n}", at(f"2026-08-0{n + 1}"), one_story(ticker, 0.2 * (n + 1)))
    add(store, "copy", at("2026-08-09"), one_story("EME", 0.8), cluster="s2")
    every = store.entities()
    assert every[["id", "stories"]].values.tolist() == [["FIX", 2], ["EME", 1], ["FIX_A", 1]]
    assert every.loc[every["id"] == "EME", "sentiment"].tolist() == [pytest.approx(0.7)]
    assert store.entities(search="fix")["id"].tolist() == ["FIX", "FIX_A"]  # the exact id first
    assert store.entities(search="x_")["id"].tolist() == ["FIX_A"]  # `_` is no wildcard
    assert store.entities(search="Fix_a")["name"].tolist() == ["Fix_A"]  # names match too
    assert store.entities(limit=1, offset=1)["id"].tolist() == ["EME"]
    assert store.entities(entity_type="index").empty
    with pytest.raises(StoreError, match="unknown entity type 'STOCK'"):
        store.entities(entity_type="STOCK")
