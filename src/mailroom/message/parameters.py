"""Content-Type and Content-Disposition values: `type/subtype; name=value; …`.

RFC 2045 §5.1 syntax, read tolerantly (unquoted values with blanks, stray semicolons,
comments), and RFC 2231 parameters: continuations (`name*0`, `name*1*`) are merged and
`charset'language'%XX` values decoded. Two views are kept: `params`, the decoded text
(for filenames, charsets, Sieve), and `imap_params`, what IMAP's BODYSTRUCTURE sends —
continuations merged but an encoded value left encoded under `name*`, as RFC 2231 §8
asks of IMAP servers and as Dovecot does.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field

from mailroom.message.headers import decode_bytes, unfold

MAX_PARAMETERS = 100
"""Parameters kept per header; more are ignored."""


@dataclass(frozen=True)
class HeaderParameters:
    """A parsed `value; name=value…` header: the leading value and its parameters."""

    value: str
    """The leading value as written (e.g. `text/plain`, `attachment`), unquoted."""
    params: dict[str, str] = field(default_factory=dict)
    """Lower-case names → decoded values (RFC 2231 continuations and charsets applied)."""
    imap_params: tuple[tuple[str, str], ...] = ()
    """(lower-case name, value) pairs as BODYSTRUCTURE sends them."""


_SECTION = re.compile(r"^(.*?)\*(\d+)(\*?)$|^(.*?)(\*)$")


def strip_comments(text: str) -> str:
    """Remove (comments) outside quoted strings; nesting is honoured."""
    if "(" not in text:
        return text
    out: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for char in text:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
            continue
        if char == "\\":
            escaped = True
            if depth == 0:
                out.append(char)
            continue
        if quoted:
            quoted = char != '"'
            out.append(char)
        elif char == '"' and depth == 0:
            quoted = True
            out.append(char)
        elif char == "(":
            depth += 1
        elif char == ")" and depth > 0:
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


def _split_parameters(text: str) -> list[tuple[str, str]]:
    """`a=1; b="x;y"` → [("a", "1"), ("b", "x;y")]; junk without `=` is skipped."""
    pairs: list[tuple[str, str]] = []
    pos = 0
    length = len(text)
    equals = -1
    while pos < length and len(pairs) < MAX_PARAMETERS:
        if equals < pos:  # found once per `=`: junk between them costs linear time
            equals = text.find("=", pos)
            if equals < 0:
                break
        semicolon = text.find(";", pos, equals)
        if semicolon >= 0:
            pos = semicolon + 1
            continue
        name = text[pos:equals].strip().lower()
        pos = equals + 1
        while pos < length and text[pos] in " \t":
            pos += 1
        if pos < length and text[pos] == '"':
            chars: list[str] = []
            pos += 1
            while pos < length and text[pos] != '"':
                if text[pos] == "\\" and pos + 1 < length:
                    pos += 1
                chars.append(text[pos])
                pos += 1
            value = "".join(chars)
            pos += 1
            semicolon = text.find(";", pos)
            pos = length if semicolon < 0 else semicolon + 1
        else:
            semicolon = text.find(";", pos)
            end = length if semicolon < 0 else semicolon
            value = text[pos:end].strip()
            pos = end + 1
        if name and not any(c in name for c in ' \t"'):
            pairs.append((name, value))
    return pairs


def _percent_decode(value: str, charset: str) -> str:
    raw = urllib.parse.unquote_to_bytes(value.encode("utf-8", "surrogateescape"))
    return decode_bytes(raw, charset or "us-ascii")


def _merge_rfc2231(
    pairs: list[tuple[str, str]],
) -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    """Merge `name*0*`, `name*1`… pieces. The IMAP view follows Dovecot's rfc2231_parse:
    plain parameters first, then the merged ones sorted by name; a merged value with any
    encoded piece keeps the encoding (`name*` = `charset'lang'%XX…`, plain pieces with
    `%` escaped); pieces with a gap in their numbers are left as they were written."""
    decoded: dict[str, str] = {}
    imap: list[tuple[str, str]] = []
    sections: dict[str, dict[int, tuple[str, bool]]] = {}
    for name, value in pairs:
        match = _SECTION.match(name)
        if match is None:
            decoded.setdefault(name, value)
            imap.append((name, value))
            continue
        if match.group(4) is not None:  # name*=charset'lang'value
            base, number, encoded = match.group(4), 0, True
        else:
            base, number, encoded = match.group(1), int(match.group(2)), bool(match.group(3))
        sections.setdefault(base, {}).setdefault(number, (value, encoded))
    for name in sorted(sections):
        pieces = sections[name]
        numbers = sorted(pieces)
        if numbers != list(range(len(numbers))):
            for number in numbers:
                value, encoded = pieces[number]
                imap.append((f"{name}*{number}{'*' if encoded else ''}", value))
            continue
        any_encoded = any(encoded for _, encoded in pieces.values())
        first_value, first_encoded = pieces[0]
        charset = ""
        if first_encoded and first_value.count("'") >= 2:
            charset, _language, first_value = first_value.split("'", 2)
        text_parts: list[str] = []
        raw_parts: list[str] = []
        if any_encoded and not first_encoded:
            raw_parts.append("''")
        for number in numbers:
            value, encoded = pieces[number]
            raw_parts.append(value if encoded or not any_encoded else value.replace("%", "%25"))
            if number == 0:
                value = first_value
            text_parts.append(_percent_decode(value, charset) if encoded else value)
        decoded.setdefault(name, "".join(text_parts))
        imap.append((name + "*" if any_encoded else name, "".join(raw_parts)))
    return decoded, tuple(imap)


def parse_header_parameters(raw: bytes) -> HeaderParameters:
    """Parse `value; name=value; …` (Content-Type, Content-Disposition)."""
    # Raw 8-bit octets survive as surrogates in `imap_params` (sent back as they came,
    # and a boundary must match octet for octet); `params` gets replacement characters.
    text = strip_comments(unfold(raw).decode("utf-8", errors="surrogateescape"))
    semicolon = text.find(";")
    if semicolon < 0:
        return HeaderParameters(_clean(text.strip().strip('"')))
    value = _clean(text[:semicolon].strip().strip('"'))
    params, imap = _merge_rfc2231(_split_parameters(text[semicolon + 1 :]))
    return HeaderParameters(value, {k: _clean(v) for k, v in params.items()}, imap)


def _clean(text: str) -> str:
    """Lone surrogates (undecodable octets) as U+FFFD."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


_TYPE_TOKEN = re.compile(r"^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$")


@dataclass(frozen=True)
class ContentType:
    """A Content-Type, lower-cased; `params` decoded, `imap_params` for BODYSTRUCTURE."""

    maintype: str
    subtype: str
    params: dict[str, str] = field(default_factory=dict)
    imap_params: tuple[tuple[str, str], ...] = ()
    """As HeaderParameters.imap_params; undecodable octets kept as surrogates."""

    @property
    def mime_type(self) -> str:
        return f"{self.maintype}/{self.subtype}"

    @property
    def charset(self) -> str | None:
        return self.params.get("charset")


TEXT_PLAIN = ContentType("text", "plain", {"charset": "us-ascii"}, (("charset", "us-ascii"),))
MESSAGE_RFC822 = ContentType("message", "rfc822")


def parse_content_type(raw: bytes | None, default: ContentType) -> ContentType:
    """RFC 2045 §5.2: no header, or one that does not parse, means the default
    (text/plain; charset=us-ascii, or message/rfc822 inside multipart/digest)."""
    if raw is None:
        return default
    parsed = parse_header_parameters(raw)
    maintype, slash, subtype = parsed.value.partition("/")
    maintype, subtype = maintype.strip().lower(), subtype.strip().lower()
    if not slash or not _TYPE_TOKEN.match(maintype) or not _TYPE_TOKEN.match(subtype):
        return TEXT_PLAIN
    return ContentType(maintype, subtype, parsed.params, parsed.imap_params)
