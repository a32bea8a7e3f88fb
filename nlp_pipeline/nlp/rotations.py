"""Rotation flows: for a sentence that describes money moving, the segment it leaves and the one it
enters (`PatternRotationExtractor`, registered as `pattern_rotations`).

Segments are size buckets (`MEGA_CAP` ... `SMALL_CAP`), styles (`GROWTH`, `VALUE`, `DEFENSIVE`,
`CYCLICAL`, `MOMENTUM`, `QUALITY`) and GICS sector ids (DESIGN.md 3.2). Named groups ("AI chip
makers", "regional banks", "the Magnificent Seven") map to the nearest segment through the alias
table below. A sentence yields flows only when it says money moves (rotation, flows, piling in,
selling one thing to buy another, favouring one over another ...); each segment mention then takes
the side its nearest cue gives it ("out of", "from", "at the expense of", "... fades" leave;
"into", "toward", "in favour of", "piling into" enter), a mention joined by "and"/"or" to one with a
side shares it, and every side left pairs with every side entered. No side left named gives flows
from `None`. Rules over the text only: no model is needed, so the embedding pass is not read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol

from nlp_pipeline.nlp.encoder import EncodedSentences
from nlp_pipeline.nlp.registry import register

# (segment left or None, segment entered, confidence in [0, 1])
Flow = tuple[str | None, str, float]

# 3: defensive positioning and laggards catching up; 4: holdings raised or cut, one group
# eclipsed by another, a group rising "as investors shifted ...", and "buy" in stock-pick
# advice or an acquisition is not a flow; 5: words that are also goods or property ("materials",
# "real estate") and "momentum"/"growth" count only in their segment senses, one company is not
# a segment, rescue money is not a flow, size lists, examples after a move into a group; 6: public
# money for banks, a company buying a business, a stake or goods, "preferred" as an adjective,
# options "out of the money", book value, company names and what belongs to a group ("the banks'
# capital") are not flows or segments; an aside after a segment does not end its clause; a long
# position on a group is money going in
VERSION = "patterns-6"
SIZE_SEGMENTS = ("MEGA_CAP", "LARGE_CAP", "MID_CAP", "SMALL_CAP")
STYLE_SEGMENTS = ("GROWTH", "VALUE", "DEFENSIVE", "CYCLICAL", "MOMENTUM", "QUALITY")
SECTOR_SEGMENTS = (
    "INFORMATION_TECHNOLOGY",
    "COMMUNICATION_SERVICES",
    "CONSUMER_DISCRETIONARY",
    "CONSUMER_STAPLES",
    "ENERGY",
    "FINANCIALS",
    "HEALTH_CARE",
    "INDUSTRIALS",
    "MATERIALS",
    "REAL_ESTATE",
    "UTILITIES",
)
SEGMENTS = SIZE_SEGMENTS + STYLE_SEGMENTS + SECTOR_SEGMENTS

_N = (
    r"(?:stocks?|shares|names|companies|firms|equities|funds|etfs?|sectors?|plays|trades?|bets|"
    r"space|group|segment|index|indexes)"
)
_CAP = r"(?:[- ]?cap(?:italization)?s?|[- ]capitali[sz]ation)"
# Style nouns: "growth sectors" and "growth companies" are the economy's or a firm's growth.
_N_STYLE = r"(?:stocks?|shares|names|equities|funds|etfs?|plays|trades?|bets|index|indexes)"
# A bare word that is also a good or an asset ("buy more materials", "buy real estate") names the
# sector only beside another segment it is listed with ("industrials and materials") or as what a
# portfolio holds ("raised their holdings of real estate").
_LISTED = (
    r"(?:(?<=and )|(?<=& )|(?<=, )|(?<=or )|(?<=holdings of )|(?<=exposure to )"
    r"|(?<=allocation to )|(?<=allocations to )|(?<=overweight ))"
)
# Aliases per segment: regular expressions, matched case-insensitively on word boundaries.
SEGMENT_ALIASES: dict[str, tuple[str, ...]] = {
    "MEGA_CAP": (
        rf"mega{_CAP}(?: tech(?:nology)?)?(?: {_N})?",
        rf"(?:the )?magnificent (?:seven|7)(?: {_N})?",
        r"mag(?:nificent)? ?7",
        rf"big tech(?: {_N})?",
        r"tech(?:nology)? (?:giants|heavyweights|titans|behemoths)",
        rf"(?:the )?(?:biggest|largest) (?:tech(?:nology)? )?{_N}",
        r"trillion[- ]dollar (?:companies|club|names|stocks)",
        r"faangs?",
        r"(?:index|market) heavyweights",
        r"ai (?:darlings|giants|winners|leaders|heavyweights)",
        r"hyperscalers",
    ),
    "LARGE_CAP": (rf"large{_CAP}(?: {_N})?", r"blue[- ]chips?(?: {_N})?", r"big[- ]caps?"),
    "MID_CAP": (
        rf"mid{_CAP}(?: {_N})?",
        r"mid[- ]?sized? (?:companies|firms|stocks)",
        r"medium[- ]sized (?:companies|firms)",
        r"s&p (?:midcap )?400",
    ),
    "SMALL_CAP": (
        rf"small{_CAP}(?: {_N})?",
        rf"micro{_CAP}(?: {_N})?",
        r"small(?:er)? (?:companies|firms|stocks|names)",
        r"small[- ]company (?:stocks|shares)",
        r"russell 2000",
        r"(?:s&p )?smallcap 600",
        r"iwm",
    ),
    "GROWTH": (
        rf"growth(?:[- ]oriented)? {_N_STYLE}",
        r"high[- ]growth (?:tech(?:nology)? )?(?:stocks|names)",
    ),
    "VALUE": (rf"value {_N}", r"cheap(?:er)? stocks", r"bargain stocks"),
    "DEFENSIVE": (
        rf"defensives?(?: {_N})?",
        r"defensive (?:areas|corners|sectors)",
        # bare "safe havens" are bonds, gold and the yen: only safe-haven stocks, names, sectors
        rf"safe[- ]havens?(?=[\"'’”]? {_N}(?![\w-]))",
        rf"flight[- ]to[- ]safety(?: {_N})?",
        r"bond proxies",
        rf"low[- ]vol(?:atility)? {_N}",
    ),
    "CYCLICAL": (
        rf"cyclicals?(?: {_N})?",
        rf"(?:economically sensitive )?cyclical(?: {_N})?",
        rf"economically sensitive {_N}",
        r"reopening (?:stocks|plays|trades?)",
    ),
    "MOMENTUM": (rf"momentum {_N}", r"high[- ]fl(?:yers|ying (?:stocks|names|tech))"),
    "QUALITY": (rf"(?:high[- ])?quality {_N}",),
    "INFORMATION_TECHNOLOGY": (
        r"(?:ai )?chip ?(?:makers|stocks|companies|designers|names)",
        rf"semiconductors?(?: {_N})?",
        r"semis",
        rf"software(?: {_N}| makers)?",
        rf"tech(?:nology)?(?: {_N})?",
        r"information technology",
    ),
    "COMMUNICATION_SERVICES": (
        r"communication services",
        rf"(?:media|telecoms?|internet|social media) {_N}",
        r"telecoms",
        rf"telcos?(?: {_N})?",
    ),
    "CONSUMER_DISCRETIONARY": (
        r"consumer discretionary(?: {_N})?",
        rf"retail(?:ers| {_N})",
        r"(?:auto|car)makers",
        rf"travel {_N}",
        r"home ?builders",
        rf"luxury {_N}",
    ),
    "CONSUMER_STAPLES": (
        r"(?:consumer )?staples(?: {_N})?",
        r"(?:food|beverage|household goods?) (?:makers|companies|stocks)",
        r"grocers",
    ),
    "ENERGY": (
        rf"energy {_N}",
        # "buying into solar energy": a technology or an industry, not the sector's stocks
        r"(?<!solar )(?<!wind )(?<!nuclear )(?<!renewable )(?<!clean )(?<!green )energy",
        r"oil (?:and gas )?(?:stocks|companies|majors|producers|names)",
        r"drillers",
        r"refiners",
    ),
    "FINANCIALS": (
        rf"financials(?: {_N})?",
        rf"financial {_N}",
        r"(?:regional |big |large )?(?<!central )(?<!investment )banks",
        rf"bank {_N}",
        rf"(?:bank|insurance)(?: (?:and|&) (?:bank|insurance))? {_N}",
        r"lenders",
        r"insurers",
    ),
    "HEALTH_CARE": (
        rf"health ?care(?: {_N})?",
        rf"pharma(?:ceuticals?)?(?: {_N})?",
        r"drugmakers",
        rf"biotechs?(?: {_N})?",
        r"medical device makers",
    ),
    "INDUSTRIALS": (
        rf"industrials(?: {_N})?",
        rf"industrial {_N}",
        r"transports",
        r"airlines",
        rf"defen[cs]e (?:{_N}|contractors)",
        r"railroads",
        r"machinery makers",
    ),
    "MATERIALS": (
        rf"(?:basic )?materials {_N}",
        r"basic materials",
        _LISTED + r"materials",
        r"materials(?= (?:and|&) )",
        r"miners",
        rf"mining {_N}",
        rf"metals? (?:(?:and|&) mining|{_N})",
        r"chemical (?:makers|companies|stocks)",
        r"steelmakers",
    ),
    "REAL_ESTATE": (
        rf"real estate {_N}",
        _LISTED + r"real estate",
        r"real estate(?= (?:and|&) )",
        r"reits?",
        rf"property {_N}",
    ),
    "UTILITIES": (rf"utilit(?:y {_N}|ies)(?: {_N})?", r"power producers"),
}
# "small and mid caps", "small- and mid-cap stocks": two size segments in one phrase.
_SIZE_WORD = {"mega": "MEGA_CAP", "large": "LARGE_CAP", "mid": "MID_CAP", "small": "SMALL_CAP"}
_SIZE_PAIR = re.compile(
    r"(?<!\w)(mega|large|mid|small)-?,?\s+(?:(mega|large|mid|small)-?,?\s+)?(?:and|&|or|to)\s+"
    r"(mega|large|mid|small)" + _CAP + rf"(?: {_N})?(?!\w)",
    re.IGNORECASE,
)
# Bare "growth"/"value" count as styles only when the sentence names both ("from growth to value").
_BARE_STYLE = re.compile(r"(?<![\w-])(?<!book )(growth|value)(?![\w-])", re.IGNORECASE)


_NOT_ATTENTION = r"(?<!focus )(?<!attention )(?<!spotlight )(?<!focus has )(?<!attention has )"
# A portfolio's weight in a segment changing: "raised their holdings of", "cut exposure to".
# Not "positions", which are jobs as often ("added 500 positions in its technology unit").
_HOLDINGS = r"(?:[a-z]+ ){0,2}(?:holdings?|allocations?|exposure|weightings?)"
_RAISE = r"(?:increas|rais|boost|lift|add|build|built)(?:e|es|ed|ing|s)?"
_CUT = r"(?:cut(?:s|ting)?|reduc(?:e|es|ed|ing)|trim(?:s|med|ming)?|lower(?:s|ed|ing)?|slash\w*)"
# "buy" that moves no money between segments: stock-pick advice ("Should You Buy ...", "3 Stocks
# to Buy"), acquisitions ("plans to buy an oil producer"), ratings ("Strong Buy") and Best Buy.
# Removed before the cue search.
_NOT_A_FLOW_BUY = re.compile(
    r"(?:\bshould (?:you|i|investors) |\bwhy (?:you|investors) should |\btime to "
    r"|(?:^|[:!?])\W*)buy\b"
    r"|\b(?:plans?|planned|agree[sd]?|agreement|offer(?:s|ed)?|deal|bids?|move|attempt|talks|"
    r"discussions|eligible|interest in) "
    r"to (?:buy|acquire)\b|\bto buy\W*$|\bbuy the dip\b|\bstocks? to buy\b|\bbefore you buy\b"
    # a company buying a stake, a business or goods: "buy stakes in airlines", "buys aircraft",
    # "bought Northwest Airlines", "by buying Waze"
    r"|\b(?:buy(?:s|ing)?|bought) (?:out|up to|half|control|a stake|stakes|(?:a )?majority|"
    r"slots|aircraft|planes|assets|propert(?:y|ies)|(?:a |an )?(?!Russell\b|S&P\b|Magnificent\b|"
    r"Mag\b|Big\b|FAANG)(?-i:[A-Z][a-z]))"
    r"|\b(?:which|that|who) (?:buys|bought)\b|\b(?:interest in|of) buying\b"
    # analysts' ratings and the retailer
    r"|\b(?:strong |a )?buy (?:rank|rating|recommendation)s?\b|\bstrong buy\b|\bbest buy\b"
    r"|\(\s*buy\s*\)"
    # "is to buy U.S. solar energy company Power-One": an acquisition announced
    r"|\b(?:is|are|was|were) to buy\b",
    re.IGNORECASE,
)


# Words that look like a cue but move no money: "the preferred home for", "preferred by
# airlines", "out-of-the-money" options. Removed before the cue search, like the "buy" phrases.
_NOT_A_CUE = re.compile(
    r"\b(?:the|a|an|its|their|his|her|our|'s) (?:most )?preferred\b"
    r"|\bpreferred (?:by|stock|shares)\b|\b(?:out|in|at)-of-the-money\b|\b(?:in|at)-the-money\b",
    re.IGNORECASE,
)


def _alternatives(*parts: str) -> str:
    return "(?:" + "|".join(parts) + ")"


# "was a popular defensive play among investors": a group investors favour.
_POPULAR_PLAY = (
    r"(?:popular|favou?red|favou?rite|crowded) (?:\w+ )?(?:play|bet|trade|pick)s? "
    r"(?:among|with|for)"
)


# Money moving: without one of these the sentence has no flow.
_MOVES = re.compile(
    r"(?<!\w)"
    + _alternatives(
        r"rotat\w*",
        r"flow(?:s|ed|ing)? (?:in)?to",
        r"inflows?",
        r"outflows?",
        r"pour(?:s|ed|ing)?",
        r"pil(?:e|es|ed|ing) (?:in|into|back)",
        r"crowd(?:s|ed|ing)? in(?:to)?",
        _POPULAR_PLAY + r" (?:investors|traders|funds|fund managers)",
        r"money",
        r"cash",
        r"capital",
        r"flock(?:s|ed|ing)?",
        r"shift(?:s|ed|ing)?",
        r"switch(?:es|ed|ing)?",
        r"swap(?:s|ped|ping)?",
        _NOT_ATTENTION + r"mov(?:e|es|ed|ing) (?:out|in|away|from|back)",
        r"migrat\w*",
        r"reallocat\w*",
        r"redeploy\w*",
        r"dump(?:s|ed|ing)?",
        r"ditch(?:es|ed|ing)?",
        r"buy(?:s|ing)?",
        r"bought",
        r"favou?r(?:s|ed|ing)?",
        r"prefer\w*",
        r"at the expense of",
        r"in favou?r of",
        r"broaden\w*",
        r"(?:seek|sought|seeking|find|found|finding) (?:refuge|shelter|safety)",
        r"safety of",
        r"crav(?:e|es|ed|ing)",
        r"drawn to",
        r"hid(?:e|ing) (?:out )?in",
        r"flight[- ]to",
        r"chas(?:e|es|ed|ing)",
        r"buyers?",
        r"trade (?:fades|faded|fading|unwinds|unwound)",
        # positioning: "a more defensive stance"
        r"(?:stance|posture|positioning|tilt)",
        # a position taken: "being long on bank stocks"
        r"(?:go(?:es|ing)?|went|gone|being|be|are|is|stay(?:s|ed|ing)?|turn(?:s|ed|ing)?) long",
        # leadership changing hands: "laggards play catch-up"
        r"catch(?:es|ing)?[- ]up",
        r"caught up",
        _RAISE + " " + _HOLDINGS,
        _CUT + " " + _HOLDINGS,
        r"(?:eclips|overtak|supplant)(?:ed|en) by",
    )
    + r"(?!\w)",
    re.IGNORECASE,
)
# A segment may open with a quote mark: turn overweight (on) 'flight-to-safety' trades.
_OPENING = r"""\s*["'‘“]?\s*$"""
_FILLER = r"(?:\s+[\w'’&.-]+){0,5}?" + _OPENING
_DETERMINERS = (
    r"(?:\s+(?:the|their|its|crowded|expensive|richly valued|pricey|high-flying|so-called|some|all|"
    r"cheaper|beaten-down|unloved|overlooked|lagging|smaller|more|other)){0,2}" + _OPENING
)
_LEAVE_BEFORE = re.compile(
    _alternatives(
        r"out of",
        r"away from",
        r"from",
        r"exit(?:s|ed|ing)?",
        r"sell(?:s|ing)?",
        r"sold",
        r"dump(?:s|ed|ing)?",
        r"ditch(?:es|ed|ing)?",
        r"trim(?:s|med|ming)?",
        r"outflows? (?:from|out of)",
        r"at the expense of",
        r"over",
        r"instead of",
        r"rather than",
        r"unwind(?:s|ing)?",
        r"leav(?:e|es|ing)",
        r"abandon(?:s|ed|ing)?",
        r"shun(?:s|ned|ning)?",
        r"underweight",
        # "buying assets shed by larger banks": the segment is the seller
        r"(?:shed|sold|offloaded|divested|dumped|spun off) by(?: (?:larger|bigger|weaker))?",
        _CUT + " " + _HOLDINGS + r" (?:of|in|to)",
    )
    + _DETERMINERS,
    re.IGNORECASE,
)
_MOVE_WORD = _alternatives(
    r"rotat\w*",
    r"shift\w*",
    _NOT_ATTENTION + r"mov(?:e|es|ed|ing)",
    r"switch\w*",
    r"flock\w*",
    r"turn(?:s|ed|ing)?",
    r"migrat\w*",
    r"broaden\w*",
    r"money",
    r"cash",
    r"capital",
    r"flows?",
    r"appetite",
)
_ENTER_BEFORE = re.compile(
    _alternatives(
        r"in ?to" + _FILLER,
        r"in favou?r of" + _FILLER,
        r"buy(?:s|ing)?" + _FILLER,
        r"bought" + _FILLER,
        r"favou?r(?:s|ed|ing)?" + _DETERMINERS,
        r"prefer(?:s|red|ring|ence for)?" + _FILLER,
        r"inflows? (?:to|for)" + _DETERMINERS,
        r"(?:in)?flows?(?:\s+[\w'’-]+){0,4}?\s+(?:into|across)" + _DETERMINERS,
        r"add(?:s|ed|ing)?" + _DETERMINERS,
        r"chas(?:e|es|ed|ing)" + _DETERMINERS,
        r"(?:refuge|shelter|safety|hid(?:e|ing)) in" + _DETERMINERS,
        r"(?:relative )?safety of" + _DETERMINERS,
        r"crav(?:e|es|ed|ing)" + _FILLER,
        r"drawn to(?: (?:those|these))?" + _DETERMINERS,
        r"overweight(?: \(?on\)?)?" + _DETERMINERS,
        r"embrac(?:e|es|ed|ing)" + _DETERMINERS,
        r"(?:scoop|snap)(?:s|ped|ping|ed)? up" + _DETERMINERS,
        r"beyond" + _DETERMINERS,
        r"long(?:\s+[\w'’-]+){0,3}?\s+(?:on|in)" + _DETERMINERS,
        _RAISE + " " + _HOLDINGS + r" (?:of|in|to)" + _DETERMINERS,
        r"(?:eclips|overtak|supplant)(?:ed|en) by" + _DETERMINERS,
    ),
    re.IGNORECASE,
)
# "shift from growth to value": "to" enters only after a word of moving, searched over the clause.
_ENTER_TO = re.compile(
    _MOVE_WORD + r"(?:\s+[\w'’-]+){0,4}?\s+(?:back )?(?:to|towards?)" + _DETERMINERS,
    re.IGNORECASE,
)
# "gold miners, where he has a strong overweight, still have some catching up to do": an aside
# between commas after a segment does not end its clause.
_ASIDE = r"(?:\s*,[^,;]{1,60},)?"
_LEAVE_AFTER = re.compile(
    r"^"
    + _ASIDE
    + r"\W*(?:(?:trade|rally|leadership|names|stocks|shares|giants)\s+)?(?:\w+\s+){0,1}"
    + _alternatives(
        r"fades?",
        r"faded",
        r"fading",
        r"los(?:e|es|t|ing) (?:favou?r|steam|momentum|ground)",
        r"fell out of favou?r",
        r"(?:are|were|was|is) (?:sold|dumped|shunned|abandoned)",
        r"unwinds?",
        r"unwound",
        r"cool(?:s|ed|ing)?",
        r"(?:saw|see|suffer(?:ed)?) outflows",
        r"(?:have |has )?(?:seen|had|posted|suffered) (?:\w+ ){0,4}outflows",
        r"bled",
        r"bleed",
        r"(?:(?:are|is|were|was|have been|has been) )?(?:being )?"
        r"(?:eclips|overtak|supplant)(?:ed|en) by",
    ),
    re.IGNORECASE,
)
_ENTER_AFTER = re.compile(
    r"^"
    + _ASIDE
    + r"\W*(?:(?:\w+\s+){0,2})"
    + _alternatives(
        r"gain(?:s|ed|ing)? favou?r",
        r"attract(?:s|ed|ing)? (?:buyers|inflows|money|cash|capital)",
        r"(?:saw|see|sees|seen|drew|draw|draws|drawing|pull(?:s|ed)? in|experienc(?:e|es|ed|ing)|"
        r"post(?:s|ed)?|record(?:s|ed)?|log(?:s|ged)?|had) (?:\w+ ){0,2}inflows?",
        r"(?:are|were|was|is) (?:bought|in favou?r)",
        r"(?:are|were|was|is|has been|have been) (?:\w+ )?(?:a |the )?" + _POPULAR_PLAY,
        r"(?:(?:have|has) been |are |were |is |was )?(?:(?:some|more|much|a lot of) )?"
        r"(?:catch(?:es|ing)?[- ]up|caught up|"
        r"play(?:s|ed|ing)? catch[- ]up)",
        # "cyclical shares advancing as investors shifted their bets": the group money lifts
        r"(?:advanc|ris|rall|gain|climb|jump|outperform|surg)\w* (?:\w+ ){0,3}?as investors "
        r"(?:shift|rotat|pil|flock|pour|switch|redeploy|reallocat)\w*",
    ),
    re.IGNORECASE,
)
# A style stance is a position taken: "a more defensive stance", "the value tilt".
_STYLE_STANCE = re.compile(r"^\s*(?:stance|posture|positioning|tilt)\b", re.IGNORECASE)
_JOIN = re.compile(
    r"^\s*(?:,\s*(?:and|or)?|and|or|&|as well as|plus)\s*(?:the\s+)?$", re.IGNORECASE
)
_CLAUSE = re.compile(r"[;:]|,\s*(?:while|but|as|and)\b|\b(?:while|but|whereas|as)\b", re.IGNORECASE)
# "piling into these stocks, particularly the biggest momentum names": the examples named after a
# move into an unnamed group are where the money went.
_EXAMPLES = re.compile(
    r"\b(?:particularly|especially|notably|including|such as|mainly|mostly)"
    r"(?:\s+(?:some|many|several|a few|one) of)?(?:\s+the\s+(?:biggest|largest|hottest))?"
    + _DETERMINERS,
    re.IGNORECASE,
)
_MOVED_INTO = re.compile(
    r"\b(?:pil(?:e|es|ed|ing)|pour(?:s|ed|ing)?|flock(?:s|ed|ing)?|rotat\w*|shift\w*|"
    r"mov(?:e|es|ed|ing)|crowd(?:s|ed|ing)?|flow(?:s|ed|ing)?)\s+(?:(?:money|cash|capital)\s+)?"
    r"in(?:to)?\b",
    re.IGNORECASE,
)
LEAVE, ENTER = "leave", "enter"


@dataclass
class _Mention:
    start: int
    end: int
    segment: str
    side: str | None = None


# "technology-focused funds": a segment word made into a fund's or stock's focus.
_FOCUSED = rf"(?:-(?:focused|oriented|heavy|related|linked) {_N})?"


# "a solar energy company", "a real estate firm": one company, not the segment.
_ONE_COMPANY = (
    r"(?! (?:company|firm|group|producer|maker|business|unit|division|subsidiary|"
    r"inc|corp|co|ltd|llc|plc|ag|sa|nv)\b)"
    # "the banks' capital calculations": what belongs to the group, not the group
    r"(?!['’]s\s)(?!(?<=s)['’]\s)"
)


def _alias_pattern(aliases: Sequence[str]) -> re.Pattern[str]:
    return re.compile(
        r"(?<![\w-])(?:" + "|".join(aliases) + r")" + _FOCUSED + r"(?![\w-])" + _ONE_COMPANY,
        re.IGNORECASE,
    )


_PATTERNS = {segment: _alias_pattern(aliases) for segment, aliases in SEGMENT_ALIASES.items()}


def segment_mentions(sentence: str) -> list[_Mention]:
    """Segment mentions, longest first where they overlap; "mega-cap tech" is one mention (the
    first word of a compound names the segment)."""
    found: list[_Mention] = []
    for match in _SIZE_PAIR.finditer(sentence):
        for group in (1, 2, 3):
            if match.group(group):
                found.append(
                    _Mention(match.start(), match.end(), _SIZE_WORD[match.group(group).lower()])
                )
    for segment, pattern in _PATTERNS.items():
        for match in pattern.finditer(sentence):
            found.append(_Mention(match.start(), match.end(), segment))
    bare = list(_BARE_STYLE.finditer(sentence))
    if {m.group(1).lower() for m in bare} == {"growth", "value"}:
        for match in bare:
            found.append(_Mention(match.start(), match.end(), match.group(1).upper()))
    found.sort(key=lambda m: (m.start, -(m.end - m.start)))
    kept: list[_Mention] = []
    for mention in found:
        if kept and mention.start < kept[-1].end:
            same_span = (mention.start, mention.end) == (kept[-1].start, kept[-1].end)
            if same_span and mention.segment != kept[-1].segment:
                kept.append(mention)  # a size pair: two segments, one phrase
            continue
        if (
            kept
            and sentence[kept[-1].end : mention.start] in (" ", "-")
            and not (mention.segment in STYLE_SEGMENTS and kept[-1].segment in STYLE_SEGMENTS)
        ):
            kept[-1].end = mention.end  # compound ("mega-cap tech"): the first word decides
            for earlier in kept[:-1]:
                if (earlier.start, earlier.end) == (kept[-1].start, mention.start):
                    earlier.end = mention.end
            continue
        kept.append(mention)
    return kept


def _clause_start(sentence: str, position: int) -> int:
    start = 0
    for match in _CLAUSE.finditer(sentence, 0, position):
        start = match.end()
    return start


def assign_sides(sentence: str, mentions: list[_Mention]) -> None:
    previous_end = 0
    for mention in mentions:
        clause = sentence[_clause_start(sentence, mention.start) : mention.start][-80:]
        left = sentence[max(_clause_start(sentence, mention.start), previous_end) : mention.start]
        left = left[-60:]
        right = sentence[mention.end : mention.end + 100]
        if _LEAVE_BEFORE.search(left):
            mention.side = LEAVE
        elif _ENTER_BEFORE.search(left) or _ENTER_TO.search(clause):
            mention.side = ENTER
        elif _LEAVE_AFTER.search(right):
            mention.side = LEAVE
        elif (
            _ENTER_AFTER.search(right)
            or (mention.segment in STYLE_SEGMENTS and _STYLE_STANCE.search(right))
            or (_EXAMPLES.search(left) and _MOVED_INTO.search(sentence, 0, mention.start))
        ):
            mention.side = ENTER
        previous_end = mention.end
    # "out of utilities and staples": a joined mention shares its neighbour's side.
    for before, after in pairwise(mentions):
        joined = _JOIN.match(sentence[before.end : after.start])
        same_phrase = (before.start, before.end) == (after.start, after.end)
        if (joined or same_phrase) and after.side is None and before.side is not None:
            after.side = before.side
    for before, after in zip(reversed(mentions[:-1]), reversed(mentions[1:]), strict=False):
        if _JOIN.match(sentence[before.end : after.start]) and before.side is None:
            before.side = after.side


# Public money rescuing banks ("poured into weak Spanish banks", recapitalisation): no market flow.
_RESCUE = re.compile(
    r"\b(?:bail(?:ed|ing)?[- ]?outs?|recapitali[sz]\w*|rescue (?:fund|package|loan)s?|"
    r"capital shortfalls?|state (?:funds|money|aid)|government money|taxpayers?'? money|"
    r"inject(?:s|ed|ing)? (?:\w+ ){0,3}(?:money|cash|capital|funds)|(?:fresh|emergency) liquidity|"
    r"(?:money|cash|capital|liquidity) (?:\w+ ){0,2}to (?:the )?banks)\b",
    re.IGNORECASE,
)


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group())  # keep offsets: mentions are found in the same text


def sentence_flows(sentence: str) -> list[Flow]:
    lower = sentence.lower()
    # the substitutions run only where their words are (most sentences have none)
    if "buy" in lower or "bought" in lower:
        sentence = _NOT_A_FLOW_BUY.sub(_blank, sentence)
    if "preferred" in lower or "the-money" in lower:
        sentence = _NOT_A_CUE.sub(_blank, sentence)
    if not _MOVES.search(sentence) or _RESCUE.search(sentence):
        return []
    mentions = segment_mentions(sentence)
    if not mentions:
        return []
    assign_sides(sentence, mentions)
    entered = list(dict.fromkeys(m.segment for m in mentions if m.side == ENTER))
    left = list(dict.fromkeys(m.segment for m in mentions if m.side == LEAVE))
    flows: list[Flow] = []
    for target in entered:
        sources = [s for s in left if s != target]
        if sources:
            flows.extend((source, target, 0.9) for source in sources)
        elif target not in left:
            flows.append((None, target, 0.7))
    return flows


class PatternRotationExtractor:
    """Rotation flows per sentence from patterns over the text (see the module docstring)."""

    version = VERSION

    def extract(
        self, sentences: Sequence[str], encoded: EncodedSentences | None = None
    ) -> list[list[Flow]]:
        return [sentence_flows(sentence) for sentence in sentences]


class RotationExtractor(Protocol):
    version: str

    def extract(self, sentences: Sequence[str], encoded: EncodedSentences) -> list[list[Flow]]:
        """For each sentence, the flows it describes."""
        ...


class NoRotations:
    version = "none"

    def extract(self, sentences: Sequence[str], encoded: EncodedSentences) -> list[list[Flow]]:
        return [[] for _ in sentences]


@register("rotations", "no_rotations")
def _no_rotations(models_dir: Path, options: Mapping[str, Any]) -> NoRotations:
    return NoRotations()


@register("rotations", "pattern_rotations")
def _pattern_rotations(models_dir: Path, options: Mapping[str, Any]) -> PatternRotationExtractor:
    return PatternRotationExtractor()
