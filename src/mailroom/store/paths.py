"""Where an account's Maildir is: the path template, expanded safely.

The template (config `mailbox.path_template`) takes %u (the whole address),
%n (the local part), %d (the domain) and %% (a percent sign), like Dovecot's
mail_location. `/home/%n/Maildir` reproduces the legacy host's layout; a
relative template is relative to the data directory.

An address comes from outside, so each expanded value must be one harmless
path component. Refused, with MailboxPathError:
- empty values, "." and ".." (and anything starting with ".", which no
  unquoted RFC 5321 local part does; it would hide the directory and come
  close to "..");
- "/" and NUL (they split or end a path), other control characters, and
  "\\" (harmless on POSIX, but a path separator to anything that copies the
  tree to Windows);
- values longer than 255 bytes in UTF-8 (NAME_MAX).
Finally the expanded path must stay below the template's fixed prefix (the
directory before the first %), so no combination can climb out of it.

The domain is lowercased (domains are case-insensitive, and one account must
not get two mailboxes); the local part is kept as given, since the directory
hands over each account's canonical address.

`locate_mailbox` is the one place that says where an account's Maildir is and
which quota it has: local delivery and the IMAP/POP3 logins both ask it, so the
folders they name are the same (change events are keyed by path, events.py).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mailroom.config.model import MailboxConfig
from mailroom.config.sieve import SieveConfig

NAME_MAX = 255


class MailboxPathError(ValueError):
    """An address cannot be turned into a safe mailbox path; the message says why."""


@dataclass(frozen=True)
class MailboxLocation:
    """Where an account's Maildir is, and the quota it has."""

    root: Path
    quota_bytes: int | None
    """The byte limit of the Maildir++ quota (None: unlimited)."""


def locate_mailbox(
    config: MailboxConfig, data_dir: Path, address: str, quota_bytes: int | None
) -> MailboxLocation:
    """The Maildir of the account whose primary address is `address` (config
    `mailbox.path_template`, relative to `data_dir`), and its quota: `quota_bytes`, the
    account's own, else the configured default. MailboxPathError for an address that
    cannot name a mailbox."""
    root = mailbox_path(config.path_template, address, data_dir)
    return MailboxLocation(root, quota_bytes if quota_bytes is not None else config.default_quota)


@dataclass(frozen=True)
class SieveLocation:
    """Where an account's Sieve scripts are, in Pigeonhole's layout (config `[sieve]`)."""

    scripts: Path
    """The directory of the account's scripts, one `NAME.sieve` each."""
    active: Path
    """The symbolic link to the active script (`~/.dovecot.sieve`)."""


def locate_sieve(
    sieve: SieveConfig, mailbox: MailboxConfig, data_dir: Path, address: str
) -> SieveLocation:
    """The script directory and active-script link of the account whose primary address
    is `address`: `sieve.scripts_template` and `sieve.active_template`, where %h is the
    directory that holds the account's Maildir. MailboxPathError as `locate_mailbox`."""
    home = mailbox_path(mailbox.path_template, address, data_dir).parent
    literal = str(home).replace("%", "%%")

    def expanded(template: str) -> Path:
        with_home = re.sub(r"%(.)", lambda m: literal if m[1] == "h" else m[0], template)
        return mailbox_path(with_home, address, data_dir)

    return SieveLocation(expanded(sieve.scripts_template), expanded(sieve.active_template))


def mailbox_path(template: str, address: str, base: Path) -> Path:
    """The Maildir of `address` under `template` (relative templates: below `base`)."""
    local, at, domain = address.rpartition("@")
    if not at:
        raise MailboxPathError(f"{address!r} has no domain, so it has no mailbox")
    if not local:
        raise MailboxPathError(f"{address!r} has an empty local part, so it has no mailbox")
    domain = domain.lower()
    values = {"u": f"{local}@{domain}", "n": local, "d": domain}
    for key, value in values.items():
        problem = _component_problem(value)
        if problem is not None and f"%{key}" in template.replace("%%", ""):
            raise MailboxPathError(f"cannot make a mailbox path for {address!r}: {problem}")

    expanded, prefix = _expand(template, values)
    path = Path(expanded)
    fixed = PurePosixPath(prefix).parent if not prefix.endswith("/") else PurePosixPath(prefix)
    if not path.is_absolute():
        path = base / path
        fixed = PurePosixPath(base) / fixed
    # Lexical normalisation (no symlinks followed): the check is about the template.
    normal = PurePosixPath(os.path.normpath(path))
    fixed = PurePosixPath(os.path.normpath(fixed))
    if normal == fixed or fixed not in normal.parents:
        raise MailboxPathError(f"the mailbox path of {address!r} would leave {fixed}")
    return path


def _expand(template: str, values: dict[str, str]) -> tuple[str, str]:
    """The expanded template, and its literal prefix before the first variable."""
    out: list[str] = []
    prefix: str | None = None
    index = 0
    while index < len(template):
        character = template[index]
        if character != "%":
            out.append(character)
            index += 1
            continue
        key = template[index + 1 : index + 2]
        if key == "%":
            out.append("%")
        elif key in values:
            if prefix is None:
                prefix = "".join(out)
            out.append(values[key])
        else:
            raise MailboxPathError(f"template {template!r}: only %u, %n, %d and %% may follow %")
        index += 2
    return "".join(out), "".join(out) if prefix is None else prefix


def _component_problem(value: str) -> str | None:
    if value in ("", ".", ".."):
        return f"{value!r} is not a usable directory name"
    if value.startswith("."):
        return "it starts with '.'"
    if "/" in value or "\\" in value:
        return "it contains a path separator"
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in value):
        return "it contains a control character"
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:
        return "it is not valid Unicode"
    if len(encoded) > NAME_MAX:
        return f"it is longer than {NAME_MAX} bytes"
    return None
