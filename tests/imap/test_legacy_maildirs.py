"""Leaving legacy Maildirs alone: a Maildir as Dovecot left it gets no folder and no
subscription it did not have; SPECIAL-USE comes from the configured name lists; LSUB and
the `subscriptions` file look as Dovecot 2.3 makes them. Only a new, empty Maildir gets
the default folders."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.store import Maildir
from tests.support.imap_talk import IMAP_LISTENERS, ImapTalk, login
from tests.support.legacy_maildir import (
    DOVECOT_SUBSCRIPTIONS,
    FOLDERS,
    folder_directories,
    install_legacy_maildir,
)
from tests.support.mail_host import MailHost, start_host

BOB = "bob@example.test"
ALICE = "alice@example.test"


async def make(talk: ImapTalk, *commands: str) -> None:
    for command in commands:
        reply = await talk.command(command)
        assert reply.ok, (command, reply.tagged)


@pytest.fixture
async def bob(imap_host: MailHost) -> AsyncIterator[ImapTalk]:
    """Bob logged in on a Maildir as Dovecot left it."""
    install_legacy_maildir(imap_host, BOB)
    talk = await login(imap_host, BOB)
    yield talk
    await talk.close()


# -- nothing added ----------------------------------------------------------------------------


async def test_an_imap_login_adds_no_folder_and_no_subscription_to_a_dovecot_maildir(
    imap_host: MailHost,
) -> None:
    root = install_legacy_maildir(imap_host, BOB)
    talk = await login(imap_host, BOB)
    await make(talk, 'LIST "" "*"', 'LSUB "" "*"', "SELECT INBOX", "LOGOUT")
    await talk.close()
    assert folder_directories(root) == sorted(FOLDERS)
    assert (root / "subscriptions").read_bytes() == DOVECOT_SUBSCRIPTIONS


async def test_a_dovecot_maildir_lists_its_own_folders_only(bob: ImapTalk) -> None:
    assert (await bob.command('LIST "" "*"')).lines("LIST") == [
        'LIST (\\HasNoChildren) "." "INBOX"',
        'LIST (\\Drafts \\HasNoChildren) "." "Entw&APw-rfe"',
        'LIST (\\HasNoChildren \\Sent) "." "Gesendet"',
        'LIST (\\HasChildren \\Noselect) "." "Lists"',
        'LIST (\\HasNoChildren) "." "Lists.Python"',
        'LIST (\\HasNoChildren \\Trash) "." "Papierkorb"',
        'LIST (\\HasNoChildren \\Junk) "." "Spam"',
    ]


async def test_an_account_that_got_mail_before_its_first_login_gets_the_default_folders(
    imap_host: MailHost,
) -> None:
    # Mailroom's delivery writes no dovecot-uidlist: the account is still new.
    root = imap_host.maildir(ALICE)
    Maildir(root, hostname="mail.example.test").deliver(io.BytesIO(b"Subject: hi\n\nhi\n"))
    talk = await login(imap_host, ALICE)
    assert (await talk.command("SELECT INBOX")).ok
    await talk.close()
    assert folder_directories(root) == [".Archive", ".Drafts", ".Junk", ".Sent", ".Trash"]


async def test_a_maildir_dovecot_delivered_to_gets_no_default_folders(
    imap_host: MailHost,
) -> None:
    # Only INBOX mail, but Dovecot's LDA left its uidlist: a legacy POP3 member's Maildir.
    root = imap_host.maildir(ALICE)
    Maildir(root, hostname="mail.example.test").deliver(io.BytesIO(b"Subject: hi\n\nhi\n"))
    (name,) = (path.name for path in (root / "new").iterdir())
    (root / "dovecot-uidlist").write_bytes(f"3 V1700000000 N2\n1 {name}\n".encode())
    talk = await login(imap_host, ALICE)
    assert (await talk.command('LIST "" "*"')).lines("LIST") == [
        'LIST (\\HasNoChildren) "." "INBOX"'
    ]
    await talk.close()
    assert folder_directories(root) == []
    assert not (root / "subscriptions").exists()


async def test_an_empty_subscriptions_file_makes_a_maildir_existing(imap_host: MailHost) -> None:
    root = imap_host.maildir(ALICE)
    Maildir(root, hostname="mail.example.test").create()
    (root / "subscriptions").write_bytes(b"V\t2\n\n")
    talk = await login(imap_host, ALICE)
    assert (await talk.command('LSUB "" "*"')).lines("LSUB") == []
    await talk.close()
    assert folder_directories(root) == []
    assert (root / "subscriptions").read_bytes() == b"V\t2\n\n"


# -- a new account ----------------------------------------------------------------------------


async def test_a_new_account_gets_the_default_folders_subscribed_and_marked(
    alice: ImapTalk, imap_host: MailHost
) -> None:
    assert (await alice.command('LIST (SPECIAL-USE) "" "*"')).lines("LIST") == [
        'LIST (\\Archive \\HasNoChildren) "." "Archive"',
        'LIST (\\Drafts \\HasNoChildren) "." "Drafts"',
        'LIST (\\HasNoChildren \\Junk) "." "Junk"',
        'LIST (\\HasNoChildren \\Sent) "." "Sent"',
        'LIST (\\HasNoChildren \\Trash) "." "Trash"',
    ]
    root = imap_host.maildir(ALICE)
    assert folder_directories(root) == [".Archive", ".Drafts", ".Junk", ".Sent", ".Trash"]
    assert (root / "subscriptions").read_bytes() == b"V\t2\n\nSent\nDrafts\nTrash\nJunk\nArchive\n"


# -- SPECIAL-USE by name ----------------------------------------------------------------------


async def test_list_special_use_marks_legacy_folders_by_the_name_lists(bob: ImapTalk) -> None:
    # RFC 6154 §2: the selection option lists only folders with a special use.
    assert (await bob.command('LIST (SPECIAL-USE) "" "*"')).lines("LIST") == [
        'LIST (\\Drafts \\HasNoChildren) "." "Entw&APw-rfe"',
        'LIST (\\HasNoChildren \\Sent) "." "Gesendet"',
        'LIST (\\HasNoChildren \\Trash) "." "Papierkorb"',
        'LIST (\\HasNoChildren \\Junk) "." "Spam"',
    ]
    reply = await bob.command('LIST "" "Entw&APw-rfe" RETURN (SPECIAL-USE)')
    assert reply.lines("LIST") == ['LIST (\\Drafts \\HasNoChildren) "." "Entw&APw-rfe"']


async def test_a_folder_marked_with_create_use_wins_over_the_name_lists(bob: ImapTalk) -> None:
    await make(bob, "CREATE Outbox (USE (\\Sent))")
    assert (await bob.command('LIST (SPECIAL-USE) "" "*"')).lines("LIST") == [
        'LIST (\\Drafts \\HasNoChildren) "." "Entw&APw-rfe"',
        'LIST (\\HasNoChildren \\Sent) "." "Outbox"',
        'LIST (\\HasNoChildren \\Trash) "." "Papierkorb"',
        'LIST (\\HasNoChildren \\Junk) "." "Spam"',
    ]


@pytest.fixture
async def french_host(tmp_path: Path) -> AsyncIterator[MailHost]:
    """A host whose operator lists only the French name for drafts."""
    shipped = '# drafts = ["Drafts", "Entwürfe", "Brouillons"]'
    settings = {shipped: 'drafts = ["Brouillons"]'}
    async for host in start_host(tmp_path / "host", settings, listeners=IMAP_LISTENERS):
        yield host


async def test_the_configured_name_list_decides_which_folder_is_drafts(
    french_host: MailHost,
) -> None:
    install_legacy_maildir(french_host, BOB)
    talk = await login(french_host, BOB)
    await make(talk, "CREATE Brouillons")
    reply = await talk.command('LIST "" "*" RETURN (SPECIAL-USE)')
    assert 'LIST (\\HasNoChildren) "." "Entw&APw-rfe"' in reply.lines("LIST")
    assert 'LIST (\\Drafts \\HasNoChildren) "." "Brouillons"' in reply.lines("LIST")
    await talk.close()


# -- LSUB and the subscriptions file, as Dovecot ----------------------------------------------


async def test_lsub_answers_with_no_attributes_as_dovecot_does(bob: ImapTalk) -> None:
    # Dovecot 2.3.19 on this Maildir: `* LSUB () "." Entw&APw-rfe`, INBOX, Lists.Python.
    assert (await bob.command('LSUB "" "*"')).lines("LSUB") == [
        'LSUB () "." "INBOX"',
        'LSUB () "." "Entw&APw-rfe"',
        'LSUB () "." "Lists.Python"',
    ]


async def test_lsub_percent_shows_the_unsubscribed_parent_as_noselect_only(bob: ImapTalk) -> None:
    # Dovecot 2.3.19: `* LSUB (\Noselect) "." Lists` (RFC 3501 §6.3.9).
    assert (await bob.command('LSUB "" "%"')).lines("LSUB") == [
        'LSUB () "." "INBOX"',
        'LSUB () "." "Entw&APw-rfe"',
        'LSUB (\\Noselect) "." "Lists"',
    ]


async def test_subscribing_a_non_ascii_folder_writes_it_as_dovecot_does(
    bob: ImapTalk, imap_host: MailHost
) -> None:
    await make(bob, 'CREATE "Gel&APY-scht"', 'SUBSCRIBE "Gel&APY-scht"')
    await make(bob, 'CREATE "Lists.Caf&AOk-"', 'SUBSCRIBE "Lists.Caf&AOk-"')
    root = imap_host.maildir(BOB)
    # The same modified UTF-7 as the folder's directory, levels TAB-separated.
    assert (root / ".Gel&APY-scht").is_dir()
    assert (root / "subscriptions").read_bytes() == (
        DOVECOT_SUBSCRIPTIONS + b"Gel&APY-scht\nLists\tCaf&AOk-\n"
    )


async def test_a_raw_utf8_line_is_read_and_can_be_unsubscribed(
    imap_host: MailHost,
) -> None:
    # As Mailroom wrote new subscriptions before it matched Dovecot.
    root = install_legacy_maildir(imap_host, BOB)
    (root / "subscriptions").write_bytes(b"V\t2\n\nINBOX\nGesendet\nEntw\xc3\xbcrfe\n")
    talk = await login(imap_host, BOB)
    assert (await talk.command('LSUB "" "E*"')).lines("LSUB") == ['LSUB () "." "Entw&APw-rfe"']
    await make(talk, 'SUBSCRIBE "Entw&APw-rfe"')  # already there: nothing written
    assert (root / "subscriptions").read_bytes() == b"V\t2\n\nINBOX\nGesendet\nEntw\xc3\xbcrfe\n"
    await make(talk, 'UNSUBSCRIBE "Entw&APw-rfe"')
    assert (root / "subscriptions").read_bytes() == b"V\t2\n\nINBOX\nGesendet\n"
    await talk.close()
