"""IMAP's part of the lexical layer: the limits of one IMAP command (`ParserLimits`, the
shared lexer's and the grammar's), and the value types only IMAP has (dates,
mod-sequences, sequence sets), read by `ImapTokenReader`.

The tokens themselves and the value types IMAP shares with ManageSieve (atom, astring,
string, nstring, number) are `mailroom.wire`'s. The grammar of each command
(arguments.py, search_keys.py, fetch_items.py) reads with `ImapTokenReader` and raises
`GrammarError` with the short text the client sees in its `BAD` answer. Pure: no I/O,
no state beyond one command.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from mailroom.imap.sequence import SequenceSet, parse_sequence_set
from mailroom.wire.lexer import LexerLimits
from mailroom.wire.tokens import GrammarError, TokenReader, Word

MAX_MOD_SEQUENCE = 2**63 - 1
"""RFC 7162 §7 mod-sequence-value: 63-bit unsigned."""


@dataclass(frozen=True)
class ParserLimits(LexerLimits):
    """What one command may hold (the lexer's limits, and these of IMAP's grammar); every
    limit is checked before the memory is spent."""

    max_append_literal: int = 50 * 1024 * 1024
    """Octets of an APPEND message (APPENDLIMIT, RFC 7889)."""
    max_search_depth: int = 64
    """Nested NOT / OR / parentheses in search keys (the evaluator recurses that deep)."""
    max_items: int = 1000
    """Fetch items, search keys, flags, patterns, status items, APPEND messages…"""
    max_sequence_ranges: int = 16_384
    """Ranges in the sequence set of FETCH, STORE, COPY, MOVE, UID EXPUNGE: clients send
    long lists of UIDs (Dovecot takes what fits its 64 KiB line); a command's line limit
    bounds them anyway. Search keys keep `max_items`: they are tested once per message."""


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
# RFC 9051 §9 date-text = date-day "-" date-month "-" date-year
_DATE = re.compile(r"([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})")
# RFC 9051 §9 date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
_DATE_TIME = re.compile(
    r" ?([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})"
    r" ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"
)


def date_value(text: str) -> datetime.date:
    """RFC 9051 §9 date-text `1-Feb-1994` into a date."""
    match = _DATE.fullmatch(text)
    if not match or match.group(2).upper() not in _MONTHS:
        raise GrammarError("Invalid date")
    day, month, year = match.groups()
    try:
        return datetime.date(int(year), _MONTHS.index(month.upper()) + 1, int(day))
    except ValueError:
        raise GrammarError("Invalid date") from None


def date_time_value(text: str) -> datetime.datetime:
    """RFC 9051 §9 date-time (APPEND's internal date) `17-Jul-1996 02:44:25 -0700`."""
    match = _DATE_TIME.fullmatch(text)
    if not match or match.group(2).upper() not in _MONTHS:
        raise GrammarError("Invalid date-time")
    day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
    offset = datetime.timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
    try:
        zone = datetime.timezone(-offset if sign == "-" else offset)
        return datetime.datetime(
            int(year),
            _MONTHS.index(month.upper()) + 1,
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=zone,
        )
    except ValueError:
        raise GrammarError("Invalid date-time") from None


class ImapTokenReader(TokenReader):
    """The shared reader, and IMAP's own value types."""

    def mod_sequence(self) -> int:
        return self.number(MAX_MOD_SEQUENCE)

    def sequence_set(self, *, max_ranges: int = 1000) -> SequenceSet:
        token = self.take()
        if not isinstance(token, Word):
            raise GrammarError("Invalid sequence set")
        try:
            return parse_sequence_set(token.text, max_ranges=max_ranges)
        except ValueError:
            raise GrammarError("Invalid sequence set") from None
