"""The date and currentdate tests (RFC 5260 §4, §5) and the index extension's choice of
one header occurrence (§6).

`date` reads a date-time from a header field (RFC 5322 §3.3, obsolete forms of §4.3
included), shifts it to the zone the script asked for, and gives the value of one
date-part as a string for the core's comparator; `currentdate` does the same for the
moment of delivery (RunContext.now). A value that cannot be read as a date-time makes
the test false (§4): `header_date_part` then returns None, never raises.

Written by hand rather than with `email.utils.parsedate_to_datetime`, which raises on
junk, accepts out-of-range fields inconsistently and loses the difference between
"+0000" and "-0000" (a time in UTC whose local zone is unknown, RFC 5322 §3.3) that
`:originalzone`'s "zone" part must keep.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum
from typing import TypeVar

DATE_PARTS = (
    "year",
    "month",
    "day",
    "date",
    "julian",
    "hour",
    "minute",
    "second",
    "time",
    "iso8601",
    "std11",
    "zone",
    "weekday",
)
"""RFC 5260 §4.2, matched case-insensitively as Pigeonhole does."""

MAX_DATE_TEXT = 1000
"""Characters of a header value read as a date (a Date field is about 40)."""

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NAMES = tuple(m.capitalize() for m in _MONTHS)
_WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # date.weekday() order
# RFC 5322 §4.3 obs-zone: the US zones by name; UT/GMT are +0000.
_NAMED_ZONES = {
    "ut": 0,
    "utc": 0,
    "gmt": 0,
    "z": 0,
    "est": -5 * 60,
    "edt": -4 * 60,
    "cst": -6 * 60,
    "cdt": -5 * 60,
    "mst": -7 * 60,
    "mdt": -6 * 60,
    "pst": -8 * 60,
    "pdt": -7 * 60,
}
_ZONE_ARGUMENT = re.compile(r"^[+-][0-9]{4}$")
_MJD_EPOCH = date(1858, 11, 17).toordinal()  # RFC 5260 §4.2 "julian"

T = TypeVar("T")


class ZoneKind(Enum):
    LOCAL = "local"
    """Neither :zone nor :originalzone: the server's zone (RFC 5260 §4.1)."""
    ORIGINAL = "original"
    """:originalzone: the zone written in the date-time itself."""
    FIXED = "fixed"
    """:zone "+hhmm"."""


@dataclass(frozen=True)
class Zone:
    kind: ZoneKind = ZoneKind.LOCAL
    minutes: int = 0
    """The offset east of UTC, for FIXED."""

    @classmethod
    def fixed(cls, minutes: int) -> Zone:
        return cls(ZoneKind.FIXED, minutes)


@dataclass(frozen=True)
class ParsedDate:
    """A date-time as written: `moment` carries the written offset; `unknown_zone` is
    set for "-0000" and the zones RFC 5322 §4.3 says to read as "-0000" (military
    letters, unknown names, none at all)."""

    moment: datetime
    unknown_zone: bool = False


def parse_zone(text: str) -> int | None:
    """The `:zone` argument "+hhmm" / "-hhmm" as minutes east of UTC, None if invalid
    (RFC 5260 §4.1: the same format as a date-time's zone)."""
    if not _ZONE_ARGUMENT.match(text):
        return None
    hours, minutes = int(text[1:3]), int(text[3:5])
    if minutes > 59:
        return None
    offset = hours * 60 + minutes
    return -offset if text[0] == "-" else offset


def is_date_part(name: str) -> bool:
    return name.lower() in DATE_PARTS


_COMMENT = re.compile(r"\([^()]*\)")
_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+|[+-][0-9]+|[:,]")


def parse_date(value: str | bytes) -> ParsedDate | None:
    """An RFC 5322 date-time (§3.3) read tolerantly: obsolete two- and three-digit
    years, named and military zones, comments and missing seconds or weekday (§4.3);
    in a field with a ";" (Received, RFC 5322 §3.6.7) the text after the last one.
    None when it is not a date-time or names an impossible one."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = value[:MAX_DATE_TEXT].replace("\r", " ").replace("\n", " ")
    if ";" in text:
        text = text.rsplit(";", 1)[1]
    for _ in range(8):  # nested comments, innermost first; bounded
        stripped = _COMMENT.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    if "(" in text or ")" in text:
        return None
    tokens = _TOKEN.findall(text)
    if not tokens:
        return None
    # The day-of-week is optional and not checked against the date (§3.3 says it
    # must agree, §4.3 and every reader ignore it when it does not).
    if tokens[0].isalpha() and tokens[0].lower()[:3] in (d.lower() for d in _WEEKDAY_NAMES):
        tokens = tokens[1:]
    if tokens and tokens[0] == ",":
        tokens = tokens[1:]
    return _date_time(tokens)


def _date_time(tokens: list[str]) -> ParsedDate | None:
    # day month year hour ":" minute [":" second] [zone]
    if len(tokens) < 6:
        return None
    day_text, month_text, year_text = tokens[0], tokens[1], tokens[2]
    if not (day_text.isdigit() and year_text.isdigit()) or len(day_text) > 2:
        return None
    month = month_text.lower()[:3]
    if len(month_text) < 3 or month not in _MONTHS:
        return None
    rest = tokens[3:]
    hour, minute, second, rest = _time(rest)
    if hour is None:
        return None
    year = _year(year_text)
    if year is None:
        return None
    offset, unknown = _zone(rest)
    if offset is None:
        return None
    try:
        moment = datetime(
            year,
            _MONTHS.index(month) + 1,
            int(day_text),
            hour,
            minute,
            min(second, 59),  # a leap second (60) read as the second before it
            tzinfo=timezone(timedelta(minutes=offset)),
        )
    except ValueError:
        return None
    return ParsedDate(moment, unknown)


def _time(tokens: list[str]) -> tuple[int | None, int, int, list[str]]:
    if len(tokens) < 3 or tokens[1] != ":" or not tokens[0].isdigit() or not tokens[2].isdigit():
        return None, 0, 0, tokens
    if len(tokens[0]) > 2 or len(tokens[2]) != 2:
        return None, 0, 0, tokens
    hour, minute, second = int(tokens[0]), int(tokens[2]), 0
    rest = tokens[3:]
    if len(rest) >= 2 and rest[0] == ":" and rest[1].isdigit():
        if len(rest[1]) != 2:
            return None, 0, 0, tokens
        second = int(rest[1])
        rest = rest[2:]
    if hour > 23 or minute > 59 or second > 60:
        return None, 0, 0, tokens
    return hour, minute, second, rest


def _year(text: str) -> int | None:
    """RFC 5322 §4.3: a two-digit year below 50 is 20xx, otherwise 19xx; a three-digit
    year has 1900 added."""
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 50 else 1900
    elif len(text) == 3:
        year += 1900
    elif len(text) != 4:
        return None
    return year if 1 <= year <= 9999 else None


def _zone(tokens: list[str]) -> tuple[int | None, bool]:
    """(minutes east of UTC, unknown) of the zone token, (0, True) when there is none;
    (None, _) when what follows the time is not a zone."""
    if not tokens:
        return 0, True
    token = tokens[0]  # anything after the zone is ignored, as Dovecot's reader does
    if token[0] in "+-":
        if len(token) != 5:
            return None, False
        hours, minutes = int(token[1:3]), int(token[3:5])
        if minutes > 59:
            return None, False
        offset = hours * 60 + minutes
        if token == "-0000":  # noqa: S105 (a zone, not a password)
            return 0, True
        return (-offset if token[0] == "-" else offset), False
    if token.isalpha():
        named = _NAMED_ZONES.get(token.lower())
        if named is not None:
            return named, False
        # Military letters and unknown names: RFC 5322 §4.3 reads them as "-0000".
        return 0, True
    return None, False


def in_zone(parsed: ParsedDate, zone: Zone, now: datetime) -> tuple[datetime, bool] | None:
    """The moment shifted to `zone` (RFC 5260 §4.1), and whether its zone is the
    unknown "-0000"; None when the shift leaves the years datetime can hold."""
    try:
        if zone.kind is ZoneKind.ORIGINAL:
            return parsed.moment, parsed.unknown_zone
        if zone.kind is ZoneKind.FIXED:
            return parsed.moment.astimezone(timezone(timedelta(minutes=zone.minutes))), False
        return parsed.moment.astimezone(_local_zone(now)), False
    except (OverflowError, ValueError):
        return None


def _local_zone(now: datetime) -> timezone:
    """The server's zone is the one RunContext.now carries, at that moment (a naive
    `now` is taken as UTC); Pigeonhole takes the local offset at script start too."""
    offset = now.utcoffset()
    return timezone(offset if offset is not None else timedelta(0))


def date_part(moment: datetime, part: str, *, unknown_zone: bool = False) -> str | None:
    """The value of date-part `part` of `moment` (RFC 5260 §4.2), None for an unknown
    part name."""
    name = part.lower()
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    if name == "year":
        return f"{moment.year:04d}"
    if name == "month":
        return f"{moment.month:02d}"
    if name == "day":
        return f"{moment.day:02d}"
    if name == "date":
        return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    if name == "julian":
        return str(moment.date().toordinal() - _MJD_EPOCH)
    if name == "hour":
        return f"{moment.hour:02d}"
    if name == "minute":
        return f"{moment.minute:02d}"
    if name == "second":
        return f"{moment.second:02d}"
    if name == "time":
        return f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    if name == "iso8601":
        # RFC 3339 §5.6 date-time: "Z" for UTC, else "+hh:mm".
        zone = (
            "Z"
            if minutes == 0
            else f"{_sign(minutes)}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        )
        return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment:%H:%M:%S}{zone}"
    if name == "std11":
        return (
            f"{_WEEKDAY_NAMES[moment.weekday()]}, {moment.day:02d} "
            f"{_MONTH_NAMES[moment.month - 1]} {moment.year:04d} "
            f"{moment:%H:%M:%S} {_zone_text(minutes, unknown_zone)}"
        )
    if name == "zone":
        return _zone_text(minutes, unknown_zone)
    if name == "weekday":
        return str((moment.weekday() + 1) % 7)  # "0" is Sunday (§4.2)
    return None


def _sign(minutes: int) -> str:
    return "-" if minutes < 0 else "+"


def _zone_text(minutes: int, unknown_zone: bool) -> str:
    """ "+hhmm"/"-hhmm"; zero has a positive sign (§4.2) unless the written zone was the
    unknown "-0000", which :originalzone keeps."""
    if unknown_zone and minutes == 0:
        return "-0000"
    return f"{_sign(minutes)}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def header_date_part(values: Sequence[bytes], part: str, zone: Zone, now: datetime) -> str | None:
    """The date test's string for the header occurrences `values` (already narrowed
    by :index, see `select_index`): the first occurrence's date-time, as Pigeonhole
    reads it, shifted and cut to `part`; None (the test is false, RFC 5260 §4) when
    there is none or it is not a date-time."""
    if not values:
        return None
    parsed = parse_date(values[0])
    if parsed is None:
        return None
    shifted = in_zone(parsed, zone, now)
    if shifted is None:
        return None
    return date_part(shifted[0], part, unknown_zone=shifted[1])


def current_date_part(now: datetime, part: str, zone: Zone) -> str | None:
    """The currentdate test's string (RFC 5260 §5): the moment of delivery in `zone`
    (:originalzone is not allowed there; the local zone is its own original)."""
    moment = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    shifted = in_zone(ParsedDate(moment), zone, now)
    if shifted is None:
        return None
    return date_part(shifted[0], part, unknown_zone=False)


def select_index(items: Sequence[T], index: int | None, last: bool) -> list[T]:
    """RFC 5260 §6: `:index N` keeps only the Nth occurrence (from 1), counted from the
    end with `:last`; none when there are fewer than N. Without :index, all of them."""
    if index is None:
        return list(items)
    if index < 1 or index > len(items):
        return []
    return [items[-index] if last else items[index - 1]]
