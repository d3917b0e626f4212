"""The legacy host's Dovecot in a test: Debian's `dovecot` with `dovecot-imapd` and
`dovecot-pop3d`, started by the test on 127.0.0.1 ephemeral ports with a config of its own
(nothing of /etc/dovecot is read, no system service), its base_dir, state and log under
the test's directory.

Members are as on the legacy host (see the seed doc): each is a system user of their own
(here a uid with no /etc/passwd entry, so the machine is not changed), whose mail is in
`HOME/Maildir` (`mail_location = maildir:~/Maildir`), logging in with the bare user name
and the password whose `$1$` hash the `cacertusers` table holds (a passwd-file here; PAM
over NSS-MySQL there: the same crypt(3) check).

A missing Dovecot fails the test (tests/support/required.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.required import missing, required_tool
from tests.support.server_process import free_port

DOVECOT_BINARIES = (Path("/usr/lib/dovecot/imap"), Path("/usr/lib/dovecot/pop3"))
"""What dovecot-imapd and dovecot-pop3d install (dovecot-core alone serves neither)."""

_PROBLEM = re.compile(r": (Error|Fatal|Panic|Warning): ")

CONFIG = """\
# The legacy host's Dovecot, in miniature (tests/support/legacy_dovecot.py).
instance_name = {instance}
base_dir = {base_dir}
state_dir = {state_dir}
log_path = {log}

protocols = imap pop3
listen = 127.0.0.1
# Loopback only: plain-text logins without TLS, as a test client sends them.
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login

mail_location = maildir:~/Maildir
first_valid_uid = 1000

passdb {{
  driver = passwd-file
  args = scheme=CRYPT {users}
}}
userdb {{
  driver = passwd-file
  args = {users}
}}

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""


@dataclass(frozen=True)
class Member:
    """A legacy member: a system user of their own with mail in HOME/Maildir."""

    name: str
    uid: int
    home: Path

    @property
    def maildir(self) -> Path:
        return self.home / "Maildir"


def dovecot_binary() -> str:
    """The path of `dovecot`, with its IMAP and POP3 servers installed; their absence
    fails the test (tests/support/required.py)."""
    found = required_tool("dovecot", "dovecot-imapd dovecot-pop3d")
    absent = [str(path) for path in DOVECOT_BINARIES if not path.exists()]
    if absent:
        missing(f"{', '.join(absent)} not found: apt-get install dovecot-imapd dovecot-pop3d")
    return found


def make_home(member: Member) -> None:
    """The member's home and empty Maildir, as the legacy documentation makes them:
    `install -o USER -g USER -m 0755 -d /home/USER/Maildir`."""
    for directory in (member.home, member.maildir):
        directory.mkdir(mode=0o755, parents=True, exist_ok=True)
        directory.chmod(0o755)
        os.chown(directory, member.uid, member.uid)


def give_back(member: Member) -> None:
    """`chown -R USER:USER HOME/Maildir`: the Maildir is the member's again (the README's
    rollback, step 2)."""
    for path in [member.maildir, *member.maildir.rglob("*")]:
        os.lchown(path, member.uid, member.uid)


@dataclass
class LegacyDovecot:
    """A running Dovecot: where it listens and its log."""

    process: asyncio.subprocess.Process
    imap_port: int
    pop3_port: int
    log: Path

    def problems(self) -> list[str]:
        """Every line of its log that is an error, a warning, fatal or a panic, but for
        the master's note that this test stopped an earlier run (SIGTERM, as an init
        script's stop does); and anything it wrote to its standard error."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        stopped = f"master: Warning: Killed with signal 15 (by pid={os.getpid()} uid=0 "
        found = [
            line for line in text.splitlines() if _PROBLEM.search(line) and stopped not in line
        ]
        stderr = self.log.with_name("dovecot.stderr")  # what it says before its log is open
        return found + stderr.read_text(errors="replace").splitlines()


@contextlib.asynccontextmanager
async def running_dovecot(
    directory: Path, members: list[Member], password_hash: str
) -> AsyncIterator[LegacyDovecot]:
    """Dovecot serving `members` (each with `password_hash`), its files in `directory`
    (short: unix socket paths under it must fit in 108 bytes), until the block ends;
    then stopped with SIGTERM by its PID and reaped. Its log accumulates across runs in
    the same directory."""
    binary = dovecot_binary()
    for sub in ("run", "state"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    users = directory / "users"
    users.write_text(
        "".join(
            f"{member.name}:{password_hash}:{member.uid}:{member.uid}::{member.home}::\n"
            for member in members
        )
    )
    log = directory / "dovecot.log"
    imap_port, pop3_port = free_port(), free_port()
    config = directory / "dovecot.conf"
    config.write_text(
        CONFIG.format(
            instance=f"legacy-{directory.name}",
            base_dir=directory / "run",
            state_dir=directory / "state",
            log=log,
            users=users,
            imap_port=imap_port,
            pop3_port=pop3_port,
        )
    )
    with (directory / "dovecot.stderr").open("ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            binary, "-F", "-c", str(config), stdout=asyncio.subprocess.DEVNULL, stderr=stderr
        )
    dovecot = LegacyDovecot(process, imap_port, pop3_port, log)
    try:
        for port in (imap_port, pop3_port):
            await _answers(port, process, log)
        yield dovecot
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def _answers(port: int, process: asyncio.subprocess.Process, log: Path) -> None:
    async def connected() -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    for _ in range(600):
        if process.returncode is not None:
            raise AssertionError(f"dovecot exited: {log.read_text(errors='replace')}")
        if await connected():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"dovecot never answered on 127.0.0.1:{port}")
