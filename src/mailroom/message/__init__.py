"""Reading RFC 5322/MIME messages: structure with byte offsets, headers, addresses, text.

A leaf package: it imports nothing else of Mailroom, and IMAP (envelope, body
structure, sections, SORT/THREAD), the store (full-text search) and Sieve build on it.
Everything here takes the message as bytes with CRLF line ends and never raises on
malformed input: a broken message is read as well as it can be, the way Dovecot does.
"""

from mailroom.message.addresses import (
    Address,
    addr_specs,
    addr_specs_written_apart,
    first_mailbox,
    parse_addresses,
)
from mailroom.message.binary_parts import encode_binary_parts
from mailroom.message.headers import (
    HeaderField,
    HeaderIndex,
    decode_header,
    message_header,
    unfold,
)
from mailroom.message.mime import MAX_DEPTH, MAX_PARTS, MessagePart, parse_message
from mailroom.message.parameters import ContentType, HeaderParameters, parse_header_parameters
from mailroom.message.search_text import SearchText, search_text
from mailroom.message.transfer import decode_transfer

addresses = parse_addresses
"""The name the IMAP plan uses for parse_addresses."""

__all__ = [
    "MAX_DEPTH",
    "MAX_PARTS",
    "Address",
    "ContentType",
    "HeaderField",
    "HeaderIndex",
    "HeaderParameters",
    "MessagePart",
    "SearchText",
    "addr_specs",
    "addr_specs_written_apart",
    "addresses",
    "decode_header",
    "decode_transfer",
    "encode_binary_parts",
    "first_mailbox",
    "message_header",
    "parse_addresses",
    "parse_header_parameters",
    "parse_message",
    "search_text",
    "unfold",
]
