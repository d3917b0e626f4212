"""xtext, the encoding of DSN and AUTH= parameter values (RFC 3461 §4).

`+` followed by two upper-case hex digits stands for one octet; every other
character is itself, and must be a printable ASCII character other than `+` and
`=`. The values xtext carries (ENVID, ORCPT addresses, AUTH= mailboxes) are
US-ASCII, so decoding refuses octets above 127. Strict on input: a value that is
not well-formed xtext is refused rather than guessed at. Ten lines of code; no
library serves it.
"""

from __future__ import annotations

_UPPER_HEX = "0123456789ABCDEF"


def decode_xtext(text: str) -> str:
    """`a+2Bb` -> `a+b`. ValueError for anything that is not RFC 3461 §4 xtext."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "+":
            digits = text[index + 1 : index + 3]
            if len(digits) != 2 or any(digit not in _UPPER_HEX for digit in digits):
                raise ValueError(f"'+' at offset {index} needs two upper-case hex digits")
            value = int(digits, 16)
            if value > 127:
                raise ValueError(f"+{digits} is not a US-ASCII character")
            out.append(chr(value))
            index += 3
            continue
        # RFC 3461 §4: xchar is "!" (33) to "~" (126), except "+" and "=".
        if not 33 <= ord(char) <= 126 or char == "=":
            raise ValueError(f"{char!r} at offset {index} must be encoded as +XX")
        out.append(char)
        index += 1
    return "".join(out)
