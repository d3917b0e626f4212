"""The arguments tests share (RFC 5228 §2.7): comparator, match type, address part, and
the header index of RFC 5260 §6; compiled into a `Matcher` with the checks that need
the script's `require`s (relational, regex, comparator-NAME, subaddress, index).

An extension's test declares these groups in its `Spec.tags` and calls `matcher(...)`.
"""

from __future__ import annotations

import re
from typing import TypeVar

from mailroom.sieve.comparators import COMPARATORS, DEFAULT
from mailroom.sieve.matching import RELATIONS, Matcher
from mailroom.sieve.regex_match import RegexRefused, compile_regex
from mailroom.sieve.registry import CompileEnv, TagGroup, register_capability
from mailroom.sieve.tree import Node

COMPARATOR = TagGroup("comparator", (":comparator",), takes="string")
MATCH_TYPE = TagGroup(
    "match-type",
    (":is", ":contains", ":matches", ":count", ":value", ":regex"),
    takes="string",
    takes_for=(":count", ":value"),
)
ADDRESS_PART = TagGroup("address-part", (":all", ":localpart", ":domain", ":user", ":detail"))
INDEX = TagGroup("index", (":index",), takes="number")
LAST = TagGroup("last", (":last",))
MATCHING = (COMPARATOR, MATCH_TYPE)

_T = TypeVar("_T")
_MATCH_CAPABILITY = {":count": "relational", ":value": "relational", ":regex": "regex"}
_HEADER_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+")


def matcher(node: Node, env: CompileEnv) -> Matcher:
    """The node's comparator and match type, checked (RFC 5228 §2.7.3, RFC 5231 §4)."""
    comparator = DEFAULT
    chosen = node.tag("comparator")
    if chosen is not None:
        name = str(chosen.value)
        found = COMPARATORS.get(name.lower())
        if found is None:
            raise env.fail(node.line, f'unknown comparator "{name}"')
        if found.name not in ("i;octet", "i;ascii-casemap"):
            env.require(f"comparator-{found.name}", node.line, f'comparator "{found.name}"')
        comparator = found
    kind, relation = "is", None
    match_type = node.tag("match-type")
    if match_type is not None:
        kind = match_type.tag[1:]
        capability = _MATCH_CAPABILITY.get(match_type.tag)
        if capability is not None:
            env.require(capability, node.line, match_type.tag)
        if kind in ("count", "value"):
            relation = str(match_type.value).lower()
            if relation not in RELATIONS:
                raise env.fail(node.line, f'unknown relation "{match_type.value}" (RFC 5231)')
    if kind in ("contains", "matches", "regex") and not comparator.substring:
        raise env.fail(node.line, f"comparator {comparator.name} cannot be used with :{kind}")
    if kind == "regex":
        _check_patterns(node, env, comparator.case_insensitive)
    return Matcher(comparator, kind, relation)


def _check_patterns(node: Node, env: CompileEnv, case_insensitive: bool) -> None:
    """A constant :regex key (the key list is a test's last argument) is compiled now,
    so a bad pattern is refused when the script is uploaded, not at delivery."""
    keys = node.args[-1] if node.args else None
    if not isinstance(keys, tuple):
        return
    for key in keys:
        if "${" in key and env.has("variables"):
            continue
        try:
            compile_regex(key, case_insensitive, env.limits.max_regex_length)
        except RegexRefused as error:
            raise env.fail(node.line, f"bad regular expression {key!r}: {error}") from None


def address_part(node: Node, env: CompileEnv) -> str:
    """ "all", "localpart", "domain", "user" or "detail" (RFC 5228 §2.7.4, RFC 5233)."""
    part = node.tag("address-part")
    if part is None:
        return "all"
    if part.tag in (":user", ":detail"):
        env.require("subaddress", node.line, part.tag)
    return part.tag[1:]


def header_index(node: Node, env: CompileEnv) -> int | None:
    """RFC 5260 §6: `:index N` (from the end with `:last`) as a 1-based signed index:
    N, or -N with :last; None without :index."""
    index = node.tag("index")
    last = node.tag("last")
    if index is None:
        if last is not None:
            raise env.fail(node.line, ":last needs :index")
        return None
    env.require("index", node.line, ":index")
    number = index.value
    if not isinstance(number, int) or number < 1:
        raise env.fail(node.line, ":index must be 1 or more")
    return -number if last is not None else number


def pick(values: list[_T], index: int | None) -> list[_T]:
    """The occurrence `header_index` selects (all of them for None)."""
    if index is None:
        return values
    position = index - 1 if index > 0 else len(values) + index
    return [values[position]] if 0 <= position < len(values) else []


def check_header_names(node: Node, env: CompileEnv, names: tuple[str, ...]) -> None:
    """RFC 5228 §2.4.2.2 / RFC 5322 §3.6.8: a field name is printable ASCII but ':'.
    Names with variables are checked when expanded."""
    for name in names:
        if "${" in name and env.has("variables"):
            continue
        if not _HEADER_NAME.fullmatch(name):
            raise env.fail(node.line, f'"{name}" is not a valid header field name')


def split_address(local: str, part: str, delimiters: str) -> str | None:
    """The part of a local part :user and :detail select (RFC 5233 §4): split at the
    first delimiter; None for :detail when there is none."""
    for index, char in enumerate(local):
        if char in delimiters:
            return local[:index] if part == "user" else local[index + 1 :]
    return local if part == "user" else None


def address_value(local: str, domain: str, part: str, delimiters: str) -> str | None:
    if part == "localpart":
        return local
    if part == "domain":
        return domain
    if part in ("user", "detail"):
        return split_address(local, part, delimiters)
    return f"{local}@{domain}" if domain else local


register_capability("relational", "regex", "subaddress", "index", "comparator-i;ascii-numeric")
