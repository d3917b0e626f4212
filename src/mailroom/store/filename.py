"""The name of a message file in a Maildir, as Dovecot writes and reads it.

    <unique>,S=<stored size>,W=<size with CRLF>[:2,<flag letters>]
    1795616427.M454329P13700.vm,S=43,W=47:2,FRbc

- `<unique>` is Dovecot's `<secs>.M<usecs>P<pid>Q<counter>.<hostname>`, with '/'
  and ':' in the host name written as `\\057` and `\\072` (a '/' would split the
  path, a ':' would start the info).
- The base name (everything before the first ':') is what `dovecot-uidlist` records;
  it stays the same across flag changes. `,S=` is the size on disk (LF line ends,
  what the Maildir++ quota counts), `,W=` the size with CRLF (RFC822.SIZE). Files
  written by other programs may have neither: then the size is stat()'s.
- `:2,` starts the info: the flag letters (flags.py), sorted. A file in new/ has no
  info; in cur/ it has one, perhaps empty.

This module is the only one that spells the grammar out; the others use its
functions, or, in loops over thousands of files, its patterns and constants
directly. It is pure: no disk access, and it never raises on a name it reads
(garbage is None or the default), only `MaildirNameError` on a name it is asked to
write that could not be read back.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time
from dataclasses import dataclass

INFO_SEPARATOR = ":2,"
"""Starts the flag letters of a file in cur/ (Maildir's "experimental semantics" 2)."""
INFO_START = ":"
"""The base name ends at the first of these (Dovecot's rule, whatever follows)."""
SIZE_FIELD = re.compile(r",S=(\d{1,19})(?=[,:]|$)")
"""The stored size in a base name."""
VIRTUAL_SIZE_FIELD = re.compile(r",W=(\d{1,19})(?=[,:]|$)")
"""The size with CRLF line ends in a base name."""
_OURS = re.compile(
    r"(?P<unique>[^:/\n\x00]+?),S=(?P<size>0|[1-9]\d{0,18}),W=(?P<vsize>0|[1-9]\d{0,18})"
)
_UNSAFE_IN_UNIQUE = re.compile(r"[:/\n\x00]")


class MaildirNameError(ValueError):
    """A message file name that cannot be written; the message says why."""


@dataclass(frozen=True)
class MessageFileName:
    """A message file name in the form this store writes (with both sizes)."""

    unique: str
    stored_size: int
    """Bytes on disk (LF line ends): `,S=`."""
    virtual_size: int
    """Bytes with CRLF line ends: `,W=`."""
    info: str | None = None
    """The flag letters after `:2,` (None: no info, a file in new/)."""

    @property
    def base(self) -> str:
        return base_name(self.unique, self.stored_size, self.virtual_size)

    def __str__(self) -> str:
        return file_name(self.base, self.info)


def base_name(unique: str, stored_size: int, virtual_size: int) -> str:
    """`<unique>,S=<stored size>,W=<virtual size>` (MaildirNameError if unreadable)."""
    if not unique or unique.startswith(".") or _UNSAFE_IN_UNIQUE.search(unique):
        raise MaildirNameError(f"{unique!r} cannot start a message file name")
    if not (0 <= stored_size < 10**19 and 0 <= virtual_size < 10**19):
        raise MaildirNameError(f"sizes {stored_size}, {virtual_size} cannot be in a file name")
    return f"{unique},S={stored_size},W={virtual_size}"


def file_name(base: str, info: str | None) -> str:
    """The file's name in new/ (`info` None) or cur/ (`<base>:2,<info>`)."""
    if info is None:
        return base
    if "/" in info or "\n" in info or "\x00" in info:
        raise MaildirNameError(f"{info!r} cannot be the flag letters of a file name")
    return f"{base}{INFO_SEPARATOR}{info}"


def format_file_name(name: MessageFileName) -> str:
    return str(name)


def parse_file_name(name: str) -> MessageFileName | None:
    """The parts of a name in the form `format_file_name` writes; None for any other."""
    base, separator, rest = name.partition(INFO_START)
    match = _OURS.fullmatch(base)
    if match is None:
        return None
    info: str | None = None
    if separator:
        if not rest.startswith(INFO_SEPARATOR[1:]):
            return None
        info = rest[len(INFO_SEPARATOR) - 1 :]
        if "/" in info or "\n" in info or "\x00" in info:
            return None
    unique = match["unique"]
    if unique.startswith("."):
        return None
    return MessageFileName(unique, int(match["size"]), int(match["vsize"]), info)


def base_of(name: str) -> str:
    """The base name: what `dovecot-uidlist` records (up to the first ':')."""
    return name.partition(INFO_START)[0]


def info_of(name: str) -> str:
    """The flag letters after `:2,` ("" for none, or a name without them)."""
    _, separator, info = name.partition(INFO_SEPARATOR)
    return info if separator else ""


def is_message_file(name: str) -> bool:
    """Whether a name in new/ or cur/ can be a message: not a dot file, a base name
    that is not empty, and no newline (which `dovecot-uidlist` cannot hold)."""
    return not name.startswith(".") and bool(base_of(name)) and "\n" not in name


def stored_size_in(name: str) -> int | None:
    """`,S=` of the base name, if it has one."""
    match = SIZE_FIELD.search(base_of(name))
    return int(match.group(1)) if match else None


def virtual_size_in(name: str) -> int | None:
    """`,W=` of the base name, if it has one."""
    match = VIRTUAL_SIZE_FIELD.search(base_of(name))
    return int(match.group(1)) if match else None


def escape_hostname(hostname: str) -> str:
    """The host name as Dovecot puts it into file names: '/' → \\057, ':' → \\072."""
    return hostname.replace("/", "\\057").replace(":", "\\072")


_counter = itertools.count(1)
_counter_lock = threading.Lock()


def unique_name(hostname: str, *, escaped: bool = False) -> str:
    """A fresh Dovecot-style unique part: `<secs>.M<usecs>P<pid>Q<counter>.<hostname>`
    (`escaped`: the caller has passed the host name through escape_hostname already)."""
    return unique_names(hostname, 1, escaped=escaped)[0]


def unique_names(hostname: str, count: int, *, escaped: bool = False) -> list[str]:
    """`count` fresh unique parts at once (a COPY of thousands): one clock reading, each
    its own counter value, which alone keeps them apart within this process."""
    with _counter_lock:
        counters = list(itertools.islice(_counter, count))
    seconds, microseconds = divmod(time.time_ns() // 1000, 1_000_000)
    host = hostname if escaped else escape_hostname(hostname)
    prefix = f"{seconds}.M{microseconds}P{os.getpid()}Q"
    return [f"{prefix}{counter}.{host}" for counter in counters]


def new_base_names(hostname: str, sizes: list[tuple[int, int]]) -> list[str]:
    """Fresh base names for messages of these (stored size, virtual size), in one go."""
    uniques = unique_names(hostname, len(sizes))
    return [
        f"{unique},S={stored},W={virtual}"
        for unique, (stored, virtual) in zip(uniques, sizes, strict=True)
    ]
