"""Debian's fetchmail, a real POP3 client, against the real server: over STLS keeping mail
on the server (UIDL tells it what it already has), over implicit TLS taking it away, and
with a wrong password.

fetchmail runs as a subprocess with its own rc file, id file and HOME in the test's
directory, and hands each message to an MDA that writes it to a file of its own (never
SMTP). The server's certificate is checked: fetchmail trusts only the host's self-signed
certificate and checks the name in it."""

from __future__ import annotations

import asyncio
import os
import poplib
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.imap_talk import ImapTalk
from tests.support.mail_host import PASSWORD, MailHost
from tests.support.pop3_talk import ALICE, deliver, message, pop3s

FETCHMAIL = shutil.which("fetchmail")

# fetchmail(1), EXIT CODES.
GOT_MAIL = 0
NO_MAIL = 1
AUTHENTICATION_FAILED = 3

# Each message fetchmail hands over goes to a file of its own, named in arrival order.
MDA_SCRIPT = """\
import sys
from pathlib import Path

folder = Path(sys.argv[1])
number = len(list(folder.iterdir())) + 1
partial = folder / f".{number:04d}.partial"
partial.write_bytes(sys.stdin.buffer.read())
partial.rename(folder / f"{number:04d}")
"""


def tricky_message(number: int) -> bytes:
    """A message whose lines test dot-stuffing, and a body larger than one write."""
    body = "".join(f"Line {n} of a long message.\n" for n in range(1, 4001))
    return (
        f"From: sender@example.org\nTo: {ALICE}\nSubject: Message {number}\n"
        f"Message-ID: <m{number}@example.org>\n\n"
        ".\n..\n.leading dot\n. \nend of dots\n" + body
    ).encode()


@dataclass
class Fetchmail:
    """One fetchmail setup: its rc file, id file and the folder its MDA writes to."""

    home: Path
    rcfile: Path
    delivered: Path

    async def run(self) -> tuple[int, str]:
        """Run fetchmail once (no daemon); its exit code and everything it printed."""
        if FETCHMAIL is None:  # as with mbsync: a missing client fails, never skips
            pytest.fail("fetchmail is not installed (.ci/run installs it: apt install fetchmail)")
        process = await asyncio.create_subprocess_exec(
            FETCHMAIL,
            "-f",
            str(self.rcfile),
            "--idfile",
            str(self.home / "fetchids"),
            "--pidfile",
            str(self.home / "fetchmail.pid"),
            "--nosyslog",
            "--nodetach",
            "--verbose",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={"HOME": str(self.home), "PATH": os.environ.get("PATH", ""), "LC_ALL": "C"},
        )
        output, _ = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode is not None
        return process.returncode, output.decode("utf-8", "replace")

    def fetched(self) -> list[bytes]:
        """What the MDA received, in order, since the last call."""
        paths = sorted(p for p in self.delivered.iterdir() if not p.name.startswith("."))
        found = [p.read_bytes() for p in paths]
        for path in paths:
            path.rename(path.with_name(f".{path.name}.seen"))
        return found


def fetchmail_for(
    host: MailHost, home: Path, listener: str, options: str, server_options: str = ""
) -> Fetchmail:
    """An rc file polling alice's maildrop on `listener` with `options` (the user's TLS
    and keep options) and `server_options` (the poll's)."""
    home.mkdir()
    delivered = home / "delivered"
    delivered.mkdir()
    script = home / "mda.py"
    script.write_text(MDA_SCRIPT)
    mda = shlex.join([sys.executable, str(script), str(delivered)])
    rcfile = home / "fetchmailrc"
    rcfile.touch(mode=0o600)  # fetchmail refuses an rc file others can read
    rcfile.write_text(
        f"""set no syslog
poll 127.0.0.1 protocol pop3 port {host.port(listener)} timeout 30 {server_options}
    user "{ALICE}" there with password "{PASSWORD}"
    {options}
    sslcertck sslcertfile "{host.root / "tls" / "cert.pem"}" sslcommonname "mail.example.test"
    mda "{mda}"
"""
    )
    return Fetchmail(home, rcfile, delivered)


def assert_arrived_whole(fetched: bytes, original: bytes) -> None:
    """fetchmail hands the MDA the message with LF line ends and its own Received header
    in front: everything else must be the message octet for octet."""
    as_delivered = fetched.replace(b"\r\n", b"\n")
    assert as_delivered.endswith(original), as_delivered[:300]
    added = as_delivered[: -len(original)]
    assert added.startswith(b"Received: "), added
    assert b"\n\n" not in added, added


async def test_plaintext_pop3_listener_refuses_user_before_tls(pop3_host: MailHost) -> None:
    """What makes the next test's success a proof that fetchmail used STLS."""
    reader, writer = await asyncio.open_connection("127.0.0.1", pop3_host.port("pop3"))
    assert (await reader.readline()).startswith(b"+OK")
    writer.write(f"USER {ALICE}\r\n".encode())
    assert (await reader.readline()).startswith(b"-ERR [AUTH] Plaintext authentication")
    writer.close()
    await writer.wait_closed()


async def test_fetchmail_over_stls_keeps_mail_and_fetches_only_new_mail(
    pop3_host: MailHost, tmp_path: Path
) -> None:
    originals = [message(1), tricky_message(2), message(3, body_lines=0)]
    deliver(pop3_host, originals)
    fetchmail = fetchmail_for(
        pop3_host, tmp_path / "fetchmail", "pop3", "sslproto 'auto' keep", "uidl"
    )

    code, output = await fetchmail.run()
    assert code == GOT_MAIL, output
    assert "POP3> STLS" in output, output
    fetched = fetchmail.fetched()
    assert len(fetched) == len(originals), output
    for got, original in zip(fetched, originals, strict=True):
        assert_arrived_whole(got, original)

    # Left on the server, and known by UIDL: nothing to fetch the second time.
    code, output = await fetchmail.run()
    assert code == NO_MAIL, output
    assert fetchmail.fetched() == []

    deliver(pop3_host, [message(4)])
    code, output = await fetchmail.run()
    assert code == GOT_MAIL, output
    (only,) = fetchmail.fetched()
    assert_arrived_whole(only, message(4))

    client = await asyncio.to_thread(pop3s, pop3_host)
    count, _ = await asyncio.to_thread(client.stat)
    await asyncio.to_thread(client.quit)
    assert count == 4


async def test_fetchmail_over_implicit_tls_without_keep_takes_the_mail_away(
    pop3_host: MailHost, tmp_path: Path
) -> None:
    originals = [message(1), tricky_message(2), *(message(n) for n in range(3, 6))]
    deliver(pop3_host, originals)
    fetchmail = fetchmail_for(pop3_host, tmp_path / "fetchmail", "pop3s", "ssl nokeep fetchall")

    code, output = await fetchmail.run()
    assert code == GOT_MAIL, output
    assert "POP3> RETR 2" in output, output  # the whole message, not TOP
    fetched = fetchmail.fetched()
    assert len(fetched) == len(originals), output
    for got, original in zip(fetched, originals, strict=True):
        assert_arrived_whole(got, original)

    talk = await ImapTalk.logged_in(pop3_host.port("imaps"))
    reply = await talk.command("SELECT INBOX")
    assert reply.ok, reply.tagged
    assert reply.lines("0 EXISTS") == ["0 EXISTS"], reply.text()
    await talk.close()


async def test_fetchmail_with_a_wrong_password_fails_and_leaves_the_mail(
    pop3_host: MailHost, tmp_path: Path
) -> None:
    originals = [message(n) for n in range(1, 4)]
    deliver(pop3_host, originals)
    fetchmail = fetchmail_for(pop3_host, tmp_path / "fetchmail", "pop3s", "ssl nokeep fetchall")
    text = fetchmail.rcfile.read_text()
    fetchmail.rcfile.write_text(text.replace(f'password "{PASSWORD}"', 'password "wrong horse"'))

    code, output = await fetchmail.run()
    assert code == AUTHENTICATION_FAILED, output
    assert fetchmail.fetched() == []

    client: poplib.POP3_SSL = await asyncio.to_thread(pop3s, pop3_host)
    count, _ = await asyncio.to_thread(client.stat)
    await asyncio.to_thread(client.quit)
    assert count == len(originals)
