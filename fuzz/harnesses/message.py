"""Messages as their senders wrote them: MIME structure (`mailroom.message.parse_message`),
header fields, addresses, RFC 2047 words, RFC 2231 parameters, transfer decoding,
search text; and what IMAP builds from them (ENVELOPE, BODYSTRUCTURE, BODY[section],
BINARY[]), and BINARY-part re-encoding for delivery.

The input is a whole message. Contract (mailroom.message's docstring): nothing here
raises on malformed input, except BINARY[] of a part with an encoding it cannot undo
(`UnknownTransferEncoding`, answered `NO [UNKNOWN-CTE]`). Offsets of every part lie
within the message and in order; the parts stay within `MAX_PARTS`. A crash: any other
exception, broken offsets, a hang on nesting.
"""

from __future__ import annotations

import contextlib

from mailroom.imap.bodystructure import body_structure_bytes
from mailroom.imap.envelope import envelope_bytes
from mailroom.imap.sections import (
    Section,
    SectionText,
    UnknownTransferEncoding,
    binary_data,
    section_data,
)
from mailroom.message import (
    MAX_PARTS,
    MessagePart,
    decode_header,
    decode_transfer,
    encode_binary_parts,
    parse_addresses,
    parse_header_parameters,
    parse_message,
    search_text,
)

_SECTIONS = (
    Section(),
    Section((1,)),
    Section((1, 1)),
    Section((), SectionText.HEADER),
    Section((), SectionText.TEXT),
    Section((2,), SectionText.MIME),
    Section((1,), SectionText.HEADER),
    Section((), SectionText.HEADER_FIELDS, ("Subject", "From")),
    Section((), SectionText.HEADER_FIELDS_NOT, ("Received",)),
)
_FIELD_LIMIT = 50
"""Header fields looked at one by one (a message may have thousands)."""


def _check_offsets(part: MessagePart, low: int, high: int) -> None:
    assert low <= part.start <= part.header_end <= part.body_start <= part.end <= high, part
    for field in part.fields:
        assert part.start <= field.start <= field.end <= part.body_start, (field, part)


def one_input(data: bytes) -> None:
    root = parse_message(data)
    parts = 0
    stack: list[tuple[MessagePart, int, int]] = [(root, 0, len(data))]
    while stack:
        part, low, high = stack.pop()
        parts += 1
        _check_offsets(part, low, high)
        for child in part.children:
            stack.append((child, part.body_start, part.end))
        if part.message is not None:
            stack.append((part.message, part.body_start, part.end))
        if not part.children and part.message is None:
            decode_transfer(data[part.body_start : part.end], part.encoding)
        assert part.disposition is None or part.disposition.value is not None
        assert part.language is None or all(part.language)
    assert parts <= MAX_PARTS + 1, parts
    for field in root.fields[:_FIELD_LIMIT]:
        decode_header(field.value)
        parse_addresses(field.value)
        parse_header_parameters(field.value)
    for extensible in (False, True):
        body_structure_bytes(root, extensible, utf8=extensible)
    envelope_bytes(root)
    envelope_bytes(root, utf8=True)
    search_text(data, limit=10_000)
    for section in _SECTIONS:
        # HEADER.FIELDS ends a last field without its CRLF, then adds the blank line.
        assert len(section_data(data, root, section)) <= len(data) + 4
    with contextlib.suppress(UnknownTransferEncoding):
        binary_data(data, root, Section())
    encode_binary_parts(data)
