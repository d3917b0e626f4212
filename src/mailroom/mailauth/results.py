"""The one `Authentication-Results:` header field (RFC 8601) we add to inbound mail, and
the removal of those that claim to be ours before it is added.

The result clauses are the `authres` package's (its SPF, DKIM, DMARC and ARC classes);
the field is folded here, one clause per line, so it never nears the 998-octet line
limit (RFC 5322 §2.1.1). What comes from the client (the sender, the HELO name) and what
comes from DNS or a signature (reasons, domains) is cleaned first: a value that is not
a plain token or address is left out, a comment loses its parentheses and control
characters, so nothing a sender writes can end the field or fake another clause.

RFC 8601 §5: a field that carries our authserv-id and reached us from outside is a
forgery (or stale): every such field is removed before ours is prepended, so readers
(and ARC sealing, which reads our field back) may trust the one with our name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import authres
import authres.arc
import authres.dmarc

from mailroom.mailauth.dmarc import DmarcResult
from mailroom.mailauth.spf import SpfResult
from mailroom.message.headers import HeaderBlock, unfold

FIELD_NAME = "Authentication-Results"
MAX_COMMENT = 200
"""Characters of a reason kept in a comment."""
_SAFE_VALUE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.@-]{1,320}")
"""What a property value may be unquoted: a dot-atom address or a domain."""


class DkimOutcome(Protocol):
    """A DKIM verification (mailauth.dkim_verify.DkimResult)."""

    @property
    def result(self) -> str: ...

    @property
    def domain(self) -> str: ...

    @property
    def selector(self) -> str: ...

    @property
    def signature_b(self) -> str: ...

    @property
    def reason(self) -> str: ...


class ArcOutcome(Protocol):
    """An ARC chain verification (mailauth.arc.ArcResult)."""

    @property
    def result(self) -> str: ...

    @property
    def instance(self) -> int: ...

    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class Checks:
    """What was checked for one message; None (or no signatures) where not checked."""

    spf: SpfResult | None = None
    helo: SpfResult | None = None
    dkim: Sequence[DkimOutcome] | None = None
    """None: not checked; empty: checked, no signature (dkim=none)."""
    arc: ArcOutcome | None = None
    dmarc: DmarcResult | None = None


def authentication_results(authserv_id: str, checks: Checks) -> bytes:
    """The whole field, folded, ending in CRLF (RFC 8601 §2.2)."""
    clauses = [str(clause) for clause in _clauses(checks)]
    if not clauses:
        clauses = ["none"]  # RFC 8601 §2.2: no method was applied
    text = f"{FIELD_NAME}: {authserv_id};\r\n\t" + ";\r\n\t".join(clauses) + "\r\n"
    return text.encode("ascii", "replace")


def _clauses(checks: Checks) -> list[authres.AuthenticationResult]:
    clauses: list[authres.AuthenticationResult] = []
    if checks.spf is not None:
        spf = checks.spf
        clause = authres.SPFAuthenticationResult(
            result=spf.result, result_comment=comment(spf.reason)
        )
        mailfrom = spf.sender if safe_value(spf.sender) else spf.domain
        if safe_value(mailfrom):
            clause.properties.append(_property("smtp", "mailfrom", mailfrom))
        clauses.append(clause)
    if checks.helo is not None:
        helo = checks.helo
        clause = authres.SPFAuthenticationResult(
            result=helo.result, result_comment=comment(helo.reason)
        )
        if safe_value(helo.domain):
            clause.properties.append(_property("smtp", "helo", helo.domain))
        clauses.append(clause)
    if checks.dkim is not None:
        if not checks.dkim:
            clauses.append(authres.DKIMAuthenticationResult(result="none"))
        for signature in checks.dkim:
            clause = authres.DKIMAuthenticationResult(
                result=_token(signature.result, "permerror"),
                result_comment=comment(signature.reason),
            )
            for name, value in (
                ("d", signature.domain),
                ("s", signature.selector),
                ("b", signature.signature_b[:8]),
            ):
                if safe_value(value):
                    clause.properties.append(_property("header", name, value))
            clauses.append(clause)
    if checks.arc is not None:
        arc = checks.arc
        clause = authres.arc.ARCAuthenticationResult(
            result=_token(arc.result, "fail"),
            result_comment=comment(f"i={arc.instance} {arc.reason}".strip()),
        )
        clauses.append(clause)
    if checks.dmarc is not None:
        dmarc = checks.dmarc
        clause = authres.dmarc.DMARCAuthenticationResult(
            result=dmarc.result,
            result_comment=comment(
                f"p={dmarc.policy} dis={dmarc.disposition.upper()}"
                + (f" {dmarc.reason}" if dmarc.reason else "")
            ),
        )
        if safe_value(dmarc.from_domain):
            clause.properties.append(_property("header", "from", dmarc.from_domain))
        clauses.append(clause)
    return clauses


def _property(kind: str, name: str, value: str) -> authres.core.AuthenticationResultProperty:
    return authres.core.AuthenticationResultProperty(kind, name, value)


def safe_value(value: str) -> bool:
    """Whether `value` may stand as a property value as it is (RFC 8601 §2.2 `pvalue`,
    restricted to what needs no quoting)."""
    return bool(_SAFE_VALUE.fullmatch(value)) and not value.startswith(("@", "."))


def _token(value: str, fallback: str) -> str:
    return value if re.fullmatch(r"[a-z]{1,20}", value) else fallback


def comment(text: str) -> str | None:
    """`text` made safe inside an RFC 5322 comment: printable ASCII, no parentheses or
    backslashes, bounded; None when nothing is left."""
    cleaned = re.sub(r"[^\x20-\x7e]|[()\\]", " ", text)
    cleaned = " ".join(cleaned.split())[:MAX_COMMENT]
    return cleaned or None


def authserv_id(value: bytes) -> str | None:
    """The authserv-id that starts an Authentication-Results value (RFC 8601 §2.2:
    `[CFWS] authserv-id`, a token or quoted-string), lower case; None when unreadable."""
    text = unfold(value).decode("utf-8", "replace")
    position = _skip_cfws(text, 0)
    if position is None or position >= len(text):
        return None
    if text[position] == '"':
        out: list[str] = []
        position += 1
        while position < len(text):
            char = text[position]
            if char == "\\" and position + 1 < len(text):
                out.append(text[position + 1])
                position += 2
                continue
            if char == '"':
                return "".join(out).strip().lower() or None
            out.append(char)
            position += 1
        return None
    match = re.match(r"[^\s;()\"]+", text[position:])
    return match.group(0).lower() if match else None


def _skip_cfws(text: str, position: int) -> int | None:
    """After the white space and (nested) comments at `position`; None for an unclosed
    comment."""
    depth = 0
    while position < len(text):
        char = text[position]
        if depth:
            if char == "\\":
                position += 2
                continue
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
        elif char == "(":
            depth = 1
        elif not char.isspace():
            return position
        position += 1
    return None if depth else position


@dataclass(frozen=True)
class HeadRewrite:
    """Replace the first `replaced` octets of the message with `head`."""

    head: bytes
    replaced: int


def rewrite_head(message: bytes, header: HeaderBlock, our_id: str, field: bytes) -> HeadRewrite:
    """`field` prepended, and every Authentication-Results field of `header` (parsed
    from `message`) that claims `our_id` removed (RFC 8601 §5). Only as much of the
    message as reaches the last removed field is rewritten."""
    ours = our_id.lower()
    removed = [
        f
        for f in header.fields
        if f.name.lower() == FIELD_NAME.lower() and authserv_id(f.value) == ours
    ]
    if not removed:
        return HeadRewrite(field, 0)
    end = removed[-1].end
    kept = bytearray(field)
    position = 0
    for forged in removed:
        kept += message[position : forged.start]
        position = forged.end
    return HeadRewrite(bytes(kept), end)
