"""date and currentdate (RFC 5260 §4, §5): reading Date fields, zones, every date-part,
and :index's choice of occurrence (§6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.sieve.dates import (
    DATE_PARTS,
    Zone,
    ZoneKind,
    current_date_part,
    date_part,
    header_date_part,
    parse_date,
    parse_zone,
    select_index,
)

# The server's zone at delivery: +0200 (a CEST evening).
NOW = datetime(2024, 7, 1, 21, 30, 5, tzinfo=timezone(timedelta(hours=2)))
ORIGINAL = Zone(ZoneKind.ORIGINAL)


def part(value: bytes, name: str, zone: Zone = ORIGINAL) -> str | None:
    return header_date_part([value], name, zone, NOW)


RFC_DATE = b"Mon, 12 Sep 2005 14:30:00 -0700"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("year", "2005"),
        ("month", "09"),
        ("day", "12"),
        ("date", "2005-09-12"),
        ("julian", "53625"),
        ("hour", "14"),
        ("minute", "30"),
        ("second", "00"),
        ("time", "14:30:00"),
        ("iso8601", "2005-09-12T14:30:00-07:00"),
        ("std11", "Mon, 12 Sep 2005 14:30:00 -0700"),
        ("zone", "-0700"),
        ("weekday", "1"),
    ],
)
def test_every_date_part_of_the_original_zone(name: str, expected: str) -> None:
    assert part(RFC_DATE, name) == expected
    assert part(RFC_DATE, name.upper()) == expected


def test_date_parts_list_is_the_rfcs() -> None:
    assert len(DATE_PARTS) == 13
    assert part(RFC_DATE, "fortnight") is None


def test_zone_shifts_the_date_time() -> None:
    utc = Zone.fixed(0)
    assert part(RFC_DATE, "iso8601", utc) == "2005-09-12T21:30:00Z"
    assert part(RFC_DATE, "zone", utc) == "+0000"  # zero has a positive sign (§4.2)
    east = Zone.fixed(parse_zone("+1130") or 0)
    assert part(RFC_DATE, "std11", east) == "Tue, 13 Sep 2005 09:00:00 +1130"
    assert part(RFC_DATE, "weekday", east) == "2"


def test_without_zone_arguments_the_local_zone_is_used() -> None:
    assert part(RFC_DATE, "time", Zone()) == "23:30:00"  # -0700 → +0200
    assert part(RFC_DATE, "zone", Zone()) == "+0200"


def test_unknown_zone_minus_0000_is_kept_by_originalzone() -> None:
    assert part(b"1 Jan 2020 00:00:00 -0000", "zone") == "-0000"
    assert part(b"1 Jan 2020 00:00:00 +0000", "zone") == "+0000"
    assert part(b"1 Jan 2020 00:00:00 -0000", "zone", Zone.fixed(0)) == "+0000"


def test_obsolete_forms_are_read() -> None:
    assert part(b"12 Sep 05 14:30 EDT", "iso8601") == "2005-09-12T14:30:00-04:00"
    assert part(b"Fri, 1 Jan 99 1:02:03 GMT", "date") == "1999-01-01"
    assert part(b"1 Jan 103 00:00:00 +0000", "year") == "2003"
    assert part(b"  Mon , 12 Sep 2005 14:30:00 +0200 (CEST)", "zone") == "+0200"
    assert part(b"12 (a (nested) comment) Sep 2005 14:30:00 PST", "hour") == "14"
    assert part(b"Mon, 12 Sep 2005 14:30:00 A", "zone") == "-0000"  # military: unknown
    assert part(b"Mon, 12 Sep 2005 14:30:00", "zone") == "-0000"  # no zone at all
    assert part(b"Mon,\r\n 12 Sep 2005\r\n 14:30:00 +0100", "time") == "14:30:00"


def test_received_fields_are_read_after_the_last_semicolon() -> None:
    received = b"from a.example (a [192.0.2.1]) by b.example; Tue, 13 Sep 2005 01:02:03 +0000"
    assert part(received, "date") == "2005-09-13"


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"yesterday",
        b"32 Jan 2020 00:00:00 +0000",
        b"29 Feb 2023 00:00:00 +0000",
        b"1 Jan 2020 24:00:00 +0000",
        b"1 Jan 2020 10:60:00 +0000",
        b"1 Foo 2020 10:00:00 +0000",
        b"1 Jan 20202 10:00:00 +0000",
        b"1 Jan 2020 10:00:00 +01",
        b"1 Jan 2020 10:00:00 +0199",
        b"1 Jan 2020 (unclosed comment",
    ],
)
def test_unparsable_dates_make_the_test_false(value: bytes) -> None:
    assert parse_date(value) is None
    assert part(value, "date") is None


def test_no_field_makes_the_test_false() -> None:
    assert header_date_part([], "date", ORIGINAL, NOW) is None


def test_the_first_occurrence_is_used_unless_an_index_chooses() -> None:
    values = [b"1 Jan 2020 00:00:00 +0000", b"2 Jan 2020 00:00:00 +0000", b"3 Jan 2020 00:00 +0000"]
    assert header_date_part(values, "day", ORIGINAL, NOW) == "01"
    assert header_date_part(select_index(values, 2, False), "day", ORIGINAL, NOW) == "02"
    assert header_date_part(select_index(values, 1, True), "day", ORIGINAL, NOW) == "03"
    assert header_date_part(select_index(values, 4, False), "day", ORIGINAL, NOW) is None


def test_select_index_counts_from_one_and_from_the_end_with_last() -> None:
    assert select_index(["a", "b", "c"], None, False) == ["a", "b", "c"]
    assert select_index(["a", "b", "c"], 1, False) == ["a"]
    assert select_index(["a", "b", "c"], 3, True) == ["a"]
    assert select_index(["a", "b", "c"], 0, False) == []


def test_currentdate_uses_the_moment_of_delivery() -> None:
    assert current_date_part(NOW, "date", Zone()) == "2024-07-01"
    assert current_date_part(NOW, "hour", Zone.fixed(0)) == "19"
    assert current_date_part(NOW, "zone", Zone()) == "+0200"
    assert current_date_part(NOW, "date", Zone.fixed(parse_zone("+0500") or 0)) == "2024-07-02"
    naive = datetime(2024, 7, 1, 12, 0, 0)
    assert current_date_part(naive, "iso8601", Zone()) == "2024-07-01T12:00:00Z"


def test_zone_argument_parsing() -> None:
    assert parse_zone("+0000") == 0
    assert parse_zone("-0130") == -90
    for bad in ("0100", "+100", "+01:00", "+0160", "UTC", ""):
        assert parse_zone(bad) is None


def test_julian_matches_rfc5260_appendix_a_epoch() -> None:
    epoch = datetime(1858, 11, 17, tzinfo=UTC)
    assert date_part(epoch, "julian") == "0"
    assert date_part(datetime(2000, 1, 1, tzinfo=UTC), "julian") == "51544"


def test_shifting_past_the_last_year_is_unparsable_not_an_error() -> None:
    assert part(b"31 Dec 9999 23:59:59 -1200", "date", Zone.fixed(0)) is None


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_octets_never_raise(value: bytes) -> None:
    for name in ("std11", "julian", "zone"):
        result = part(value, name, Zone())
        assert result is None or isinstance(result, str)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9998, 12, 31)))
def test_std11_round_trips(moment: datetime) -> None:
    aware = moment.replace(microsecond=0, tzinfo=timezone(timedelta(hours=-3)))
    written = date_part(aware, "std11")
    assert written is not None
    parsed = parse_date(written)
    assert parsed is not None and parsed.moment == aware
