"""Dovecot's `dovecot-keywords`: which IMAP keyword each Maildir flag letter means.

A Maildir file name carries flags after `:2,`. Upper-case letters are the
Maildir system flags; Dovecot uses the lower-case letters for IMAP keywords
(RFC 9051 §2.3.2): `a` is the keyword with index 0, `b` index 1, … `z` index
25, and the folder's `dovecot-keywords` says which keyword has which index.
So there can be at most 26 keywords in one Maildir folder (Dovecot's
MAILDIR_MAX_KEYWORDS); a 27th is refused with TooManyKeywords.

The file, as Dovecot 2.3.19.1 wrote it for the fixture in
tests/store/fixtures/dovecot-2.3/Maildir/dovecot-keywords:

    0 $Forwarded
    1 Junk
    2 NonJunk
    3 $Label1

One `<index> <keyword>` line each, LF-terminated. Keywords are compared
case-sensitively, as Dovecot's index does. Changes take the dotlock
`dovecot-keywords.lock` and replace the file atomically (see uidlist.py).
Hand-written: no library reads this format.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mailroom.store.uidlist import LOCK_WAIT_SECONDS, DotLock

FILE_NAME = "dovecot-keywords"
MAX_KEYWORDS = 26
"""Dovecot's MAILDIR_MAX_KEYWORDS: one lower-case letter per keyword."""
LETTERS = "abcdefghijklmnopqrstuvwxyz"
# RFC 9051 §9: flag-keyword = atom; atom-specials exclude "(" ")" "{" SP CTL
# list-wildcards quoted-specials resp-specials.
_NOT_IN_ATOM = frozenset('(){ %*"\\]')


class KeywordsError(ValueError):
    """A `dovecot-keywords` that cannot be read, or a keyword that cannot be stored."""


class TooManyKeywords(KeywordsError):
    """The folder already has 26 keywords, all that Maildir file names can carry."""


def is_keyword(name: str) -> bool:
    """Whether `name` is a valid IMAP keyword (an atom, RFC 9051 §9)."""
    return bool(name) and all(
        0x21 <= ord(character) <= 0x7E and character not in _NOT_IN_ATOM for character in name
    )


@dataclass(frozen=True)
class Keywords:
    """The keywords of one folder, by index (a letter's position in a..z)."""

    by_index: tuple[tuple[int, str], ...] = ()
    """(index, keyword) pairs in increasing index order."""

    def keyword_for(self, letter: str) -> str | None:
        """The keyword that flag letter `letter` stands for, if any."""
        if len(letter) != 1 or letter not in LETTERS:
            return None
        index = LETTERS.index(letter)
        for candidate, name in self.by_index:
            if candidate == index:
                return name
        return None

    def letter_for(self, keyword: str) -> str | None:
        """The flag letter of `keyword`, or None if the folder does not know it yet."""
        for index, name in self.by_index:
            if name == keyword:
                return LETTERS[index]
        return None

    def keywords_in(self, letters: str) -> frozenset[str]:
        """The keywords among the flag letters of a file name; unknown letters are skipped."""
        found = (self.keyword_for(letter) for letter in letters)
        return frozenset(name for name in found if name is not None)

    def with_keywords(self, keywords: set[str] | frozenset[str]) -> Keywords:
        """These keywords plus any of `keywords` missing, each in the lowest free index."""
        pairs = dict(self.by_index)
        known = set(pairs.values())
        for keyword in sorted(keywords - known):
            if not is_keyword(keyword):
                raise KeywordsError(f"{keyword!r} is not a valid IMAP keyword")
            free = next((index for index in range(MAX_KEYWORDS) if index not in pairs), None)
            if free is None:
                raise TooManyKeywords(
                    f"cannot add keyword {keyword!r}: a Maildir folder holds at most "
                    f"{MAX_KEYWORDS} keywords (one per letter a-z) and this one has them all; "
                    "remove an unused keyword from dovecot-keywords first"
                )
            pairs[free] = keyword
        return Keywords(tuple(sorted(pairs.items())))


def parse_keywords(data: bytes) -> Keywords:
    """The keywords in `data`; KeywordsError if it is not a `dovecot-keywords` file."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise KeywordsError("the file holds non-ASCII bytes; keywords are ASCII atoms") from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    pairs: dict[int, str] = {}
    for number, line in enumerate(lines, start=1):
        index_text, space, name = line.partition(" ")
        if not space or not index_text.isdigit() or len(index_text) > 2:
            raise KeywordsError(f"line {number}: expected '<index> <keyword>', got {line!r}")
        index = int(index_text)
        if index >= MAX_KEYWORDS:
            raise KeywordsError(f"line {number}: index {index} is past z (at most 25)")
        if not is_keyword(name):
            raise KeywordsError(f"line {number}: {name!r} is not a valid IMAP keyword")
        if index in pairs:
            raise KeywordsError(f"line {number}: index {index} appears twice")
        if name in pairs.values():
            raise KeywordsError(f"line {number}: keyword {name!r} appears twice")
        pairs[index] = name
    return Keywords(tuple(sorted(pairs.items())))


def format_keywords(keywords: Keywords) -> bytes:
    return "".join(f"{index} {name}\n" for index, name in keywords.by_index).encode("ascii")


def read_keywords(directory: Path) -> Keywords:
    """The folder's keywords (none if it has no `dovecot-keywords`)."""
    try:
        data = (directory / FILE_NAME).read_bytes()
    except FileNotFoundError:
        return Keywords()
    return parse_keywords(data)


def add_keywords(
    directory: Path, keywords: set[str] | frozenset[str], *, wait: float = LOCK_WAIT_SECONDS
) -> Keywords:
    """Give each of `keywords` an index in the folder's file (under its lock); the result."""
    current = read_keywords(directory)
    if all(current.letter_for(keyword) is not None for keyword in keywords):
        return current
    with DotLock(directory / FILE_NAME, wait=wait) as lock:
        # Read again under the lock: another process may have added some meanwhile.
        current = read_keywords(directory)
        updated = current.with_keywords(keywords)
        if updated != current:
            lock.replace(format_keywords(updated))
        return updated
