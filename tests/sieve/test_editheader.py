"""editheader (RFC 5293): adding and deleting fields, the protected ones, encoding and
folding of added values, limits, and that no value can inject a field."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.message import decode_header, parse_message
from mailroom.sieve.editheader import (
    MAX_ADDED_FIELD_OCTETS,
    MAX_ADDED_FIELDS,
    EditableHeader,
    EditHeaderError,
    field_value_text,
)
from mailroom.sieve.header_encoding import encode_value, is_field_name, phrase_text

HEADER = (
    b"Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    b"Received: from c by a; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    b"From: Alice <alice@example.org>\r\n"
    b"Subject: Hello\r\n"
    b"X-Spam-Score: 5\r\n"
    b"X-Spam-Score: 7\r\n"
    b"X-Spam-Score: 9\r\n"
    b"Auto-Submitted: auto-generated\r\n"
)


def names(header: EditableHeader) -> list[str]:
    return [name for name, _ in header.fields()]


def test_unedited_header_records_no_change() -> None:
    header = EditableHeader(HEADER)
    assert not header.changed and header.snapshot() is None
    assert header.values("x-spam-score") == [b"5", b"7", b"9"]


def test_addheader_puts_the_field_first_and_last_puts_it_at_the_end() -> None:
    # RFC 5293 §4's example: addheader "X-Source" "car-ads"
    header = EditableHeader(HEADER)
    header.add("X-Source", "car-ads")
    header.add("X-Tail", "end", last=True)
    assert names(header)[0] == "X-Source" and names(header)[-1] == "X-Tail"
    snapshot = header.snapshot()
    assert snapshot is not None and snapshot.fields[0] == ("X-Source", b"car-ads")
    assert header.values("X-SOURCE") == [b"car-ads"]  # later tests see the added field


def test_deleteheader_deletes_every_occurrence() -> None:
    header = EditableHeader(HEADER)
    assert header.delete("x-spam-score") == 3
    assert header.values("X-Spam-Score") == []


def test_deleteheader_index_and_last_choose_one_occurrence() -> None:
    header = EditableHeader(HEADER)
    assert header.delete("X-Spam-Score", index=1, last=True) == 1
    assert header.values("X-Spam-Score") == [b"5", b"7"]
    assert header.delete("X-Spam-Score", index=2) == 1
    assert header.values("X-Spam-Score") == [b"5"]
    assert header.delete("X-Spam-Score", index=5) == 0


def test_deleteheader_value_patterns_choose_by_value() -> None:
    header = EditableHeader(HEADER)
    deleted = header.delete("X-Spam-Score", matches=lambda value: value in ("5", "9"))
    assert deleted == 2 and header.values("X-Spam-Score") == [b"7"]


def test_received_and_auto_submitted_are_silently_kept() -> None:
    # RFC 5293 §6: an attempt to delete Received MUST be silently ignored.
    header = EditableHeader(HEADER)
    assert header.delete("Received") == 0
    assert header.delete("auto-submitted") == 0
    assert len(header.values("received")) == 2 and not header.changed


def test_subject_may_be_replaced() -> None:
    header = EditableHeader(HEADER)
    header.delete("Subject")
    header.add("Subject", "[spam] Hello")
    assert header.values("subject") == [b"[spam] Hello"]


def test_invalid_field_names_are_errors() -> None:
    header = EditableHeader(HEADER)
    for bad in ("", "X Bad", "X:Bad", "X-\u00e9", "X-\x7f"):
        assert not is_field_name(bad)
        with pytest.raises(EditHeaderError):
            header.add(bad, "v")
        with pytest.raises(EditHeaderError):
            header.delete(bad)


def test_non_ascii_values_are_rfc2047_encoded() -> None:
    header = EditableHeader(HEADER)
    header.add("X-Note", "Réunion à 10h — café")
    (raw,) = header.values("X-Note")
    assert raw.isascii() and raw.startswith(b"=?UTF-8?B?")
    assert decode_header(raw) == "Réunion à 10h — café"
    assert field_value_text(raw) == "Réunion à 10h — café"


def test_long_values_are_folded_to_78_columns() -> None:
    header = EditableHeader(HEADER)
    text = " ".join(f"word{i}" for i in range(60))
    header.add("X-Long", text)
    (raw,) = header.values("x-long")
    lines = (b"X-Long: " + raw).split(b"\r\n")
    assert len(lines) > 1 and all(len(line) <= 78 for line in lines)
    assert decode_header(raw) == text


def test_folding_in_the_given_value_is_unfolded_first() -> None:
    header = EditableHeader(HEADER)
    header.add("X-Folded", "a\r\n b")
    assert header.values("x-folded") == [b"a b"]


@pytest.mark.parametrize("value", ["a\r\nBcc: victim@example.org", "a\nb", "a\rb", "a\0b"])
def test_bare_line_ends_are_errors_not_new_fields(value: str) -> None:
    header = EditableHeader(HEADER)
    with pytest.raises(EditHeaderError):
        header.add("X-Evil", value)
    assert header.values("bcc") == [] and not header.changed


def test_an_added_field_is_limited_in_size_and_a_run_in_count() -> None:
    header = EditableHeader(HEADER)
    with pytest.raises(EditHeaderError, match="larger than"):
        header.add("X-Big", "x " * MAX_ADDED_FIELD_OCTETS)
    for i in range(MAX_ADDED_FIELDS):
        header.add("X-Many", str(i))
    with pytest.raises(EditHeaderError, match="more than"):
        header.add("X-Many", "one too many")


def test_phrases_are_quoted_or_encoded() -> None:
    assert phrase_text("Alice Example") == "Alice Example"
    assert phrase_text('Bob "the" Builder, Jr.') == '"Bob \\"the\\" Builder, Jr."'
    assert phrase_text("Zoë").startswith("=?UTF-8?B?")


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=600))
def test_no_added_value_can_start_a_field_of_its_own(value: str) -> None:
    header = EditableHeader(b"Subject: x\r\n")
    try:
        header.add("X-Test", value, last=True)
    except EditHeaderError:
        return
    fields = header.fields()
    block = b"".join(name.encode() + b": " + raw + b"\r\n" for name, raw in fields)
    parsed = parse_message(block + b"\r\nbody")
    assert [f.name for f in parsed.fields] == ["Subject", "X-Test"]
    (raw,) = header.values("X-Test")
    assert b"\r" not in raw.replace(b"\r\n ", b"") and b"\n" not in raw.replace(b"\r\n ", b"")
    assert all(len(line) <= 998 for line in block.split(b"\r\n"))
    # What tests see afterwards is what was added (folding is invisible).
    expected = " ".join(value.replace("\r\n ", " ").replace("\r\n\t", "\t").split())
    assert " ".join(field_value_text(raw).split()) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_encoded_values_decode_to_the_text(text: str) -> None:
    if any(c in text for c in "\r\n\0"):
        return
    raw = encode_value("Subject", text)
    assert raw.isascii() or not text.isascii()
    assert decode_header(raw) == text
