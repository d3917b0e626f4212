"""A POP3 login leaves a Maildir as Dovecot left it: no folder and no subscription is
added (Mailroom used to create Drafts, Junk, Archive and Trash at any first login). A
brand-new account still gets the default folders, whichever protocol logs in first."""

from __future__ import annotations

from tests.support.legacy_maildir import (
    DOVECOT_SUBSCRIPTIONS,
    FOLDERS,
    folder_directories,
    install_legacy_maildir,
)
from tests.support.mail_host import MailHost
from tests.support.pop3_talk import ALICE, Pop3Talk

BOB = "bob@example.test"


async def test_a_pop3_login_adds_no_folder_and_no_subscription_to_a_dovecot_maildir(
    pop3_host: MailHost,
) -> None:
    root = install_legacy_maildir(pop3_host, BOB)
    pop = await Pop3Talk.logged_in(pop3_host, BOB)
    assert (await pop.command("STAT")).startswith(b"+OK 5 ")
    assert await pop.command("QUIT") == b"+OK Logging out."
    await pop.close()
    assert folder_directories(root) == sorted(FOLDERS)
    assert (root / "subscriptions").read_bytes() == DOVECOT_SUBSCRIPTIONS


async def test_a_new_account_gets_the_default_folders_at_its_first_pop3_login(
    pop3_host: MailHost,
) -> None:
    root = pop3_host.maildir(ALICE)
    assert not root.exists()
    pop = await Pop3Talk.logged_in(pop3_host, ALICE)
    assert await pop.command("STAT") == b"+OK 0 0"
    assert await pop.command("QUIT") == b"+OK Logging out."
    await pop.close()
    assert folder_directories(root) == [".Archive", ".Drafts", ".Junk", ".Sent", ".Trash"]
