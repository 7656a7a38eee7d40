"""The words a post is made of, for alerts (emerging terms, sentiment shifts) and the dashboard's
top terms; it lives here, below both features, so they count terms the same way.

English stopwords are always dropped (most posts mix some English in); a post whose language is
known also loses that language's most common function words (``STOPWORDS_BY_LANG``, short
hand-made lists for the languages most posts are in: cheap, not exhaustive).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from hubbub.core.domains import is_top_level_domain

_STOPWORD_TEXT = """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further get got had hadn't has hasn't have
    haven't having he he'd he'll he's her here here's hers herself him himself his how how's i
    i'd i'll i'm i've if in into is isn't it it's its itself just let's like me more most much
    mustn't my myself new no nor not now of off on once one only or other ought our ours
    ourselves out over own really rt same shan't she she'd she'll she's should shouldn't so some
    such than that that's the their theirs them themselves then there there's these they they'd
    they'll they're they've this those through to too under until up us very via was wasn't we
    we'd we'll we're we've were weren't what what's when when's where where's which while who
    who's whom why why's will with won't would wouldn't you you'd you'll you're you've your
    yours yourself yourselves amp http https www com today still even back
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
"""Common English words that carry no topic of their own (plus link and retweet debris)."""

_BY_LANG_TEXT = {
    "de": """aber alle als also auch auf aus bei bin bis bist das dass dem den der des die dies
        diese dieser doch dort durch ein eine einem einen einer eines für hat hatte ich ihr ihre
        im ist jetzt kann kein keine mal man mein mit nach nicht noch nur oder schon sehr sein
        sich sie sind so über um und uns unser vom von vor war was weil wenn wie wir wird zu zum
        zur""",
    "fr": """aux avec ce ces cette dans des du elle elles est et être eux il ils je la le les
        leur lui mais même mes moi mon nos notre nous ou par pas plus pour qu que qui sa sans se
        ses son sont sur ta te tes toi ton tous tout très tu un une vos votre vous était fait
        avoir comme bien aussi""",
    "es": """al algo como con del desde donde el ella ellos en entre era es esa ese eso esta
        este esto está están fue ha hay la las le les lo los más me mi muy nada ni no nos para
        pero por porque que se ser si sin sobre son su sus también te tiene todo tu un una uno
        unos ya yo""",
    "pt": """ao aos as com como da das de do dos ela ele eles em entre era essa esse está
        estão foi há isso isto já mais mas me meu minha muito na nas não no nos o os ou para
        pela pelo por que se sem ser seu sua são também tem um uma você""",
    "it": """al alla alle anche che chi ci come con da dal dalla dei del della delle di è ed
        gli ha hanno il in io la le lei lo loro lui ma mi mio nel nella non noi per più poi se
        si sono su sua suo tra tu tutto un una uno questo questa quello""",
    "nl": """aan als bij dan dat de deze die dit door een en er had heb hebben het hij hoe
        ik in is je kan maar met mij naar niet nog nu of om ook op over te tot uit van voor
        was wat we wel wij zal ze zich zij zijn""",
}
STOPWORDS_BY_LANG: dict[str, frozenset[str]] = {
    lang: frozenset(text.split()) for lang, text in _BY_LANG_TEXT.items()
}
"""The most common function words of a few languages, dropped when a post is in that language
(not merged into ``STOPWORDS``: German ``die`` or ``war`` are English content words)."""

_LINK = re.compile(r"\b[a-z][a-z0-9+.\-]*://\S+|\bwww\.\S+", re.IGNORECASE)
"""Links with any scheme (``https://``, Bluesky's ``at://``) and ``www.`` ones."""
_MENTION = re.compile(r"(?<![\w.+\-])[\w.+\-]*@[\w\-]+(?:[.@][\w\-]+)*")
"""Mentions and handles whole: ``@alice.bsky.social``, ``@user@server.social`` (Mastodon's
two parts), and the same without the leading ``@`` or as an e-mail address."""
_LABEL = r"[^\W_][\w\-]*"
_ENDING = r"(?:xn--[a-z\d\-]+|[^\W\d_]{2,})"  # a top-level domain in punycode or letters
_HOST = re.compile(
    rf"(?<![\w.@/#])(?:"
    rf"(?:{_LABEL}\.)+{_ENDING}/\S*"  # a host with a path: acme.com/launch
    rf"|(?:{_LABEL}\.){{2,}}{_ENDING}\b"  # two dots or more: alice.bsky.social
    rf"|{_LABEL}\.(?P<tld>{_ENDING})\b"  # one dot: a host if the ending is a TLD
    rf")"
)
"""Bare host names and links without a scheme. With one dot and no path the ending must be a
top-level domain written in lower case (``mas.to``, ``hachyderm.io``, ``icosahedron.website``):
two words joined by a missing space (``end.Then``, ``great.Thanks``) mostly start the second
with a capital or end in a word that is no TLD (``this.morning``), and stay words."""


def _blank_host(match: re.Match[str]) -> str:
    tld = match.group("tld")
    if tld is not None and (tld != tld.lower() or not is_top_level_domain(tld)):
        return match.group(0)  # one dot, no TLD ending: two words
    return " "


_TOKEN = re.compile(r"#\w+|[^\W\d_][\w'’]*[^\W_]|[^\W\d_]", re.UNICODE)
MIN_TERM_CHARS = 3


def strip_links_and_handles(text: str) -> str:
    """``text`` with links, bare host names, @mentions and handles blanked out: their pieces
    (``bsky``, ``social``, a server's name) are not words of the post. Hashtags stay."""
    if "." not in text and "@" not in text:
        return text  # the common short post: nothing to blank out, no regex run
    if "://" in text or "www." in text.lower():
        text = _LINK.sub(" ", text)
    if "@" in text:
        text = _MENTION.sub(" ", text)
    return _HOST.sub(_blank_host, text) if "." in text else text


def terms_of(text: str, hashtags: tuple[str, ...] = ()) -> set[str]:
    """Distinct lowercased words (3+ letters, no stopwords, links or @handles) and #hashtags.

    A post counts once per term however often it repeats it, so one shouting post cannot burst.
    """
    cleaned = strip_links_and_handles(text)
    found: set[str] = set()
    for token in _TOKEN.findall(cleaned):
        word = token.lower().replace("’", "'")
        if word.startswith("#"):
            if len(word) > 1:
                found.add(word)
            continue
        if len(word) >= MIN_TERM_CHARS and word not in STOPWORDS:
            found.add(word)
    found.update("#" + tag.lower().lstrip("#") for tag in hashtags if tag.strip("#"))
    return found


def drop_stopwords(terms: Iterable[str], lang: str) -> set[str]:
    """``terms`` without the function words of ``lang`` (a primary subtag such as ``de``);
    hashtags always stay."""
    stop = STOPWORDS_BY_LANG.get(lang)
    if stop is None:
        return set(terms)
    return {t for t in terms if t.startswith("#") or t not in stop}
