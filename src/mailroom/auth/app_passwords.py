"""What an app password looks like, and reading one back out of a login's password.

An app password is made by the server, never chosen: `ID-xxxxx-xxxxx-xxxxx-xxxxx`, where
ID is its row in the directory (`directory.app_passwords`) and the 20 letters and digits
(an alphabet without 0/o, 1/l: typed from a screen) are 100 random bits. Carrying its id
means a login checks exactly one stored hash, whatever number of app passwords the
account has, so a wrong password costs a guesser's target no more than one argon2id run
beyond the account password's. Only the random part is hashed (argon2id, like account
passwords); the id only says which row to compare with.

Pure: no I/O, fed whatever a client sent as its password.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
GROUPS = 4
GROUP_LENGTH = 5
MAX_ID = 2**31 - 1
APP_PASSWORD_PROTOCOLS = frozenset({"imap", "pop3", "submission", "managesieve"})
"""Where an app password logs in: mail clients' protocols. Not the web (self-service and
admin pages need the account's own password) and not the CLI's `auth test`."""

_GROUP = f"[{ALPHABET}]{{{GROUP_LENGTH}}}"
_SHAPE = re.compile(rf"([1-9][0-9]{{0,9}})-({_GROUP}(?:-{_GROUP}){{{GROUPS - 1}}})")


@dataclass(frozen=True)
class AppPasswordLogin:
    """A password that has the shape of an app password."""

    id: int
    secret: str = field(repr=False)
    """The random part, what its stored hash is of."""


def new_secret() -> str:
    """A fresh random part, grouped for reading: `xxxxx-xxxxx-xxxxx-xxxxx`."""
    letters = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LENGTH))
    return "-".join(
        letters[index : index + GROUP_LENGTH] for index in range(0, len(letters), GROUP_LENGTH)
    )


def app_password_text(password_id: int, secret: str) -> str:
    """What the member types into the mail client."""
    return f"{password_id}-{secret}"


def parse_app_password(password: str) -> AppPasswordLogin | None:
    """The id and random part of an app password; None for anything else (an account's
    own password, usually)."""
    if len(password) > 10 + 1 + GROUPS * (GROUP_LENGTH + 1):
        return None
    match = _SHAPE.fullmatch(password)
    if match is None:
        return None
    password_id = int(match.group(1))
    if password_id > MAX_ID:
        return None
    return AppPasswordLogin(password_id, match.group(2))
