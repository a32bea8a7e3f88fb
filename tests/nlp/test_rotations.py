"""Rotation flows from sentence patterns (nlp_pipeline/nlp/rotations.py)."""

from __future__ import annotations

import pytest

from nlp_pipeline.nlp.rotations import SEGMENTS, PatternRotationExtractor, sentence_flows


def flows(sentence: str) -> set[tuple[str | None, str]]:
    return {(source, target) for source, target, _ in sentence_flows(sentence)}


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "Capital flows into small and mid caps as the mega-cap tech trade fades.",
            {("MEGA_CAP", "SMALL_CAP"), ("MEGA_CAP", "MID_CAP")},
        ),
        (
            "Investors rotated out of growth stocks and into value stocks this week.",
            {("GROWTH", "VALUE")},
        ),
        ("The shift from growth to value is accelerating.", {("GROWTH", "VALUE")}),
        ("Traders favored value over growth as yields rose.", {("GROWTH", "VALUE")}),
        (
            "Hedge funds sold the Magnificent Seven to buy industrials and materials.",
            {("MEGA_CAP", "INDUSTRIALS"), ("MEGA_CAP", "MATERIALS")},
        ),
        (
            "Investors sought refuge in healthcare and consumer staples.",
            {(None, "HEALTH_CARE"), (None, "CONSUMER_STAPLES")},
        ),
        ("Rotation into cyclicals picked up after the jobs report.", {(None, "CYCLICAL")}),
        (
            "Investors dumped tech shares and bought banks.",
            {("INFORMATION_TECHNOLOGY", "FINANCIALS")},
        ),
        ("The mid-cap value ETF experienced big inflows this month.", {(None, "MID_CAP")}),
        (
            "Money is moving out of AI chip makers and into utilities.",
            {("INFORMATION_TECHNOLOGY", "UTILITIES")},
        ),
        # A quoted segment after its cue.
        (
            "Strategists told clients to rotate out of cyclical stocks and go overweight "
            "'safe-haven' names.",
            {("CYCLICAL", "DEFENSIVE")},
        ),
        (
            'Fund managers said money is moving into "small caps" this quarter.',
            {(None, "SMALL_CAP")},
        ),
        # Positioning and leadership changing hands.
        (
            "Technology-focused funds have seen solid inflows this year.",
            {(None, "INFORMATION_TECHNOLOGY")},
        ),
        ("Investors poured money into telco stocks.", {(None, "COMMUNICATION_SERVICES")}),
        ("The defensive tilt in client portfolios grew in March.", {(None, "DEFENSIVE")}),
        (
            "Energy and materials stocks have been catching up after lagging all year.",
            {(None, "ENERGY"), (None, "MATERIALS")},
        ),
        # Holdings raised or cut; one group eclipsed by another.
        (
            "Global fund managers increased their holdings of real estate stocks.",
            {(None, "REAL_ESTATE")},
        ),
        (
            "Pension funds cut their exposure to banks and raised allocations to utilities.",
            {("FINANCIALS", "UTILITIES")},
        ),
        ("Growth names are being eclipsed by defensive bets.", {("GROWTH", "DEFENSIVE")}),
        ("People are more drawn to those mega-cap stocks.", {(None, "MEGA_CAP")}),
        ("Funds built up their holdings of energy stocks.", {(None, "ENERGY")}),
        (
            "Cyclical shares advanced as investors shifted their bets toward a reopening.",
            {(None, "CYCLICAL")},
        ),
        # Size lists, examples named after a move into an unnamed group, holdings of a sector.
        (
            "ETF inflows were spread evenly across the small-, mid- and large-cap categories.",
            {(None, "SMALL_CAP"), (None, "MID_CAP"), (None, "LARGE_CAP")},
        ),
        (
            "Investors have been crowding into these stocks for years, especially momentum names.",
            {(None, "MOMENTUM")},
        ),
        (
            "Global investors raised their holdings of real estate to a five-year high.",
            {(None, "REAL_ESTATE")},
        ),
        (
            "Utilities were a popular defensive play among investors this year.",
            {(None, "UTILITIES")},
        ),
    ],
)
def test_flows_name_the_sides(sentence: str, expected: set[tuple[str | None, str]]) -> None:
    assert flows(sentence) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        # Segments without money moving.
        "Small caps outperformed the S&P 500 for a third straight week.",
        "The central bank cut rates, and banks rallied.",
        # Money leaving with no destination named is not a flow.
        "Outflows from energy funds hit a record.",
        "Cash is leaving mega caps.",
        # 'central banks' is not the financials sector.
        "Money flowed into bonds as central banks signalled cuts.",
        "Apple sold its stake to a tech company.",
        # Catching up without a segment, and a stance that is not a segment.
        "Wages are catching up with inflation.",
        "The Fed kept its hawkish stance as banks reported earnings.",
        "Banks' stance on lending to developers hardened.",
        # Attention is not money; bare safe havens are bonds and gold; a mood is not a flow.
        "Focus moves back to Big Tech earnings this week.",
        "Hedge fund launches stayed busy despite an investor shift into safe havens.",
        "Futures turn defensive ahead of Fed speakers.",
        # Stock-pick advice and acquisitions buy no segment.
        'Should You Buy These 3 "Magnificent Seven" Stocks?',
        "Investing Outlook: Buy These 4 Small-Cap Stocks Now",
        "5 Materials Stocks to Buy on Strong Momentum",
        "The insurer agreed to buy two regional banks for $2 billion.",
        "Earnings from Best Buy helped buoy retailers and consumer discretionary stocks.",
        "Three stocks with a buy rank and strong momentum characteristics to consider today.",
        # Positions are jobs as often as holdings.
        "The bank added 500 positions in its technology unit.",
        # Goods and property bought, one company acquired, a seller, an economy's growth.
        "The plant wanted to buy more materials than its suppliers could sell.",
        "He invests his money in everything from stocks to real estate.",
        "The utility group is to buy a solar energy company for $1 billion.",
        "Servicers grew by buying assets shed by larger banks.",
        "Firms should exit loss-making lines and shift to growth sectors.",
        # Rescue money and ratings are not market flows.
        "Taxpayer money poured into bailed-out banks last year.",
        "Four stocks with a Zacks Rank #2 (Buy) and strong momentum to consider today.",
        # Public money for banks and companies.
        "The state has poured billions of euros of state funds into the remaining lenders.",
        "Ministers ruled out injecting more money into the banks.",
        # A company buying a business, a stake or goods.
        "The lessor, which buys aircraft and leases them to airlines, raised its forecast.",
        "A regional fund said it had no interest in buying steelmakers or miners.",
        "I do not have the money to buy stakes in airlines.",
        "By buying Acme, the search giant moves deeper into mobile technology.",
        "The engineering group is buying into solar energy as demand shifts to Asia.",
        "The group, which bought regional airlines in 2008, now dominates the hub.",
        # "Preferred" as an adjective, options "out of the money", book value, a company name,
        # what belongs to a group.
        "The exchange remains the preferred home for most technology companies.",
        "The hub is preferred by airlines from three continents.",
        "Book value, the conglomerate's preferred measure of growth, rose 3 percent.",
        "Its strategy builds out-of-the-money put protection into positions on large-cap stocks.",
        "The jury ruled in favor of Acme Biotech Inc in the patent dispute.",
        "The new rules will feed into the banks' capital calculations.",
    ],
)
def test_no_flow_without_both_money_moving_and_a_destination(sentence: str) -> None:
    assert flows(sentence) == set()


def test_flow_confidence_is_higher_when_both_sides_are_named() -> None:
    (both,) = sentence_flows("Investors rotated out of growth stocks and into value stocks.")
    (one,) = sentence_flows("Rotation into cyclicals picked up.")
    assert both[2] > one[2]
    assert 0 < one[2] < 1 and 0 < both[2] < 1


def test_extractor_keeps_sentence_order_and_uses_known_segments() -> None:
    sentences = [
        "Nothing to see here.",
        "Capital flows into small and mid caps as the mega-cap tech trade fades.",
        "",
    ]
    out = PatternRotationExtractor().extract(sentences)
    assert [len(per) for per in out] == [0, 2, 0]
    for source, target, _ in out[1]:
        assert source in SEGMENTS and target in SEGMENTS


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        # an aside between commas after the segment
        (
            "Gold miners, where the fund holds a large overweight, still have some catching up "
            "to do.",
            {(None, "MATERIALS")},
        ),
        # a capitalised segment after "buying" is still a segment
        ("Investors kept buying Russell 2000 stocks this week.", {(None, "SMALL_CAP")}),
        ("Traders were buying value stocks rather than growth stocks.", {("GROWTH", "VALUE")}),
        # a long position taken on a group
        (
            "The fund's founder is going long next year on bank and insurance stocks.",
            {(None, "FINANCIALS")},
        ),
    ],
)
def test_flows_read_past_asides_and_company_words(
    sentence: str, expected: set[tuple[str | None, str]]
) -> None:
    assert flows(sentence) == expected
