"""Command lines as a client sends them, and what the parser makes of them: a typed
Command, a request for a literal, or the BAD answer (tag, text, whether fatal)."""

from __future__ import annotations

import datetime

import pytest

from mailroom.imap.commands import (
    Append,
    AppendMessage,
    Authenticate,
    Command,
    CommandArguments,
    Compress,
    Copy,
    Create,
    Enable,
    Expunge,
    GetQuota,
    Id,
    ListMailboxes,
    Login,
    MailboxArgument,
    NoArguments,
    Qresync,
    Rename,
    Select,
    SetQuota,
    Status,
)
from mailroom.imap.parser import CommandError, CommandParser, NeedLiteral, ParserLimits
from mailroom.imap.sequence import SAVED
from tests.support.imap_commands import args, command, play, refusal, seq

# --- Commands and their arguments ------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "NAMESPACE", "CHECK", "CLOSE", "UNSELECT", "IDLE"],
)
def test_commands_without_arguments_in_any_case(name: str) -> None:
    assert command(f"a1 {name.lower()}") == Command("a1", name, False, NoArguments())


def test_tag_may_hold_any_astring_char_but_plus() -> None:
    assert command("A.b]-01 NOOP").tag == "A.b]-01"


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        ("a LOGIN fred secret", Login("fred", "secret")),
        ('a LOGIN "fred \\"the\\" user" "p\\\\w"', Login('fred "the" user', "p\\w")),
        (b"a LOGIN {4}\r\nfred {6+}\r\nsecret\r\n", Login("fred", "secret")),
        ("a LOGIN NIL nil", Login("NIL", "nil")),
        ('a LOGIN "" ""', Login("", "")),
        ("a AUTHENTICATE plain", Authenticate("PLAIN")),
        ("a AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0", Authenticate("PLAIN", "AGZyZWQAc2VjcmV0")),
        ("a AUTHENTICATE EXTERNAL =", Authenticate("EXTERNAL", "=")),
        ("a ENABLE condstore Qresync", Enable(("CONDSTORE", "QRESYNC"))),
        ("a ID NIL", Id(None)),
        ('a ID ("name" "mutt" "version" NIL)', Id((("name", "mutt"), ("version", None)))),
        ("a ID ()", Id(())),
        ("a SELECT inbox", Select("inbox")),
        ('a EXAMINE "Sent Items" (CONDSTORE)', Select("Sent Items", condstore=True)),
        (
            "a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211 (1,3:5 41,43:45)))",
            Select(
                "INBOX",
                qresync=Qresync(
                    67890007, 20050715194045000, seq("41,43:211"), seq("1,3:5"), seq("41,43:45")
                ),
            ),
        ),
        ("a SELECT INBOX (QRESYNC (1 0))", Select("INBOX", qresync=Qresync(1, 0))),
        ("a CREATE Archive/2024", Create("Archive/2024")),
        ("a CREATE Sent (USE (\\sent \\JUNK))", Create("Sent", ("\\Sent", "\\Junk"))),
        ("a DELETE Trash", MailboxArgument("Trash")),
        ("a SUBSCRIBE Trash", MailboxArgument("Trash")),
        ("a UNSUBSCRIBE Trash", MailboxArgument("Trash")),
        ("a GETQUOTAROOT INBOX", MailboxArgument("INBOX")),
        ("a RENAME Old New", Rename("Old", "New")),
        ('a RENAME "Entw&APw-rfe" {3}\r\nold', Rename("Entw&APw-rfe", "old")),
        ('a LIST "" *', ListMailboxes("", ("*",))),
        ('a LIST "" ""', ListMailboxes("", ("",))),
        ("a LIST ~/Mail/ %/Sub]*", ListMailboxes("~/Mail/", ("%/Sub]*",))),
        ('a LSUB "#news." "comp.mail.*"', ListMailboxes("#news.", ("comp.mail.*",))),
        (
            'a LIST (SUBSCRIBED RECURSIVEMATCH) "" (INBOX "Sent*")',
            ListMailboxes(
                "",
                ("INBOX", "Sent*"),
                frozenset({"SUBSCRIBED", "RECURSIVEMATCH"}),
                extended=True,
            ),
        ),
        (
            'a LIST (remote RECURSIVEMATCH SPECIAL-USE) "" *',
            ListMailboxes(
                "", ("*",), frozenset({"REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"}), extended=True
            ),
        ),
        (
            'a LIST "" % RETURN (special-use CHILDREN STATUS (MESSAGES UNSEEN))',
            ListMailboxes(
                "",
                ("%",),
                returns=frozenset({"SPECIAL-USE", "CHILDREN", "STATUS"}),
                status_items=("MESSAGES", "UNSEEN"),
                extended=True,
            ),
        ),
        (
            "a STATUS INBOX (messages UIDNEXT uidvalidity UNSEEN RECENT SIZE HIGHESTMODSEQ"
            " DELETED APPENDLIMIT)",
            Status(
                "INBOX",
                (
                    "MESSAGES",
                    "UIDNEXT",
                    "UIDVALIDITY",
                    "UNSEEN",
                    "RECENT",
                    "SIZE",
                    "HIGHESTMODSEQ",
                    "DELETED",
                    "APPENDLIMIT",
                ),
            ),
        ),
        ("a EXPUNGE", Expunge(None)),
        ("a COPY 1:3 Trash", Copy(seq("1:3"), "Trash")),
        ('a MOVE $ "Junk"', Copy(SAVED, "Junk")),
        ('a GETQUOTA ""', GetQuota("")),
        (
            'a SETQUOTA "" (STORAGE 512 message 1000)',
            SetQuota("", (("STORAGE", 512), ("MESSAGE", 1000))),
        ),
        ("a COMPRESS deflate", Compress("DEFLATE")),
    ],
)
def test_command_arguments(stream: str | bytes, expected: CommandArguments) -> None:
    assert args(stream) == expected


def test_uid_prefix_marks_the_command() -> None:
    for name in ("COPY", "MOVE"):
        assert command(f"a uid {name.lower()} 1:* Trash") == Command(
            "a",
            name,
            True,
            Copy(seq("1:*"), "Trash"),
        )
    assert command("a UID EXPUNGE 3:5,9").args == Expunge(seq("3:5,9"))
    assert command("a UID SEARCH ALL").uid
    assert command("a UID FETCH 1 UID").uid
    assert command("a UID STORE 1 FLAGS ()").uid
    assert command("a UID SORT (DATE) UTF-8 ALL").uid
    assert command("a UID THREAD REFERENCES UTF-8 ALL").uid


# --- APPEND -------------------------------------------------------------------------


def test_append_asks_for_the_message_literal_and_returns_it() -> None:
    parser = CommandParser()
    step = parser.feed_line(b'a APPEND Drafts (\\Draft $Todo) " 5-Nov-2026 10:00:00 +0100" {310}')
    assert step == NeedLiteral(310, synchronizing=True, message=True)
    stored = object()  # the session's spool file
    parser.feed_literal(stored)
    step = parser.feed_line(b"")
    assert step == Command(
        "a",
        "APPEND",
        False,
        Append(
            "Drafts",
            (
                AppendMessage(
                    stored,
                    ("\\Draft", "$Todo"),
                    datetime.datetime(
                        2026, 11, 5, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
                    ),
                ),
            ),
        ),
    )


def test_multiappend_with_literal_plus_and_utf8_literal8() -> None:
    stream = b"a APPEND INBOX {3+}\r\none (\\Seen) UTF8 (~{3}\r\ntwo) ~{5+}\r\nth\x00ee\r\n"
    steps = play(stream)
    assert steps[:3] == [
        NeedLiteral(3, synchronizing=False, message=True),
        NeedLiteral(3, synchronizing=True, message=True, binary=True),
        NeedLiteral(5, synchronizing=False, message=True, binary=True),
    ]
    assert steps[3] == Command(
        "a",
        "APPEND",
        False,
        Append(
            "INBOX",
            (
                AppendMessage(b"one"),
                AppendMessage(b"two", ("\\Seen",), binary=True, utf8=True),
                AppendMessage(b"th\x00ee", binary=True),
            ),
        ),
    )


def test_append_mailbox_given_as_literal_is_not_a_message() -> None:
    steps = play(b"a APPEND {5}\r\nDraft {2}\r\nhi\r\n")
    assert steps[0] == NeedLiteral(5, synchronizing=True)
    assert steps[1] == NeedLiteral(2, synchronizing=True, message=True)
    assert steps[2] == Command("a", "APPEND", False, Append("Draft", (AppendMessage(b"hi"),)))


def test_append_message_over_the_limit_is_refused_before_it_is_sent() -> None:
    limits = ParserLimits(max_append_literal=100)
    parser = CommandParser(limits)
    assert parser.feed_line(b"a APPEND INBOX {101}") == CommandError(
        "a", "Message too large", code="TOOBIG"
    )
    # The client does not send it: the next line is a new command.
    assert parser.feed_line(b"b NOOP") == Command("b", "NOOP", False)


@pytest.mark.parametrize(
    ("stream", "text"),
    [
        ("a APPEND INBOX", "Missing argument"),
        ("a APPEND INBOX (\\Seen)", "Missing argument"),
        ("a APPEND INBOX (\\Recent) {1}\r\nx", "Invalid system flag \\Recent"),
        ('a APPEND INBOX "31-Feb-2026 10:00:00 +0000" {1}\r\nx', "Invalid date-time"),
        ('a APPEND INBOX "yesterday" {1}\r\nx', "Invalid date-time"),
        ("a APPEND INBOX hello", "Missing message literal"),
    ],
)
def test_bad_append(stream: str, text: str) -> None:
    error = refusal(stream)
    assert (error.tag, error.text) == ("a", text)


# --- Refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "tag", "text"),
    [
        ("", None, "Invalid tag"),
        ("* NOOP", None, "Invalid tag"),
        ("+ NOOP", None, "Invalid tag"),
        ("a+ NOOP", None, "Invalid tag"),
        ("a(b NOOP", None, "Invalid tag"),
        ("a", "a", "Missing command"),
        ("a ", "a", "Missing command"),
        ("a FOO", "a", "Unknown command"),
        ("a NOOP2", "a", "Unknown command"),
        ("a UID", "a", "Missing command"),
        ("a UID LOGIN x y", "a", "Unknown command"),
        ("a UID UID FETCH 1 UID", "a", "Unknown command"),
        ("a NOOP extra", "a", "Unexpected argument"),
        ("a LOGIN fred", "a", "Missing argument"),
        ("a LOGIN fred secret extra", "a", "Unexpected argument"),
        ("a LOGIN (fred) x", "a", "Invalid string"),
        ('a LOGIN "fred x', "a", "Missing '\"'"),
        ('a LOGIN "fr\\ed" x', "a", "Invalid escape in quoted string"),
        ('a LOGIN "fr\x00ed" x', "a", "Invalid characters in quoted string"),
        ("a LOGIN fr\x01ed x", "a", "Invalid characters in atom"),
        ("a LOGIN fr{ed x", "a", "Invalid characters in atom"),
        ("a LOGIN (x", "a", "Missing ')'"),
        ("a LOGIN x)", "a", "Unexpected ')'"),
        ("a LOGIN {-1}", "a", "Invalid literal size"),
        ("a LOGIN {x}", "a", "Invalid literal size"),
        ("a LOGIN {99999999999}", "a", "Literal too large"),
        ("a LOGIN ~{5}", "a", "Binary literal not allowed here"),
        ("a SELECT INBOX (FOO)", "a", "Unknown SELECT parameter"),
        ("a SELECT INBOX (QRESYNC (0 1))", "a", "Invalid number"),
        ("a CREATE x (USE (Sent))", "a", "Invalid special-use attribute"),
        ("a CREATE x (FOO (\\Sent))", "a", "Unknown CREATE parameter"),
        ('a LIST (FOO) "" *', "a", "Unknown LIST selection option"),
        ('a LIST (RECURSIVEMATCH) "" *', "a", "RECURSIVEMATCH needs another selection option"),
        (
            'a LIST (RECURSIVEMATCH REMOTE) "" ""',
            "a",
            "RECURSIVEMATCH needs another selection option",
        ),
        ('a LIST "" * RETURN (FOO)', "a", "Unknown LIST return option"),
        ('a LIST "" ()', "a", "Missing mailbox pattern"),
        ("a STATUS INBOX ()", "a", "Missing STATUS items"),
        ("a STATUS INBOX (MESSAGES FOO)", "a", "Unknown STATUS item"),
        ("a ENABLE", "a", "Missing argument"),
        ("a AUTHENTICATE PL@IN", "a", "Invalid SASL mechanism"),
        ("a AUTHENTICATE PLAIN ab*c", "a", "Invalid base64 in initial response"),
        ("a EXPUNGE 1", "a", "Unexpected argument"),
        ("a UID EXPUNGE", "a", "Missing argument"),
        ("a COPY 1", "a", "Missing argument"),
        ('a LOGIN "\xff" x', "a", "Invalid UTF-8 in string"),
    ],
)
def test_refusals_carry_the_tag_when_it_was_read(stream: str, tag: str | None, text: str) -> None:
    error = refusal(stream.encode("latin-1") + b"\r\n")
    assert error == CommandError(tag, text)


def test_deep_nesting_is_refused() -> None:
    assert refusal("a FETCH 1 " + "(" * 40).text == "Too deep parameter nesting"
    limits = ParserLimits(max_depth=3)
    assert refusal("a ID ((((x))))", limits).text == "Too deep parameter nesting"


def test_too_many_tokens_are_refused() -> None:
    limits = ParserLimits(max_tokens=50)
    assert refusal("a SEARCH " + "SEEN " * 60, limits).text == "Too many arguments"


def test_too_many_flags_are_refused() -> None:
    limits = ParserLimits(max_items=3)
    assert refusal("a STORE 1 FLAGS (a b c d)", limits).text == "Too many flags"


# --- Literals and staying in step with the client ----------------------------------------


def test_synchronizing_literal_is_asked_for_and_read() -> None:
    parser = CommandParser()
    assert parser.feed_line(b"a LOGIN {4}") == NeedLiteral(4, synchronizing=True)
    parser.feed_literal(b"fred")
    assert parser.feed_line(b" {0}") == NeedLiteral(0, synchronizing=True)
    parser.feed_literal(b"")
    assert parser.feed_line(b"") == Command("a", "LOGIN", False, Login("fred", ""))


def test_literal_over_the_limit_is_refused_before_any_octet() -> None:
    parser = CommandParser(ParserLimits(max_literal=10))
    assert parser.feed_line(b"a LOGIN {11}") == CommandError("a", "Literal too large")
    assert parser.feed_line(b"b LOGIN {10}") == NeedLiteral(10, synchronizing=True)


def test_non_synchronizing_literal_over_the_limit_is_fatal() -> None:
    parser = CommandParser(ParserLimits(max_literal=10))
    assert parser.feed_line(b"a LOGIN {11+}") == CommandError("a", "Literal too large", fatal=True)
    error = CommandParser().feed_line(b"a LOGIN {99999999999999999999999999+}")
    assert isinstance(error, CommandError) and error.fatal


def test_after_an_error_a_non_synchronizing_literal_is_read_and_dropped() -> None:
    steps = play(b'a LOGIN "bad\\q" {5+}\r\nhello {3+}\r\nabc\r\nb NOOP\r\n')
    assert steps == [
        NeedLiteral(5, synchronizing=False),
        NeedLiteral(3, synchronizing=False),
        CommandError("a", "Invalid escape in quoted string"),
        Command("b", "NOOP", False),
    ]


def test_after_an_error_a_synchronizing_literal_ends_the_command() -> None:
    parser = CommandParser()
    assert parser.feed_line(b"a FOO {5}") == CommandError("a", "Unknown command")
    assert parser.feed_line(b"b NOOP") == Command("b", "NOOP", False)


def test_nul_in_a_literal_is_refused_at_the_end_of_the_command() -> None:
    steps = play(b"a LOGIN {3}\r\na\x00b x\r\nb NOOP\r\n")
    assert steps[1:] == [CommandError("a", "NUL in literal"), Command("b", "NOOP", False)]


def test_command_size_is_bounded_across_literals() -> None:
    parser = CommandParser(ParserLimits(max_literal=100, max_command=150))
    assert parser.feed_line(b"a SEARCH TEXT {100}") == NeedLiteral(100, True)
    parser.feed_literal(b"x" * 100)
    assert parser.feed_line(b" TEXT {100}") == CommandError("a", "Command too long")


def test_parser_misuse_raises() -> None:
    parser = CommandParser()
    with pytest.raises(RuntimeError):
        parser.feed_literal(b"x")
    parser.feed_line(b"a LOGIN {1}")
    with pytest.raises(RuntimeError):
        parser.feed_line(b"x")
    with pytest.raises(ValueError):
        parser.feed_literal(b"xy")


def test_reset_forgets_the_command_being_read() -> None:
    parser = CommandParser()
    parser.feed_line(b"a LOGIN {1}")
    parser.reset()
    assert parser.feed_line(b"b NOOP") == Command("b", "NOOP", False)


def test_literal_minus_refuses_large_non_synchronizing_literals() -> None:
    # RFC 7888 §5: with LITERAL-, {n+} above 4096 is refused and the connection ends.
    parser = CommandParser(ParserLimits(max_nonsynchronizing_literal=4096))
    assert parser.feed_line(b"a APPEND INBOX {4096+}") == NeedLiteral(4096, False, message=True)
    parser.reset()
    assert parser.feed_line(b"a APPEND INBOX {4097+}") == CommandError(
        "a", "Non-synchronizing literal too large", fatal=True
    )
    assert parser.feed_line(b"a APPEND INBOX {4097}") == NeedLiteral(4097, True, message=True)


def test_multiappend_message_count_is_bounded_before_the_message_is_sent() -> None:
    parser = CommandParser(ParserLimits(max_items=2))
    steps = play(b"a APPEND INBOX {1}\r\nx {1}\r\ny {1}\r\n", parser)
    assert steps[-1] == CommandError("a", "Too many messages")


def test_dropping_literals_after_an_error_is_bounded_too() -> None:
    parser = CommandParser(ParserLimits(max_literal=100, max_command=200))
    assert parser.feed_line(b"a FOO {100+}") == NeedLiteral(100, False)
    parser.feed_literal(b"x" * 100)
    step = parser.feed_line(b"{100+}")
    assert step == CommandError("a", "Unknown command", fatal=True)
