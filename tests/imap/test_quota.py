"""QUOTA over the wire (RFC 9208): the account's storage quota, as the directory sets it
(`Directory.update_account(address, quota_bytes=…)`), reported by GETQUOTAROOT and
GETQUOTA in units of 1024 octets, enforced on APPEND and COPY, and not changeable
by the member (SETQUOTA)."""

from __future__ import annotations

from tests.support.imap_talk import ImapTalk, login
from tests.support.mail_host import MailHost

ALICE = "alice@example.test"
QUOTA = 10 * 1024


async def with_quota(host: MailHost, quota_bytes: int = QUOTA) -> ImapTalk:
    """Alice, logged in after the administrator gave her a quota."""
    await host.directory.update_account(ALICE, quota_bytes=quota_bytes)
    return await login(host)


def message(size: int) -> bytes:
    head = b"Subject: filler\r\n\r\n"
    return head + b"x" * (size - len(head) - 2) + b"\r\n"


def stored_files(host: MailHost) -> list[str]:
    root = host.maildir(ALICE)
    return [p.name for folder in (root, *root.glob(".*")) for p in folder.glob("[nc][eu][wr]/*")]


async def test_quota_is_advertised(alice: ImapTalk) -> None:
    capabilities = (await alice.command("CAPABILITY")).untagged[0].split()
    assert b"QUOTA" in capabilities
    assert b"QUOTA=RES-STORAGE" in capabilities


async def test_getquotaroot_without_a_quota_names_no_root(alice: ImapTalk) -> None:
    # RFC 9208 §4.1.2: a mailbox with no quota root gets an empty QUOTAROOT list.
    reply = await alice.command("GETQUOTAROOT INBOX")
    assert reply.untagged == [b'* QUOTAROOT "INBOX"']
    assert reply.tagged == b"a2 OK Getquotaroot completed."


async def test_getquota_without_a_quota_is_refused(alice: ImapTalk) -> None:
    reply = await alice.command('GETQUOTA ""')
    assert reply.untagged == []
    assert reply.tagged == b"a2 NO Quota root does not exist."


async def test_getquotaroot_reports_the_root_and_its_usage(imap_host: MailHost) -> None:
    talk = await with_quota(imap_host)
    reply = await talk.command("GETQUOTAROOT INBOX")
    assert reply.untagged == [b'* QUOTAROOT "INBOX" ""', b'* QUOTA "" (STORAGE 0 10)']


async def test_getquotaroot_echoes_the_name_as_sent(imap_host: MailHost) -> None:
    talk = await with_quota(imap_host)
    reply = await talk.command("GETQUOTAROOT inbox")
    assert reply.untagged[0] == b'* QUOTAROOT "inbox" ""'


async def test_every_folder_shares_the_account_root(imap_host: MailHost) -> None:
    talk = await with_quota(imap_host)
    reply = await talk.command("GETQUOTAROOT Sent")
    assert reply.untagged == [b'* QUOTAROOT "Sent" ""', b'* QUOTA "" (STORAGE 0 10)']


async def test_getquotaroot_of_a_missing_mailbox_is_refused(imap_host: MailHost) -> None:
    talk = await with_quota(imap_host)
    reply = await talk.command("GETQUOTAROOT Nothing")
    assert reply.tagged == b"a2 NO [NONEXISTENT] Mailbox doesn't exist: Nothing"


async def test_getquota_reports_usage_in_kibibytes(imap_host: MailHost) -> None:
    talk = await with_quota(imap_host)
    assert (await talk.append("INBOX", message(3000))).ok
    assert (await talk.append("Sent", message(3000))).ok
    reply = await talk.command('GETQUOTA ""')
    assert reply.untagged == [b'* QUOTA "" (STORAGE 5 10)']
    assert reply.tagged == b"a4 OK Getquota completed."


async def test_getquota_of_another_root_is_refused(imap_host: MailHost) -> None:
    talk = await with_quota(imap_host)
    reply = await talk.command('GETQUOTA "User quota"')
    assert reply.tagged == b"a2 NO Quota root does not exist."


async def test_append_past_the_quota_is_refused_with_overquota(imap_host: MailHost) -> None:
    talk = await with_quota(imap_host)
    assert (await talk.append("INBOX", message(8000))).ok
    before = stored_files(imap_host)
    reply = await talk.append("INBOX", message(3000))
    assert reply.tagged == b"a3 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)"
    assert stored_files(imap_host) == before
    assert (await talk.command("STATUS INBOX (MESSAGES)")).untagged == [
        b'* STATUS "INBOX" (MESSAGES 1)'
    ]


async def test_append_that_just_fits_is_stored(imap_host: MailHost) -> None:
    talk = await with_quota(imap_host)
    assert (await talk.append("INBOX", message(QUOTA))).ok
    reply = await talk.append("INBOX", message(100))
    assert reply.tagged.startswith(b"a3 NO [OVERQUOTA]")


async def test_quota_counts_every_folder(imap_host: MailHost) -> None:
    talk = await with_quota(imap_host)
    assert (await talk.append("Trash", message(8000))).ok
    reply = await talk.append("Drafts", message(3000))
    assert reply.tagged.startswith(b"a3 NO [OVERQUOTA]")


async def test_expunging_frees_quota(imap_host: MailHost) -> None:
    talk = await with_quota(imap_host)
    assert (await talk.append("INBOX", message(8000))).ok
    assert (await talk.command("SELECT INBOX")).ok
    assert (await talk.command("STORE 1 +FLAGS.SILENT (\\Deleted)")).ok
    assert (await talk.command("EXPUNGE")).ok
    assert (await talk.command('GETQUOTA ""')).untagged == [b'* QUOTA "" (STORAGE 0 10)']
    assert (await talk.append("INBOX", message(8000))).ok


async def test_copy_past_the_quota_is_refused_with_overquota(imap_host: MailHost) -> None:
    talk = await with_quota(imap_host)
    assert (await talk.append("INBOX", message(6000))).ok
    assert (await talk.command("SELECT INBOX")).ok
    reply = await talk.command("COPY 1 Archive")
    assert reply.tagged == b"a4 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)"
    assert (await talk.command("STATUS Archive (MESSAGES)")).untagged == [
        b'* STATUS "Archive" (MESSAGES 0)'
    ]


async def test_move_within_the_account_is_allowed_near_the_quota(imap_host: MailHost) -> None:
    # A MOVE adds nothing to the account's usage.
    talk = await with_quota(imap_host)
    assert (await talk.append("INBOX", message(6000))).ok
    assert (await talk.command("SELECT INBOX")).ok
    assert (await talk.command("MOVE 1 Archive")).ok
    assert (await talk.command('GETQUOTA ""')).untagged == [b'* QUOTA "" (STORAGE 5 10)']


async def test_setquota_is_refused(imap_host: MailHost) -> None:
    talk = await with_quota(imap_host)
    reply = await talk.command('SETQUOTA "" (STORAGE 1000000)')
    assert reply.tagged == b"a2 NO [NOPERM] Quota can be changed only by the administrator."
    assert (await talk.command('GETQUOTA ""')).untagged == [b'* QUOTA "" (STORAGE 0 10)']


async def test_a_new_quota_applies_at_the_next_login(imap_host: MailHost) -> None:
    talk = await with_quota(imap_host)
    assert (await talk.append("INBOX", message(8000))).ok
    await imap_host.directory.update_account(ALICE, quota_bytes=100 * 1024)
    later = await login(imap_host)
    assert (await later.command('GETQUOTA ""')).untagged == [b'* QUOTA "" (STORAGE 7 100)']
    assert (await later.append("INBOX", message(8000))).ok
