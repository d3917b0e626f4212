"""editheader (RFC 5293): the `addheader` and `deleteheader` actions.

Both edit the run's `MessageView` (`run.message`), never the message itself: tests
evaluated after an edit see the edited header (§7: header, address, exists, date ...),
and every action taken afterwards carries the header as it then stands
(`actions.HeaderChange`, stamped by `Run.add`), which delivery writes.

Rules from the RFC and from Pigeonhole, whose behaviour members' scripts expect:
- a field name must be RFC 5322 ftext (§4, §5): refused when the script is compiled,
  a run-time error when it comes from a variable;
- a value is checked and encoded by `header_encoding`: folding is undone, any other
  CR, LF or NUL is an error (no header injection), non-ASCII becomes RFC 2047 encoded
  words, long values are folded (§4);
- "Received" and "Auto-Submitted" are never deleted and the attempt is silently
  ignored (§6: "MUST NOT permit attempts to delete Received header fields ... the
  attempt MUST be silently ignored"; Pigeonhole protects Auto-Submitted as well, so
  that an auto-reply loop cannot be opened by removing it);
- one added field is at most MAX_ADDED_FIELD_OCTETS (Pigeonhole's
  sieve_editheader_max_header_size default) and one run adds at most
  MAX_ADDED_FIELDS, so that a looping script cannot grow the header without bound.
`deleteheader`'s `:index`/`:last` are its own (§5), not the index extension's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailroom.message.headers import decode_header
from mailroom.sieve.header_encoding import (
    HeaderValueError,
    encode_value,
    is_field_name,
    unfolded_value,
)
from mailroom.sieve.matching import Matcher
from mailroom.sieve.message_view import MessageView
from mailroom.sieve.registry import CompileEnv, Kind, Param, Spec, register
from mailroom.sieve.runtime import Executable, Run
from mailroom.sieve.templates import Template
from mailroom.sieve.test_args import INDEX, LAST, MATCHING, matcher
from mailroom.sieve.tree import Node

MAX_ADDED_FIELD_OCTETS = 2048
"""Octets of one added field: name, colon and folded value (Pigeonhole: 2048)."""
MAX_ADDED_FIELDS = 100
"""Fields one run may add."""
PROTECTED_FROM_DELETION = frozenset({"received", "auto-submitted"})
_STATE = "editheader"


class EditHeaderError(Exception):
    """An edit the script may not make (a run-time error); str() says why."""


ValueMatcher = Callable[[str], bool]
"""Whether a field's value (as `field_value_text` gives it) matches the patterns."""


def field_value_text(raw: bytes) -> str:
    """A field's value as tests compare it: unfolded, RFC 2047 words decoded, leading and
    trailing blanks removed (RFC 5228 §2.4.2.2, as `MessageView.values`)."""
    return decode_header(raw).strip(" \t")


def added_field(name: str, value: str) -> tuple[str, bytes]:
    """(name, raw value) of a field addheader may add; EditHeaderError if it may not."""
    if not is_field_name(name):
        raise EditHeaderError(f"addheader: {_shown(name)} is not a valid header field name")
    try:
        raw = encode_value(name, unfolded_value(value))
    except HeaderValueError as error:
        raise EditHeaderError(f"addheader {name}: {error}") from None
    if len(name) + 2 + len(raw) > MAX_ADDED_FIELD_OCTETS:
        raise EditHeaderError(
            f"addheader {name}: the field is larger than {MAX_ADDED_FIELD_OCTETS} octets"
        )
    return name, raw


def add_field(view: MessageView, name: str, raw: bytes, *, last: bool) -> None:
    """RFC 5293 §4: at the top of the header, or at its end with :last."""
    view.insert(len(view.fields) if last else 0, name, raw)


def delete_fields(
    view: MessageView,
    name: str,
    *,
    index: int | None = None,
    last: bool = False,
    matches: ValueMatcher | None = None,
) -> int:
    """RFC 5293 §5: every field called `name`, or only the `index`th (from the end with
    :last), and of those only the ones whose value `matches` when patterns were given.
    Returns how many were deleted; a protected name deletes nothing (§6, silently)."""
    if not is_field_name(name):
        raise EditHeaderError(f"deleteheader: {_shown(name)} is not a valid header field name")
    wanted = name.lower()
    if wanted in PROTECTED_FROM_DELETION:
        return 0
    fields = view.fields
    positions = [i for i, (field, _) in enumerate(fields) if field.lower() == wanted]
    if index is not None:
        if index < 1 or index > len(positions):
            return 0
        positions = [positions[-index] if last else positions[index - 1]]
    if matches is not None:
        positions = [i for i in positions if matches(field_value_text(fields[i][1]))]
    if positions:
        view.remove(set(positions))
    return len(positions)


def _shown(name: str) -> str:
    """The name for an error message: quoted, cut short, control characters escaped."""
    return repr(name[:60] + ("..." if len(name) > 60 else ""))


@dataclass(frozen=True)
class AddHeader:
    line: int
    name: Template
    value: Template
    last: bool

    def execute(self, run: Run) -> None:
        added = run.extension_state.get(_STATE, 0)
        assert isinstance(added, int)
        if added >= MAX_ADDED_FIELDS:
            raise run.fail(f"addheader: more than {MAX_ADDED_FIELDS} fields added")
        try:
            name, raw = added_field(self.name.expand(run), self.value.expand(run))
        except EditHeaderError as error:
            raise run.fail(str(error)) from None
        add_field(run.message, name, raw, last=self.last)
        run.extension_state[_STATE] = added + 1
        run.note(f"addheader {name}")


@dataclass(frozen=True)
class DeleteHeader:
    line: int
    matcher: Matcher
    name: Template
    patterns: tuple[Template, ...] | None
    index: int | None
    last: bool

    def execute(self, run: Run) -> None:
        matches: ValueMatcher | None = None
        patterns = self.patterns
        if patterns is not None:

            def matches(value: str) -> bool:
                # Match variables are not set by deleteheader (only tests set them).
                saved = run.match_values
                try:
                    return self.matcher.match(run, [value], patterns)
                finally:
                    run.match_values = saved

        name = self.name.expand(run)
        try:
            deleted = delete_fields(
                run.message, name, index=self.index, last=self.last, matches=matches
            )
        except EditHeaderError as error:
            raise run.fail(str(error)) from None
        if name.lower() in PROTECTED_FROM_DELETION:
            run.note(f"deleteheader {name}: protected, ignored (RFC 5293 §6)")
        elif deleted:
            run.note(f"deleteheader {name}: {deleted} deleted")


def _name_argument(node: Node, env: CompileEnv, command: str) -> Template:
    raw = node.args[0]
    assert isinstance(raw, str)
    name = env.string(node, raw)
    if name.constant is not None and not is_field_name(name.constant):
        raise env.fail(node.line, f"{command}: {_shown(name.constant)} is not a valid field name")
    return name


def _addheader(node: Node, env: CompileEnv) -> Executable:
    name = _name_argument(node, env, "addheader")
    raw_value = node.args[1]
    assert isinstance(raw_value, str)
    value = env.string(node, raw_value)
    if name.constant is not None and value.constant is not None:
        try:
            added_field(name.constant, value.constant)
        except EditHeaderError as error:
            raise env.fail(node.line, str(error)) from None
    return AddHeader(node.line, name, value, node.tag("last") is not None)


def _deleteheader(node: Node, env: CompileEnv) -> Executable:
    name = _name_argument(node, env, "deleteheader")
    index_tag, last = node.tag("index"), node.tag("last") is not None
    index: int | None = None
    if index_tag is not None:
        if not isinstance(index_tag.value, int) or index_tag.value < 1:
            raise env.fail(node.line, "deleteheader: :index must be 1 or more")
        index = index_tag.value
    elif last:
        raise env.fail(node.line, "deleteheader: :last needs :index")
    patterns = node.args[1]
    assert patterns is None or isinstance(patterns, tuple)
    return DeleteHeader(
        node.line,
        matcher(node, env),
        name,
        None if patterns is None else env.strings(node, patterns),
        index,
        last,
    )


register(
    Spec(
        "addheader",
        Kind.ACTION,
        _addheader,
        capability="editheader",
        tags=(LAST,),
        params=(Param("field-name", "string"), Param("value", "string")),
    )
)
register(
    Spec(
        "deleteheader",
        Kind.ACTION,
        _deleteheader,
        capability="editheader",
        tags=(INDEX, LAST, *MATCHING),
        params=(
            Param("field-name", "string"),
            Param("value-patterns", "strings", optional=True),
        ),
    )
)
