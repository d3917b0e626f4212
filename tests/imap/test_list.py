"""LIST and LSUB over the wire: patterns, references, attributes, special use, and the
extended forms of RFC 5258 (LIST-EXTENDED), RFC 5819 (LIST-STATUS) and RFC 6154
(SPECIAL-USE). Expected answers follow the RFC examples and Dovecot."""

from __future__ import annotations

from tests.support.imap_talk import ImapTalk

DEFAULT_LIST = [
    'LIST (\\HasNoChildren) "." "INBOX"',
    'LIST (\\Archive \\HasNoChildren) "." "Archive"',
    'LIST (\\Drafts \\HasNoChildren) "." "Drafts"',
    'LIST (\\HasNoChildren \\Junk) "." "Junk"',
    'LIST (\\HasNoChildren \\Sent) "." "Sent"',
    'LIST (\\HasNoChildren \\Trash) "." "Trash"',
]


async def make(talk: ImapTalk, *commands: str) -> None:
    for command in commands:
        reply = await talk.command(command)
        assert reply.ok, (command, reply.tagged)


# -- plain LIST -------------------------------------------------------------------------------


async def test_list_star_shows_inbox_first_and_the_special_folders(alice: ImapTalk) -> None:
    reply = await alice.command('LIST "" *')
    assert reply.lines("LIST") == DEFAULT_LIST
    assert reply.tagged == b"a2 OK List completed."


async def test_list_empty_pattern_gives_the_separator_and_root(alice: ImapTalk) -> None:
    reply = await alice.command('LIST "" ""')
    assert reply.untagged == [b'* LIST (\\Noselect) "." ""']


async def test_percent_stops_at_the_separator_and_star_does_not(alice: ImapTalk) -> None:
    await make(alice, "CREATE Lists", "CREATE Lists.Python", "CREATE Lists.Python.Dev")
    assert (await alice.command('LIST "" L%')).lines("LIST") == ['LIST (\\HasChildren) "." "Lists"']
    assert (await alice.command('LIST "" L*')).lines("LIST") == [
        'LIST (\\HasChildren) "." "Lists"',
        'LIST (\\HasChildren) "." "Lists.Python"',
        'LIST (\\HasNoChildren) "." "Lists.Python.Dev"',
    ]
    assert (await alice.command('LIST "" Lists.%')).lines("LIST") == [
        'LIST (\\HasChildren) "." "Lists.Python"'
    ]


async def test_the_reference_is_prefixed_to_the_pattern(alice: ImapTalk) -> None:
    await make(alice, "CREATE Lists.Python", "CREATE Lists.Rust")
    expected = [
        'LIST (\\HasNoChildren) "." "Lists.Python"',
        'LIST (\\HasNoChildren) "." "Lists.Rust"',
    ]
    assert (await alice.command("LIST Lists .%")).lines("LIST") == expected
    assert (await alice.command("LIST Lists. %")).lines("LIST") == expected


async def test_a_pattern_without_wildcards_matches_only_that_name(alice: ImapTalk) -> None:
    await make(alice, "CREATE Sent.2025")
    assert (await alice.command('LIST "" Sent')).lines("LIST") == [
        'LIST (\\HasChildren \\Sent) "." "Sent"'
    ]


async def test_inbox_matches_in_any_case(alice: ImapTalk) -> None:
    assert (await alice.command('LIST "" inbox')).lines("LIST") == [DEFAULT_LIST[0]]
    assert (await alice.command('LIST "" InBoX')).lines("LIST") == [DEFAULT_LIST[0]]


async def test_a_pattern_starting_like_inbox_finds_it_in_any_case(alice: ImapTalk) -> None:
    # Dovecot's imap-match: "inb*" and "i%x" are "inboxcase" patterns.
    await make(alice, "CREATE INBOX.Receipts")
    assert (await alice.command('LIST "" inb*')).lines("LIST") == [
        'LIST (\\HasChildren) "." "INBOX"',
        'LIST (\\HasNoChildren) "." "INBOX.Receipts"',
    ]
    assert (await alice.command('LIST "" inbox.%')).lines("LIST") == [
        'LIST (\\HasNoChildren) "." "INBOX.Receipts"'
    ]


async def test_case_folding_is_only_for_inbox(alice: ImapTalk) -> None:
    assert (await alice.command('LIST "" sent')).lines("LIST") == []
    assert (await alice.command('LIST "" INBOX.%')).lines("LIST") == []


async def test_a_parent_that_is_no_folder_is_listed_noselect(alice: ImapTalk) -> None:
    await make(alice, "CREATE Lists.Python")
    assert (await alice.command('LIST "" %')).lines("LIST") == [
        *DEFAULT_LIST[:3],
        'LIST (\\HasNoChildren \\Junk) "." "Junk"',
        'LIST (\\HasChildren \\Noselect) "." "Lists"',
        *DEFAULT_LIST[4:],
    ]


async def test_list_does_not_show_subscription_unless_asked(alice: ImapTalk) -> None:
    lines = (await alice.command('LIST "" Sent')).lines("LIST")
    assert lines == ['LIST (\\HasNoChildren \\Sent) "." "Sent"']


async def test_a_pattern_of_many_wildcards_is_answered_at_once(alice: ImapTalk) -> None:
    # A regular expression for "*a*a*a…b" backtracks for ages against "aaaa…".
    await make(alice, "CREATE " + "a" * 200)
    reply = await alice.command('LIST "" "' + "*a" * 60 + 'b"')
    assert reply.untagged == []
    assert reply.tagged == b"a3 OK List completed."
    reply = await alice.command('LIST "" "' + "%a" * 60 + '%"')
    assert reply.lines("LIST") == [f'LIST (\\HasNoChildren) "." "{"a" * 200}"']


async def test_a_pattern_that_is_not_valid_mutf7_matches_nothing(alice: ImapTalk) -> None:
    # "&'" begins no mUTF-7 sequence, so the pattern names no mailbox; as in Dovecot the
    # answer is OK with no match, not the NO [CANNOT] that CREATE gives such a name.
    reply = await alice.command('LIST "" "!#$&\'+,-.0123456789:;<=>?@^_`|[}%*"')
    assert reply.tagged == b"a2 OK List completed."
    assert reply.untagged == []


async def test_an_invalid_mutf7_pattern_leaves_the_other_patterns_matching(
    alice: ImapTalk,
) -> None:
    reply = await alice.command('LIST "" ("&*" INBOX "Sent&")')
    assert reply.ok, reply.tagged
    assert reply.lines("LIST") == ['LIST (\\HasNoChildren) "." "INBOX"']


async def test_an_invalid_mutf7_reference_matches_nothing(alice: ImapTalk) -> None:
    reply = await alice.command('LIST "&" *')
    assert reply.ok, reply.tagged
    assert reply.untagged == []


async def test_lsub_with_an_invalid_mutf7_pattern_matches_nothing(alice: ImapTalk) -> None:
    assert (await alice.command("SUBSCRIBE INBOX")).ok
    reply = await alice.command('LSUB "" "&AOQ*"')
    assert reply.tagged == b"a3 OK Lsub completed."
    assert reply.untagged == []


async def test_a_utf8_client_lists_names_in_utf8(alice: ImapTalk) -> None:
    await make(alice, "CREATE Entw&APw-rfe", "ENABLE UTF8=ACCEPT")
    assert (await alice.command('LIST "" Entwü*')).lines("LIST") == [
        'LIST (\\HasNoChildren) "." "Entwürfe"'
    ]


# -- LIST-EXTENDED (RFC 5258) -------------------------------------------------------------------


async def test_several_patterns_in_one_list(alice: ImapTalk) -> None:
    reply = await alice.command('LIST "" (INBOX Drafts "Tr%")')
    assert reply.lines("LIST") == [DEFAULT_LIST[0], DEFAULT_LIST[2], DEFAULT_LIST[5]]


async def test_return_subscribed_marks_subscribed_folders(alice: ImapTalk) -> None:
    await make(alice, "CREATE Work")
    reply = await alice.command('LIST "" (INBOX Sent Work) RETURN (SUBSCRIBED)')
    assert reply.lines("LIST") == [
        'LIST (\\HasNoChildren) "." "INBOX"',
        'LIST (\\HasNoChildren \\Sent \\Subscribed) "." "Sent"',
        'LIST (\\HasNoChildren) "." "Work"',
    ]


async def test_return_children_marks_children(alice: ImapTalk) -> None:
    await make(alice, "CREATE Work.2026")
    reply = await alice.command('LIST () "" (Work Drafts) RETURN (CHILDREN)')
    assert reply.lines("LIST") == [
        'LIST (\\Drafts \\HasNoChildren) "." "Drafts"',
        'LIST (\\HasChildren \\Noselect) "." "Work"',
    ]


async def test_select_subscribed_lists_subscribed_names_even_without_folder(
    alice: ImapTalk,
) -> None:
    await make(alice, "CREATE Work", "SUBSCRIBE Work", "SUBSCRIBE Gone", "UNSUBSCRIBE Junk")
    reply = await alice.command('LIST (SUBSCRIBED) "" *')
    assert reply.lines("LIST") == [
        'LIST (\\Archive \\HasNoChildren \\Subscribed) "." "Archive"',
        'LIST (\\Drafts \\HasNoChildren \\Subscribed) "." "Drafts"',
        'LIST (\\NonExistent \\Subscribed) "." "Gone"',
        'LIST (\\HasNoChildren \\Sent \\Subscribed) "." "Sent"',
        'LIST (\\HasNoChildren \\Subscribed \\Trash) "." "Trash"',
        'LIST (\\HasNoChildren \\Subscribed) "." "Work"',
    ]


async def test_recursivematch_alone_is_refused_with_bad(alice: ImapTalk) -> None:
    reply = await alice.command('LIST (RECURSIVEMATCH) "" %')
    assert reply.status == "BAD"


async def test_recursivematch_with_only_remote_is_refused_with_bad(alice: ImapTalk) -> None:
    reply = await alice.command('LIST (RECURSIVEMATCH REMOTE) "" ""')
    assert reply.status == "BAD"
    assert reply.untagged == []


async def test_recursivematch_with_subscribed_and_remote_is_answered(alice: ImapTalk) -> None:
    reply = await alice.command('LIST (REMOTE SUBSCRIBED RECURSIVEMATCH) "" INBOX')
    assert reply.ok, reply.tagged


async def test_recursivematch_returns_an_unsubscribed_parent_with_childinfo(
    alice: ImapTalk,
) -> None:
    # RFC 5258 §5 example 8 A.
    await make(alice, "CREATE Foo", "CREATE Foo.Bar", "CREATE Foo.Baz", "SUBSCRIBE Foo.Baz")
    reply = await alice.command('LIST (SUBSCRIBED RECURSIVEMATCH) "" Foo%')
    assert reply.lines("LIST") == ['LIST (\\HasChildren) "." "Foo" ("CHILDINFO" ("SUBSCRIBED"))']


async def test_recursivematch_returns_a_subscribed_parent_with_childinfo(
    alice: ImapTalk,
) -> None:
    # RFC 5258 §5 example 8 A1.
    await make(alice, "CREATE Foo.Baz", "CREATE Foo", "SUBSCRIBE Foo.Baz", "SUBSCRIBE Foo")
    reply = await alice.command('LIST (SUBSCRIBED RECURSIVEMATCH) "" Foo%')
    assert reply.lines("LIST") == [
        'LIST (\\HasChildren \\Subscribed) "." "Foo" ("CHILDINFO" ("SUBSCRIBED"))'
    ]


async def test_recursivematch_returns_a_missing_parent_as_nonexistent(
    alice: ImapTalk,
) -> None:
    # RFC 5258 §5 example 8 A2: "Foo" is no mailbox, "Foo.Baz" is subscribed.
    await make(alice, "SUBSCRIBE Foo.Baz")
    reply = await alice.command('LIST (SUBSCRIBED RECURSIVEMATCH) "" Foo%')
    assert reply.lines("LIST") == ['LIST (\\NonExistent) "." "Foo" ("CHILDINFO" ("SUBSCRIBED"))']


async def test_recursivematch_does_not_repeat_children_the_pattern_already_shows(
    alice: ImapTalk,
) -> None:
    # RFC 5258 §3.5: servers SHOULD suppress redundant CHILDINFO (Dovecot does).
    await make(alice, "CREATE Foo.Baz", "SUBSCRIBE Foo.Baz")
    reply = await alice.command('LIST (SUBSCRIBED RECURSIVEMATCH) "" Foo*')
    assert reply.lines("LIST") == ['LIST (\\HasNoChildren \\Subscribed) "." "Foo.Baz"']


async def test_select_special_use_lists_only_special_folders(alice: ImapTalk) -> None:
    await make(alice, "CREATE Work")
    reply = await alice.command('LIST (SPECIAL-USE) "" *')
    assert reply.lines("LIST") == DEFAULT_LIST[1:]


async def test_return_special_use_shows_the_attributes(alice: ImapTalk) -> None:
    reply = await alice.command('LIST "" % RETURN (SPECIAL-USE)')
    assert reply.lines("LIST") == DEFAULT_LIST


async def test_return_status_follows_each_list_line(alice: ImapTalk) -> None:
    assert (await alice.append("INBOX", b"Subject: a\r\n\r\na\r\n")).ok
    assert (await alice.append("INBOX", b"Subject: b\r\n\r\nb\r\n", "(\\Seen)")).ok
    reply = await alice.command('LIST "" (INBOX Sent) RETURN (STATUS (MESSAGES UNSEEN))')
    assert reply.untagged == [
        b'* LIST (\\HasNoChildren) "." "INBOX"',
        b'* STATUS "INBOX" (MESSAGES 2 UNSEEN 1)',
        b'* LIST (\\HasNoChildren \\Sent) "." "Sent"',
        b'* STATUS "Sent" (MESSAGES 0 UNSEEN 0)',
    ]


async def test_return_status_skips_noselect_folders(alice: ImapTalk) -> None:
    await make(alice, "CREATE Lists.Python")
    reply = await alice.command('LIST "" Lists* RETURN (STATUS (MESSAGES))')
    assert reply.untagged == [
        b'* LIST (\\HasChildren \\Noselect) "." "Lists"',
        b'* LIST (\\HasNoChildren) "." "Lists.Python"',
        b'* STATUS "Lists.Python" (MESSAGES 0)',
    ]


async def test_every_return_option_at_once(alice: ImapTalk) -> None:
    await make(alice, "CREATE Trash.2025")
    assert (await alice.append("Trash", b"Subject: a\r\n\r\na\r\n")).ok
    reply = await alice.command(
        'LIST "" Trash RETURN (SUBSCRIBED CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))'
    )
    assert reply.untagged == [
        b'* LIST (\\HasChildren \\Subscribed \\Trash) "." "Trash"',
        b'* STATUS "Trash" (MESSAGES 1 UNSEEN 1)',
    ]


# -- LSUB --------------------------------------------------------------------------------------


async def test_lsub_lists_subscribed_names(alice: ImapTalk) -> None:
    await make(alice, "CREATE Work", "SUBSCRIBE Work")
    reply = await alice.command('LSUB "" W*')
    assert reply.lines("LSUB") == ['LSUB () "." "Work"']
    assert reply.tagged == b"a4 OK Lsub completed."


async def test_lsub_percent_shows_an_unsubscribed_parent_as_noselect(alice: ImapTalk) -> None:
    # RFC 3501 §6.3.9: "foo/bar" subscribed, "foo" not: LSUB "%" returns foo, \Noselect.
    await make(alice, "CREATE Foo.Bar", "SUBSCRIBE Foo.Bar")
    assert (await alice.command('LSUB "" F%')).lines("LSUB") == ['LSUB (\\Noselect) "." "Foo"']


async def test_lsub_percent_shows_a_missing_parent_as_noselect(alice: ImapTalk) -> None:
    await make(alice, "SUBSCRIBE Foo.Bar")
    assert (await alice.command('LSUB "" F%')).lines("LSUB") == ['LSUB (\\Noselect) "." "Foo"']


async def test_lsub_star_does_not_add_parents(alice: ImapTalk) -> None:
    await make(alice, "CREATE Foo.Bar", "SUBSCRIBE Foo.Bar")
    assert (await alice.command('LSUB "" F*')).lines("LSUB") == ['LSUB () "." "Foo.Bar"']


async def test_lsub_shows_a_subscribed_name_without_folder(alice: ImapTalk) -> None:
    await make(alice, "SUBSCRIBE Gone")
    assert (await alice.command('LSUB "" Gone')).lines("LSUB") == ['LSUB () "." "Gone"']
