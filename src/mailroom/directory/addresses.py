"""Syntax of the addresses the directory holds: normalised, lower-case, `local@domain`.

The directory accepts a deliberate subset of RFC 5321 mailboxes: a dot-atom local
part (letters — also non-ASCII, for SMTPUTF8 — digits and RFC 5322 `atext`) and a
domain of LDH labels (Unicode domains are stored in their IDNA A-label form). Quoted
local parts and address literals are never account names. email-validator was
considered; it refuses the special-use domains (`.test`, `.local`) that operators use
for staging and test hosts, so this small check is hand-written.
"""

from __future__ import annotations

import re

from mailroom.directory.errors import InvalidAddress

MAX_ADDRESS_LENGTH = 254  # RFC 5321 §4.5.3.1.3 path minus the angle brackets
MAX_LOCAL_PART_LENGTH = 64  # RFC 5321 §4.5.3.1.1
MAX_DOMAIN_LENGTH = 253

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]"
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def _is_atext(char: str) -> bool:
    return bool(re.fullmatch(_ATEXT, char)) or (
        ord(char) > 127 and char.isprintable() and not char.isspace()
    )


def normalize_domain(text: str) -> str:
    """`Example.ORG.` -> `example.org`; `bücher.example` -> `xn--bcher-kva.example`."""
    domain = text.strip().rstrip(".").lower()
    if not domain:
        raise InvalidAddress(text, "the domain is empty")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidAddress(text, "the domain is not a valid internationalised name") from None
    if len(domain) > MAX_DOMAIN_LENGTH:
        raise InvalidAddress(text, f"the domain is longer than {MAX_DOMAIN_LENGTH} characters")
    labels = domain.split(".")
    if len(labels) < 2:
        raise InvalidAddress(text, "the domain needs at least two labels, like example.org")
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise InvalidAddress(
                text, f"{label!r} is not a domain label (letters, digits and inner hyphens)"
            )
    if labels[-1].isdigit():
        raise InvalidAddress(text, "the domain's last label cannot be all digits")
    return domain


def normalize_local_part(text: str, original: str | None = None) -> str:
    shown = original if original is not None else text
    local = text.lower()
    if not local:
        raise InvalidAddress(shown, "the part before '@' is empty")
    # surrogatepass: a lone surrogate (from surrogateescape decoding) is refused below.
    if len(local.encode("utf-8", "surrogatepass")) > MAX_LOCAL_PART_LENGTH:
        raise InvalidAddress(
            shown, f"the part before '@' is longer than {MAX_LOCAL_PART_LENGTH} bytes"
        )
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidAddress(shown, "dots cannot start, end or repeat in the part before '@'")
    for char in local:
        if char != "." and not _is_atext(char):
            raise InvalidAddress(shown, f"{char!r} is not allowed before '@'")
    return local


def normalize_address(text: str) -> str:
    """`Alice@Example.ORG` -> `alice@example.org`; raise InvalidAddress saying why not."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidAddress(str(text), "the address is empty")
    stripped = text.strip()
    if "@" not in stripped:
        raise InvalidAddress(text, "expected local-part@domain")
    local, _, domain = stripped.rpartition("@")
    address = f"{normalize_local_part(local, text)}@{normalize_domain(domain)}"
    if len(address.encode("utf-8")) > MAX_ADDRESS_LENGTH:
        raise InvalidAddress(text, f"the address is longer than {MAX_ADDRESS_LENGTH} bytes")
    return address


def split_address(address: str) -> tuple[str, str]:
    """A normalised address's local part and domain."""
    local, _, domain = address.rpartition("@")
    return local, domain
