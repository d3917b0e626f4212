"""IMAP's modified UTF-7 (RFC 3501 §5.1.3), the encoding of folder names on disk.

Dovecot stores Maildir++ folder names in modified UTF-7 unless told
otherwise (its default `mailbox_list_utf8 = no`), so "Entwürfe" is the
directory `.Entw&APw-rfe`. We do the same so that a mailbox moved between
Mailroom and Dovecot keeps its folders. Hand-written: Python has a UTF-7
codec, but not the IMAP variant (`&` instead of `+`, `,` instead of `/`, no
padding, `&-` for a literal `&`), and the 40 lines below are the whole of it.
"""

from __future__ import annotations

import base64
import binascii


def encode(name: str) -> str:
    """`name` with every character outside printable ASCII encoded, and `&` as `&-`."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            utf16 = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(utf16).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for character in name:
        if 0x20 <= ord(character) <= 0x7E:
            flush()
            out.append("&-" if character == "&" else character)
        else:
            pending.append(character)
    flush()
    return "".join(out)


def decode(encoded: str) -> str:
    """The name `encode` turned into `encoded`; ValueError if it is not modified UTF-7."""
    out: list[str] = []
    index = 0
    while index < len(encoded):
        character = encoded[index]
        if not 0x20 <= ord(character) <= 0x7E:
            raise ValueError(f"{encoded!r}: a raw non-ASCII character in modified UTF-7")
        if character != "&":
            out.append(character)
            index += 1
            continue
        end = encoded.find("-", index + 1)
        if end < 0:
            raise ValueError(f"{encoded!r}: '&' without its closing '-'")
        chunk = encoded[index + 1 : end]
        index = end + 1
        if not chunk:
            out.append("&")
            continue
        try:
            utf16 = base64.b64decode(
                chunk.replace(",", "/") + "=" * (-len(chunk) % 4), validate=True
            )
            text = utf16.decode("utf-16-be")
        except (binascii.Error, UnicodeDecodeError):
            raise ValueError(f"{encoded!r}: malformed encoded part {chunk!r}") from None
        if len(utf16) % 2 or any(0x20 <= ord(c) <= 0x7E for c in text):
            # RFC 3501: printable ASCII must be itself, never encoded.
            raise ValueError(f"{encoded!r}: {chunk!r} encodes plain ASCII") from None
        out.append(text)
    return "".join(out)
