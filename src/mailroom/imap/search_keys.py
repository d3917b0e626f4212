"""SEARCH criteria as a tree of frozen dataclasses (RFC 9051 §6.4.4, RFC 3501 §6.4.4).

`parse_search_program` reads what follows SEARCH (RETURN options, CHARSET, keys)
and `parse_search_keys` the keys alone (SORT and THREAD give their charset
themselves). Macros are expanded (NEW is RECENT UNSEEN, OLD is NOT RECENT, the
UN… keys are a `Flag` with `present=False`); dates are `datetime.date`. Which
charsets are supported, and evaluating the tree against messages, is the
session's: this module only knows the grammar.

Extensions: MODSEQ (RFC 7162 §3.1.5), OLDER/YOUNGER (RFC 5032), `$` (RFC 5182),
RETURN (MIN MAX ALL COUNT SAVE) (RFC 4731, RFC 5182).
"""

from __future__ import annotations

import datetime
import enum
import re
from dataclasses import dataclass

from mailroom.imap.sequence import MAX_NUMBER, SequenceSet, parse_sequence_set
from mailroom.imap.tokens import (
    ImapTokenReader,
    date_value,
)
from mailroom.wire.tokens import (
    GrammarError,
    Group,
    Word,
    decode_text,
    string_bytes,
)

SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
"""RFC 9051 §2.3.2 system flags in their usual spelling (\\Recent only in RFC 3501)."""

RETURN_OPTIONS = frozenset({"MIN", "MAX", "ALL", "COUNT", "SAVE", "CONTEXT", "UPDATE", "PARTIAL"})
"""RFC 4731 §3.1, RFC 5182 §2 and RFC 5267 §4: what SEARCH RETURN (…) may ask for."""
_PARTIAL_RANGE = re.compile(r"([1-9][0-9]{0,9}):([1-9][0-9]{0,9})")


class DateField(enum.Enum):
    INTERNAL = "internal"
    """The internal date (BEFORE, ON, SINCE)."""
    SENT = "sent"
    """The Date: header (SENTBEFORE, SENTON, SENTSINCE)."""


class DateComparison(enum.Enum):
    BEFORE = "before"
    ON = "on"
    SINCE = "since"
    """On or after the date."""


@dataclass(frozen=True)
class All:
    """ALL: every message."""


@dataclass(frozen=True)
class Flag:
    """ANSWERED DELETED DRAFT FLAGGED SEEN RECENT KEYWORD (present=True) and the UN…
    forms (present=False). `flag` is `\\Seen` style for system flags, the keyword
    as the client wrote it otherwise (compare keywords case-insensitively)."""

    flag: str
    present: bool = True


@dataclass(frozen=True)
class Header:
    """HEADER field string, and FROM TO CC BCC SUBJECT (field upper-cased for those):
    the field contains `value` (substring, case-insensitive; "" matches any message
    that has the field)."""

    field: str
    value: str


@dataclass(frozen=True)
class Body:
    """BODY string: the body contains `value`."""

    value: str


@dataclass(frozen=True)
class Text:
    """TEXT string: the header or the body contains `value`."""

    value: str


@dataclass(frozen=True)
class Date:
    """BEFORE/ON/SINCE and SENTBEFORE/SENTON/SENTSINCE: dates without time, the
    internal date in the server's zone, the Date: header in its own (RFC 9051 §6.4.4)."""

    field: DateField
    comparison: DateComparison
    date: datetime.date


@dataclass(frozen=True)
class Size:
    """LARGER n (larger=True: RFC822.SIZE > n) and SMALLER n (< n)."""

    larger: bool
    size: int


@dataclass(frozen=True)
class Within:
    """RFC 5032 OLDER n (older=True: internal date more than n seconds ago) / YOUNGER n."""

    older: bool
    seconds: int


@dataclass(frozen=True)
class Uid:
    """UID sequence-set."""

    uids: SequenceSet


@dataclass(frozen=True)
class Sequence:
    """A bare sequence set: message sequence numbers (or `$`)."""

    numbers: SequenceSet


@dataclass(frozen=True)
class ModSeq:
    """RFC 7162 §3.1.5 MODSEQ [entry-name entry-type-req] mod-sequence-valzer: the
    message's mod-sequence is at least `modseq`. `entry` is e.g. `/flags/\\Seen`,
    `entry_type` PRIV, SHARED or ALL; both None when not given."""

    modseq: int
    entry: str | None = None
    entry_type: str | None = None


@dataclass(frozen=True)
class Not:
    """NOT key."""

    key: SearchKey


@dataclass(frozen=True)
class Or:
    """OR key1 key2."""

    left: SearchKey
    right: SearchKey


@dataclass(frozen=True)
class And:
    """Several keys side by side, or a parenthesized list: all must match."""

    keys: tuple[SearchKey, ...]


SearchKey = (
    All
    | Flag
    | Header
    | Body
    | Text
    | Date
    | Size
    | Within
    | Uid
    | Sequence
    | ModSeq
    | Not
    | Or
    | And
)


@dataclass(frozen=True)
class SearchProgram:
    """What follows SEARCH: `return_options` None without RETURN (a classic `* SEARCH`
    answer), else the upper-cased options (empty for `RETURN ()`, meaning ALL, RFC
    4731 §3.1); `charset` upper-cased, None when not given (US-ASCII)."""

    key: SearchKey
    charset: str | None = None
    return_options: frozenset[str] | None = None
    partial: tuple[int, int] | None = None
    """RFC 5267 §4.4 PARTIAL low:high (low <= high), when asked for."""


_FLAG_KEYS = {
    "ANSWERED": ("\\Answered", True),
    "DELETED": ("\\Deleted", True),
    "DRAFT": ("\\Draft", True),
    "FLAGGED": ("\\Flagged", True),
    "SEEN": ("\\Seen", True),
    "RECENT": ("\\Recent", True),
    "UNANSWERED": ("\\Answered", False),
    "UNDELETED": ("\\Deleted", False),
    "UNDRAFT": ("\\Draft", False),
    "UNFLAGGED": ("\\Flagged", False),
    "UNSEEN": ("\\Seen", False),
}
_HEADER_KEYS = {"BCC", "CC", "FROM", "SUBJECT", "TO"}
_DATE_KEYS = {
    "BEFORE": (DateField.INTERNAL, DateComparison.BEFORE),
    "ON": (DateField.INTERNAL, DateComparison.ON),
    "SINCE": (DateField.INTERNAL, DateComparison.SINCE),
    "SENTBEFORE": (DateField.SENT, DateComparison.BEFORE),
    "SENTON": (DateField.SENT, DateComparison.ON),
    "SENTSINCE": (DateField.SENT, DateComparison.SINCE),
}
_ENTRY_TYPES = {"PRIV", "SHARED", "ALL"}


def keyword_flag(text: str) -> str:
    """RFC 9051 flag-keyword: an atom (no `\\`, no `]`, no wildcards)."""
    if not text or any(char in '\\]%*(){" ' or not 0x21 <= ord(char) <= 0x7E for char in text):
        raise GrammarError("Invalid keyword")
    return text


class _KeyReader:
    """The search-key grammar with its limits: how many keys and how deep."""

    def __init__(self, max_keys: int, max_depth: int) -> None:
        self.max_keys = max_keys
        self.max_depth = max_depth
        self.count = 0

    def keys(self, reader: ImapTokenReader, depth: int) -> SearchKey:
        """1*(SP search-key), as one key (an And when several)."""
        keys = [self.key(reader, depth)]
        while not reader.at_end():
            keys.append(self.key(reader, depth))
        return keys[0] if len(keys) == 1 else And(tuple(keys))

    def key(self, reader: ImapTokenReader, depth: int) -> SearchKey:
        if depth > self.max_depth:
            raise GrammarError("Search keys nested too deeply")
        self.count += 1
        if self.count > self.max_keys:
            raise GrammarError("Too many search keys")
        token = reader.take()
        if isinstance(token, Group):
            if not token.items:
                raise GrammarError("Empty search key list")
            return self.keys(ImapTokenReader(token.items), depth + 1)
        if not isinstance(token, Word):
            raise GrammarError("Invalid search key")
        name = token.text.upper()
        if name[:1].isdigit() or name[:1] in ("*", "$"):
            return Sequence(_sequence_set(token.text))
        return self.named(name, reader, depth)

    def named(self, name: str, reader: ImapTokenReader, depth: int) -> SearchKey:
        if name == "ALL":
            return All()
        if name in _FLAG_KEYS:
            flag, present = _FLAG_KEYS[name]
            return Flag(flag, present)
        if name == "NEW":  # RFC 3501 §6.4.4: RECENT UNSEEN
            return And((Flag("\\Recent"), Flag("\\Seen", False)))
        if name == "OLD":  # NOT RECENT
            return Flag("\\Recent", False)
        if name in ("KEYWORD", "UNKEYWORD"):
            return Flag(keyword_flag(reader.word()), name == "KEYWORD")
        if name in _HEADER_KEYS:
            return Header(name, search_string(reader))
        if name == "HEADER":
            field = reader.astring()
            return Header(field, search_string(reader))
        if name == "BODY":
            return Body(search_string(reader))
        if name == "TEXT":
            return Text(search_string(reader))
        if name in _DATE_KEYS:
            date_field, comparison = _DATE_KEYS[name]
            return Date(date_field, comparison, _date(reader))
        if name in ("LARGER", "SMALLER"):
            return Size(name == "LARGER", reader.number())
        if name in ("OLDER", "YOUNGER"):
            return Within(name == "OLDER", reader.nz_number())
        if name == "UID":
            return Uid(_sequence_set(reader.word()))
        if name == "MODSEQ":
            return _modseq(reader)
        if name == "NOT":
            return Not(self.key(reader, depth + 1))
        if name == "OR":
            left = self.key(reader, depth + 1)
            return Or(left, self.key(reader, depth + 1))
        raise GrammarError("Unknown search key")


def _sequence_set(text: str) -> SequenceSet:
    try:
        return parse_sequence_set(text)
    except ValueError:
        raise GrammarError("Invalid sequence set") from None


def _date(reader: ImapTokenReader) -> datetime.date:
    """RFC 9051 §9 date = date-text / DQUOTE date-text DQUOTE."""
    token = reader.take()
    if isinstance(token, Word):
        return date_value(token.text)
    data = string_bytes(token)
    if data is None or not data.isascii():
        raise GrammarError("Invalid date")
    return date_value(data.decode("ascii"))


def _modseq(reader: ImapTokenReader) -> ModSeq:
    # RFC 7162 §3.1.5: MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer
    token = reader.peek()
    if isinstance(token, Word) and token.text.isdigit():
        return ModSeq(reader.mod_sequence())
    entry = reader.astring()
    entry_type = reader.keyword()
    if entry_type not in _ENTRY_TYPES:
        raise GrammarError("Invalid MODSEQ entry type")
    return ModSeq(reader.mod_sequence(), entry, entry_type)


def search_string(reader: ImapTokenReader) -> str:
    """An astring to search for. Decoded as UTF-8 with replacement: with a charset we
    do not support the session answers NO [BADCHARSET] before using it."""
    token = reader.take()
    if isinstance(token, Word):
        return token.text
    data = string_bytes(token)
    if data is None:
        raise GrammarError("Invalid string")
    return data.decode("utf-8", errors="replace")


def parse_search_keys(
    reader: ImapTokenReader, *, max_keys: int = 1000, max_depth: int = 64
) -> SearchKey:
    """1*(SP search-key) up to the end of `reader`."""
    return _KeyReader(max_keys, max_depth).keys(reader, 0)


def parse_return_options(
    reader: ImapTokenReader,
) -> tuple[frozenset[str], tuple[int, int] | None]:
    """The `(…)` after RETURN (RFC 4731 §3.1, RFC 5267 §4), any case: the option names
    and PARTIAL's range. As Dovecot: UPDATE or PARTIAL twice, and PARTIAL with ALL
    (RFC 5267 §4.4: one of them at most), are BAD."""
    options = reader.group()
    result: set[str] = set()
    partial = None
    while not options.at_end():
        option = options.keyword()
        if option not in RETURN_OPTIONS:
            raise GrammarError("Unknown RETURN option")
        if option in result and option in ("UPDATE", "PARTIAL"):
            raise GrammarError(f"{option} can be used only once")
        if option == "PARTIAL":
            partial = partial_range(options)
        result.add(option)
    if partial is not None and "ALL" in result:
        raise GrammarError("PARTIAL conflicts with ALL")
    return frozenset(result), partial


def partial_range(reader: ImapTokenReader) -> tuple[int, int]:
    """RFC 5267 §5 partial-range = nz-number ":" nz-number, `500:400` meaning
    `400:500`. No `*` and no negative ranges (those are RFC 9394's, which Dovecot and
    we do not offer)."""
    token = reader.take()
    match = _PARTIAL_RANGE.fullmatch(token.text) if isinstance(token, Word) else None
    if match is None:
        raise GrammarError("PARTIAL range broken")
    first, last = int(match.group(1)), int(match.group(2))
    if max(first, last) > MAX_NUMBER:
        raise GrammarError("PARTIAL range broken")
    return min(first, last), max(first, last)


def parse_charset(reader: ImapTokenReader) -> str:
    """RFC 9051 §9 charset = atom / quoted, upper-cased."""
    token = reader.take()
    if isinstance(token, Word):
        return token.text.upper()
    data = string_bytes(token)
    if data is None:
        raise GrammarError("Invalid charset")
    return decode_text(data).upper()


def parse_search_program(
    reader: ImapTokenReader, *, max_keys: int = 1000, max_depth: int = 64
) -> SearchProgram:
    """SEARCH [RETURN (…)] [CHARSET x] 1*(SP search-key) (RFC 9051 §6.4.4)."""
    return_options, partial = None, None
    if reader.take_keyword("RETURN"):
        return_options, partial = parse_return_options(reader)
    charset = parse_charset(reader) if reader.take_keyword("CHARSET") else None
    key = parse_search_keys(reader, max_keys=max_keys, max_depth=max_depth)
    return SearchProgram(key, charset, return_options, partial)
