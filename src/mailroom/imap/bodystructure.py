"""FETCH BODY and BODYSTRUCTURE (RFC 3501 §7.4.2, RFC 9051 §7.5.2) of a parsed message.

`body_structure(part, extensible=False)` is BODY, `extensible=True` is BODYSTRUCTURE
with the extension data (MD5, disposition, language, location; for a multipart its
parameters). Types are sent lower-cased; parameters as `mailroom.message.parameters`
gives them for IMAP (RFC 2231 continuations merged, charset-encoded values kept
encoded under `name*`, as Dovecot does). A multipart whose boundary never occurs gets
one empty text/plain child, Dovecot's answer to a grammar that needs at least one.
A multipart's children are `Juxtaposed` (written `(…)(…) "mixed"`): send the value
with `serialize_structure`, or take `body_structure_bytes`.
"""

from __future__ import annotations

from mailroom.imap.envelope import Juxtaposed, envelope, imap_string, serialize_structure
from mailroom.imap.wire import Value
from mailroom.message import HeaderParameters, MessagePart


def _nstring(raw: bytes | None) -> Value:
    return None if raw is None else imap_string(raw)


def _text(value: str) -> Value:
    return imap_string(value.encode("utf-8", "surrogateescape"))


def _params(pairs: tuple[tuple[str, str], ...]) -> Value:
    if not pairs:
        return None
    flat: list[Value] = []
    for name, value in pairs:
        flat.append(_text(name))
        flat.append(_text(value))
    return flat


def _disposition(value: HeaderParameters | None) -> Value:
    if value is None or not value.value:
        return None
    return [_text(value.value.lower()), _params(value.imap_params)]


def _language(part: MessagePart) -> Value:
    tags = part.language
    if tags is None:
        return None
    return [_text(tag) for tag in tags]


def _encoding(part: MessagePart) -> Value:
    return _text(part.transfer_encoding or "7bit")


def _type_params(part: MessagePart) -> Value:
    """The Content-Type parameters; text/* always has a charset (us-ascii by default),
    added after the others as Dovecot does."""
    pairs = part.content_type.imap_params
    if part.content_type.maintype == "text" and not any(n == "charset" for n, _ in pairs):
        pairs = (*pairs, ("charset", "us-ascii"))
    return _params(pairs)


EMPTY_PART: list[Value] = ["text", "plain", ["charset", "us-ascii"], None, None, "7bit", 0, 0]
"""What a multipart without any part shows as its only child (Dovecot's EMPTY_BODYSTRUCTURE)."""


def body_structure(part: MessagePart, extensible: bool) -> Value:
    """BODY (`extensible=False`) or BODYSTRUCTURE (`True`) of `part` and everything below."""
    content_type = part.content_type
    if content_type.maintype == "multipart":
        children: list[Value] = [body_structure(child, extensible) for child in part.children]
        if not children:
            children = [list(EMPTY_PART)]
        result = Juxtaposed([*children, _text(content_type.subtype)])
        if extensible:
            result += [
                _params(content_type.imap_params),
                _disposition(part.disposition),
                _language(part),
                _nstring(part.location),
            ]
        return result
    maintype, subtype = content_type.maintype, content_type.subtype
    if maintype == "message" and part.message is None and subtype in ("rfc822", "global"):
        # Nested past MAX_DEPTH: not parsed, and body-type-msg needs an envelope.
        maintype, subtype = "application", "octet-stream"
    fields: list[Value] = [
        _text(maintype),
        _text(subtype),
        _type_params(part),
        _nstring(part.content_id),
        _nstring(part.description),
        _encoding(part),
        part.size,
    ]
    if part.message is not None:
        fields += [envelope(part.message), body_structure(part.message, extensible), part.lines]
    elif content_type.maintype == "text":
        fields.append(part.lines)
    if extensible:
        fields += [
            _nstring(part.md5),
            _disposition(part.disposition),
            _language(part),
            _nstring(part.location),
        ]
    return fields


def body_structure_bytes(part: MessagePart, extensible: bool, *, utf8: bool = False) -> bytes:
    """BODY/BODYSTRUCTURE as it goes on the wire (what the store may cache)."""
    return serialize_structure(body_structure(part, extensible), utf8=utf8)
