"""IMAP flags ↔ the flag letters of a Maildir file name, for one folder.

System flags are upper-case letters (the table below); keywords are
lower-case letters whose meaning the folder's `dovecot-keywords` holds
(keywords.py). IMAP system flags are case-insensitive (RFC 9051 §2.3.2:
"\\SEEN" is "\\Seen"); keywords are kept as the client wrote them and
compared case-sensitively, as Dovecot does. `\\Recent` is never stored: it
is the session's business (RFC 9051 drops it, RFC 3501 §2.3.2 says clients
cannot set it), so it is ignored where a client gives it.

Letters we do not own (P "passed", anything unknown) are kept on every
rename, as Dovecot keeps them.
"""

from __future__ import annotations

from collections.abc import Iterable

from mailroom.store.errors import FlagError
from mailroom.store.keywords import LETTERS, Keywords, is_keyword

SYSTEM_FLAGS = {
    "D": "\\Draft",
    "F": "\\Flagged",
    "R": "\\Answered",
    "S": "\\Seen",
    "T": "\\Deleted",
}
"""Maildir letter → IMAP system flag (Maildir spec, and Dovecot's maildir-filename-flags.c,
which maps exactly these; P, "passed", is no IMAP flag there but is kept on rename)."""
LETTER_OF_FLAG = {flag: letter for letter, flag in SYSTEM_FLAGS.items()}
SYSTEM_FLAG_SET = frozenset(SYSTEM_FLAGS.values())
RECENT = "\\Recent"
_SYSTEM_BY_FOLDED = {flag.casefold(): flag for flag in LETTER_OF_FLAG}


def split_flags(flags: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    """(system flags, keywords) of a client's flag list; FlagError for what cannot be stored."""
    system: set[str] = set()
    keywords: set[str] = set()
    for flag in flags:
        if flag.startswith("\\"):
            if flag.casefold() == RECENT.casefold():
                continue
            known = _SYSTEM_BY_FOLDED.get(flag.casefold())
            if known is None:
                raise FlagError(f"{flag} is not a flag that can be stored")
            system.add(known)
        elif is_keyword(flag):
            keywords.add(flag)
        else:
            raise FlagError(f"{flag!r} is not a valid keyword")
    return frozenset(system), frozenset(keywords)


def info_letters(
    previous_info: str,
    system: frozenset[str],
    keywords: frozenset[str],
    mapping: Keywords,
) -> str:
    """The `:2,` info for these flags: our letters, plus the letters we do not own."""
    kept = {c for c in previous_info if c not in SYSTEM_FLAGS and c not in LETTERS}
    letters = kept | {LETTER_OF_FLAG[flag] for flag in system}
    for keyword in keywords:
        letter = mapping.letter_for(keyword)
        if letter is None:
            raise FlagError(f"keyword {keyword!r} has no letter in dovecot-keywords")
        letters.add(letter)
    return "".join(sorted(letters))


class FlagDecoder:
    """Flag letters → IMAP flags, with one shared frozenset per distinct letter string.

    A folder of 10,000 messages has a few dozen distinct flag combinations;
    sharing the sets keeps the per-message cost to one pointer.
    """

    def __init__(self, mapping: Keywords) -> None:
        self.mapping = mapping
        self._cache: dict[str, frozenset[str]] = {}

    def flags(self, info: str) -> frozenset[str]:
        found = self._cache.get(info)
        if found is None:
            system = {SYSTEM_FLAGS[c] for c in info if c in SYSTEM_FLAGS}
            found = frozenset(system | self.mapping.keywords_in(info))
            self._cache[info] = found
        return found
