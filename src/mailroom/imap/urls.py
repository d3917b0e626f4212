"""IMAP URLs of CATENATE's URL parts (RFC 4469 §5, RFC 5092): which message, or which
part of it, of the logged-in user's own mailboxes a URL names. Pure: no I/O.

Two forms are read, both relative to this server and this user, as Dovecot resolves
them for its own user without URLAUTH:
  - `/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=start[.length]]`, the
    mailbox name in UTF-8, percent-encoded (RFC 5092 §6 imessagepart, path-absolute);
  - `;UID=n[/;SECTION=s][/;PARTIAL=…]`, of the selected mailbox (relative to its URL).
Keywords are matched in any case, as Dovecot does. Absolute `imap://` URLs (another
server, or another user's mailbox) and URLAUTH (`;EXPIRE=`, `;URLAUTH=`) are refused:
`UrlError`, which the session answers `NO [BADURL …]`. The mailbox name is only
decoded here; whether it names a folder of the account (and nothing outside it) is the
store's folder-name check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from mailroom.imap.fetch_items import section_from_text
from mailroom.imap.sections import Partial, Section
from mailroom.wire.tokens import GrammarError

MAX_URL = 8192
"""Octets of one URL (RFC 5092 sets none; a mailbox name and a section fit easily)."""
MAX_NUMBER = 2**32 - 1
"""RFC 5092 §11 nz-number, number: 32-bit unsigned, as in IMAP."""

_TAIL = r";UID=([0-9]{1,10})(?:/;SECTION=([^;]*?))?(?:/;PARTIAL=([0-9]{1,10})(?:\.([0-9]{1,10}))?)?"
_ABSOLUTE_PATH = re.compile(r"/([^;]+?)(?:;UIDVALIDITY=([0-9]{1,10}))?/" + _TAIL, re.I | re.S)
_RELATIVE = re.compile(_TAIL, re.I | re.S)


class UrlError(ValueError):
    """The URL is not one this server resolves; the text says why (a NO's text)."""


@dataclass(frozen=True)
class MessageUrl:
    """What a URL names: `mailbox` None means the selected mailbox."""

    mailbox: str | None
    uidvalidity: int | None
    uid: int
    section: Section
    partial: Partial | None = None


def parse_url(text: str) -> MessageUrl:
    """The message (part) `text` names; UrlError when it is not a URL read here."""
    if len(text) > MAX_URL or not text.isascii():
        raise UrlError("Invalid URL")
    if text[:7].lower() == "imap://":
        raise UrlError("Only URLs relative to this server and user are supported")
    mailbox = uidvalidity = None
    if text.startswith("/"):
        match = _ABSOLUTE_PATH.fullmatch(text)
        if match is None:
            raise UrlError("Invalid URL")
        mailbox = _mailbox(match.group(1))
        uidvalidity = _number(match.group(2), nonzero=True)
        tail = match.groups()[2:]
    else:
        match = _RELATIVE.fullmatch(text)
        if match is None:
            raise UrlError("Invalid URL")
        tail = match.groups()
    uid_text, section_text, start, length = tail
    uid = _number(uid_text, nonzero=True)
    assert uid is not None
    return MessageUrl(mailbox, uidvalidity, uid, _section(section_text), _partial(start, length))


def _mailbox(encoded: str) -> str:
    try:
        name = unquote_to_bytes(encoded).decode("utf-8")
    except UnicodeDecodeError:
        raise UrlError("Invalid mailbox name in URL") from None
    if not name:
        raise UrlError("Invalid mailbox name in URL")
    return name


def _number(text: str | None, *, nonzero: bool = False) -> int | None:
    if text is None:
        return None
    value = int(text)
    if value > MAX_NUMBER or (nonzero and value == 0):
        raise UrlError("Invalid number in URL")
    return value


def _section(encoded: str | None) -> Section:
    if encoded is None:
        return Section()
    try:
        return section_from_text(unquote_to_bytes(encoded).decode("ascii"))
    except (UnicodeDecodeError, GrammarError):
        raise UrlError("Invalid section in URL") from None


def _partial(start: str | None, length: str | None) -> Partial | None:
    """RFC 5092 §6 partial-range = number ["." nz-number]: no length, to the end."""
    if start is None:
        return None
    first = _number(start)
    assert first is not None
    count = _number(length, nonzero=True)
    return Partial(first, MAX_NUMBER if count is None else count)
