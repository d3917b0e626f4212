"""editheader (RFC 5293): adding and deleting fields, the protected ones, encoding and
folding of added values, limits, that no value can inject a field, and scripts with
the RFC's examples whose later tests and actions see the edited header."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.message import decode_header, parse_message
from mailroom.sieve.actions import FileInto, Keep, Redirect
from mailroom.sieve.editheader import (
    MAX_ADDED_FIELD_OCTETS,
    MAX_ADDED_FIELDS,
    EditHeaderError,
    add_field,
    added_field,
    delete_fields,
    field_value_text,
)
from mailroom.sieve.header_encoding import encode_value, is_field_name, phrase_text
from mailroom.sieve.message_view import MessageView
from tests.support.sieve_world import deliver

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
MAIL = HEADER + b"\r\nHello.\r\n"


def view() -> MessageView:
    return MessageView(HEADER, len(HEADER))


def add(target: MessageView, name: str, value: str, *, last: bool = False) -> None:
    field_name, raw = added_field(name, value)
    add_field(target, field_name, raw, last=last)


def names(target: MessageView) -> list[str]:
    return [name for name, _ in target.fields]


def test_unedited_header_records_no_change() -> None:
    target = view()
    assert target.header_change() is None
    assert target.raw_values("x-spam-score") == [b"5", b"7", b"9"]


def test_addheader_puts_the_field_first_and_last_puts_it_at_the_end() -> None:
    target = view()
    add(target, "X-Source", "car-ads")
    add(target, "X-Tail", "end", last=True)
    assert names(target)[0] == "X-Source" and names(target)[-1] == "X-Tail"
    change = target.header_change()
    assert change is not None and change.fields[0] == ("X-Source", b"car-ads")


def test_deleteheader_deletes_every_occurrence() -> None:
    target = view()
    assert delete_fields(target, "x-spam-score") == 3
    assert target.raw_values("X-Spam-Score") == []


def test_deleteheader_index_and_last_choose_one_occurrence() -> None:
    target = view()
    assert delete_fields(target, "X-Spam-Score", index=1, last=True) == 1
    assert target.raw_values("X-Spam-Score") == [b"5", b"7"]
    assert delete_fields(target, "X-Spam-Score", index=2) == 1
    assert target.raw_values("X-Spam-Score") == [b"5"]
    assert delete_fields(target, "X-Spam-Score", index=5) == 0


def test_deleteheader_value_patterns_choose_by_value() -> None:
    target = view()
    deleted = delete_fields(target, "X-Spam-Score", matches=lambda value: value in ("5", "9"))
    assert deleted == 2 and target.raw_values("X-Spam-Score") == [b"7"]


def test_received_and_auto_submitted_are_silently_kept() -> None:
    # RFC 5293 §6: an attempt to delete Received MUST be silently ignored.
    target = view()
    assert delete_fields(target, "Received") == 0
    assert delete_fields(target, "auto-submitted") == 0
    assert len(target.raw_values("received")) == 2 and target.header_change() is None


def test_invalid_field_names_are_errors() -> None:
    for bad in ("", "X Bad", "X:Bad", "X-\u00e9", "X-\x7f"):
        assert not is_field_name(bad)
        with pytest.raises(EditHeaderError):
            added_field(bad, "v")
        with pytest.raises(EditHeaderError):
            delete_fields(view(), bad)


def test_non_ascii_values_are_rfc2047_encoded() -> None:
    _, raw = added_field("X-Note", "Réunion à 10h — café")
    assert raw.isascii() and raw.startswith(b"=?UTF-8?B?")
    assert decode_header(raw) == "Réunion à 10h — café"
    assert field_value_text(raw) == "Réunion à 10h — café"


def test_long_values_are_folded_to_78_columns() -> None:
    text = " ".join(f"word{i}" for i in range(60))
    _, raw = added_field("X-Long", text)
    lines = (b"X-Long: " + raw).split(b"\r\n")
    assert len(lines) > 1 and all(len(line) <= 78 for line in lines)
    assert decode_header(raw) == text


def test_folding_in_the_given_value_is_unfolded_first() -> None:
    assert added_field("X-Folded", "a\r\n b") == ("X-Folded", b"a b")


@pytest.mark.parametrize("value", ["a\r\nBcc: victim@example.org", "a\nb", "a\rb", "a\0b"])
def test_bare_line_ends_are_errors_not_new_fields(value: str) -> None:
    with pytest.raises(EditHeaderError):
        added_field("X-Evil", value)


def test_an_added_field_is_limited_in_size() -> None:
    with pytest.raises(EditHeaderError, match="larger than"):
        added_field("X-Big", "x " * MAX_ADDED_FIELD_OCTETS)


# Scripts: the RFC's examples, and what later tests and actions see.


def test_rfc5293_addheader_example_is_seen_by_later_tests() -> None:
    script = """require ["editheader", "fileinto"];
    addheader "X-Source" "car-ads";
    if header :is "X-Source" "car-ads" { fileinto "Ads"; }"""
    outcome = deliver(script, MAIL)
    (action,) = outcome.actions
    assert isinstance(action, FileInto) and action.folder == "Ads"
    assert action.header is not None and action.header.fields[0] == ("X-Source", b"car-ads")


def test_rfc5293_deleteheader_example_with_value_patterns() -> None:
    script = """require ["editheader"];
    deleteheader :matches "X-Spam-Score" ["5", "9*"];
    if exists "X-Spam-Score" { keep; }"""
    (action,) = deliver(script, MAIL).actions
    assert isinstance(action, Keep) and action.header is not None
    assert [v for n, v in action.header.fields if n == "X-Spam-Score"] == [b"7"]


def test_actions_record_the_header_as_it_was_when_taken() -> None:
    script = """require ["editheader", "fileinto", "copy"];
    fileinto :copy "Before";
    deleteheader "Subject";
    addheader :last "Subject" "[list] Hello";
    redirect "archive@example.org";"""
    before, after = deliver(script, MAIL).actions
    assert isinstance(before, FileInto) and before.header is None
    assert isinstance(after, Redirect) and after.header is not None
    assert after.header.fields[-1] == ("Subject", b"[list] Hello")


def test_deleting_received_in_a_script_is_silently_ignored() -> None:
    script = 'require "editheader"; deleteheader "Received"; deleteheader "AUTO-SUBMITTED";'
    outcome = deliver(script, MAIL)
    assert outcome.failed is None
    (keep,) = outcome.actions
    assert isinstance(keep, Keep) and keep.header is None


def test_deleteheader_index_last_in_a_script() -> None:
    script = """require ["editheader"];
    deleteheader :index 1 :last "X-Spam-Score";
    deleteheader :index 1 "x-spam-score";"""
    (keep,) = deliver(script, MAIL).actions
    assert isinstance(keep, Keep) and keep.header is not None
    assert [v for n, v in keep.header.fields if n == "X-Spam-Score"] == [b"7"]


@pytest.mark.parametrize(
    "script",
    [
        'require "editheader"; addheader "Bad Name" "x";',
        'require "editheader"; deleteheader "Bad:Name";',
        'require "editheader"; addheader "X-A" "line\nBcc: x@example.org";',
        'require "editheader"; deleteheader :last "X-A";',
        'addheader "X-A" "b";',
    ],
)
def test_invalid_edits_are_refused_when_compiled(script: str) -> None:
    from mailroom.sieve import SieveLimits, check_script

    assert check_script(script.encode(), name="s", limits=SieveLimits()) is not None


def test_a_bad_name_from_a_variable_fails_the_run_and_keeps() -> None:
    script = """require ["editheader", "variables"];
    set "name" "Bad Name";
    addheader "${name}" "x";"""
    outcome = deliver(script, MAIL)
    assert outcome.failed is not None and "not a valid header field name" in outcome.failed
    assert outcome.actions == (Keep(implicit=True),)


def test_a_run_adds_a_bounded_number_of_fields() -> None:
    lines = "\n".join(f'addheader "X-N" "{i}";' for i in range(MAX_ADDED_FIELDS + 1))
    outcome = deliver('require "editheader";\n' + lines, MAIL)
    assert outcome.failed is not None and "more than" in outcome.failed


def test_phrases_are_quoted_or_encoded() -> None:
    assert phrase_text("Alice Example") == "Alice Example"
    assert phrase_text('Bob "the" Builder, Jr.') == '"Bob \\"the\\" Builder, Jr."'
    assert phrase_text("Zoë").startswith("=?UTF-8?B?")


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=600))
def test_no_added_value_can_start_a_field_of_its_own(value: str) -> None:
    target = MessageView(b"Subject: x\r\n", 12)
    try:
        add(target, "X-Test", value, last=True)
    except EditHeaderError:
        return
    fields = target.fields
    block = b"".join(name.encode() + b": " + raw + b"\r\n" for name, raw in fields)
    parsed = parse_message(block + b"\r\nbody")
    assert [f.name for f in parsed.fields] == ["Subject", "X-Test"]
    (raw,) = target.raw_values("X-Test")
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
