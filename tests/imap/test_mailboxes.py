"""CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE and NAMESPACE over the wire
(RFC 9051 §6.3.4-§6.3.8, RFC 2342, RFC 6154 §3), and mailbox names that try to
leave the account's Maildir: every one is refused, and the disk shows it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.imap_talk import IMAP_LISTENERS, ImapTalk, login
from tests.support.mail_host import MailHost, start_host

ALICE = "alice@example.test"


def listed(reply_lines: list[str]) -> dict[str, str]:
    """`LIST (\\HasNoChildren) "." "Work"` lines as {"Work": "(\\HasNoChildren)"}."""
    out = {}
    for line in reply_lines:
        attributes, _, rest = line.partition(") ")
        name = rest.split(" ", 1)[1]
        out[name.strip('"')] = attributes.split(" ", 1)[1] + ")"
    return out


def tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


# -- CREATE ------------------------------------------------------------------------------------


async def test_create_makes_a_maildir_folder_that_list_shows(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    reply = await alice.command("CREATE Work")
    assert reply.tagged.endswith(b"OK Create completed.")
    assert (imap_host.maildir(ALICE) / ".Work" / "cur").is_dir()
    assert (await alice.command('LIST "" Work')).lines("LIST") == [
        'LIST (\\HasNoChildren) "." "Work"'
    ]


async def test_create_of_an_existing_folder_is_refused_with_alreadyexists(
    alice: ImapTalk,
) -> None:
    reply = await alice.command("CREATE Sent")
    assert reply.tagged.endswith(b"NO [ALREADYEXISTS] Mailbox already exists")


async def test_create_inbox_in_any_case_is_refused_with_alreadyexists(alice: ImapTalk) -> None:
    reply = await alice.command("CREATE iNbOx")
    assert reply.tagged.endswith(b"NO [ALREADYEXISTS] Mailbox already exists")


async def test_create_with_a_trailing_separator_creates_the_name_without_it(
    alice: ImapTalk,
    imap_host: MailHost,
) -> None:
    assert (await alice.command("CREATE Projects.")).ok
    assert (imap_host.maildir(ALICE) / ".Projects").is_dir()
    assert (await alice.command('LIST "" Projects*')).lines("LIST") == [
        'LIST (\\HasNoChildren) "." "Projects"'
    ]


async def test_create_of_a_child_shows_its_missing_parent_as_noselect(alice: ImapTalk) -> None:
    assert (await alice.command("CREATE Lists.Python")).ok
    assert listed((await alice.command('LIST "" Lists*')).lines("LIST")) == {
        "Lists": "(\\HasChildren \\Noselect)",
        "Lists.Python": "(\\HasNoChildren)",
    }


async def test_create_below_inbox_in_any_case_names_it_inbox(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    assert (await alice.command("CREATE inbox.Receipts")).ok
    assert (imap_host.maildir(ALICE) / ".INBOX.Receipts").is_dir()
    assert listed((await alice.command('LIST "" INBOX*')).lines("LIST")) == {
        "INBOX": "(\\HasChildren)",
        "INBOX.Receipts": "(\\HasNoChildren)",
    }


async def test_create_with_use_gives_the_folder_its_special_use(alice: ImapTalk) -> None:
    assert (await alice.command("CREATE Outbox (USE (\\Sent))")).ok
    assert (await alice.command('LIST "" Outbox')).lines("LIST") == [
        'LIST (\\HasNoChildren \\Sent) "." "Outbox"'
    ]


async def test_create_with_an_unsupported_special_use_is_refused_with_useattr(
    alice: ImapTalk,
    imap_host: MailHost,
) -> None:
    reply = await alice.command("CREATE Everything (USE (\\All))")
    assert reply.tagged.startswith(b"a2 NO [USEATTR]")
    assert not (imap_host.maildir(ALICE) / ".Everything").exists()


# -- mailbox names that try to leave the Maildir --------------------------------------------

HOSTILE_NAMES = [
    "..",
    "../x",
    "../../../../tmp/x",
    "/etc",
    "/tmp/evil",
    "~root",
    "Work/../../x",
    "Work..x",
    ".hidden",
    "a/b",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_create_of_a_name_leaving_the_maildir_is_refused_and_writes_nothing(
    alice: ImapTalk, imap_host: MailHost, name: str
) -> None:
    maildir = imap_host.maildir(ALICE)
    account_dir = maildir.parent
    before = tree(account_dir)
    reply = await alice.command(f'CREATE "{name}"')
    assert reply.tagged.startswith(b"a2 NO [CANNOT] Invalid mailbox name"), reply.tagged
    assert tree(account_dir) == before
    assert not (account_dir / "x").exists()


@pytest.mark.parametrize("name", ["..", "../x", "/etc", "~root", "../Maildir"])
async def test_select_of_a_name_leaving_the_maildir_is_refused(alice: ImapTalk, name: str) -> None:
    reply = await alice.command(f'SELECT "{name}"')
    assert reply.tagged.startswith(b"a2 NO [CANNOT] Invalid mailbox name"), reply.tagged
    assert reply.untagged == []


@pytest.mark.parametrize(("old", "new"), [("Sent", "../Sent"), ("Sent", "/tmp/Sent"), ("..", "x")])
async def test_rename_to_or_from_a_name_leaving_the_maildir_is_refused(
    alice: ImapTalk, imap_host: MailHost, old: str, new: str
) -> None:
    account_dir = imap_host.maildir(ALICE).parent
    before = tree(account_dir)
    reply = await alice.command(f'RENAME "{old}" "{new}"')
    assert reply.tagged.startswith(b"a2 NO [CANNOT] Invalid mailbox name"), reply.tagged
    assert tree(account_dir) == before


async def test_delete_of_a_name_leaving_the_maildir_is_refused(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    (imap_host.maildir(ALICE).parent / "precious").mkdir()
    reply = await alice.command('DELETE "../precious"')
    assert reply.tagged.startswith(b"a2 NO [CANNOT] Invalid mailbox name"), reply.tagged
    assert (imap_host.maildir(ALICE).parent / "precious").is_dir()


async def test_a_control_character_in_a_name_is_refused(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    reply = await alice.command(b'CREATE "Work\x01Late"')
    assert reply.tagged.startswith(b"a2 NO [CANNOT]"), reply.tagged
    assert not any("Work" in p.name for p in imap_host.maildir(ALICE).iterdir())


async def test_a_nul_in_a_literal_name_is_refused_with_bad(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    await alice.send(b"n1 CREATE {5+}\r\nWo\x00rk\r\n")
    reply = await alice.reply("n1")
    assert reply.tagged == b"n1 BAD NUL in literal"
    assert not any("Wo" in p.name for p in imap_host.maildir(ALICE).iterdir())


async def test_a_tab_in_a_utf8_name_is_refused(alice: ImapTalk) -> None:
    assert (await alice.command("ENABLE UTF8=ACCEPT")).ok
    reply = await alice.command(b'CREATE "Work\tLate"')
    assert reply.tagged.startswith(b"a3 NO [CANNOT] Invalid mailbox name"), reply.tagged


async def test_an_over_long_name_is_refused(alice: ImapTalk) -> None:
    reply = await alice.command("CREATE " + "x" * 300)
    assert reply.tagged == b"a2 NO [CANNOT] Invalid mailbox name: the folder name is too long"


async def test_a_name_whose_directory_would_pass_255_octets_is_refused(
    alice: ImapTalk,
    imap_host: MailHost,
) -> None:
    # 100 "ä" are 100 characters, but ".&AOQA5ADk…-" on disk.
    assert (await alice.command("ENABLE UTF8=ACCEPT")).ok
    reply = await alice.command("CREATE " + "ä" * 100)
    assert reply.tagged.startswith(b"a3 NO [CANNOT]"), reply.tagged
    assert all(len(p.name.encode()) <= 255 for p in imap_host.maildir(ALICE).iterdir())


# -- modified UTF-7 ------------------------------------------------------------------------------


async def test_a_modified_utf7_name_round_trips_through_create_and_list(
    alice: ImapTalk,
    imap_host: MailHost,
) -> None:
    assert (await alice.command("CREATE Entw&APw-rfe")).ok
    assert (imap_host.maildir(ALICE) / ".Entw&APw-rfe").is_dir()
    assert (await alice.command('LIST "" Entw*')).lines("LIST") == [
        'LIST (\\HasNoChildren) "." "Entw&APw-rfe"'
    ]


async def test_a_utf8_client_sees_the_same_folder_in_utf8(alice: ImapTalk) -> None:
    assert (await alice.command("CREATE &AOQ-pfel")).ok
    assert (await alice.command("ENABLE UTF8=ACCEPT")).ok
    assert (await alice.command('LIST "" *pfel')).lines("LIST") == [
        'LIST (\\HasNoChildren) "." "äpfel"'
    ]


async def test_an_ampersand_is_written_as_ampersand_dash(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    assert (await alice.command('CREATE "R&-D"')).ok
    assert (imap_host.maildir(ALICE) / ".R&-D").is_dir()
    assert (await alice.command('LIST "" R*')).lines("LIST") == [
        'LIST (\\HasNoChildren) "." "R&-D"'
    ]


@pytest.mark.parametrize("name", ["&AOQ", "&", "&Jjo!-", "&AGE-"])
async def test_a_name_that_is_not_modified_utf7_is_refused(
    alice: ImapTalk, imap_host: MailHost, name: str
) -> None:
    before = tree(imap_host.maildir(ALICE))
    reply = await alice.command(f'CREATE "{name}"')
    assert reply.tagged == b"a2 NO [CANNOT] Mailbox name is not valid mUTF-7"
    assert tree(imap_host.maildir(ALICE)) == before


async def test_append_to_a_missing_utf7_mailbox_says_trycreate_in_utf7(
    alice: ImapTalk,
) -> None:
    data = b"Subject: x\r\n\r\nx\r\n"
    await alice.send(b"t1 APPEND &AOQ-pfel {%d+}\r\n" % len(data) + data + b"\r\n")
    reply = await alice.reply("t1")
    assert reply.tagged == b"t1 NO [TRYCREATE] Mailbox doesn't exist: &AOQ-pfel"


async def test_an_invalid_utf8_name_is_reported_in_utf7_to_a_utf7_client(
    alice: ImapTalk,
) -> None:
    reply = await alice.command("CREATE &AOQ-/x")
    assert reply.tagged.isascii()
    assert reply.tagged.startswith(b"a2 NO [CANNOT] Invalid mailbox name: '&AOQ-/x'")


# -- DELETE ----------------------------------------------------------------------------------


async def test_delete_removes_the_folder_and_its_messages(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    assert (await alice.command("CREATE Work")).ok
    assert (await alice.append("Work", b"Subject: x\r\n\r\nx\r\n")).ok
    reply = await alice.command("DELETE Work")
    assert reply.tagged == b"a4 OK Delete completed."
    assert not (imap_host.maildir(ALICE) / ".Work").exists()
    assert (await alice.command('LIST "" Work')).lines("LIST") == []


async def test_delete_inbox_is_refused(alice: ImapTalk) -> None:
    reply = await alice.command("DELETE inbox")
    assert reply.tagged == b"a2 NO INBOX can't be deleted."


async def test_delete_of_a_missing_folder_is_refused_with_nonexistent(alice: ImapTalk) -> None:
    reply = await alice.command("DELETE Nothing")
    assert reply.tagged == b"a2 NO [NONEXISTENT] Mailbox doesn't exist: Nothing"


async def test_delete_of_a_parent_keeps_its_children_and_leaves_it_noselect(
    alice: ImapTalk,
) -> None:
    assert (await alice.command("CREATE Lists")).ok
    assert (await alice.command("CREATE Lists.Python")).ok
    assert (await alice.command("DELETE Lists")).ok
    assert listed((await alice.command('LIST "" Lists*')).lines("LIST")) == {
        "Lists": "(\\HasChildren \\Noselect)",
        "Lists.Python": "(\\HasNoChildren)",
    }


async def test_delete_of_the_selected_mailbox_answers_ok_then_says_bye(
    alice: ImapTalk,
    imap_host: MailHost,
) -> None:
    # Dovecot 2.3: "Selected mailbox was deleted, have to disconnect."
    assert (await alice.command("CREATE Work")).ok
    assert (await alice.command("SELECT Work")).ok
    reply = await alice.command("DELETE Work")
    assert reply.tagged == b"a4 OK Delete completed."
    assert await alice.read_response() == b"* BYE Selected mailbox was deleted, have to disconnect."
    assert await alice.closed()
    assert not (imap_host.maildir(ALICE) / ".Work").exists()


async def test_another_session_whose_selected_mailbox_is_deleted_is_disconnected(
    alice: ImapTalk,
    imap_host: MailHost,
) -> None:
    other = await login(imap_host)
    assert (await alice.command("CREATE Work")).ok
    assert (await other.command("SELECT Work")).ok
    assert (await alice.command("DELETE Work")).ok
    await other.send(b"b1 NOOP\r\n")
    # Dovecot 2.3's words; no tagged reply follows, the connection closes.
    assert await other.read_response() == b"* BYE Selected mailbox was deleted, have to disconnect."
    assert await other.closed()


# -- RENAME ----------------------------------------------------------------------------------


async def test_rename_moves_the_folder_and_its_children(alice: ImapTalk) -> None:
    assert (await alice.command("CREATE Lists.Python")).ok
    assert (await alice.command("CREATE Lists")).ok
    reply = await alice.command("RENAME Lists Groups")
    assert reply.tagged == b"a4 OK Rename completed."
    assert listed((await alice.command('LIST "" Groups*')).lines("LIST")) == {
        "Groups": "(\\HasChildren)",
        "Groups.Python": "(\\HasNoChildren)",
    }
    assert (await alice.command('LIST "" Lists*')).lines("LIST") == []


async def test_rename_keeps_uidvalidity_and_messages(alice: ImapTalk) -> None:
    assert (await alice.command("CREATE Work")).ok
    assert (await alice.append("Work", b"Subject: x\r\n\r\nx\r\n")).ok
    before = (await alice.command("STATUS Work (MESSAGES UIDVALIDITY UIDNEXT)")).lines("STATUS")
    assert (await alice.command("RENAME Work Job")).ok
    after = (await alice.command("STATUS Job (MESSAGES UIDVALIDITY UIDNEXT)")).lines("STATUS")
    assert after == [before[0].replace('"Work"', '"Job"')]


async def test_rename_onto_an_existing_folder_is_refused(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    reply = await alice.command("RENAME Drafts Sent")
    assert reply.tagged == b"a2 NO [ALREADYEXISTS] Mailbox already exists"
    assert (imap_host.maildir(ALICE) / ".Drafts").is_dir()


async def test_rename_of_a_missing_folder_is_refused_with_nonexistent(alice: ImapTalk) -> None:
    reply = await alice.command("RENAME Nothing Something")
    assert reply.tagged == b"a2 NO [NONEXISTENT] Mailbox doesn't exist: Nothing"


async def test_rename_into_itself_is_refused(alice: ImapTalk, imap_host: MailHost) -> None:
    assert (await alice.command("CREATE Work")).ok
    reply = await alice.command("RENAME Work Work.Old")
    assert reply.tagged.startswith(b"a3 NO [CANNOT]")
    assert (imap_host.maildir(ALICE) / ".Work").is_dir()


async def test_rename_onto_inbox_is_refused(alice: ImapTalk) -> None:
    reply = await alice.command("RENAME Drafts inbox")
    assert reply.tagged == b"a2 NO [ALREADYEXISTS] Mailbox already exists"


async def test_rename_that_would_make_a_childs_name_too_long_is_refused(
    alice: ImapTalk,
    imap_host: MailHost,
) -> None:
    parent = "v" * 250
    assert (await alice.command(f"CREATE {parent}.abc")).ok
    reply = await alice.command(f"RENAME {parent} {'u' * 252}")
    assert reply.tagged.startswith(b"a3 NO [CANNOT]"), reply.tagged
    assert (imap_host.maildir(ALICE) / f".{parent}.abc").is_dir()


async def test_rename_inbox_moves_its_messages_and_leaves_it_empty(alice: ImapTalk) -> None:
    assert (await alice.append("INBOX", b"Subject: one\r\n\r\n1\r\n")).ok
    assert (await alice.append("INBOX", b"Subject: two\r\n\r\n2\r\n")).ok
    assert (await alice.command("CREATE INBOX.Keep")).ok
    reply = await alice.command("RENAME INBOX Old")
    assert reply.tagged == b"a5 OK Rename completed."
    assert (await alice.command("STATUS INBOX (MESSAGES)")).lines("STATUS") == [
        'STATUS "INBOX" (MESSAGES 0)'
    ]
    assert (await alice.command("STATUS Old (MESSAGES)")).lines("STATUS") == [
        'STATUS "Old" (MESSAGES 2)'
    ]
    # RFC 9051 §6.3.6: INBOX's inferior names are unaffected.
    assert (await alice.command('LIST "" INBOX.*')).lines("LIST") == [
        'LIST (\\HasNoChildren) "." "INBOX.Keep"'
    ]


async def test_rename_inbox_while_selected_expunges_its_messages_from_the_view(
    alice: ImapTalk,
) -> None:
    assert (await alice.append("INBOX", b"Subject: one\r\n\r\n1\r\n")).ok
    assert (await alice.append("INBOX", b"Subject: two\r\n\r\n2\r\n")).ok
    assert (await alice.command("SELECT INBOX")).ok
    reply = await alice.command("RENAME INBOX Old")
    assert reply.untagged == [b"* 2 EXPUNGE", b"* 1 EXPUNGE"]
    assert reply.ok


async def test_rename_of_the_selected_mailbox_keeps_it_selected_with_its_messages(
    alice: ImapTalk,
    imap_host: MailHost,
) -> None:
    # As Dovecot: the session goes on with the mailbox under its new name.
    assert (await alice.command("CREATE Work")).ok
    assert (await alice.append("Work", b"Subject: kept\r\n\r\nkept\r\n")).ok
    assert (await alice.command("SELECT Work")).ok
    reply = await alice.command("RENAME Work Job")
    assert reply.untagged == []
    assert reply.tagged == b"a5 OK Rename completed."
    fetched = await alice.command("FETCH 1 (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert fetched.untagged[0].startswith(b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)]")
    assert b"Subject: kept" in fetched.untagged[0]
    other = await login(imap_host)
    assert (await other.append("Job", b"Subject: new\r\n\r\nnew\r\n")).ok
    assert (await alice.command("NOOP")).untagged[0] == b"* 2 EXISTS"


async def test_rename_of_a_parent_of_the_selected_mailbox_keeps_it_selected(
    alice: ImapTalk,
) -> None:
    assert (await alice.command("CREATE Work.Reports")).ok
    assert (await alice.append("Work.Reports", b"Subject: kept\r\n\r\nkept\r\n")).ok
    assert (await alice.command("SELECT Work.Reports")).ok
    reply = await alice.command("RENAME Work Job")
    assert reply.untagged == []
    assert (await alice.command("STORE 1 +FLAGS (\\Flagged)")).untagged == [
        b"* 1 FETCH (FLAGS (\\Flagged \\Recent))"
    ]
    assert (await alice.command("STATUS Job.Reports (MESSAGES UNSEEN)")).untagged == [
        b'* STATUS "Job.Reports" (MESSAGES 1 UNSEEN 1)'
    ]


async def test_rename_carries_the_subscription(alice: ImapTalk) -> None:
    assert (await alice.command("CREATE Work")).ok
    assert (await alice.command("SUBSCRIBE Work")).ok
    assert (await alice.command("RENAME Work Job")).ok
    assert (await alice.command('LSUB "" Work')).lines("LSUB") == []
    assert (await alice.command('LSUB "" Job')).lines("LSUB") == ['LSUB () "." "Job"']


async def test_rename_carries_a_special_use_given_with_create(alice: ImapTalk) -> None:
    assert (await alice.command("CREATE Outbox (USE (\\Sent))")).ok
    assert (await alice.command("RENAME Outbox Posted")).ok
    assert (await alice.command('LIST "" Posted')).lines("LIST") == [
        'LIST (\\HasNoChildren \\Sent) "." "Posted"'
    ]


# -- SUBSCRIBE, UNSUBSCRIBE, NAMESPACE -----------------------------------------------------


async def test_new_accounts_are_subscribed_to_their_special_folders(alice: ImapTalk) -> None:
    reply = await alice.command('LSUB "" *')
    assert reply.lines("LSUB") == [
        'LSUB () "." "Archive"',
        'LSUB () "." "Drafts"',
        'LSUB () "." "Junk"',
        'LSUB () "." "Sent"',
        'LSUB () "." "Trash"',
    ]


async def test_subscribe_adds_the_name_to_lsub(alice: ImapTalk) -> None:
    assert (await alice.command("CREATE Work")).ok
    reply = await alice.command("SUBSCRIBE Work")
    assert reply.tagged == b"a3 OK Subscribe completed."
    assert (await alice.command('LSUB "" Work')).lines("LSUB") == ['LSUB () "." "Work"']


async def test_unsubscribe_removes_the_name_from_lsub(alice: ImapTalk, imap_host: MailHost) -> None:
    reply = await alice.command("UNSUBSCRIBE Junk")
    assert reply.tagged == b"a2 OK Unsubscribe completed."
    assert (await alice.command('LSUB "" Junk')).lines("LSUB") == []
    assert (imap_host.maildir(ALICE) / ".Junk").is_dir()


async def test_a_name_with_no_folder_may_be_subscribed(alice: ImapTalk) -> None:
    # RFC 9051 §6.3.7: the server MUST NOT unilaterally remove an existing name.
    assert (await alice.command("SUBSCRIBE Later")).ok
    assert (await alice.command('LIST (SUBSCRIBED) "" Later')).lines("LIST") == [
        'LIST (\\NonExistent \\Subscribed) "." "Later"'
    ]


async def test_a_subscription_survives_delete(alice: ImapTalk) -> None:
    assert (await alice.command("DELETE Junk")).ok
    assert (await alice.command('LIST (SUBSCRIBED) "" Junk')).lines("LIST") == [
        'LIST (\\NonExistent \\Subscribed) "." "Junk"'
    ]


async def test_subscribe_of_a_name_leaving_the_maildir_is_refused(alice: ImapTalk) -> None:
    reply = await alice.command('SUBSCRIBE "../x"')
    assert reply.tagged.startswith(b"a2 NO [CANNOT] Invalid mailbox name")


async def test_subscriptions_are_written_in_dovecots_file(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    assert (await alice.command("SUBSCRIBE Lists.Python")).ok
    content = (imap_host.maildir(ALICE) / "subscriptions").read_bytes()
    assert content.startswith(b"V\t2\n\n")
    assert b"Lists\tPython\n" in content


async def test_namespace_is_one_personal_namespace_without_prefix(alice: ImapTalk) -> None:
    reply = await alice.command("NAMESPACE")
    assert reply.untagged == [b'* NAMESPACE (("" ".")) NIL NIL']
    assert reply.tagged == b"a2 OK Namespace completed."


async def test_mailbox_commands_need_a_login(imap_host: MailHost) -> None:
    from tests.support.mail_host import client_tls

    talk = await ImapTalk.open(imap_host.port("imaps"), tls=client_tls())
    reply = await talk.command("CREATE Work")
    assert reply.tagged == b"a1 BAD Please login first."


# -- with "/" as the hierarchy separator ----------------------------------------------------


@pytest.fixture
async def slash_host(tmp_path: Path) -> AsyncIterator[MailHost]:
    """A host configured as many Dovecot set-ups are: "/" to clients, "." on disk."""
    settings = {'# hierarchy_separator = "."': 'hierarchy_separator = "/"'}
    async for host in start_host(tmp_path / "host", settings, listeners=IMAP_LISTENERS):
        yield host


async def test_slash_separator_is_what_clients_see(slash_host: MailHost) -> None:
    talk = await login(slash_host)
    assert (await talk.command('LIST "" ""')).untagged == [b'* LIST (\\Noselect) "/" ""']
    assert (await talk.command("NAMESPACE")).untagged == [b'* NAMESPACE (("" "/")) NIL NIL']


async def test_slash_separated_names_are_maildir_plus_plus_folders(slash_host: MailHost) -> None:
    talk = await login(slash_host)
    assert (await talk.command("CREATE Lists/Python")).ok
    assert (slash_host.maildir(ALICE) / ".Lists.Python" / "cur").is_dir()
    assert (await talk.command('LIST "" Lists/%')).lines("LIST") == [
        'LIST (\\HasNoChildren) "/" "Lists/Python"'
    ]


@pytest.mark.parametrize("name", ["a.b", "../x", "Lists/..", "/etc", "..", "a//b"])
async def test_slash_separator_refuses_names_that_would_make_other_levels(
    slash_host: MailHost, name: str
) -> None:
    talk = await login(slash_host)
    account_dir = slash_host.maildir(ALICE).parent
    before = tree(account_dir)
    reply = await talk.command(f'CREATE "{name}"')
    assert reply.tagged.startswith(b"a2 NO [CANNOT] Invalid mailbox name"), reply.tagged
    assert tree(account_dir) == before
