"""What the legacy host knew and what the directory holds now, as plain immutable values
that cross from the readers to the planner and from the planner to the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class LegacyUser:
    """A row of the legacy `user` table."""

    username: str
    fullnamealias: str
    realname: str
    password: str


@dataclass(frozen=True)
class LegacySendAs:
    """A row of the legacy `aliases` table: an address `members` receive and send from."""

    address: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class EtcAlias:
    """An /etc/aliases entry: a receive-only alias (`postmaster: root`)."""

    name: str
    values: tuple[str, ...]
    """Normalised `local` names and `local@domain` addresses."""
    line: int


@dataclass(frozen=True)
class MapCopy:
    """A Postfix map file checked by the parser the server uses, to be copied to `target`."""

    kind: str
    """The config key that refers to it: `rewrite_maps` or `recipient_bcc_maps`."""
    source: Path
    target: Path
    text: str


@dataclass(frozen=True)
class Skipped:
    """Something that cannot be carried over, and why."""

    what: str
    reason: str


@dataclass(frozen=True)
class LegacyHost:
    """Everything read from the legacy host."""

    domain: str
    users: tuple[LegacyUser, ...] = ()
    send_as: tuple[LegacySendAs, ...] = ()
    etc_aliases: tuple[EtcAlias, ...] = ()
    transports: tuple[tuple[str, str], ...] = ()
    """(domain, normalised next hop) pairs of the Postfix `transport` map."""
    maps: tuple[MapCopy, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    """What the readers could not use (a line of a file, a row)."""


@dataclass(frozen=True)
class CurrentAccount:
    password_hash: str
    display_name: str
    extra_addresses: frozenset[str]


@dataclass(frozen=True)
class CurrentAlias:
    targets: frozenset[str]
    send_as: frozenset[str]


@dataclass(frozen=True)
class CurrentDirectory:
    """What the directory (and the data directory's map copies) hold before the import."""

    domains: frozenset[str] = frozenset()
    accounts: dict[str, CurrentAccount] = field(default_factory=dict)
    aliases: dict[str, CurrentAlias] = field(default_factory=dict)
    transports: dict[str, str] = field(default_factory=dict)
    map_texts: dict[Path, str] = field(default_factory=dict)
    """The current text of each map copy's target that exists."""
