"""SEARCH and UID SEARCH over the wire (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 7162 MODSEQ).

Three messages are appended with known internal dates, then flags are set with
STORE; each test asks one question and checks the exact `* SEARCH` answer.

1. From Alice Example, subject "Grüße aus Köln" (encoded word), sent and arrived
   1 Feb 2026, small, \\Flagged.
2. From "Frédéric" (encoded word), subject "Lunch plans", a base64 body, sent and
   arrived 15 Feb 2026, small, \\Seen \\Answered $Work.
3. From Bob, subject "Re: Lunch plans", sent 1 Mar 2026 23:30 -0500 (2 March in
   UTC), arrived 2 Mar 2026, over 1000 octets, no flags.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.imap_talk import ImapReply, ImapTalk, login
from tests.support.mail_host import MailHost

FIRST = (
    b"From: Alice Example <alice@example.test>\r\n"
    b"To: Bob <bob@example.test>\r\n"
    b"Cc: Carol <carol@example.test>\r\n"
    b"Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n"
    b"Date: Sun, 01 Feb 2026 09:00:00 +0000\r\n"
    b"Message-ID: <first@example.test>\r\n"
    b"\r\n"
    b"The quarterly NUMBERS are attached.\r\n"
)
SECOND = (
    b"From: =?ISO-8859-1?Q?Fr=E9d=E9ric?= <fred@example.test>\r\n"
    b"To: Alice <alice@example.test>\r\n"
    b"Subject: Lunch plans\r\n"
    b"Date: Sun, 15 Feb 2026 11:00:00 +0000\r\n"
    b"Message-ID: <second@example.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    + base64.encodebytes("Let's meet at the Bistro, à midi.\r\n".encode()).replace(b"\n", b"\r\n")
)
THIRD = (
    b"From: Bob <bob@example.test>\r\n"
    b"To: Alice <alice@example.test>\r\n"
    b"Subject: Re: Lunch plans\r\n"
    b"Date: Sun, 01 Mar 2026 23:30:00 -0500\r\n"
    b"Message-ID: <third@example.test>\r\n"
    b"In-Reply-To: <second@example.test>\r\n"
    b"\r\n"
    b"Sounds good.\r\n" + b"padding line to make this message large\r\n" * 50
)
INTERNAL_DATES = (
    "01-Feb-2026 12:00:00 +0000",
    "15-Feb-2026 12:00:00 +0000",
    "02-Mar-2026 12:00:00 +0000",
)


@pytest.fixture
async def alice(alice: ImapTalk) -> ImapTalk:
    """Alice with the three messages in INBOX, selected, flags set."""
    for data, date in zip((FIRST, SECOND, THIRD), INTERNAL_DATES, strict=True):
        reply = await alice.append("INBOX", data, f'"{date}"')
        assert reply.ok, reply.tagged
    for command in (
        "SELECT INBOX",
        r"STORE 1 +FLAGS.SILENT (\Flagged)",
        r"STORE 2 +FLAGS.SILENT (\Seen \Answered $Work)",
    ):
        reply = await alice.command(command)
        assert reply.ok, reply.tagged
    return alice


async def search(talk: ImapTalk, criteria: str | bytes) -> bytes:
    """The one `* SEARCH` line of a SEARCH that must succeed."""
    command = criteria if isinstance(criteria, bytes) else criteria.encode()
    reply = await talk.command(b"SEARCH " + command)
    assert reply.tagged.endswith(b" OK Search completed."), reply.tagged
    (line,) = reply.untagged
    return line


async def literal_command(talk: ImapTalk, before: str, value: str, after: str = "") -> ImapReply:
    """A command with a UTF-8 literal (LITERAL+) in it."""
    tag = talk.next_tag()
    data = value.encode()
    await talk.send(
        f"{tag} {before} {{{len(data)}+}}\r\n".encode() + data + after.encode() + b"\r\n"
    )
    return await talk.reply(tag)


# -- flags --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "answer"),
    [
        ("ALL", b"* SEARCH 1 2 3"),
        ("FLAGGED", b"* SEARCH 1"),
        ("UNFLAGGED", b"* SEARCH 2 3"),
        ("SEEN", b"* SEARCH 2"),
        ("UNSEEN", b"* SEARCH 1 3"),
        ("ANSWERED", b"* SEARCH 2"),
        ("UNANSWERED", b"* SEARCH 1 3"),
        ("DRAFT", b"* SEARCH"),
        ("UNDRAFT", b"* SEARCH 1 2 3"),
        ("DELETED", b"* SEARCH"),
        ("UNDELETED", b"* SEARCH 1 2 3"),
        ("RECENT", b"* SEARCH 1 2 3"),
        ("NEW", b"* SEARCH 1 3"),
        ("OLD", b"* SEARCH"),
    ],
)
async def test_flag_keys(alice: ImapTalk, criteria: str, answer: bytes) -> None:
    assert await search(alice, criteria) == answer


async def test_deleted_finds_a_message_once_marked(alice: ImapTalk) -> None:
    await alice.command(r"STORE 3 +FLAGS.SILENT (\Deleted)")
    assert await search(alice, "DELETED") == b"* SEARCH 3"


async def test_keyword_finds_the_messages_with_it(alice: ImapTalk) -> None:
    assert await search(alice, "KEYWORD $Work") == b"* SEARCH 2"


async def test_unkeyword_finds_the_messages_without_it(alice: ImapTalk) -> None:
    assert await search(alice, "UNKEYWORD $Work") == b"* SEARCH 1 3"


async def test_keyword_nobody_has_finds_nothing(alice: ImapTalk) -> None:
    assert await search(alice, "KEYWORD $Junk") == b"* SEARCH"


# -- headers ------------------------------------------------------------------------------


async def test_from_matches_the_address(alice: ImapTalk) -> None:
    assert await search(alice, "FROM alice@example") == b"* SEARCH 1"


async def test_from_matches_the_display_name_case_insensitively(alice: ImapTalk) -> None:
    assert await search(alice, 'FROM "alice EXAMPLE"') == b"* SEARCH 1"


async def test_from_matches_an_encoded_word_display_name(alice: ImapTalk) -> None:
    reply = await literal_command(alice, "SEARCH CHARSET UTF-8 FROM", "frédéric")
    assert reply.tagged.endswith(b" OK Search completed.")
    assert reply.untagged == [b"* SEARCH 2"]


async def test_from_matches_an_address_with_comments_inside_it_as_parsed(alice: ImapTalk) -> None:
    # RFC 5322 §3.2.2: CFWS may stand between local part, "@" and domain; Dovecot
    # matches the address as ENVELOPE shows it, comments removed.
    for sender in (
        b"<user-from (comment)@ (comment) domain.org>",
        b"Name <a@b.example>",
        b"a@b.example (Alice)",
    ):
        reply = await alice.append("INBOX", b"From: " + sender + b"\r\nSubject: x\r\n\r\nhi\r\n")
        assert reply.ok, reply.tagged
    await alice.command("NOOP")
    assert await search(alice, "FROM user-from@domain.org") == b"* SEARCH 4"
    assert await search(alice, "FROM a@b.example") == b"* SEARCH 5 6"
    assert await search(alice, 'FROM "Name <a@b"') == b"* SEARCH 5"
    assert await search(alice, 'FROM "(Alice)"') == b"* SEARCH 6"


async def test_to_matches_the_recipient(alice: ImapTalk) -> None:
    assert await search(alice, "TO alice") == b"* SEARCH 2 3"


async def test_cc_matches_the_copy_recipient(alice: ImapTalk) -> None:
    assert await search(alice, "CC carol") == b"* SEARCH 1"


async def test_bcc_of_messages_without_bcc_finds_nothing(alice: ImapTalk) -> None:
    assert await search(alice, "BCC alice") == b"* SEARCH"


async def test_subject_is_a_case_insensitive_substring(alice: ImapTalk) -> None:
    assert await search(alice, "SUBJECT LUNCH") == b"* SEARCH 2 3"


async def test_subject_matches_inside_an_encoded_word(alice: ImapTalk) -> None:
    reply = await literal_command(alice, "SEARCH CHARSET UTF-8 SUBJECT", "grüße aus")
    assert reply.untagged == [b"* SEARCH 1"]


async def test_subject_with_a_non_ascii_needle_in_upper_case(alice: ImapTalk) -> None:
    reply = await literal_command(alice, "SEARCH CHARSET UTF-8 SUBJECT", "KÖLN")
    assert reply.untagged == [b"* SEARCH 1"]


async def test_header_matches_any_named_field(alice: ImapTalk) -> None:
    assert await search(alice, 'HEADER In-Reply-To "<second@"') == b"* SEARCH 3"


async def test_header_with_an_empty_value_finds_messages_having_the_field(
    alice: ImapTalk,
) -> None:
    assert await search(alice, 'HEADER Content-Transfer-Encoding ""') == b"* SEARCH 2"


async def test_header_nobody_has_finds_nothing(alice: ImapTalk) -> None:
    assert await search(alice, 'HEADER X-Nothing ""') == b"* SEARCH"


# -- body and text ------------------------------------------------------------------------


async def test_body_is_a_case_insensitive_substring_of_the_body(alice: ImapTalk) -> None:
    assert await search(alice, "BODY numbers") == b"* SEARCH 1"


async def test_body_finds_words_in_a_base64_text_part(alice: ImapTalk) -> None:
    assert await search(alice, "BODY bistro") == b"* SEARCH 2"


async def test_body_finds_non_ascii_words_in_a_base64_text_part(alice: ImapTalk) -> None:
    reply = await literal_command(alice, "SEARCH CHARSET UTF-8 BODY", "À MIDI")
    assert reply.untagged == [b"* SEARCH 2"]


async def test_body_does_not_look_at_the_header(alice: ImapTalk) -> None:
    assert await search(alice, 'BODY "Lunch plans"') == b"* SEARCH"


async def test_text_looks_at_header_and_body(alice: ImapTalk) -> None:
    assert await search(alice, 'TEXT "lunch plans"') == b"* SEARCH 2 3"
    assert await search(alice, "TEXT BISTRO") == b"* SEARCH 2"


async def test_text_does_not_find_the_base64_encoding_itself(alice: ImapTalk) -> None:
    encoded = base64.b64encode(b"Let's meet")[:8].decode()
    assert await search(alice, f'BODY "{encoded}"') == b"* SEARCH"


async def test_text_with_a_non_ascii_needle_in_upper_case(alice: ImapTalk) -> None:
    reply = await literal_command(alice, "SEARCH CHARSET UTF-8 TEXT", "FRÉDÉRIC")
    assert reply.untagged == [b"* SEARCH 2"]


async def test_text_finds_a_header_field_name(alice: ImapTalk) -> None:
    assert await search(alice, "TEXT in-reply-to") == b"* SEARCH 3"


async def test_text_finds_needles_shorter_than_three_characters(alice: ImapTalk) -> None:
    assert await search(alice, "TEXT so") == b"* SEARCH 3"


@pytest.mark.parametrize("needle", ['"\\""', "*", '"NEAR("', '"good OR plans"', "-sounds", "x:y"])
async def test_needles_like_full_text_query_syntax_are_plain_substrings(
    alice: ImapTalk, needle: str
) -> None:
    assert await search(alice, f"TEXT {needle}") == b"* SEARCH"


async def test_body_and_text_answer_for_copies_moved_back_under_new_uids(
    alice: ImapTalk,
) -> None:
    assert await search(alice, "BODY bistro") == b"* SEARCH 2"
    for command in ("CREATE Elsewhere", "MOVE 1:2 Elsewhere", "SELECT Elsewhere"):
        assert (await alice.command(command)).ok
    assert (await alice.command("UID MOVE 1:* INBOX")).ok
    assert (await alice.command("SELECT INBOX")).ok

    assert (await alice.command("UID SEARCH BODY bistro")).lines("SEARCH") == ["SEARCH 5"]
    assert (await alice.command('UID SEARCH BODY "lunch plans"')).lines("SEARCH") == ["SEARCH"]
    reply = await alice.command('UID SEARCH TEXT "lunch plans"')
    assert reply.lines("SEARCH") == ["SEARCH 3 5"]


async def test_body_finds_html_words_across_the_tags_between_them(alice: ImapTalk) -> None:
    html = (
        b"Subject: menu\r\nContent-Type: text/html\r\n\r\n"
        b"<p>Soup <b>of the</b>\r\n  <i>day</i></p>\r\n"
    )
    assert (await alice.append("INBOX", html)).ok
    assert (await alice.command("NOOP")).ok

    assert await search(alice, 'BODY "soup of the day"') == b"* SEARCH 4"
    assert await search(alice, 'BODY "<b>"') == b"* SEARCH"


# -- dates and sizes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "answer"),
    [
        ("BEFORE 15-Feb-2026", b"* SEARCH 1"),
        ("ON 15-Feb-2026", b"* SEARCH 2"),
        ("SINCE 15-Feb-2026", b"* SEARCH 2 3"),
        ("SINCE 3-Mar-2026", b"* SEARCH"),
        ('BEFORE "1-Feb-2026"', b"* SEARCH"),
    ],
)
async def test_internal_date_keys(alice: ImapTalk, criteria: str, answer: bytes) -> None:
    assert await search(alice, criteria) == answer


@pytest.mark.parametrize(
    ("criteria", "answer"),
    [
        # Message 3 was sent on 1 March in its own time zone (2 March in UTC): the
        # Date: header's date counts, without time and zone (RFC 9051 §6.4.4).
        ("SENTON 1-Mar-2026", b"* SEARCH 3"),
        ("SENTON 2-Mar-2026", b"* SEARCH"),
        ("SENTBEFORE 1-Mar-2026", b"* SEARCH 1 2"),
        ("SENTSINCE 15-Feb-2026", b"* SEARCH 2 3"),
        ("SENTBEFORE 15-Feb-2026", b"* SEARCH 1"),
    ],
)
async def test_sent_date_keys(alice: ImapTalk, criteria: str, answer: bytes) -> None:
    assert await search(alice, criteria) == answer


async def test_larger_and_smaller_compare_rfc822_size(alice: ImapTalk) -> None:
    assert await search(alice, "LARGER 1000") == b"* SEARCH 3"
    assert await search(alice, "SMALLER 1000") == b"* SEARCH 1 2"


async def test_larger_is_strictly_larger(alice: ImapTalk) -> None:
    assert await search(alice, f"LARGER {len(FIRST)}") == b"* SEARCH 2 3"
    assert await search(alice, f"SMALLER {len(FIRST)}") == b"* SEARCH"


# -- sets, UID SEARCH ---------------------------------------------------------------------


async def test_sequence_set_key(alice: ImapTalk) -> None:
    assert await search(alice, "1,3") == b"* SEARCH 1 3"
    assert await search(alice, "2:*") == b"* SEARCH 2 3"


async def test_uid_key(alice: ImapTalk) -> None:
    assert await search(alice, "UID 2:3") == b"* SEARCH 2 3"
    assert await search(alice, "UID 9") == b"* SEARCH"


async def test_uid_search_answers_uids_and_search_answers_numbers(alice: ImapTalk) -> None:
    await alice.command(r"STORE 1 +FLAGS.SILENT (\Deleted)")
    reply = await alice.command("EXPUNGE")
    assert reply.untagged == [b"* 1 EXPUNGE"]
    assert await search(alice, "UNSEEN") == b"* SEARCH 2"
    reply = await alice.command("UID SEARCH UNSEEN")
    assert reply.untagged == [b"* SEARCH 3"]


async def test_uid_search_with_a_uid_range_past_the_last_uid(alice: ImapTalk) -> None:
    reply = await alice.command("UID SEARCH UID 3:*")
    assert reply.untagged == [b"* SEARCH 3"]
    reply = await alice.command("UID SEARCH UID 7:*")
    assert reply.untagged == [b"* SEARCH 3"]


# -- NOT, OR, nesting ---------------------------------------------------------------------


async def test_not_inverts_a_key(alice: ImapTalk) -> None:
    assert await search(alice, "NOT SEEN") == b"* SEARCH 1 3"


async def test_or_is_either_key(alice: ImapTalk) -> None:
    assert await search(alice, "OR FLAGGED SEEN") == b"* SEARCH 1 2"


async def test_keys_in_a_row_must_all_match(alice: ImapTalk) -> None:
    assert await search(alice, "SUBJECT lunch UNSEEN") == b"* SEARCH 3"


async def test_nested_not_or_and_parentheses(alice: ImapTalk) -> None:
    assert await search(alice, "NOT (OR FLAGGED SEEN)") == b"* SEARCH 3"
    assert await search(alice, "OR (FROM bob LARGER 1000) (KEYWORD $Work SEEN)") == (
        b"* SEARCH 2 3"
    )
    assert await search(alice, "(OR NOT 1 BODY numbers) NOT (SUBJECT lunch)") == b"* SEARCH 1"


# -- charsets, MODSEQ, errors -------------------------------------------------------------


async def test_charset_us_ascii_is_accepted(alice: ImapTalk) -> None:
    assert await search(alice, "CHARSET US-ASCII SUBJECT lunch") == b"* SEARCH 2 3"


async def test_an_unsupported_charset_is_no_badcharset(alice: ImapTalk) -> None:
    reply = await alice.command("SEARCH CHARSET KOI8-R SUBJECT lunch")
    assert reply.untagged == []
    assert reply.status == "NO"
    assert b" NO [BADCHARSET (US-ASCII UTF-8)] " in reply.tagged


async def modseq_of(talk: ImapTalk, number: int) -> int:
    # The first FETCH MODSEQ also announces HIGHESTMODSEQ (RFC 7162 §3.1).
    (line,) = (await talk.command(f"FETCH {number} MODSEQ")).lines(f"{number} FETCH")
    return int(line.split("MODSEQ (")[1].removesuffix("))"))


async def test_modseq_finds_messages_changed_since_and_reports_the_highest(
    alice: ImapTalk,
) -> None:
    assert (await alice.command(r"STORE 3 +FLAGS.SILENT (\Flagged)")).ok
    modseq = await modseq_of(alice, 3)
    assert await search(alice, f"MODSEQ {modseq}") == b"* SEARCH 3 (MODSEQ %d)" % modseq
    assert await search(alice, f"MODSEQ {modseq + 1}") == b"* SEARCH"


async def test_search_modseq_enables_condstore(alice: ImapTalk) -> None:
    # RFC 7162 §3.1: after SEARCH MODSEQ, FETCH FLAGS answers carry MODSEQ too.
    reply = await alice.command("SEARCH MODSEQ 1")
    assert reply.lines("OK [HIGHESTMODSEQ ") and reply.lines("SEARCH 1 2 3"), reply.untagged
    modseq = await modseq_of(alice, 1)
    reply = await alice.command("FETCH 1 FLAGS")
    assert reply.untagged == [rb"* 1 FETCH (FLAGS (\Flagged \Recent) MODSEQ (%d))" % modseq]


async def test_search_syntax_error_is_bad_and_the_session_goes_on(alice: ImapTalk) -> None:
    reply = await alice.command("SEARCH (SEEN")
    assert reply.status == "BAD"
    assert await search(alice, "SEEN") == b"* SEARCH 2"


async def test_search_without_a_selected_mailbox_is_bad(imap_host: MailHost) -> None:
    talk = await login(imap_host)
    reply = await talk.command("SEARCH ALL")
    assert reply.tagged.endswith(b" BAD No mailbox selected.")
    await talk.close()


async def test_search_of_an_empty_mailbox_answers_an_empty_search(imap_host: MailHost) -> None:
    talk = await login(imap_host)
    await talk.command("SELECT Drafts")
    assert await search(talk, "ALL") == b"* SEARCH"
    await talk.close()


# -- random programs ----------------------------------------------------------------------

_ATOMS = st.sampled_from(
    [
        "ALL", "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "NEW", "OLD", "RECENT", "SEEN",
        "UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN",
    ]
)  # fmt: skip
_WORDS = st.sampled_from(["lunch", "NUMBERS", "bob", "", "x", "plans", "é", "a b", "\\"])
_DATES = st.sampled_from(["1-Feb-2026", "15-Feb-2026", '"2-Mar-2026"', "31-Dec-1999"])
_SETS = st.sampled_from(["1", "2:3", "*", "1,3", "3:1", "1:*", "2,1:2", "4000000000"])


def _string(word: str) -> str:
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _key(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(st.just("NOT"), children).map(" ".join),
        st.tuples(st.just("OR"), children, children).map(" ".join),
        st.lists(children, min_size=1, max_size=3).map(lambda keys: f"({' '.join(keys)})"),
    )


_LEAVES = st.one_of(
    _ATOMS,
    st.tuples(st.sampled_from(["FROM", "TO", "CC", "BCC", "SUBJECT", "BODY", "TEXT"]), _WORDS).map(
        lambda pair: f"{pair[0]} {_string(pair[1])}"
    ),
    _WORDS.map(lambda word: f"HEADER Message-ID {_string(word)}"),
    st.sampled_from(["KEYWORD", "UNKEYWORD"]).map(lambda key: f"{key} $Work"),
    st.tuples(
        st.sampled_from(["BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE"]), _DATES
    ).map(" ".join),
    st.tuples(st.sampled_from(["LARGER", "SMALLER"]), st.integers(0, 5000)).map(
        lambda pair: f"{pair[0]} {pair[1]}"
    ),
    _SETS,
    _SETS.map(lambda numbers: f"UID {numbers}"),
    st.integers(0, 2**40).map(lambda modseq: f"MODSEQ {modseq}"),
)
PROGRAMS = st.recursive(_LEAVES, _key, max_leaves=8)


def _numbers(reply: ImapReply) -> set[int]:
    (line,) = reply.lines("SEARCH")
    words = line.split("(MODSEQ")[0].split()[1:]
    return {int(word) for word in words}


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(program=PROGRAMS)
async def test_random_search_programs_are_answered_and_the_session_keeps_serving(
    alice: ImapTalk, program: str
) -> None:
    reply = await alice.command(f"SEARCH {program}")
    assert reply.ok, (program, reply.tagged)
    found = _numbers(reply)
    assert found <= {1, 2, 3}
    # A program and its negation split the mailbox between them.
    reply = await alice.command(f"SEARCH NOT ({program})")
    assert reply.ok, (program, reply.tagged)
    assert _numbers(reply) == {1, 2, 3} - found, program
    assert (await alice.command("NOOP")).ok
