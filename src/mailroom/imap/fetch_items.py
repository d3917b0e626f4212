"""FETCH data items (RFC 9051 §6.4.5, RFC 3501 §6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ).

`parse_fetch_items` reads the items of a FETCH command into frozen dataclasses,
with the macros ALL, FAST and FULL expanded. Each item knows the name its data
is given under in the answer (`response_name`, RFC 3501 §7.4.2): BODY.PEEK[…]
is answered as BODY[…], a partial `<0.100>` as `<0>`. Producing the data is the
session's (with envelope.py, bodystructure.py and sections.py).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from mailroom.imap.sections import Partial, Section, SectionText
from mailroom.imap.tokens import (
    MAX_MOD_SEQUENCE,
    ImapTokenReader,
)
from mailroom.imap.wire import astring_text
from mailroom.wire.tokens import (
    GrammarError,
    Group,
    Word,
    number_value,
)


class Attribute(enum.Enum):
    """The items without a section; the value is the name in command and answer."""

    ENVELOPE = "ENVELOPE"
    FLAGS = "FLAGS"
    INTERNALDATE = "INTERNALDATE"
    RFC822_SIZE = "RFC822.SIZE"
    UID = "UID"
    MODSEQ = "MODSEQ"
    """RFC 7162 §3.1.4.1."""
    BODYSTRUCTURE = "BODYSTRUCTURE"
    """With extension data."""
    BODY = "BODY"
    """BODYSTRUCTURE without extension data."""
    RFC822 = "RFC822"
    """BODY[] answered as RFC822; sets \\Seen."""
    RFC822_HEADER = "RFC822.HEADER"
    """BODY.PEEK[HEADER] answered as RFC822.HEADER."""
    RFC822_TEXT = "RFC822.TEXT"
    """BODY[TEXT] answered as RFC822.TEXT; sets \\Seen."""


@dataclass(frozen=True)
class FetchAttribute:
    attribute: Attribute

    @property
    def response_name(self) -> str:
        return self.attribute.value

    @property
    def sets_seen(self) -> bool:
        """RFC 3501 §6.4.5: RFC822 and RFC822.TEXT set \\Seen, like BODY[]."""
        return self.attribute in (Attribute.RFC822, Attribute.RFC822_TEXT)


@dataclass(frozen=True)
class BodySection:
    """BODY[section]<partial> and BODY.PEEK[…] (peek: do not set \\Seen)."""

    section: Section
    partial: Partial | None = None
    peek: bool = False

    @property
    def response_name(self) -> str:
        return f"BODY[{section_text(self.section)}]{_origin(self.partial)}"

    @property
    def sets_seen(self) -> bool:
        return not self.peek


@dataclass(frozen=True)
class BinarySection:
    """RFC 3516 BINARY[part]<partial> and BINARY.PEEK[…]: the part decoded from its
    content-transfer-encoding."""

    part: tuple[int, ...] = ()
    partial: Partial | None = None
    peek: bool = False

    @property
    def response_name(self) -> str:
        return f"BINARY[{_dotted(self.part)}]{_origin(self.partial)}"

    @property
    def sets_seen(self) -> bool:
        return not self.peek


@dataclass(frozen=True)
class BinarySize:
    """RFC 3516 BINARY.SIZE[part]: the size of the decoded part."""

    part: tuple[int, ...] = ()

    @property
    def response_name(self) -> str:
        return f"BINARY.SIZE[{_dotted(self.part)}]"

    @property
    def sets_seen(self) -> bool:
        return False


FetchItem = FetchAttribute | BodySection | BinarySection | BinarySize

_FAST = (
    FetchAttribute(Attribute.FLAGS),
    FetchAttribute(Attribute.INTERNALDATE),
    FetchAttribute(Attribute.RFC822_SIZE),
)
MACROS: dict[str, tuple[FetchItem, ...]] = {
    # RFC 3501 §6.4.5
    "FAST": _FAST,
    "ALL": (*_FAST, FetchAttribute(Attribute.ENVELOPE)),
    "FULL": (*_FAST, FetchAttribute(Attribute.ENVELOPE), FetchAttribute(Attribute.BODY)),
}
_ATTRIBUTES = {attribute.value: attribute for attribute in Attribute}
_SECTION_ITEM = re.compile(
    r"(BODY|BODY\.PEEK|BINARY|BINARY\.PEEK|BINARY\.SIZE)\[([^\]]*)(\].*)?", re.S
)
_PARTIAL = re.compile(r"<([0-9]{1,20})\.([0-9]{1,20})>")
_TEXTS = {text.value: text for text in SectionText if text is not SectionText.ALL}


def section_text(section: Section) -> str:
    """The section spec as written in an answer: `1.2.HEADER.FIELDS (To From)`."""
    text = _dotted(section.part)
    if section.text is not SectionText.ALL:
        text = f"{text}.{section.text.value}" if text else section.text.value
    if section.text in (SectionText.HEADER_FIELDS, SectionText.HEADER_FIELDS_NOT):
        text += " (" + " ".join(astring_text(name) for name in section.fields) + ")"
    return text


def _dotted(part: tuple[int, ...]) -> str:
    return ".".join(str(number) for number in part)


def _origin(partial: Partial | None) -> str:
    return "" if partial is None else f"<{partial.start}>"


def _part_numbers(pieces: list[str]) -> tuple[tuple[int, ...], list[str]]:
    """Leading nz-numbers of a dotted spec, and what follows them."""
    numbers: list[int] = []
    while pieces and pieces[0][:1].isdigit():
        number = number_value(pieces.pop(0))
        if number == 0:
            raise GrammarError("Invalid section part number")
        numbers.append(number)
    return tuple(numbers), pieces


def _partial(tail: str) -> Partial | None:
    """RFC 9051 §9 partial = "<" number64 "." nz-number64 ">"."""
    if not tail:
        return None
    match = _PARTIAL.fullmatch(tail)
    if not match:
        raise GrammarError("Invalid partial")
    start = number_value(match.group(1), MAX_MOD_SEQUENCE)
    length = number_value(match.group(2), MAX_MOD_SEQUENCE)
    if length == 0:
        raise GrammarError("Invalid partial")
    return Partial(start, length)


def _header_field(name: str) -> str:
    # RFC 5322 §3.6.8 field-name = 1*ftext (printable US-ASCII except ":")
    if not name or any(not 33 <= ord(char) <= 126 or char == ":" for char in name):
        raise GrammarError("Invalid header field name")
    return name


def _section(spec: str, fields: tuple[str, ...] | None) -> Section:
    if not spec:
        return Section()
    part, rest = _part_numbers(spec.split("."))
    if not rest:
        return Section(part)
    text = _TEXTS.get(".".join(rest))
    if text is None or (text is SectionText.MIME and not part):
        raise GrammarError("Invalid section")
    needs_fields = text in (SectionText.HEADER_FIELDS, SectionText.HEADER_FIELDS_NOT)
    if needs_fields != (fields is not None):
        raise GrammarError("Invalid section")
    return Section(part, text, fields or ())


def section_from_text(text: str) -> Section:
    """A section spec written out whole, `1.2.HEADER.FIELDS (To From)`, as an IMAP URL's
    ;SECTION= holds it (RFC 5092 §6: enc-section); GrammarError when it is none."""
    spec, _, fields = text.partition(" ")
    if not fields:
        return _section(spec.upper(), None)
    if not (fields.startswith("(") and fields.endswith(")")):
        raise GrammarError("Invalid section")
    names = tuple(_header_field(name) for name in fields[1:-1].split(" "))
    return _section(spec.upper(), names)


def _field_names(reader: ImapTokenReader, max_items: int) -> tuple[str, ...]:
    names = reader.group()
    if names.at_end():
        raise GrammarError("Missing header field names")
    if names.remaining() > max_items:
        raise GrammarError("Too many header field names")
    result = []
    while not names.at_end():
        result.append(_header_field(names.astring()))
    return tuple(result)


def _item(reader: ImapTokenReader, max_items: int) -> FetchItem:
    word = reader.word()
    upper = word.upper()
    attribute = _ATTRIBUTES.get(upper)
    if attribute is not None:
        return FetchAttribute(attribute)
    match = _SECTION_ITEM.fullmatch(upper)
    if not match:
        raise GrammarError("Invalid fetch item")
    name, spec, closing = match.groups()
    fields = None
    if closing is None:
        # `BODY[HEADER.FIELDS (To From)]<0.10>` comes as three tokens: the word up to
        # the list, the list, and a word starting with `]`.
        if name.startswith("BINARY") or not spec.endswith(("HEADER.FIELDS", "HEADER.FIELDS.NOT")):
            raise GrammarError("Invalid fetch item")
        fields = _field_names(reader, max_items)
        closing = reader.word()
        if not closing.startswith("]"):
            raise GrammarError("Invalid fetch item")
    partial = _partial(closing[1:])
    if name.startswith("BODY"):
        return BodySection(_section(spec, fields), partial, peek=name == "BODY.PEEK")
    # RFC 3516 §4: section-binary = "[" [section-part] "]"
    part, rest = _part_numbers(spec.split(".")) if spec else ((), [])
    if rest:
        raise GrammarError("Invalid section")
    if name == "BINARY.SIZE":
        if partial is not None:
            raise GrammarError("Invalid fetch item")
        return BinarySize(part)
    return BinarySection(part, partial, peek=name == "BINARY.PEEK")


def parse_fetch_items(reader: ImapTokenReader, *, max_items: int = 1000) -> tuple[FetchItem, ...]:
    """RFC 9051 §6.4.5: "ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")".

    Items asked for twice are given once, in the order first asked.
    """
    token = reader.peek()
    if isinstance(token, Word) and token.text.upper() in MACROS:
        reader.take()
        return MACROS[token.text.upper()]
    if isinstance(token, Group):
        items = reader.group()
        if items.at_end():
            raise GrammarError("Missing fetch items")
        if items.remaining() > max_items:
            raise GrammarError("Too many fetch items")
        result: list[FetchItem] = []
        while not items.at_end():
            result.append(_item(items, max_items))
    else:
        result = [_item(reader, max_items)]
    return tuple(dict.fromkeys(result))
