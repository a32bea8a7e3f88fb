"""Article identity and near-duplicate detection (nlp_pipeline/ingest/dedup.py)."""

from __future__ import annotations

from nlp_pipeline.ingest.dedup import (
    NUM_PERM,
    NearDuplicateIndex,
    article_id,
    canonical_url,
    content_hash,
    estimated_jaccard,
    minhash,
)

STORY = (
    "Shares of mid-sized construction contractors climbed for a third straight session on "
    "Thursday as investors bet that a wave of factory and data center projects would keep "
    "order books full well into next year. The rally was led by companies that install "
    "electrical systems, heating and cooling equipment and plumbing in large commercial "
    "buildings, a corner of the market that spent much of the past decade out of favor. "
    "Executives at two of the firms told analysts on recent calls that backlogs had reached "
    "records and that customers were signing contracts earlier than usual to secure crews. "
    "One chief financial officer said the company had turned away smaller jobs in order to "
    "focus on semiconductor plants and hospital expansions, which tend to carry higher "
    "margins. Portfolio managers who own the stocks argue that the spending cycle is still "
    "young, pointing to federal incentives for domestic manufacturing and a shortage of "
    "skilled labor that limits competition. Skeptics counter that valuations already assume "
    "flawless execution and that any delay in large projects could hit earnings hard. The "
    "group now trades at roughly twenty five times expected profits, well above its long "
    "run average, according to figures compiled by a regional brokerage. Even so, trading "
    "volumes suggest that money continues to flow into the sector, and several analysts "
    "raised their price targets after the latest round of quarterly reports from the "
    "industry's largest players this month."
)

# A syndicated copy: a new dateline, two words swapped out and a different closing phrase.
EDITED = "NEW YORK (Example Wire) - " + STORY.replace("Thursday", "Friday").replace(
    "turned away", "declined"
).replace("this month.", "in recent weeks.")

UNRELATED = (
    "The central bank of a small Nordic country left its policy rate unchanged on Wednesday "
    "and said household debt remained the main risk to financial stability. Officials noted "
    "that housing prices had stabilized after a sharp decline two years ago, while consumer "
    "spending on services was recovering slowly. The governor told reporters that wage "
    "agreements reached in the spring were consistent with inflation returning to target "
    "by the end of next year, but warned that a weaker currency could push import prices "
    "higher. Economists surveyed before the decision had unanimously expected no change, "
    "and most now see the first cut arriving in the second quarter. Bond yields edged lower "
    "after the announcement, and the currency slipped against the euro. The bank also "
    "published a report on payment systems, urging lenders to invest in protections against "
    "fraud as more transactions move to mobile applications, and said it would consult on "
    "new rules for instant transfers later this autumn."
)


def test_story_fixture_is_about_two_hundred_words() -> None:
    assert 180 <= len(STORY.split()) <= 260


def test_canonical_url_drops_tracking_and_fragment() -> None:
    url = (
        "https://News.Example.COM/Markets/Story-42?utm_source=rss&utm_medium=feed"
        "&utm_campaign=daily&id=42#comments"
    )
    assert canonical_url(url) == "https://news.example.com/Markets/Story-42?id=42"


def test_canonical_url_lowercases_scheme_and_host_but_not_path() -> None:
    assert canonical_url("HTTPS://WWW.Example.com/A/B") == "https://www.example.com/A/B"


def test_canonical_url_sorts_meaningful_params() -> None:
    url = "https://example.com/search?z=last&a=first&m=mid&fbclid=abc&gclid=x"
    assert canonical_url(url) == "https://example.com/search?a=first&m=mid&z=last"


def test_canonical_url_keeps_repeated_and_blank_params() -> None:
    assert canonical_url("https://example.com/p?tag=b&tag=a&empty=") == (
        "https://example.com/p?empty=&tag=a&tag=b"
    )


def test_canonical_url_ports_and_empty_path() -> None:
    assert canonical_url("http://example.com:80") == "http://example.com/"
    assert canonical_url("https://example.com:443/x") == "https://example.com/x"
    assert canonical_url("https://example.com:8443/x") == "https://example.com:8443/x"
    assert canonical_url("  https://example.com/x  ") == "https://example.com/x"


def test_canonical_url_keeps_ipv6_brackets() -> None:
    assert canonical_url("http://[::1]:8080/a") == "http://[::1]:8080/a"


def test_article_id_stable_for_equivalent_urls() -> None:
    base = article_id("https://news.example.com/markets/story?id=7&page=2")
    variants = [
        "https://NEWS.example.com/markets/story?page=2&id=7",
        "https://news.example.com:443/markets/story?id=7&page=2#top",
        "https://news.example.com/markets/story?utm_source=x&id=7&page=2&utm_term=y",
    ]
    for variant in variants:
        assert article_id(variant) == base
    assert len(base) == 16
    assert all(c in "0123456789abcdef" for c in base)
    # A meaningful difference gives another id.
    assert article_id("https://news.example.com/markets/story?id=8&page=2") != base
    assert article_id("https://news.example.com/markets/Story?id=7&page=2") != base


def test_content_hash_ignores_case_and_punctuation() -> None:
    assert content_hash("Fed holds rates!") == content_hash("  fed, HOLDS   rates ")
    assert content_hash("Fed holds rates") != content_hash("Fed cuts rates")


def test_minhash_shape_and_stability() -> None:
    signature = minhash(STORY)
    assert len(signature) == NUM_PERM
    assert all(isinstance(v, int) and 0 <= v < (1 << 61) - 1 for v in signature)
    assert minhash(STORY) == signature
    # Case and punctuation do not change the words, so not the signature.
    assert minhash(STORY.upper().replace(",", "")) == signature


def test_short_text_still_has_a_signature() -> None:
    assert len(minhash("Fed holds")) == NUM_PERM


def test_near_duplicate_found_unrelated_not() -> None:
    index = NearDuplicateIndex()
    index.add("story", minhash(STORY), cluster_id="cluster-1")
    index.add("other", minhash(UNRELATED))
    assert len(index) == 2
    assert estimated_jaccard(minhash(STORY), minhash(EDITED)) >= 0.6
    assert index.find(minhash(EDITED)) == "cluster-1"
    assert index.find(minhash(UNRELATED)) == "other"
    lone = NearDuplicateIndex()
    lone.add("story", minhash(STORY))
    assert lone.find(minhash(UNRELATED)) is None
    assert estimated_jaccard(minhash(STORY), minhash(UNRELATED)) < 0.2


def test_cluster_defaults_to_key() -> None:
    index = NearDuplicateIndex()
    index.add("first-article", minhash(STORY))
    assert index.find(minhash(EDITED)) == "first-article"


OTHER_STORY = (
    "A regional grocery chain said on Monday it would close eleven stores in rural counties "
    "after rising rents and thinner margins on fresh produce cut into profits, and that it "
    "would offer affected staff positions at larger locations within driving distance. The "
    "company also plans to open two warehouse outlets next spring and expand home delivery."
)
THIRD_STORY = (
    "Copper prices touched a four month high in London trading as smelters in South America "
    "reported output disruptions and warehouse stocks tracked by the exchange kept falling. "
    "Traders said buying from fabricators picked up ahead of the holiday season, while a "
    "softer dollar made the metal cheaper for holders of other currencies."
)


def test_window_drops_articles_older_than_the_newest_by_more_than_it() -> None:
    from datetime import UTC, datetime, timedelta

    day = datetime(2026, 3, 1, tzinfo=UTC)
    index = NearDuplicateIndex(window=timedelta(days=30))
    index.add("march", minhash(STORY), published=day)
    index.add("undated", minhash(OTHER_STORY))  # no date: kept for the index's life
    index.add("april", minhash(UNRELATED), published=day + timedelta(days=29))
    assert index.find(minhash(EDITED)) == "march"  # 29 days: still inside the window
    index.add("may", minhash(THIRD_STORY), published=day + timedelta(days=31))
    assert len(index) == 3 and index.find(minhash(EDITED)) is None  # march left
    assert index.find(minhash(UNRELATED)) == "april"
    assert index.find(minhash(OTHER_STORY)) == "undated"
    # An article already older than the window is matched against it but not kept.
    index.add("late-copy", minhash(STORY), published=day)
    assert len(index) == 3 and index.find(minhash(STORY)) is None
    # A key added twice is indexed once: removing it leaves no bucket behind.
    index.add("april", minhash(UNRELATED), published=day + timedelta(days=29))
    index.add("june", minhash(THIRD_STORY), published=day + timedelta(days=90))
    assert index.find(minhash(UNRELATED)) is None and len(index) == 2


def test_empty_text_has_no_signature_and_never_matches() -> None:
    assert minhash("") == []
    assert minhash("  ... !!! ") == []
    index = NearDuplicateIndex()
    index.add("empty", minhash(""))
    assert len(index) == 0
    index.add("story", minhash(STORY))
    assert index.find(minhash("")) is None
    assert index.find([]) is None
    assert estimated_jaccard([], []) == 0.0
    assert estimated_jaccard(minhash(STORY), []) == 0.0


def test_http_and_https_share_an_id_and_only_tracking_params_drop() -> None:
    from nlp_pipeline.ingest.dedup import article_id, canonical_url

    base = "https://News.Example.com/markets/story?id=42&page=2"
    assert article_id("http://news.example.com/markets/story?page=2&id=42") == article_id(base)
    assert article_id(base + "&utm_source=x&fbclid=abc#top") == article_id(base)
    # Parameters that can name an article are kept.
    assert article_id(base.replace("id=42", "id=43")) != article_id(base)
    assert canonical_url("https://x.test/a?ref=home&src=rss&utm_medium=feed") == (
        "https://x.test/a?ref=home&src=rss"
    )
    # The stored URL keeps the scheme it was found under.
    assert canonical_url("http://x.test/a").startswith("http://")
