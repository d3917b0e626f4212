"""FETCH and UID FETCH over the wire (RFC 9051 §6.4.5, §7.5.2; RFC 3501 §6.4.5).

Each test appends a known message, selects INBOX and checks the exact FETCH
response, as Dovecot writes it (the compatibility reference)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailroom.imap.fetch import READ_BATCH, batches
from mailroom.store import MessageInfo
from tests.support.imap_talk import ImapTalk, login
from tests.support.mail_host import MailHost

SIMPLE = (
    b"From: Alice Example <alice@example.test>\r\n"
    b"To: Bob <bob@example.test>\r\n"
    b"Subject: Lunch\r\n"
    b"Date: Tue, 03 Mar 2026 12:30:00 +0000\r\n"
    b"Message-ID: <lunch@example.test>\r\n"
    b"\r\n"
    b"Shall we have lunch at noon?\r\n"
)

# multipart/mixed: 1 text/plain (quoted-printable), 2 message/rfc822 holding a
# multipart/alternative, 3 a base64 attachment.
MIXED_HEADER = (
    b"From: Alice Example <alice@example.test>\r\n"
    b"To: Bob <bob@example.test>\r\n"
    b"Cc: carol@example.test\r\n"
    b"Subject: =?UTF-8?Q?Caf=C3=A9_report?=\r\n"
    b"Date: Mon, 02 Mar 2026 10:00:00 +0100\r\n"
    b"Message-ID: <mixed@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="outer"\r\n'
    b"\r\n"
)
PART_1_MIME = (
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
)
PART_1 = b"Hello Bob, caf=C3=A9 numbers attached."
INNER_HEADER = (
    b"From: Carol <carol@example.test>\r\n"
    b"Subject: Inner note\r\n"
    b"Date: Sun, 01 Mar 2026 09:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="inner"\r\n'
    b"\r\n"
)
INNER_TEXT = (
    b"--inner\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"inner plain\r\n"
    b"--inner\r\n"
    b"Content-Type: text/html; charset=us-ascii\r\n"
    b"\r\n"
    b"<p>inner html</p>\r\n"
    b"--inner--"
)
MIXED_TEXT = (
    b"This is a multi-part message.\r\n"
    b"--outer\r\n" + PART_1_MIME + PART_1 + b"\r\n"
    b"--outer\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n" + INNER_HEADER + INNER_TEXT + b"\r\n"
    b"--outer\r\n"
    b'Content-Type: application/octet-stream; name="data.bin"\r\n'
    b'Content-Disposition: attachment; filename="data.bin"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"AAECAwQFBgc=\r\n"
    b"--outer--\r\n"
)
MIXED = MIXED_HEADER + MIXED_TEXT

INNER_ENVELOPE = (
    b'("Sun, 01 Mar 2026 09:00:00 +0000" "Inner note" (("Carol" NIL "carol" "example.test"))'
    b' (("Carol" NIL "carol" "example.test")) (("Carol" NIL "carol" "example.test"))'
    b" NIL NIL NIL NIL NIL)"
)
MIXED_ENVELOPE = (
    b'("Mon, 02 Mar 2026 10:00:00 +0100" "=?UTF-8?Q?Caf=C3=A9_report?="'
    b' (("Alice Example" NIL "alice" "example.test"))'
    b' (("Alice Example" NIL "alice" "example.test"))'
    b' (("Alice Example" NIL "alice" "example.test"))'
    b' (("Bob" NIL "bob" "example.test")) ((NIL NIL "carol" "example.test")) NIL NIL'
    b' "<mixed@example.test>")'
)
MIXED_BODY = (
    b'(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 38 0)'
    b'("message" "rfc822" NIL NIL NIL "7bit" 320 ' + INNER_ENVELOPE + b" "
    b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 11 0)'
    b'("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 17 0) "alternative") 14)'
    b'("application" "octet-stream" ("name" "data.bin") NIL NIL "base64" 12) "mixed")'
)
MIXED_BODYSTRUCTURE = (
    b'(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 38 0 NIL NIL NIL NIL)'
    b'("message" "rfc822" NIL NIL NIL "7bit" 320 ' + INNER_ENVELOPE + b" "
    b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 11 0 NIL NIL NIL NIL)'
    b'("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 17 0 NIL NIL NIL NIL)'
    b' "alternative" ("boundary" "inner") NIL NIL NIL) 14 NIL NIL NIL NIL)'
    b'("application" "octet-stream" ("name" "data.bin") NIL NIL "base64" 12'
    b' NIL ("attachment" ("filename" "data.bin")) NIL NIL)'
    b' "mixed" ("boundary" "outer") NIL NIL NIL)'
)


def literal(data: bytes) -> bytes:
    return b"{%d}\r\n" % len(data) + data


async def selected(talk: ImapTalk, *messages: bytes, command: str = "SELECT INBOX") -> None:
    for message in messages:
        reply = await talk.append("INBOX", message)
        assert reply.ok, reply.tagged
    reply = await talk.command(command)
    assert reply.ok, reply.tagged


async def fetch(talk: ImapTalk, command: str) -> list[bytes]:
    """The untagged lines of a FETCH that must succeed."""
    reply = await talk.command(command)
    assert reply.tagged.endswith(b" OK Fetch completed."), reply.tagged
    return reply.untagged


# -- attributes from the mailbox state ----------------------------------------------------


async def test_flags_are_those_given_to_append(alice: ImapTalk) -> None:
    assert (await alice.append("INBOX", SIMPLE, r"(\Flagged $Work)")).ok
    await selected(alice)
    assert await fetch(alice, "FETCH 1 FLAGS") == [rb"* 1 FETCH (FLAGS (\Flagged \Recent $Work))"]


async def test_uid_is_the_one_appenduid_named(alice: ImapTalk) -> None:
    assert (await alice.append("INBOX", SIMPLE)).ok
    reply = await alice.append("INBOX", SIMPLE)
    assert reply.ok, reply.tagged
    uid = re.search(r"APPENDUID \d+ (\d+)", reply.tagged.decode())
    assert uid is not None
    await selected(alice)
    assert await fetch(alice, "FETCH 2 UID") == [f"* 2 FETCH (UID {uid.group(1)})".encode()]


async def test_internaldate_is_the_instant_given_to_append(alice: ImapTalk) -> None:
    assert (await alice.append("INBOX", SIMPLE, '"02-Mar-2026 10:00:00 +0100"')).ok
    await selected(alice)
    (line,) = await fetch(alice, "FETCH 1 INTERNALDATE")
    match = re.fullmatch(rb'\* 1 FETCH \(INTERNALDATE "(.{26})"\)', line)
    assert match is not None, line
    stamp = datetime.strptime(match.group(1).decode(), "%d-%b-%Y %H:%M:%S %z")
    assert stamp == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_rfc822_size_is_the_number_of_octets_body_returns(alice: ImapTalk) -> None:
    await selected(alice, MIXED)
    lines = await fetch(alice, "FETCH 1 (RFC822.SIZE BODY.PEEK[])")
    assert lines == [b"* 1 FETCH (RFC822.SIZE %d BODY[] " % len(MIXED) + literal(MIXED) + b")"]


async def test_uid_fetch_adds_uid_to_the_items_asked_for(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE, SIMPLE)
    assert await fetch(alice, "UID FETCH 2 FLAGS") == [rb"* 2 FETCH (UID 2 FLAGS (\Recent))"]


# -- ENVELOPE, BODY, BODYSTRUCTURE ------------------------------------------------------


async def test_envelope_of_a_simple_message(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    assert await fetch(alice, "FETCH 1 ENVELOPE") == [
        b'* 1 FETCH (ENVELOPE ("Tue, 03 Mar 2026 12:30:00 +0000" "Lunch"'
        b' (("Alice Example" NIL "alice" "example.test"))'
        b' (("Alice Example" NIL "alice" "example.test"))'
        b' (("Alice Example" NIL "alice" "example.test"))'
        b' (("Bob" NIL "bob" "example.test")) NIL NIL NIL "<lunch@example.test>"))'
    ]


async def test_envelope_keeps_an_encoded_word_subject_as_written(alice: ImapTalk) -> None:
    await selected(alice, MIXED)
    assert await fetch(alice, "FETCH 1 ENVELOPE") == [
        b"* 1 FETCH (ENVELOPE " + MIXED_ENVELOPE + b")"
    ]


async def test_bodystructure_of_a_text_message(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    # No Content-Type: text/plain; charset=us-ascii, 7bit (RFC 2045 §5.2), one line.
    assert await fetch(alice, "FETCH 1 BODYSTRUCTURE") == [
        b'* 1 FETCH (BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit"'
        b" 30 1 NIL NIL NIL NIL))"
    ]


async def test_bodystructure_of_mixed_with_attachment_and_message(alice: ImapTalk) -> None:
    await selected(alice, MIXED)
    assert await fetch(alice, "FETCH 1 BODYSTRUCTURE") == [
        b"* 1 FETCH (BODYSTRUCTURE " + MIXED_BODYSTRUCTURE + b")"
    ]


async def test_body_is_the_bodystructure_without_extension_data(alice: ImapTalk) -> None:
    await selected(alice, MIXED)
    assert await fetch(alice, "FETCH 1 BODY") == [b"* 1 FETCH (BODY " + MIXED_BODY + b")"]


# -- body sections ------------------------------------------------------------------------


async def test_body_section_sets_seen_and_the_answer_reports_the_flags(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    assert await fetch(alice, "FETCH 1 BODY[]") == [
        b"* 1 FETCH (BODY[] " + literal(SIMPLE) + rb" FLAGS (\Seen \Recent))"
    ]
    assert await fetch(alice, "FETCH 1 FLAGS") == [rb"* 1 FETCH (FLAGS (\Seen \Recent))"]


async def test_body_section_of_a_seen_message_does_not_repeat_flags(alice: ImapTalk) -> None:
    assert (await alice.append("INBOX", SIMPLE, r"(\Seen)")).ok
    await selected(alice)
    assert await fetch(alice, "FETCH 1 BODY[]") == [b"* 1 FETCH (BODY[] " + literal(SIMPLE) + b")"]


async def test_body_section_of_several_messages_reports_flags_where_seen_was_set(
    alice: ImapTalk,
) -> None:
    assert (await alice.append("INBOX", SIMPLE)).ok
    assert (await alice.append("INBOX", SIMPLE, r"(\Seen)")).ok
    assert (await alice.append("INBOX", SIMPLE)).ok
    await selected(alice)
    lines = await fetch(alice, "FETCH 1:3 BODY[HEADER.FIELDS (Subject)]")
    fields = literal(b"Subject: Lunch\r\n\r\n")
    assert lines == [
        b"* 1 FETCH (BODY[HEADER.FIELDS (Subject)] " + fields + rb" FLAGS (\Seen \Recent))",
        b"* 2 FETCH (BODY[HEADER.FIELDS (Subject)] " + fields + b")",
        b"* 3 FETCH (BODY[HEADER.FIELDS (Subject)] " + fields + rb" FLAGS (\Seen \Recent))",
    ]
    assert (await alice.command("SEARCH UNSEEN")).untagged == [b"* SEARCH"]


async def test_body_peek_leaves_seen_unset(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    assert await fetch(alice, "FETCH 1 BODY.PEEK[]") == [
        b"* 1 FETCH (BODY[] " + literal(SIMPLE) + b")"
    ]
    assert await fetch(alice, "FETCH 1 FLAGS") == [rb"* 1 FETCH (FLAGS (\Recent))"]


async def test_body_section_in_a_mailbox_opened_with_examine_leaves_seen_unset(
    alice: ImapTalk,
) -> None:
    await selected(alice, SIMPLE, command="EXAMINE INBOX")
    assert await fetch(alice, "FETCH 1 BODY[TEXT]") == [
        b"* 1 FETCH (BODY[TEXT] " + literal(b"Shall we have lunch at noon?\r\n") + b")"
    ]
    (flags,) = await fetch(alice, "FETCH 1 FLAGS")
    assert b"\\Seen" not in flags


async def test_body_header_is_the_header_and_its_blank_line(alice: ImapTalk) -> None:
    await selected(alice, MIXED)
    assert await fetch(alice, "FETCH 1 BODY.PEEK[HEADER]") == [
        b"* 1 FETCH (BODY[HEADER] " + literal(MIXED_HEADER) + b")"
    ]


async def test_body_text_is_everything_after_the_header(alice: ImapTalk) -> None:
    await selected(alice, MIXED)
    assert await fetch(alice, "FETCH 1 BODY.PEEK[TEXT]") == [
        b"* 1 FETCH (BODY[TEXT] " + literal(MIXED_TEXT) + b")"
    ]


async def test_body_part_1_is_its_content_still_encoded(alice: ImapTalk) -> None:
    await selected(alice, MIXED)
    assert await fetch(alice, "FETCH 1 BODY.PEEK[1]") == [
        b'* 1 FETCH (BODY[1] "Hello Bob, caf=C3=A9 numbers attached.")'
    ]


async def test_body_part_1_mime_is_the_part_header(alice: ImapTalk) -> None:
    await selected(alice, MIXED)
    assert await fetch(alice, "FETCH 1 BODY.PEEK[1.MIME]") == [
        b"* 1 FETCH (BODY[1.MIME] " + literal(PART_1_MIME) + b")"
    ]


async def test_body_part_1_of_a_single_part_message_is_its_body(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    assert await fetch(alice, "FETCH 1 BODY.PEEK[1]") == [
        b"* 1 FETCH (BODY[1] " + literal(b"Shall we have lunch at noon?\r\n") + b")"
    ]


async def test_body_part_2_1_is_the_first_part_inside_the_attached_message(
    alice: ImapTalk,
) -> None:
    await selected(alice, MIXED)
    assert await fetch(alice, "FETCH 1 BODY.PEEK[2.1]") == [b'* 1 FETCH (BODY[2.1] "inner plain")']


async def test_body_part_2_header_and_text_are_those_of_the_attached_message(
    alice: ImapTalk,
) -> None:
    await selected(alice, MIXED)
    assert await fetch(alice, "FETCH 1 (BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT])") == [
        b"* 1 FETCH (BODY[2.HEADER] "
        + literal(INNER_HEADER)
        + b" BODY[2.TEXT] "
        + literal(INNER_TEXT)
        + b")"
    ]


async def test_body_part_2_is_the_whole_attached_message(alice: ImapTalk) -> None:
    await selected(alice, MIXED)
    assert await fetch(alice, "FETCH 1 BODY.PEEK[2]") == [
        b"* 1 FETCH (BODY[2] " + literal(INNER_HEADER + INNER_TEXT) + b")"
    ]


async def test_header_fields_gives_the_named_fields_in_message_order(alice: ImapTalk) -> None:
    await selected(alice, MIXED)
    fields = b"From: Alice Example <alice@example.test>\r\n"
    fields += b"Subject: =?UTF-8?Q?Caf=C3=A9_report?=\r\n\r\n"
    assert await fetch(alice, "FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject From)]") == [
        b"* 1 FETCH (BODY[HEADER.FIELDS (Subject From)] " + literal(fields) + b")"
    ]


async def test_header_fields_matches_names_case_insensitively(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    assert await fetch(alice, "FETCH 1 BODY.PEEK[HEADER.FIELDS (subject)]") == [
        b"* 1 FETCH (BODY[HEADER.FIELDS (subject)] " + literal(b"Subject: Lunch\r\n\r\n") + b")"
    ]


async def test_header_fields_not_gives_all_other_fields(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    rest = (
        b"From: Alice Example <alice@example.test>\r\n"
        b"To: Bob <bob@example.test>\r\n"
        b"Subject: Lunch\r\n"
        b"\r\n"
    )
    command = "FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (Date Message-ID)]"
    assert await fetch(alice, command) == [
        b"* 1 FETCH (BODY[HEADER.FIELDS.NOT (Date Message-ID)] " + literal(rest) + b")"
    ]


async def test_header_fields_of_a_missing_field_is_the_blank_line(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    assert await fetch(alice, "FETCH 1 BODY.PEEK[HEADER.FIELDS (X-Nothing)]") == [
        b"* 1 FETCH (BODY[HEADER.FIELDS (X-Nothing)] " + literal(b"\r\n") + b")"
    ]


async def test_partial_returns_the_octets_and_names_only_the_origin(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    assert await fetch(alice, "FETCH 1 BODY.PEEK[]<0.10>") == [
        b'* 1 FETCH (BODY[]<0> "From: Alic")'
    ]


async def test_partial_in_the_middle_of_a_section(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    assert await fetch(alice, "FETCH 1 BODY.PEEK[TEXT]<6.7>") == [
        b'* 1 FETCH (BODY[TEXT]<6> "we have")'
    ]


async def test_partial_of_header_fields_names_the_fields_and_the_origin(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    assert await fetch(alice, "FETCH 1 BODY.PEEK[HEADER.FIELDS (From Subject)]<6.5>") == [
        b'* 1 FETCH (BODY[HEADER.FIELDS (From Subject)]<6> "Alice")'
    ]


async def test_partial_past_the_end_is_empty(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    assert await fetch(alice, "FETCH 1 BODY.PEEK[]<5000.10>") == [b'* 1 FETCH (BODY[]<5000> "")']


# -- RFC822 items -------------------------------------------------------------------------


async def test_rfc822_is_the_whole_message_and_sets_seen(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    assert await fetch(alice, "FETCH 1 RFC822") == [
        b"* 1 FETCH (RFC822 " + literal(SIMPLE) + rb" FLAGS (\Seen \Recent))"
    ]


async def test_rfc822_header_is_the_header_and_leaves_seen_unset(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    header = SIMPLE[: SIMPLE.index(b"\r\n\r\n") + 4]
    assert await fetch(alice, "FETCH 1 RFC822.HEADER") == [
        b"* 1 FETCH (RFC822.HEADER " + literal(header) + b")"
    ]
    assert await fetch(alice, "FETCH 1 FLAGS") == [rb"* 1 FETCH (FLAGS (\Recent))"]


async def test_rfc822_text_is_the_body_and_sets_seen(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    assert await fetch(alice, "FETCH 1 RFC822.TEXT") == [
        b"* 1 FETCH (RFC822.TEXT "
        + literal(b"Shall we have lunch at noon?\r\n")
        + rb" FLAGS (\Seen \Recent))"
    ]


# -- macros -------------------------------------------------------------------------------


def _without_date(line: bytes) -> bytes:
    return re.sub(rb'INTERNALDATE "[^"]*"', b"INTERNALDATE _", line)


async def test_fast_is_flags_internaldate_and_size(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    (line,) = await fetch(alice, "FETCH 1 FAST")
    assert _without_date(
        line
    ) == rb"* 1 FETCH (FLAGS (\Recent) INTERNALDATE _ RFC822.SIZE %d)" % len(SIMPLE)


async def test_all_is_fast_and_envelope(alice: ImapTalk) -> None:
    await selected(alice, MIXED)
    (line,) = await fetch(alice, "FETCH 1 ALL")
    assert _without_date(line) == (
        rb"* 1 FETCH (FLAGS (\Recent) INTERNALDATE _ RFC822.SIZE %d ENVELOPE " % len(MIXED)
        + MIXED_ENVELOPE
        + b")"
    )


async def test_full_is_all_and_body(alice: ImapTalk) -> None:
    await selected(alice, MIXED)
    (line,) = await fetch(alice, "FETCH 1 FULL")
    assert _without_date(line) == (
        rb"* 1 FETCH (FLAGS (\Recent) INTERNALDATE _ RFC822.SIZE %d ENVELOPE " % len(MIXED)
        + MIXED_ENVELOPE
        + b" BODY "
        + MIXED_BODY
        + b")"
    )


# -- which messages -----------------------------------------------------------------------


async def test_fetch_of_a_sequence_number_past_the_end_is_bad(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    reply = await alice.command("FETCH 2 FLAGS")
    assert reply.untagged == []
    assert reply.status == "BAD"


async def test_fetch_of_a_range_reaching_past_the_end_is_bad(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    reply = await alice.command("FETCH 1:3 FLAGS")
    assert reply.untagged == []
    assert reply.status == "BAD"


async def test_uid_fetch_of_absent_uids_answers_ok_with_nothing(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE)
    reply = await alice.command("UID FETCH 5:7 FLAGS")
    assert reply.untagged == []
    assert reply.tagged.endswith(b" OK Fetch completed.")


async def test_uid_fetch_star_names_the_last_message_even_past_its_uid(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE, SIMPLE)
    # RFC 9051 §6.4.9: `*` is the largest UID in use (2), so `5:*` is `2:5`.
    assert await fetch(alice, "UID FETCH 5:* UID") == [b"* 2 FETCH (UID 2)"]


async def test_fetch_star_is_the_last_message(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE, SIMPLE, SIMPLE)
    assert await fetch(alice, "FETCH * UID") == [b"* 3 FETCH (UID 3)"]


async def test_fetch_of_a_set_answers_in_ascending_order(alice: ImapTalk) -> None:
    await selected(alice, SIMPLE, SIMPLE, SIMPLE)
    assert await fetch(alice, "FETCH 3,1 UID") == [b"* 1 FETCH (UID 1)", b"* 3 FETCH (UID 3)"]


async def test_fetch_without_a_selected_mailbox_is_bad(alice: ImapTalk) -> None:
    reply = await alice.command("FETCH 1 FLAGS")
    assert reply.tagged.endswith(b" BAD No mailbox selected.")


async def test_a_message_appended_with_flags_is_recent_too(alice: ImapTalk) -> None:
    assert (await alice.append("INBOX", SIMPLE, r"(\Flagged)")).ok
    reply = await alice.command("SELECT INBOX")
    assert b"* 1 RECENT" in reply.untagged
    assert await fetch(alice, "FETCH 1 FLAGS") == [rb"* 1 FETCH (FLAGS (\Flagged \Recent))"]


async def test_with_condstore_the_seen_that_body_sets_comes_with_its_modseq(
    alice: ImapTalk,
) -> None:
    await selected(alice, SIMPLE)
    assert (await alice.command("ENABLE CONDSTORE")).ok
    (line,) = await fetch(alice, "FETCH 1 BODY[TEXT]")
    (after,) = await fetch(alice, "FETCH 1 MODSEQ")
    modseq = after.split(b"MODSEQ (")[1].rstrip(b")")
    assert line == (
        b"* 1 FETCH (BODY[TEXT] "
        + literal(b"Shall we have lunch at noon?\r\n")
        + rb" FLAGS (\Seen \Recent) MODSEQ ("
        + modseq
        + b"))"
    )


async def test_another_session_hears_of_the_seen_that_body_set(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    await selected(alice, SIMPLE)
    other = await login(imap_host)
    try:
        assert (await other.command("SELECT INBOX")).ok
        await fetch(alice, "FETCH 1 BODY[]")
        reply = await other.command("NOOP")
        assert reply.untagged == [rb"* 1 FETCH (UID 1 FLAGS (\Seen))"]
    finally:
        await other.close()


async def test_fetch_of_a_message_another_session_expunged_says_expungeissued(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    await selected(alice, SIMPLE, SIMPLE)
    other = await login(imap_host)
    try:
        assert (await other.command("SELECT INBOX")).ok
        assert (await other.command(r"STORE 1 +FLAGS.SILENT (\Deleted)")).ok
        assert (await other.command("EXPUNGE")).ok
    finally:
        await other.close()
    # As Dovecot: the numbers stay as this session knows them until it is told of
    # the expunge, the gone message is left out, and the tagged OK says why.
    reply = await alice.command("FETCH 1:2 UID")
    assert reply.untagged == [b"* 2 FETCH (UID 2)"]
    assert reply.tagged.endswith(b" OK [EXPUNGEISSUED] Some messages were already expunged.")
    assert (await alice.command("NOOP")).untagged == [b"* 1 EXPUNGE"]


async def test_fetch_by_sequence_number_in_an_empty_mailbox_is_bad(alice: ImapTalk) -> None:
    await selected(alice, command="SELECT Drafts")
    reply = await alice.command("FETCH 1:* FLAGS")
    assert reply.status == "BAD"


async def test_fetch_star_in_an_empty_mailbox_is_bad_like_any_sequence_set(
    alice: ImapTalk,
) -> None:
    await selected(alice, command="SELECT Drafts")
    reply = await alice.command("FETCH * FLAGS")
    assert reply.status == "BAD"


async def test_uid_fetch_in_an_empty_mailbox_answers_ok_with_nothing(alice: ImapTalk) -> None:
    await selected(alice, command="SELECT Drafts")
    reply = await alice.command("UID FETCH 1:* FLAGS")
    assert reply.untagged == []
    assert reply.tagged.endswith(b" OK Fetch completed.")


# -- messages as they are on disk ---------------------------------------------------------


async def test_a_message_dropped_into_the_maildir_with_lf_line_ends_is_served_with_crlf(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    maildir = imap_host.maildir("alice@example.test")
    (maildir / "new" / "1700000000.M1P1.mail.example.test").write_bytes(
        SIMPLE.replace(b"\r\n", b"\n")
    )
    await selected(alice)
    assert await fetch(alice, "FETCH 1 (RFC822.SIZE BODY.PEEK[])") == [
        b"* 1 FETCH (RFC822.SIZE %d BODY[] " % len(SIMPLE) + literal(SIMPLE) + b")"
    ]


async def test_body_sends_nul_octets_as_0x80_and_binary_keeps_them(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    # RFC 9051 §4.3: a literal carries no NUL; Dovecot sends 0x80 in its place.
    # BINARY's literal8 may carry them (RFC 3516).
    data = b"From: bob@example.test\r\nSubject: raw\r\n\r\nbefore\x00after\r\n"
    maildir = imap_host.maildir("alice@example.test")
    (maildir / "new" / "1700000000.M2P1.mail.example.test").write_bytes(data)
    await selected(alice)
    assert await fetch(alice, "FETCH 1 (BODY.PEEK[TEXT] BINARY.PEEK[1])") == [
        b"* 1 FETCH (BODY[TEXT] {14}\r\nbefore\x80after\r\n BINARY[1] ~{14}\r\nbefore\x00after\r\n)"
    ]


async def test_a_large_message_comes_back_octet_for_octet(alice: ImapTalk) -> None:
    large = SIMPLE + b"x" * 3_000_000 + b"\r\n"
    await selected(alice, large)
    assert await fetch(alice, "FETCH 1 (RFC822.SIZE BODY.PEEK[])") == [
        b"* 1 FETCH (RFC822.SIZE %d BODY[] " % len(large) + literal(large) + b")"
    ]
    origin = len(large) - 4
    assert await fetch(alice, f"FETCH 1 BODY.PEEK[]<{origin}.100>") == [
        b"* 1 FETCH (BODY[]<%d> " % origin + literal(b"xx\r\n") + b")"
    ]


# -- random fetch items -------------------------------------------------------------------

_PARTS = st.lists(st.integers(1, 4), max_size=3).map(lambda numbers: ".".join(map(str, numbers)))
_TEXTS = st.sampled_from(
    ["", "HEADER", "TEXT", "MIME", "HEADER.FIELDS (From Subject)", "HEADER.FIELDS.NOT (To)"]
)
_PARTIALS = st.one_of(
    st.just(""),
    st.tuples(st.integers(0, 2000), st.integers(1, 2000)).map(lambda p: f"<{p[0]}.{p[1]}>"),
)


def _section(part: str, text: str) -> str:
    if text == "MIME" and not part:
        text = "HEADER"
    return ".".join(piece for piece in (part, text) if piece)


_ATTRIBUTES = [
    "FLAGS",
    "UID",
    "INTERNALDATE",
    "RFC822.SIZE",
    "ENVELOPE",
    "BODY",
    "BODYSTRUCTURE",
    "RFC822.HEADER",
    "MODSEQ",
]
_ITEMS = st.one_of(
    st.sampled_from(_ATTRIBUTES),
    st.tuples(st.sampled_from(["BODY.PEEK", "BODY"]), _PARTS, _TEXTS, _PARTIALS).map(
        lambda t: f"{t[0]}[{_section(t[1], t[2])}]{t[3]}"
    ),
    st.tuples(st.sampled_from(["BINARY.PEEK", "BINARY.SIZE"]), _PARTS).map(
        lambda t: f"{t[0]}[{t[1]}]"
    ),
)
_FETCH_ITEMS = st.lists(_ITEMS, min_size=1, max_size=5).map(lambda items: f"({' '.join(items)})")


@pytest.fixture
async def two_messages(alice: ImapTalk) -> ImapTalk:
    await selected(alice, MIXED, SIMPLE)
    return alice


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(items=_FETCH_ITEMS)
async def test_random_fetch_items_are_answered_and_the_session_keeps_serving(
    two_messages: ImapTalk, items: str
) -> None:
    reply = await two_messages.command(f"FETCH 1:2 {items}")
    assert reply.tagged.endswith(b" OK Fetch completed."), (items, reply.tagged)
    # MODSEQ among the items enables CONDSTORE, announced first (RFC 7162 §3.1).
    fetched = [line for line in reply.untagged if not line.startswith(b"* OK [HIGHESTMODSEQ ")]
    assert [line.split(b" FETCH ")[0] for line in fetched] == [b"* 1", b"* 2"]
    assert (await two_messages.command("NOOP")).ok


async def test_bodies_and_envelopes_of_many_batches_come_whole_and_in_order(
    alice: ImapTalk,
) -> None:
    # More messages than one read from disk takes (fetch.READ_BATCH): the next batch
    # is read while one is sent, and nothing may come twice, late or out of order.
    count = 3 * READ_BATCH + 5
    messages = [
        f"Subject: number {n}\r\nFrom: a@example.test\r\n\r\nBody {n}.\r\n".encode()
        for n in range(count)
    ]
    await selected(alice, *messages)

    lines = await fetch(alice, "FETCH 1:* (BODY.PEEK[] ENVELOPE)")

    assert len(lines) == count
    for n, line in enumerate(lines):
        assert line.startswith(b"* %d FETCH (BODY[] " % (n + 1))
        assert literal(messages[n]) in line
        assert b'"number %d"' % n in line


@given(
    sizes=st.lists(st.integers(0, 10_000), max_size=60),
    count=st.integers(1, 8),
    max_bytes=st.one_of(st.none(), st.integers(1, 20_000)),
)
def test_batches_cover_every_message_once_within_their_limits(
    sizes: list[int], count: int, max_bytes: int | None
) -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    messages = [
        MessageInfo(n + 1, frozenset(), 1, size, when, False, "b", "b", "", size, Path("/x"))
        for n, size in enumerate(sizes)
    ]

    ranges = batches(messages, count, max_bytes)

    assert [n for start, end in ranges for n in range(start, end)] == list(range(len(sizes)))
    for start, end in ranges:
        assert 1 <= end - start <= count
        if max_bytes is not None and end - start > 1:
            assert sum(sizes[start:end]) <= max_bytes
