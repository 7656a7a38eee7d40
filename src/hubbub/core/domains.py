"""Which names are top-level domains, from the Public Suffix List the ``publicsuffixlist``
package carries (offline; a newer release of the package brings newer endings)."""

from __future__ import annotations

from functools import cache

from publicsuffixlist import PublicSuffixList


@cache
def _suffixes() -> PublicSuffixList:
    # accept_unknown=False: an ending the list lacks ("morning") is no domain.
    return PublicSuffixList(accept_unknown=False)


def is_top_level_domain(label: str) -> bool:
    """Whether ``label`` (``io``, ``social``, ``рф`` or ``xn--p1ai``; any case) is a top-level
    domain in use."""
    label = label.lower()
    return "." not in label and bool(label) and _suffixes().is_public(label)
