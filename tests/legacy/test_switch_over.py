"""The switch-over, and back: the legacy host in miniature, `mailroom import legacy`,
Mailroom serving it as its service user, then the real Dovecot serving the Maildirs
again (the README's "Going back to Dovecot (rollback)", step by step).

The legacy host: MariaDB with the `cacertusers` schema and rows (tests/legacy/conftest.py:
the `$1$` hash of "secret", a `fullnamealias`, a send-as alias), /etc/aliases and the
Postfix map files (`arbitration`, `cacert-inc-bcc`, `transport`, its next hops aiosmtpd
receivers on loopback), and Maildirs written by Debian's Dovecot, started here on
loopback (tests/support/legacy_dovecot.py), filled over IMAP and POP3
(tests/support/legacy_dovecot_mail.py). Each member is a system user of their own, as
there: a uid owns their Maildir.

Then, as an administrator would: `mailroom import legacy --chown nobody:nogroup --index`
(a subprocess, as root: the Maildirs handed to the service user, `nobody` here, their
indexes built), the data directory handed over too, `mailroom serve` started as root (it
drops to `nobody`). Checked: the same logins with bare user names; IMAP shows what
Dovecot showed (UIDs, UIDVALIDITY, UIDNEXT, flags, keywords, sizes, dates, folders, LSUB
lines), no folder or subscription was added, and the legacy "Entwürfe" and "Gesendet"
are marked Drafts and Sent; POP3 the same UIDLs; mail to every legacy address, alias,
rewrite, BCC and transport lands where Postfix sent it; the bare `<postmaster>` is
accepted. Then members change things on Mailroom (flags, a new keyword, an expunge, a
folder below the non-ASCII one, a subscription, a copy, a POP3 DELE). No file in a
Maildir is root's.

Then the rollback: Mailroom stopped, each Maildir given back to its member
(`chown -R USER:USER`), Dovecot started again with its old config: it shows what
Mailroom showed last (the members' changes, the mail Mailroom delivered with the UIDs
Mailroom gave it), the same POP3 UIDLs, and its log has no error or warning.

Needs root (it starts Dovecot and a server that drops privileges), MariaDB, and Dovecot's
IMAP and POP3 servers: in CI all are there (.ci/run), and a missing one fails the test.
"""

from __future__ import annotations

import asyncio
import email.parser
import json
import os
import pwd
import shutil
import smtplib
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from mailroom.config.example import ListenerExample
from tests.legacy.conftest import ARBITRATION, BCC, SECRET_HASH, LegacyHost
from tests.support.imap_talk import ImapTalk
from tests.support.installation import mailroom_process
from tests.support.legacy_dovecot import Member, give_back, make_home, running_dovecot
from tests.support.legacy_dovecot_mail import (
    PASSWORD,
    ImapView,
    differences,
    dovecot_login,
    fill_asmith,
    fill_jdoe,
    imap_view,
    pop3_view,
)
from tests.support.legacy_maildir import folder_directories
from tests.support.mail_host import Internet, client_tls, start_internet, write_config
from tests.support.pop3_talk import Pop3Talk
from tests.support.processes import until
from tests.support.required import require_root
from tests.support.server_process import free_port
from tests.support.service_process import running_on_free_ports
from tests.support.smtp_receiver import Receiver


@pytest.fixture(autouse=True)
def _as_root() -> None:
    require_root("starts Dovecot and serve as root")


NOBODY = pwd.getpwnam("nobody")
LISTENERS = (
    ListenerExample("smtp", "smtp", 0, "starttls"),
    ListenerExample("submission", "submission", 0, "starttls"),
    ListenerExample("imaps", "imap", 0, "implicit"),
    ListenerExample("pop3s", "pop3", 0, "implicit"),
)


@dataclass
class Hops:
    """The legacy `transport` map's next hops, each an SMTP server on loopback."""

    lists: Receiver
    lists_port: int
    issue: Receiver
    issue_port: int

    def transport(self) -> str:
        return (
            f"lists.cacert.org   smtp:[127.0.0.1]:{self.lists_port}\n"
            f"issue.cacert.org   smtp:[127.0.0.1]:{self.issue_port}\n"
            "old.cacert.org     error:mailbox gone\n"
        )


@pytest.fixture
def hops() -> Iterator[Hops]:
    lists, issue = Receiver(), Receiver()
    controllers = []
    ports = []
    for receiver in (lists, issue):
        port = free_port()
        controller = Controller(receiver, hostname="127.0.0.1", port=port, ready_timeout=5)
        controller.start()
        controllers.append(controller)
        ports.append(port)
    try:
        yield Hops(lists, ports[0], issue, ports[1])
    finally:
        for controller in controllers:
            controller.stop()


@pytest.fixture
def site() -> Iterator[Path]:
    """The legacy host's file system in miniature (/home, Dovecot's files) and the new
    host's directory: short (Dovecot's unix sockets live under it) and enterable by the
    members and the service user (pytest's tmp_path is root's, 0700)."""
    root = Path(tempfile.mkdtemp(prefix="mr-legacy-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def internet() -> AsyncIterator[Internet]:
    async for each in start_internet():
        yield each


def legacy_sources(legacy_host: LegacyHost, site: Path, hops: Hops) -> LegacyHost:
    """The conftest's legacy database and /etc/aliases; the Postfix directory with the
    next hops of this test; the Maildirs under `site`."""
    postfix = site / "postfix"
    postfix.mkdir()
    (postfix / "arbitration").write_text(ARBITRATION)
    (postfix / "cacert-inc-bcc").write_text(BCC)
    (postfix / "transport").write_text(hops.transport())
    return LegacyHost(
        legacy_host.mysql_url, legacy_host.aliases, postfix, str(site / "home" / "%n" / "Maildir")
    )


def mailroom_config(root: Path, legacy: LegacyHost, internet: Internet) -> Path:
    """The new host's config, with the lines `mailroom import legacy` asks for and the
    service user."""
    (root / "data").mkdir(parents=True)  # as `mailroom init` makes it
    maps = root / "data" / "legacy"
    settings = {
        **internet.settings(),
        '# default_domain = "example.org"': 'default_domain = "cacert.org"',
        '# path_template = "mail/%d/%n/Maildir"': f'path_template = "{legacy.maildirs}"',
        '# rewrite_maps = ["/etc/mailroom/arbitration"]': (
            f'rewrite_maps = ["{maps / "arbitration"}"]'
        ),
        '# recipient_bcc_maps = ["/etc/mailroom/recipient-bcc"]': (
            f'recipient_bcc_maps = ["{maps / "cacert-inc-bcc"}"]'
        ),
        '# user = "mailroom"  # example; default: none': 'user = "nobody"',
        '# group = "mailroom"  # example; default: the user\'s primary group': 'group = "nogroup"',
        'url = "sqlite:///directory.sqlite3"': 'url = "sqlite:///data/directory.sqlite3"',
    }
    return write_config(root, settings, LISTENERS)


def hand_over(path: Path) -> None:
    """`chown -R nobody:nogroup PATH` (the README, after commands run as root)."""
    for each in [path, *path.rglob("*")]:
        os.lchown(each, NOBODY.pw_uid, NOBODY.pw_gid)


Views = tuple[dict[str, ImapView], tuple[list[bytes], list[bytes]]]
"""Each member's IMAP view, and asmith's POP3 UIDL and LIST answers."""


def assert_same(expected: Views, seen: Views) -> None:
    for user, view in expected[0].items():
        assert differences(view, seen[0][user]) == [], user
    assert seen[1] == expected[1], "POP3 UIDL and LIST"


async def dovecot_views(imap_port: int, pop3_port: int) -> Views:
    views = {}
    for user in ("jdoe", "asmith"):
        talk = await dovecot_login(imap_port, user)
        views[user] = await imap_view(talk)
        await talk.command("LOGOUT")
        await talk.close()
    pop3 = await Pop3Talk.open(pop3_port)
    try:
        uidls = await pop3_view(pop3, "asmith")
    finally:
        await pop3.close()
    return views, uidls


async def mailroom_views(ports: dict[str, int]) -> Views:
    views = {}
    for user in ("jdoe", "asmith"):  # bare user names, as members have always logged in
        talk = await ImapTalk.open(ports["imaps"], tls=client_tls())
        reply = await talk.command(f'LOGIN {user} "{PASSWORD}"')
        assert reply.ok, reply.tagged
        views[user] = await imap_view(talk)
        await talk.command("LOGOUT")
        await talk.close()
    pop3 = await Pop3Talk.open(ports["pop3s"], tls=True)
    try:
        uidls = await pop3_view(pop3, "asmith")
    finally:
        await pop3.close()
    return views, uidls


async def special_use(ports: dict[str, int]) -> list[str]:
    """jdoe's folders that Mailroom marks SPECIAL-USE (RFC 6154), as LIST lines: the
    legacy folders by their names in `[mailbox.special_use]`, none created for it."""
    talk = await ImapTalk.open(ports["imaps"], tls=client_tls())
    try:
        assert (await talk.command(f'LOGIN jdoe "{PASSWORD}"')).ok
        reply = await talk.command('LIST (SPECIAL-USE) "" "*"')
        assert reply.ok, reply.tagged
        return sorted(reply.lines("LIST"))
    finally:
        await talk.close()


async def members_at_work(ports: dict[str, int]) -> None:
    """What members do on Mailroom before the rollback, for Dovecot to read back: jdoe
    flags and unflags, adds a new keyword, expunges, makes and subscribes a folder below
    the non-ASCII one and copies into it; asmith deletes a message over POP3."""
    talk = await ImapTalk.open(ports["imaps"], tls=client_tls())
    try:
        assert (await talk.command(f'LOGIN jdoe "{PASSWORD}"')).ok
        for command in (
            "SELECT INBOX",
            "UID STORE 3 +FLAGS.SILENT (\\Seen Wichtig)",
            "UID STORE 1 -FLAGS.SILENT (\\Seen)",
            "UID STORE 4 +FLAGS.SILENT (\\Deleted)",
            "EXPUNGE",
            'CREATE "Entw&APw-rfe.Alt"',
            'SUBSCRIBE "Entw&APw-rfe.Alt"',
            'UID COPY 3,6 "Entw&APw-rfe.Alt"',
            "LOGOUT",
        ):
            reply = await talk.command(command)
            assert reply.ok, (command, reply.tagged)
    finally:
        await talk.close()
    pop3 = await Pop3Talk.open(ports["pop3s"], tls=True)
    try:
        assert (await pop3.command("USER asmith")).startswith(b"+OK")
        assert (await pop3.command(f"PASS {PASSWORD}")).startswith(b"+OK")
        assert (await pop3.command("DELE 1")).startswith(b"+OK")
        assert (await pop3.command("QUIT")).startswith(b"+OK")
    finally:
        await pop3.close()


def on_disk(members: list[Member]) -> dict[str, tuple[list[str], bytes | None]]:
    """Each Maildir's folder directories and its `subscriptions` file (None: there is
    none, as for a member who never subscribed anything)."""
    disk = {}
    for member in members:
        subscriptions = member.maildir / "subscriptions"
        content = subscriptions.read_bytes() if subscriptions.exists() else None
        disk[member.name] = (folder_directories(member.maildir), content)
    return disk


# Mail from outside to each legacy address (its Subject names it), and where Postfix
# sent it: the members' INBOXes, or a transport's next hop.
INBOUND = {
    "jdoe@cacert.org": ["jdoe"],  # an account
    "john.doe@cacert.org": ["jdoe"],  # its fullnamealias
    "asmith@cacert.org": ["asmith"],
    "pr@cacert.org": ["jdoe", "asmith"],  # aliases table → jdoe; cacert-inc-bcc → asmith
    "board@cacert.org": ["jdoe", "asmith"],  # /etc/aliases: board: jdoe, asmith
    "root@cacert.org": ["jdoe"],  # root: jdoe
    "postmaster@cacert.org": ["jdoe"],  # postmaster: root
    "postmaster": ["jdoe"],  # the bare <postmaster> (RFC 5321 §4.1.1.3)
    "deleted-someone@cacert.org": ["jdoe", "asmith"],  # arbitration → board
    "support@cacert.org": ["issue"],  # support@issue.cacert.org, transport → issue
    "someone@lists.cacert.org": ["lists"],  # transport → lists
}


def send_inbound(port: int) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for recipient in INBOUND:
            body = f"From: carol@outside.example\r\nSubject: to {recipient}\r\n\r\nHello.\r\n"
            refused = client.sendmail("carol@outside.example", [recipient], body.encode())
            assert refused == {}, refused


def refused_for_the_error_transport(port: int) -> int:
    """RCPT TO an address of `old.cacert.org`, whose legacy transport was `error:` (the
    import cannot carry it over and says so): Mailroom refuses it at once, where Postfix
    accepted and bounced it. The reply code."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        assert client.mail("carol@outside.example")[0] == 250
        return client.rcpt("someone@old.cacert.org")[0]


def submit_as_alias(port: int) -> None:
    """jdoe, logged in with the bare user name, sends as pr@ (the aliases table grants it)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.starttls(context=client_tls())
        client.login("jdoe", PASSWORD)
        body = b"From: pr@cacert.org\r\nSubject: from pr\r\n\r\nPress release.\r\n"
        assert client.sendmail("pr@cacert.org", ["friend@outside.example"], body) == {}


def subjects_in(maildir: Path) -> list[str]:
    parser = email.parser.BytesHeaderParser()
    return sorted(
        str(parser.parsebytes(path.read_bytes())["Subject"])
        for sub in ("new", "cur")
        for path in (maildir / sub).iterdir()
    )


def landed(members: list[Member], hops: Hops, internet: Internet) -> dict[str, list[str]]:
    """Where each message from this test went (Subjects, sorted)."""
    parser = email.parser.BytesHeaderParser()
    places = {member.name: subjects_in(member.maildir) for member in members}
    for name, receiver in (("lists", hops.lists), ("issue", hops.issue), ("outside", internet.mx)):
        places[name] = sorted(
            str(parser.parsebytes(each.content)["Subject"]) for each in receiver.received
        )
    return places


def queue_is_empty(config: Path) -> bool:
    result = mailroom_process("-c", str(config), "queue", "list", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) == []


async def test_switch_over_to_mailroom_and_back_to_dovecot(
    site: Path, legacy_host: LegacyHost, hops: Hops, internet: Internet
) -> None:
    members = [
        Member("jdoe", 40001, site / "home" / "jdoe"),
        Member("asmith", 40002, site / "home" / "asmith"),
    ]
    for member in members:
        make_home(member)
    legacy = legacy_sources(legacy_host, site, hops)

    # The legacy host: Dovecot writes the Maildirs as members' clients use it.
    async with running_dovecot(site / "dovecot", members, SECRET_HASH) as dovecot:
        await fill_jdoe(dovecot.imap_port)
        await fill_asmith(dovecot.imap_port, dovecot.pop3_port)
        dovecot_before = await dovecot_views(dovecot.imap_port, dovecot.pop3_port)
    disk_before = on_disk(members)
    inbox_before = {member.name: subjects_in(member.maildir) for member in members}

    # The switch-over.
    config = mailroom_config(site / "mailroom", legacy, internet)
    arguments = legacy.import_args("--chown", "nobody:nogroup", "--index")
    result = await asyncio.to_thread(mailroom_process, "-c", str(config), *arguments)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Add to the config file" not in result.stdout  # the config has every line
    assert "2 found, 0 missing" in result.stdout  # both Maildirs served in place
    assert on_disk(members) == disk_before  # --index wrote nothing Dovecot reads
    hand_over(site / "mailroom" / "data")  # the README: after commands run as root

    async with running_on_free_ports(config) as (server, ports):
        uids = Path(f"/proc/{server.pid}/status").read_text().split("\nUid:", 1)[1]
        assert uids.split("\n", 1)[0].split() == [str(NOBODY.pw_uid)] * 4  # the service user
        mailroom_before = await mailroom_views(ports)
        assert_same(dovecot_before, mailroom_before)
        assert on_disk(members) == disk_before  # no folder, no subscription added
        assert await special_use(ports) == [
            'LIST (\\Drafts \\HasNoChildren) "." "Entw&APw-rfe"',
            'LIST (\\HasNoChildren \\Sent) "." "Gesendet"',
        ]

        await asyncio.to_thread(send_inbound, ports["smtp"])
        await asyncio.to_thread(submit_as_alias, ports["submission"])
        assert await asyncio.to_thread(refused_for_the_error_transport, ports["smtp"]) >= 500
        expected: dict[str, list[str]] = {
            **inbox_before,
            "lists": [],
            "issue": [],
            "outside": ["from pr"],
        }
        for recipient, places in INBOUND.items():
            for place in places:
                expected[place].append(f"to {recipient}")
        expected = {place: sorted(subjects) for place, subjects in expected.items()}
        total = sum(len(subjects) for subjects in expected.values())

        def arrived() -> bool:
            return sum(map(len, landed(members, hops, internet).values())) >= total

        await until(arrived, what="every message at its destination")
        await until(lambda: queue_is_empty(config), what="an empty queue")
        assert landed(members, hops, internet) == expected

        assert on_disk(members) == disk_before
        await members_at_work(ports)
        mailroom_after = await mailroom_views(ports)
        folders, subscriptions = on_disk(members)["jdoe"]
        assert folders == sorted([*disk_before["jdoe"][0], ".Entw&APw-rfe.Alt"])
        assert subscriptions is not None and subscriptions.isascii()  # modified UTF-7

    for member in members:
        foreign = [
            path
            for path in [member.maildir, *member.maildir.rglob("*")]
            if path.lstat().st_uid != NOBODY.pw_uid
        ]
        assert foreign == [], f"files in {member.maildir} not the service user's"

    # The rollback (README, "Going back to Dovecot"): ownership back, Dovecot started;
    # Mailroom's caches stay where they are (step 3 is optional).
    assert list(members[0].maildir.rglob("mailroom-index.sqlite"))
    for member in members:
        give_back(member)
    async with running_dovecot(site / "dovecot", members, SECRET_HASH) as dovecot:
        dovecot_after = await dovecot_views(dovecot.imap_port, dovecot.pop3_port)
        assert_same(mailroom_after, dovecot_after)
        assert dovecot.problems() == []
