"""Reverse- and forward-paths: the addresses in MAIL FROM and RCPT TO (RFC 5321 §4.1.2).

Parses what a client wrote between the angle brackets into a `Path` and says, with
the proper reply, what is wrong when it cannot. Decides nothing about policy: a
source route, a `%`-hack or an address literal is parsed and flagged
(`has_routing_trick`) for the session to refuse or accept. Pure; no lookups.

Hand-written because the address grammar of SMTP is not that of message headers
(`email.utils` parses RFC 5322 header addresses, with comments and phrases, and
neither refuses nor flags what matters here).

Accepted beyond the letter of RFC 5321, as Postfix does (strict_rfc821_envelopes =
no): a path without its angle brackets (`MAIL FROM:user@example.org`) and spaces
after the colon (`MAIL FROM: <a@b>`), the latter handled in commands.py.

Replies: a malformed sender is `501 5.1.7 Bad sender address syntax`, a malformed
recipient `501 5.1.3 Bad recipient address syntax` (Postfix's codes and words, RFC
3463 §3.2), each followed by what was wrong, including the RFC 5321 §4.5.3.1 size
limits. A non-ASCII address without SMTPUTF8 is `553 5.6.7` (RFC 6531 §3.5).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from mailroom.smtp.replies import (
    BAD_RECIPIENT_SYNTAX,
    BAD_SENDER_SYNTAX,
    SMTPUTF8_REQUIRED,
    SmtpError,
)

# RFC 5321 §4.5.3.1.1-3, in octets. The RFC's 64-octet local part is not enforced: SRS,
# BATV and VERP senders exceed it, and §4.5.3.1 asks for no limits "to the maximum
# extent possible" (Postfix has none); the 256-octet path bounds it instead.
MAX_LOCAL_PART = 250
MAX_DOMAIN = 255
MAX_PATH = 256  # including the angle brackets
MAX_LABEL = 63  # RFC 1035 §2.3.4

# RFC 5321 §4.1.2 atext (RFC 5322 §3.2.3): letters, digits and these.
_ATEXT_SPECIALS = frozenset("!#$%&'*+-/=?^_`{|}~")
_LDH = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_HEX_IPV6 = frozenset("0123456789abcdefABCDEF:.")
_DIGITS = frozenset("0123456789")
# The local part RFC 5321 §4.1.1.3 lets a client send without a domain.
_POSTMASTER = "postmaster"

# Builds the SmtpError that says what is wrong with a path (sender or recipient words).
_Refusal = Callable[[str], SmtpError]


@dataclass(frozen=True)
class Path:
    """A parsed path. The null reverse-path `<>` has empty local part and domain.

    `local_part` is as the client wrote it, unquoted (quoted-pairs resolved), case
    kept: whether to fold case is the caller's decision (RFC 5321 §2.4). `domain` is
    lower-case with U-labels converted to A-labels; an address literal is kept in
    brackets in a canonical form (`[192.0.2.1]`, `[IPv6:2001:db8::1]`). The one
    domain-less path is `<Postmaster>` in RCPT TO (RFC 5321 §4.1.1.3), with domain "".
    """

    local_part: str
    domain: str
    source_route: tuple[str, ...] = ()
    """`<@a.example,@b.example:user@c.example>` -> ("a.example", "b.example")."""
    quoted: bool = False
    """The client quoted the local part (`<"john doe"@example.org>`)."""
    is_literal: bool = False
    """The domain is an address literal (`user@[192.0.2.1]`)."""

    @property
    def is_null(self) -> bool:
        """The null reverse-path `<>`: bounces and other notifications (RFC 5321 §4.5.5)."""
        return not self.local_part and not self.domain

    @property
    def is_bare_postmaster(self) -> bool:
        """`RCPT TO:<Postmaster>`: the session's own postmaster (RFC 5321 §4.1.1.3)."""
        return not self.domain and self.local_part.lower() == _POSTMASTER

    @property
    def address(self) -> str:
        """`local@domain`, the local part unquoted: a key for lookups, not for the wire."""
        if not self.domain:
            return self.local_part
        return f"{self.local_part}@{self.domain}"

    @property
    def mailbox(self) -> str:
        """The address as it is written in SMTP (RFC 5321 §4.1.2 Mailbox): quoted where
        the local part needs it; no source route (RFC 5321 Appendix C lets us drop it)."""
        if self.is_null:
            return ""
        local = self.local_part
        if not _is_dot_string(local, utf8=True):
            escaped = local.replace("\\", "\\\\").replace('"', '\\"')
            local = f'"{escaped}"'
        return f"{local}@{self.domain}" if self.domain else local

    @property
    def has_routing_trick(self) -> bool:
        """Source routes, `%`-hack and bang paths (`user%other@here`, `host!user@here`,
        quoted or not, and a quoted `@`) and address literals: ways of asking a server
        to relay that it should refuse unless it means to (RFC 5321 §3.6.1, Appendix C;
        RFC 2505)."""
        return (
            bool(self.source_route)
            or self.is_literal
            or any(char in self.local_part for char in "%!@")
        )

    @property
    def needs_smtputf8(self) -> bool:
        """Non-ASCII survives in the local part only; the domain is always A-labels."""
        return not self.local_part.isascii()

    def __str__(self) -> str:
        return f"<{self.mailbox}>"


NULL_PATH = Path("", "")


def parse_reverse_path(text: str, *, smtputf8: bool) -> Path:
    """The path of MAIL FROM: `<a@b>`, `a@b`, or the null path `<>`.
    Raises SmtpError(501 5.1.7 …) or SmtpError(553 5.6.7 …)."""
    return _parse(text, smtputf8=smtputf8, reverse=True)


def parse_forward_path(text: str, *, smtputf8: bool) -> Path:
    """The path of RCPT TO: `<a@b>`, `a@b`, or `<Postmaster>`.
    Raises SmtpError(501 5.1.3 …) or SmtpError(553 5.6.7 …)."""
    return _parse(text, smtputf8=smtputf8, reverse=False)


def split_path(argument: str) -> tuple[str, str]:
    """Split what follows `FROM:`/`TO:` into the path and the rest (the parameters).

    `<a@b> SIZE=10` -> (`<a@b>`, ` SIZE=10`). A bracketed path ends at the `>` that
    is not inside a quoted string; an unbracketed one at the first space outside
    quotes. An unterminated path is returned whole (and refused by the parser)."""
    in_quotes = False
    escaped = False
    bracketed = argument.startswith("<")
    for index, char in enumerate(argument):
        if escaped:
            escaped = False
        elif in_quotes and char == "\\":
            escaped = True
        elif char == '"':
            in_quotes = not in_quotes
        elif not in_quotes and bracketed and char == ">":
            return argument[: index + 1], argument[index + 1 :]
        elif not in_quotes and not bracketed and char == " ":
            return argument[:index], argument[index:]
    return argument, ""


def _parse(text: str, *, smtputf8: bool, reverse: bool) -> Path:
    syntax = BAD_SENDER_SYNTAX if reverse else BAD_RECIPIENT_SYNTAX

    def refuse(detail: str) -> SmtpError:
        return SmtpError(syntax.with_detail(detail))

    if not text:
        raise refuse("the address is missing")
    if not text.isascii() and not smtputf8:
        raise SmtpError(SMTPUTF8_REQUIRED)
    if text.startswith("<"):
        if not text.endswith(">") or len(text) < 2:
            raise refuse("missing '>' at the end of the address")
        inner = text[1:-1]
        wire_length = len(text.encode("utf-8"))
    else:
        # Postfix accepts `MAIL FROM:user@example.org`; so do we.
        inner = text
        wire_length = len(text.encode("utf-8")) + 2
    if not inner:
        if reverse:
            return NULL_PATH
        raise refuse("the null address <> is not a recipient")
    if wire_length > MAX_PATH:
        raise refuse(f"the address is longer than {MAX_PATH - 2} octets")

    route: tuple[str, ...] = ()
    if inner.startswith("@"):
        # RFC 5321 §4.1.2 A-d-l: "@" Domain *("," "@" Domain) ":" — still parsed,
        # then ignored (Appendix C), and flagged.
        route_text, colon, inner = inner.partition(":")
        if not colon:
            raise refuse("a source route must end in ':' before the mailbox")
        hops = []
        for hop in route_text.split(","):
            if not hop.startswith("@"):
                raise refuse("each hop of a source route starts with '@'")
            hops.append(_parse_domain_name(hop[1:], refuse))
        route = tuple(hops)

    if not reverse and not route and inner.isascii() and inner.lower() == _POSTMASTER:
        return Path(inner, "")

    local, quoted, rest = _split_local_part(inner, smtputf8, refuse)
    if not rest.startswith("@"):
        raise refuse("expected local-part@domain")
    domain_text = rest[1:]
    if len(local.encode("utf-8")) > MAX_LOCAL_PART:
        raise refuse(f"the part before '@' is longer than {MAX_LOCAL_PART} octets")
    if domain_text.startswith("["):
        domain = _parse_literal(domain_text, refuse)
        return Path(_unquote(local) if quoted else local, domain, route, quoted, True)
    domain = _parse_domain_name(domain_text, refuse)
    return Path(_unquote(local) if quoted else local, domain, route, quoted, False)


def _split_local_part(text: str, utf8: bool, refuse: _Refusal) -> tuple[str, bool, str]:
    """(local part as written, quoted?, the rest starting at '@')."""
    if text.startswith('"'):
        # RFC 5321 §4.1.2 Quoted-string; RFC 6531 §3.3 adds UTF-8 to qtextSMTP.
        index = 1
        while index < len(text):
            char = text[index]
            if char == "\\":
                if index + 1 >= len(text) or not 32 <= ord(text[index + 1]) <= 126:
                    raise refuse("a backslash in quotes escapes a printable ASCII character")
                index += 2
                continue
            if char == '"':
                local = text[: index + 1]
                if local == '""':
                    raise refuse("the part before '@' is empty")
                return local, True, text[index + 1 :]
            if not (32 <= ord(char) <= 126 or (utf8 and _is_utf8_text(char))):
                raise refuse(f"{char!r} is not allowed in a quoted local part")
            index += 1
        raise refuse("unterminated quoted local part")
    at = text.find("@")
    local = text if at < 0 else text[:at]
    rest = "" if at < 0 else text[at:]
    if not local:
        raise refuse("the part before '@' is empty")
    if not _is_dot_string(local, utf8=utf8):
        raise refuse(
            "the part before '@' may hold letters, digits, dots between them and "
            "!#$%&'*+-/=?^_`{|}~ (quote anything else)"
        )
    return local, False, rest


def _unquote(quoted: str) -> str:
    out = []
    escaped = False
    for char in quoted[1:-1]:
        if escaped or char != "\\":
            out.append(char)
            escaped = False
        else:
            escaped = True
    return "".join(out)


def _is_utf8_text(char: str) -> bool:
    # RFC 6532 §3.1 UTF8-non-ascii, less controls, separators and unassigned points.
    return ord(char) > 127 and char.isprintable()


def _is_atext(char: str, utf8: bool) -> bool:
    if char.isascii():
        return char.isalnum() or char in _ATEXT_SPECIALS
    return utf8 and _is_utf8_text(char)


def _is_dot_string(text: str, *, utf8: bool) -> bool:
    """RFC 5321 §4.1.2 Dot-string = Atom *("." Atom)."""
    return bool(text) and all(
        atom and all(_is_atext(char, utf8) for char in atom) for atom in text.split(".")
    )


def _parse_domain_name(text: str, refuse: _Refusal) -> str:
    """RFC 5321 §4.1.2 Domain, or with SMTPUTF8 U-labels (RFC 6531 §3.3), as
    lower-case A-labels."""
    if not text:
        raise refuse("the domain is empty")
    if len(text.encode("utf-8")) > MAX_DOMAIN:
        raise refuse(f"the domain is longer than {MAX_DOMAIN} octets")
    domain = text.lower()
    if not domain.isascii():
        # The standard library's IDNA 2003 codec, as directory/addresses.py uses, so
        # an address normalises the same everywhere.
        try:
            domain = domain.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise refuse("the domain is not a valid internationalised name") from None
        if len(domain) > MAX_DOMAIN:
            raise refuse(f"the domain is longer than {MAX_DOMAIN} octets")
    labels = domain.split(".")
    for label in labels:
        if not label:
            raise refuse("the domain has an empty label (two dots, or a dot at an end)")
        if len(label) > MAX_LABEL:
            raise refuse(f"a domain label is longer than {MAX_LABEL} octets")
        if not set(label) <= _LDH or label.startswith("-") or label.endswith("-"):
            raise refuse(f"{label!r} is not a domain label (letters, digits, inner hyphens)")
    # RFC 1123 §2.1: a top-level label is not all digits, so 192.0.2.1 is no name.
    if set(labels[-1]) <= _DIGITS:
        raise refuse("the domain's last label is all digits (write an IP address as [192.0.2.1])")
    return domain


def _parse_literal(text: str, refuse: _Refusal) -> str:
    """RFC 5321 §4.1.3 address-literal, in a canonical form."""
    if not text.endswith("]") or len(text) < 3:
        raise refuse("an address literal is written [192.0.2.1] or [IPv6:2001:db8::1]")
    content = text[1:-1]
    if content[:5].lower() == "ipv6:":
        address = content[5:]
        if not address or not set(address) <= _HEX_IPV6:
            raise refuse("not an IPv6 address literal")
        try:
            return f"[IPv6:{ipaddress.IPv6Address(address).compressed}]"
        except ValueError:
            raise refuse("not an IPv6 address literal") from None
    if content and content[0] in _DIGITS:
        parts = content.split(".")
        # Snum = 1*3DIGIT, 0-255 (leading zeros allowed by the grammar).
        if len(parts) != 4 or not all(
            1 <= len(part) <= 3 and set(part) <= _DIGITS and int(part) <= 255 for part in parts
        ):
            raise refuse("not an IPv4 address literal")
        return "[" + ".".join(str(int(part)) for part in parts) + "]"
    # RFC 5321 §4.1.3 General-address-literal: Standardized-tag ":" 1*dcontent.
    tag, colon, value = content.partition(":")
    if (
        not colon
        or not tag
        or not set(tag.lower()) <= _LDH
        or tag.startswith("-")
        or tag.endswith("-")
        or not value
        or not all(33 <= ord(char) <= 126 and char not in "[\\]" for char in value)
    ):
        raise refuse("an address literal is written [192.0.2.1] or [IPv6:2001:db8::1]")
    return f"[{content}]"
