"""editheader (RFC 5293): `addheader` and `deleteheader` on the header of one run.

`EditableHeader` is the message's header section as the script's edits leave it:
tests evaluated after an edit read it (§7: "header", "address", "exists", "date" see
the edited header), and every action taken records `snapshot()` as its
`HeaderChange`, so that delivery writes the header as it stood when the action was
taken. The original message is never touched.

Rules from the RFC and from Pigeonhole, whose behaviour members' scripts expect:
- a field name must be RFC 5322 ftext (§4, §5); a bad one at run time is an error;
- a value is checked and encoded by `header_encoding`: folding is undone, any other
  CR, LF or NUL is an error (no header injection), non-ASCII becomes RFC 2047 encoded
  words, and long values are folded (§4);
- "Received" and "Auto-Submitted" are never deleted, and such an attempt is silently
  ignored (§6: "MUST NOT permit attempts to delete Received header fields ... the
  attempt MUST be silently ignored"; Pigeonhole protects Auto-Submitted as well, since
  removing it would let an auto-reply loop through vacation);
- one added field is at most MAX_ADDED_FIELD_OCTETS (Pigeonhole's
  sieve_editheader_max_header_size default) and one run adds at most
  MAX_ADDED_FIELDS, so that a looping script cannot grow the header without bound.
"""

from __future__ import annotations

from collections.abc import Callable

from mailroom.message.headers import decode_header, parse_header_block
from mailroom.sieve.actions import HeaderChange
from mailroom.sieve.header_encoding import (
    HeaderValueError,
    encode_value,
    is_field_name,
    unfolded_value,
)

MAX_ADDED_FIELD_OCTETS = 2048
"""Octets of one added field, name, colon and folded value (Pigeonhole: 2048)."""
MAX_ADDED_FIELDS = 100
"""Fields one run may add."""
PROTECTED_FROM_DELETION = frozenset({"received", "auto-submitted"})


class EditHeaderError(Exception):
    """An edit the script may not make (a runtime error of the script); str() says why."""


ValueMatcher = Callable[[str], bool]
"""Whether a field's value (unfolded, RFC 2047-decoded, outer blanks removed, as the
header test sees it) matches the deleteheader's value patterns."""


class EditableHeader:
    """The header fields of the message being filtered, in order, as (name, raw value):
    the raw value is without its line end, folding kept, as `HeaderChange` holds it."""

    def __init__(self, header: bytes) -> None:
        block = parse_header_block(header, 0, len(header))
        self._fields: list[tuple[str, bytes]] = [(f.name, f.value) for f in block.fields]
        self._added = 0
        self._changed = False

    @property
    def changed(self) -> bool:
        return self._changed

    def fields(self) -> tuple[tuple[str, bytes], ...]:
        return tuple(self._fields)

    def values(self, name: str) -> list[bytes]:
        """Raw values of every field called `name` (case-insensitive), in order."""
        wanted = name.lower()
        return [value for field_name, value in self._fields if field_name.lower() == wanted]

    def snapshot(self) -> HeaderChange | None:
        """What an action taken now records: None while the header is unedited."""
        return HeaderChange(tuple(self._fields)) if self._changed else None

    def add(self, name: str, value: str, *, last: bool = False) -> None:
        """addheader (RFC 5293 §4): at the top of the header, or at the end with :last."""
        if not is_field_name(name):
            raise EditHeaderError(f"addheader: {_shown(name)} is not a valid header field name")
        if self._added >= MAX_ADDED_FIELDS:
            raise EditHeaderError(f"addheader: more than {MAX_ADDED_FIELDS} fields added")
        try:
            raw = encode_value(name, unfolded_value(value))
        except HeaderValueError as error:
            raise EditHeaderError(f"addheader {name}: {error}") from None
        if len(name) + 2 + len(raw) > MAX_ADDED_FIELD_OCTETS:
            raise EditHeaderError(
                f"addheader {name}: the field is larger than {MAX_ADDED_FIELD_OCTETS} octets"
            )
        if last:
            self._fields.append((name, raw))
        else:
            self._fields.insert(0, (name, raw))
        self._added += 1
        self._changed = True

    def delete(
        self,
        name: str,
        *,
        index: int | None = None,
        last: bool = False,
        matches: ValueMatcher | None = None,
    ) -> int:
        """deleteheader (RFC 5293 §5): every field called `name`, or only the `index`th
        (from the end with :last, RFC 5260 §6), and of those only the ones whose value
        `matches` one of the value patterns when patterns were given. Returns how many
        were deleted; a protected name deletes nothing (§6, silently)."""
        if not is_field_name(name):
            raise EditHeaderError(f"deleteheader: {_shown(name)} is not a valid header field name")
        wanted = name.lower()
        if wanted in PROTECTED_FROM_DELETION:
            return 0
        positions = [
            i for i, (field_name, _) in enumerate(self._fields) if field_name.lower() == wanted
        ]
        if index is not None:
            if index < 1 or index > len(positions):
                return 0
            positions = [positions[-index] if last else positions[index - 1]]
        if matches is not None:
            positions = [i for i in positions if matches(field_value_text(self._fields[i][1]))]
        for position in reversed(positions):
            del self._fields[position]
        if positions:
            self._changed = True
        return len(positions)


def field_value_text(raw: bytes) -> str:
    """A field's value as tests compare it: unfolded, RFC 2047 words decoded, leading and
    trailing blanks removed (RFC 5228 §2.4.2.2, §5.7)."""
    return decode_header(raw).strip(" \t")


def _shown(name: str) -> str:
    """The name for an error message: quoted, cut short, control characters escaped."""
    short = name[:60] + ("..." if len(name) > 60 else "")
    return repr(short)
