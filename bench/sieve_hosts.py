"""The servers of the Sieve ingest bench, made ready: a throw-away Mailroom with the
script for one domain's accounts and none for another's, the reference with the same
script, the script's folders in every account, and a count of what landed where.

- Mailroom (this checkout's, bench/imap_mailroom.py's config plus an SMTP listener):
  accounts ``user0..user{K-1}@example.test`` get the script in Pigeonhole's layout
  (``~/sieve/NAME.sieve`` and the link ``~/.dovecot.sieve -> sieve/NAME.sieve``, next
  to the Maildir, where ``mailroom.store.locate_sieve`` looks by default), accounts
  ``user0..user{K-1}@plain.example.test`` none. One process serves both, so the two
  setups differ only in the script.
- The reference: bench/reference/start with ``REFERENCE_SIEVE`` (started here with
  ``--start-reference``, else checked: it must run this very script).
- The folders the script files into are created over IMAP (CREATE), as a member's
  client would have: neither server then has to create a folder during delivery.
"""

from __future__ import annotations

import imaplib
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import imap_mailroom
from checkout_host import smtp_listener
from sieve_mail import FolderCounts

BENCH = Path(__file__).resolve().parent
PASSWORD = "demo"  # noqa: S105 - the benchmarks' well-known demo password
SIEVE_DOMAIN = "example.test"
PLAIN_DOMAIN = "plain.example.test"
REFERENCE_SIEVE_USERS = 50
"""The reference's user0..user49 get the script (REFERENCE_SIEVE_USERS of
bench/reference/start); user50.. have none, for the scriptless reference setup."""
CONNECTIONS = 400
SMTP_START_TIMEOUT_S = 30.0
REFERENCE_TIMEOUT_S = 300.0


class SetupError(Exception):
    """A server could not be made ready; the message says what to do."""


def accounts(domain: str, count: int, first: int = 0) -> list[str]:
    return [f"user{i}@{domain}" for i in range(first, first + count)]


def install_script(home: Path, script: Path) -> None:
    """``home/sieve/NAME.sieve`` and ``home/.dovecot.sieve -> sieve/NAME.sieve``."""
    (home / "sieve").mkdir(parents=True, exist_ok=True)
    (home / "sieve" / script.name).write_bytes(script.read_bytes())
    link = home / ".dovecot.sieve"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(Path("sieve") / script.name)


@dataclass
class BenchMailroom:
    """A Mailroom serving SMTP and IMAP from a directory of its own."""

    running: imap_mailroom.RunningMailroom
    smtp_port: int

    def domain_root(self, domain: str) -> Path:
        """Where the domain's accounts' homes are (config `mail/%d/%n/Maildir`)."""
        return self.running.directory / "data" / "mail" / domain


def start_mailroom(count: int, script: Path, keep_dir: bool) -> BenchMailroom:
    """Mailroom with ``count`` accounts in each domain, the script for SIEVE_DOMAIN's."""
    users = accounts(SIEVE_DOMAIN, count) + accounts(PLAIN_DOMAIN, count)
    first = imap_mailroom.start(users, PASSWORD, max_connections=CONNECTIONS, keep_dir=True)
    # Its config has IMAP only: restart with an SMTP listener added (as checkout_host.py).
    imap_mailroom.stop(first, keep_dir=True)
    smtp_port = imap_mailroom.free_loopback_port()
    config = first.directory / "mailroom.toml"
    config.write_text(config.read_text() + smtp_listener(smtp_port))
    for address in accounts(SIEVE_DOMAIN, count):
        local, _, domain = address.partition("@")
        install_script(first.directory / "data" / "mail" / domain / local, script)
    try:
        running = imap_mailroom.serve(
            imap_mailroom.mailroom_command(), first.directory, config, first.port
        )
    except BaseException:
        if not keep_dir:
            shutil.rmtree(first.directory, ignore_errors=True)
        raise
    deadline = time.monotonic() + SMTP_START_TIMEOUT_S
    while not imap_mailroom.port_open(smtp_port):
        if time.monotonic() > deadline or running.process.poll() is not None:
            imap_mailroom.stop(running, keep_dir=keep_dir)
            raise SetupError(f"Mailroom does not listen for SMTP on {smtp_port}; see serve.log")
        time.sleep(0.1)
    return BenchMailroom(running, smtp_port)


def create_folders(port: int, users: list[str], folders: tuple[str, ...]) -> None:
    """CREATE each folder in each account over IMAP (an existing one is fine)."""
    for address in users:
        client = imaplib.IMAP4("127.0.0.1", port, timeout=30)
        try:
            client.login(address, PASSWORD)
            existing = {
                line.decode().rsplit(" ", 1)[-1].strip('"')
                for line in client.list()[1]
                if isinstance(line, bytes)
            }
            for folder in folders:
                if folder in existing:
                    continue
                status, answer = client.create(folder)
                if status != "OK":
                    raise SetupError(f"IMAP CREATE {folder} for {address} on {port}: {answer}")
        finally:
            client.logout()


# --------------------------------------------------------------------------- the reference


@dataclass(frozen=True)
class Reference:
    directory: Path
    smtp_port: int
    imap_port: int

    @property
    def domain_root(self) -> Path:
        return self.directory / "mail" / SIEVE_DOMAIN


def reference_environment(reference: Reference, script: Path | None) -> dict[str, str]:
    environment = dict(os.environ)
    environment["REFERENCE_SMTP_PORT"] = str(reference.smtp_port)
    environment["REFERENCE_IMAP_PORT"] = str(reference.imap_port)
    environment.pop("REFERENCE_SIEVE", None)
    if script is not None:
        environment["REFERENCE_SIEVE"] = str(script)
        environment["REFERENCE_SIEVE_USERS"] = str(REFERENCE_SIEVE_USERS)
    return environment


def start_reference(reference: Reference, script: Path) -> bool:
    """bench/reference/start with the script; True if it was not running before (so the
    caller stops it afterwards)."""
    was_running = imap_mailroom.port_open(reference.smtp_port)
    # Its output goes to a file, not a pipe: the daemons it starts inherit the descriptors,
    # and a pipe would never reach its end.
    with tempfile.TemporaryFile("w+") as output:
        result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
            [str(BENCH / "reference" / "start"), str(reference.directory)],
            env=reference_environment(reference, script),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=REFERENCE_TIMEOUT_S,
            check=False,
        )
        output.seek(0)
        text = output.read().rstrip()
    if result.returncode != 0:
        raise SetupError(f"bench/reference/start failed:\n{text}")
    print(text)
    return not was_running


def stop_reference(reference: Reference) -> None:
    subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [str(BENCH / "reference" / "stop"), str(reference.directory)],
        timeout=REFERENCE_TIMEOUT_S,
        check=False,
    )


def check_reference(
    reference: Reference, script: Path, users: list[str], scriptless: list[str]
) -> None:
    """SetupError unless the reference runs Pigeonhole with this script for ``users``, and
    no script for ``scriptless``."""
    hint = (
        f"start it with: REFERENCE_SIEVE={script} REFERENCE_SIEVE_USERS={REFERENCE_SIEVE_USERS}"
        f" bench/reference/start {reference.directory} (or give --start-reference)"
    )
    if not imap_mailroom.port_open(reference.smtp_port):
        raise SetupError(
            f"the reference does not answer on 127.0.0.1:{reference.smtp_port}; {hint}"
        )
    if not (reference.directory / "dovecot" / "sieve.conf").is_file():
        raise SetupError(f"the reference in {reference.directory} runs without Sieve; {hint}")
    wanted = script.read_bytes()
    for address in users:
        link = reference.domain_root / address.partition("@")[0] / ".dovecot.sieve"
        try:
            installed = link.read_bytes()
        except OSError as exc:
            raise SetupError(f"{link}: {exc.strerror}; {hint}") from None
        if installed != wanted:
            raise SetupError(f"{link} is another script than {script}; {hint}")
    for address in scriptless:
        link = reference.domain_root / address.partition("@")[0] / ".dovecot.sieve"
        if link.is_symlink() or link.exists():
            raise SetupError(f"{address} has a script ({link}) but should have none; {hint}")


# --------------------------------------------------------------------------- what landed where


def folder_counts(domain_root: Path) -> FolderCounts:
    """(folder, system flag letters) -> messages, over every account below
    ``domain_root``: ``ACCOUNT/Maildir/{new,cur}`` is INBOX, ``ACCOUNT/Maildir/.NAME/…``
    the folder NAME (Maildir++, as both servers write it). The flags are the upper-case
    letters after ``:2,`` of the file name (RFC-less Maildir convention: F flagged,
    S seen, ...); keywords (lower-case letters) are left out."""
    counts: FolderCounts = Counter()
    try:
        homes = list(os.scandir(domain_root))
    except FileNotFoundError:
        return counts
    for home in homes:
        maildir = Path(home.path) / "Maildir"
        try:
            folders = [("INBOX", maildir)] + [
                (entry.name[1:], Path(entry.path))
                for entry in os.scandir(maildir)
                if entry.name.startswith(".") and entry.is_dir(follow_symlinks=False)
            ]
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name, path in folders:
            for part in ("new", "cur"):
                try:
                    files = os.listdir(path / part)
                except FileNotFoundError:
                    continue
                for file_name in files:
                    if file_name.startswith("."):
                        continue
                    _, _, info = file_name.partition(":2,")
                    flags = "".join(sorted(c for c in info if c.isupper()))
                    counts[(name, flags)] += 1
    return counts


def difference(after: FolderCounts, before: FolderCounts) -> FolderCounts:
    """What a round added (a message moved away would show as negative, and is kept)."""
    keys = set(after) | set(before)
    return Counter({key: after[key] - before[key] for key in keys if after[key] != before[key]})
