"""Match types (RFC 5228 §2.7.1 :is, :contains, :matches; RFC 5231 :count and :value;
the regex draft's :regex) over a comparator: whether any of a test's values matches any
of its keys, and the match variables a successful :matches or :regex sets (RFC 5229
§3.2).

Every comparison is counted against the run's step budget, and each value is looked at
up to `SieveLimits.max_match_input` characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mailroom.sieve.comparators import Comparator
from mailroom.sieve.regex_match import search_regex
from mailroom.sieve.runtime import Run
from mailroom.sieve.templates import Template
from mailroom.sieve.wildcard import compile_wildcard

RELATIONS = ("gt", "ge", "lt", "le", "eq", "ne")


def _holds(relation: str, order: int) -> bool:
    return {
        "gt": order > 0,
        "ge": order >= 0,
        "lt": order < 0,
        "le": order <= 0,
        "eq": order == 0,
        "ne": order != 0,
    }[relation]


@dataclass(frozen=True)
class Matcher:
    comparator: Comparator
    kind: str
    """"is", "contains", "matches", "regex", "count" or "value"."""
    relation: str | None = None

    def match(self, run: Run, values: Sequence[str], keys: Sequence[Template]) -> bool:
        limit = run.limits.max_match_input
        expanded = [key.expand(run) for key in keys]
        if self.kind == "count":
            # RFC 5231 §4.1: the number of values, compared as a decimal string.
            count = str(len(values))
            run.step(run.line, len(expanded))
            return any(
                _holds(self.relation or "eq", self.comparator.order(count, key)) for key in expanded
            )
        for value in values:
            value = value[:limit]
            for key in expanded:
                run.step(run.line, 1 + (len(value) + len(key)) // 4096)
                if self._one(run, value, key):
                    return True
        return False

    def _one(self, run: Run, value: str, key: str) -> bool:
        comparator = self.comparator
        kind = self.kind
        if kind == "is":
            return comparator.equal(value, key)
        if kind == "contains":
            return comparator.fold(key) in comparator.fold(value)
        if kind == "value":
            return _holds(self.relation or "eq", comparator.order(value, key))
        if kind == "matches":
            captures = compile_wildcard(key, comparator.case_insensitive).match(value)
            if captures is None:
                return False
            run.match_values = (value, *captures)
            return True
        groups = search_regex(run, key, value, comparator.case_insensitive)
        if groups is None:
            return False
        run.match_values = groups
        return True
