"""What can go wrong in the directory, as types a caller can tell apart.

Each error's `str()` is one line for a person: what was wrong and what to do.
"""

from __future__ import annotations


class DirectoryError(Exception):
    """Base of every refusal by the directory; nothing was changed."""


class InvalidAddress(DirectoryError, ValueError):
    def __init__(self, address: str, reason: str) -> None:
        self.address = address
        self.reason = reason
        super().__init__(f"invalid address {address!r}: {reason}")


class InvalidValue(DirectoryError, ValueError):
    """A value other than an address (a next hop, a quota, a password hash) is malformed."""


class UnknownDomain(DirectoryError):
    def __init__(self, domain: str) -> None:
        self.domain = domain
        super().__init__(
            f"unknown domain {domain!r}: add it first with `mailroom domain add {domain}`"
        )


class NotFound(DirectoryError, LookupError):
    """The named account, address, alias or transport does not exist."""


class AlreadyExists(DirectoryError):
    """The name is taken (addresses are unique across accounts, extra addresses and aliases)."""


class AliasLoop(DirectoryError):
    """The alias would, through other aliases, forward to itself."""


class InUse(DirectoryError):
    """The thing is still referred to (a domain with accounts, an account aliases point to)."""


class DatabaseUnavailable(DirectoryError):
    """The SQL server cannot be reached or refused us; the message names the URL's host."""


class SchemaNotReady(DirectoryError):
    """The database holds no directory tables yet, an older schema a reading command must
    not upgrade, or a newer one this Mailroom must not touch; the message says what to run."""
