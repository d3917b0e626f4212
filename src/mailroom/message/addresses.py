"""Address lists (From, To, Cc, …) read into the four parts IMAP's ENVELOPE sends.

RFC 5322 §3.4 syntax with its obsolete forms, read tolerantly: groups, routes
(`<@a,@b:user@host>`), comments used as the display name when there is none
(`user@host (Name)`), quoted local parts. A mailbox without a domain gets host
"MISSING_DOMAIN" and an empty one "MISSING_MAILBOX", as Dovecot fills them, because
an IMAP host of NIL would mean group syntax (RFC 3501 §7.4.2).

Hand-written rather than `email.utils.getaddresses`, which flattens groups away and
loses routes; the strings are kept raw (encoded words not decoded), as ENVELOPE wants.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from mailroom.message.headers import decode_header, unfold

MISSING_MAILBOX = "MISSING_MAILBOX"
MISSING_DOMAIN = "MISSING_DOMAIN"
MAX_ADDRESSES = 10_000


@dataclass(frozen=True)
class Address:
    """One ENVELOPE address: (name, route, mailbox, host).

    Group syntax is flattened as IMAP does: a start marker (mailbox = group name,
    host None) before the members and an end marker (all None) after them.
    """

    name: str | None
    route: str | None
    mailbox: str | None
    host: str | None

    @property
    def addr_spec(self) -> str:
        """`mailbox@host` (empty for group markers)."""
        if self.host is None or self.mailbox is None:
            return ""
        return f"{self.mailbox}@{self.host}"

    @property
    def display_name(self) -> str | None:
        """The name with RFC 2047 words decoded, or None."""
        if not self.name:
            return None
        return decode_header(self.name.encode("utf-8", "surrogateescape"))


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "quoted", "comment", "literal", or the special character itself
    text: str
    space_before: bool


_SPECIALS = "<>:;@,."


def _tokenize(text: str) -> Iterator[_Token]:
    pos = 0
    length = len(text)
    space = False
    while pos < length:
        char = text[pos]
        if char in " \t":
            space = True
            pos += 1
            continue
        if char == '"':
            chars: list[str] = []
            pos += 1
            while pos < length and text[pos] != '"':
                if text[pos] == "\\" and pos + 1 < length:
                    pos += 1
                chars.append(text[pos])
                pos += 1
            yield _Token("quoted", "".join(chars), space)
            pos += 1
        elif char == "(":
            depth = 0
            chars = []
            while pos < length:
                c = text[pos]
                if c == "\\" and pos + 1 < length:
                    chars.append(text[pos + 1])
                    pos += 2
                    continue
                if c == "(":
                    depth += 1
                    if depth > 1:
                        chars.append(c)
                elif c == ")":
                    depth -= 1
                    if depth == 0:
                        pos += 1
                        break
                    chars.append(c)
                else:
                    chars.append(c)
                pos += 1
            yield _Token("comment", "".join(chars), space)
        elif char == "[":
            close = text.find("]", pos)
            close = length - 1 if close < 0 else close
            yield _Token("literal", text[pos : close + 1], space)
            pos = close + 1
        elif char in _SPECIALS:
            yield _Token(char, char, space)
            pos += 1
        else:
            start = pos
            while pos < length and text[pos] not in _SPECIALS and text[pos] not in ' \t"([':
                pos += 1
            yield _Token("word", text[start:pos], space)
        space = False


def _phrase(tokens: list[_Token]) -> str | None:
    out: list[str] = []
    for token in tokens:
        if token.kind == "comment":
            continue
        if out and token.space_before:
            out.append(" ")
        out.append(token.text)
    text = "".join(out).strip()
    return text or None


def _comment(tokens: list[_Token]) -> str | None:
    for token in reversed(tokens):
        if token.kind == "comment" and token.text.strip():
            return token.text.strip()
    return None


def _addr_spec(tokens: list[_Token]) -> tuple[str, str | None]:
    """(local part, domain or None) of tokens forming `local@domain`."""
    words = [t for t in tokens if t.kind != "comment"]
    at = max((i for i, t in enumerate(words) if t.kind == "@"), default=-1)
    if at < 0:
        return _phrase(words) or "", None
    local = "".join(t.text for t in words[:at])
    domain = "".join(t.text for t in words[at + 1 :])
    return local, domain or None


def _mailbox(tokens: list[_Token]) -> Address | None:
    if not any(t.kind != "comment" for t in tokens):
        return None
    kinds = [t.kind for t in tokens]
    if "<" in kinds:
        open_at = kinds.index("<")
        close_at = kinds.index(">", open_at) if ">" in kinds[open_at:] else len(tokens)
        name = _phrase(tokens[:open_at]) or _comment(tokens[close_at:])
        inner = tokens[open_at + 1 : close_at]
        route: str | None = None
        inner_kinds = [t.kind for t in inner]
        if ":" in inner_kinds:
            colon = inner_kinds.index(":")
            route = "".join(t.text for t in inner[:colon] if t.kind != "comment") or None
            inner = inner[colon + 1 :]
        local, domain = _addr_spec(inner)
    else:
        name = _comment(tokens)
        route = None
        local, domain = _addr_spec(tokens)
    return Address(name, route, local or MISSING_MAILBOX, domain or MISSING_DOMAIN)


def parse_addresses(raw: bytes) -> list[Address]:
    """Every address of an address-list header, groups flattened as IMAP does."""
    text = unfold(raw).decode("utf-8", errors="surrogateescape")
    result: list[Address] = []
    current: list[_Token] = []
    in_angle = False
    seen_angle = False  # the current address has had a `<`: a `:` is no group start
    in_group = False

    def finish() -> None:
        nonlocal seen_angle
        address = _mailbox(current)
        if address is not None and len(result) < MAX_ADDRESSES:
            result.append(address)
        current.clear()
        seen_angle = False

    for token in _tokenize(text):
        if len(result) >= MAX_ADDRESSES:
            break
        kind = token.kind
        if kind == "<":
            in_angle = seen_angle = True
        elif kind == ">":
            in_angle = False
        elif not in_angle and kind == ":" and not in_group and not seen_angle:
            result.append(Address(None, None, _phrase(current) or "", None))
            current.clear()
            in_group = True
            continue
        elif not in_angle and kind == ";":
            finish()
            if in_group:
                result.append(Address(None, None, None, None))
                in_group = False
            continue
        elif not in_angle and kind == ",":
            finish()
            continue
        current.append(token)
    finish()
    if in_group:
        result.append(Address(None, None, None, None))
    return result[:MAX_ADDRESSES]


def first_mailbox(raw: bytes | None) -> Address | None:
    """The first real address (not a group marker) of a header, for SORT keys."""
    if raw is None:
        return None
    for address in parse_addresses(raw):
        if address.host is not None:
            return address
    return None


def addr_specs(raw: bytes) -> list[str]:
    """Each mailbox's `local@domain` as parsed, as ENVELOPE shows it: the comments and
    folding white space RFC 5322 §3.2.2 allows between local part, `@` and domain are
    gone. Group markers and mailboxes missing a part are left out."""
    return [
        address.addr_spec
        for address in parse_addresses(raw)
        if address.host not in (None, MISSING_DOMAIN) and address.mailbox != MISSING_MAILBOX
    ]


# Where CFWS can stand inside an addr-spec (RFC 5322 §3.2.2, §3.4.1 and the obs- forms
# of §4.4): a comment anywhere, or white space (folding included) beside "@" or ".".
_CFWS_INSIDE = re.compile(rb"\(|\s[@.]|[@.]\s")


def addr_specs_written_apart(raw: bytes) -> list[str]:
    """`addr_specs(raw)` when an addr-spec of the header may have CFWS inside it, so
    that its text does not show it as one run; [] for an ordinary header, found by one
    scan without parsing."""
    return addr_specs(raw) if _CFWS_INSIDE.search(raw) else []
