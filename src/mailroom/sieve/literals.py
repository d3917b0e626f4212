"""The values of Sieve's literals as the script means them (RFC 5228 §2.4, §8.1).

sievelib hands strings over as written: a quoted string with its quotes and escapes, a
multi-line string from `text:` to the final dot, a number with its K/M/G suffix. These
functions turn them into values, and check what sievelib's lexer lets through:
characters after `text:` other than a comment (§8.1), numbers past 2^63, NUL octets.
`decode_encoded_characters` is RFC 5228 §2.4.2.4 (the "encoded-character" extension).
"""

from __future__ import annotations

import re

from mailroom.sieve.errors import ScriptFault

MAX_NUMBER = 2**63 - 1
_QUANTIFIERS = {"k": 1024, "m": 1024**2, "g": 1024**3}


def string_value(raw: str, line: int) -> str:
    """A quoted string (`"..."`) or multi-line string (`text:` ... `.`) as its value."""
    if raw.startswith('"'):
        return _quoted(raw[1:-1])
    if raw[:5].lower() == "text:":
        return _multiline(raw, line)
    raise ScriptFault(line, f"not a string: {raw[:40]!r}")


def _quoted(inner: str) -> str:
    # RFC 5228 §2.4.2: "\\" and "\"" stand for themselves; any other backslash is
    # dropped, leaving the character after it (undefined escapes are reserved).
    if "\\" not in inner:
        return inner
    out: list[str] = []
    index = 0
    while index < len(inner):
        char = inner[index]
        if char == "\\" and index + 1 < len(inner):
            out.append(inner[index + 1])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _multiline(raw: str, line: int) -> str:
    newline = raw.find("\n")
    if newline < 0:
        raise ScriptFault(line, "a multi-line string needs a line end after text:")
    head = raw[5:newline].rstrip("\r").lstrip(" \t")
    if head and not head.startswith("#"):
        # RFC 5228 §8.1: only white space and a hash comment may follow "text:".
        raise ScriptFault(line, "only a # comment may follow text: on its line")
    body = raw[newline + 1 :]
    if body.endswith("\r"):
        body = body[:-1]
    body = body[:-1]  # the terminating "."
    # RFC 5228 §2.4.2: a line starting ".." had its dot doubled; remove one.
    if ".." in body:
        lines = body.split("\n")
        body = "\n".join(text[1:] if text.startswith("..") else text for text in lines)
    return body


def number_value(raw: str, line: int) -> int:
    """A number with its optional quantifier (RFC 5228 §2.4.1: K, M, G are powers of 2)."""
    scale = _QUANTIFIERS.get(raw[-1:].lower(), 1)
    digits = raw[:-1] if scale != 1 else raw
    if len(digits) > 20:
        raise ScriptFault(line, f"number {raw} is too large")
    value = int(digits) * scale
    if value > MAX_NUMBER:
        raise ScriptFault(line, f"number {raw} is too large")
    return value


_ENCODED = re.compile(r"\$\{(hex|unicode):([^}]*)\}", re.IGNORECASE)
_HEX_PAIRS = re.compile(r"[ \t\r\n]*[0-9A-Fa-f]{1,2}(?:[ \t\r\n]+[0-9A-Fa-f]{1,2})*[ \t\r\n]*")
_UNICODE_HEX = re.compile(r"[ \t\r\n]*[0-9A-Fa-f]+(?:[ \t\r\n]+[0-9A-Fa-f]+)*[ \t\r\n]*")


def decode_encoded_characters(value: str, line: int) -> str:
    """RFC 5228 §2.4.2.4: `${hex:41 42}` and `${unicode:1F600}` replaced by what they
    encode; a sequence that is not well formed is left as written (as the RFC says)."""
    if "${" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        kind, inner = match.group(1).lower(), match.group(2)
        if kind == "hex":
            if not _HEX_PAIRS.fullmatch(inner):
                return match.group(0)
            octets = bytes(int(pair, 16) for pair in inner.split())
            try:
                return octets.decode("utf-8")
            except UnicodeDecodeError:
                raise ScriptFault(line, f"${{hex:{inner}}} is not UTF-8") from None
        if not _UNICODE_HEX.fullmatch(inner):
            return match.group(0)
        chars: list[str] = []
        for item in inner.split():
            code = int(item[-8:], 16) if len(item.lstrip("0")) <= 8 else -1
            # §2.4.2.4: only Unicode scalar values; surrogates and > 10FFFF are errors.
            if code < 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise ScriptFault(line, f"${{unicode:{item}}} is not a Unicode character")
            chars.append(chr(code))
        return "".join(chars)

    return _ENCODED.sub(replace, value)
