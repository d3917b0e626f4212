"""The comparators of RFC 4790 that Sieve names with `:comparator` (RFC 5228 §2.7.3):
i;octet, i;ascii-casemap (the default) and i;ascii-numeric (RFC 4790 §9.1, which has
equality and ordering but no substring operations, so :contains and :matches with it
are errors at compile time).
"""

from __future__ import annotations

from dataclasses import dataclass

_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _numeric(value: str) -> int | None:
    """RFC 4790 §9.1.1: the leading digits as a number; None (positive infinity) when
    the string does not start with a digit."""
    end = 0
    while end < len(value) and "0" <= value[end] <= "9":
        end += 1
    return int(value[:end]) if end else None


@dataclass(frozen=True)
class Comparator:
    name: str

    @property
    def substring(self) -> bool:
        """Whether :contains and :matches may use it."""
        return self.name != "i;ascii-numeric"

    @property
    def case_insensitive(self) -> bool:
        return self.name == "i;ascii-casemap"

    def fold(self, value: str) -> str:
        """The form two strings are compared in (i;ascii-casemap: ASCII upper case)."""
        return value.translate(_UPPER) if self.name == "i;ascii-casemap" else value

    def equal(self, a: str, b: str) -> bool:
        if self.name == "i;ascii-numeric":
            return _numeric(a) == _numeric(b)
        return self.fold(a) == self.fold(b)

    def order(self, a: str, b: str) -> int:
        """-1, 0 or 1 as `a` sorts before, with or after `b` (RFC 5231 relations).
        Python orders str by code point, which is UTF-8's octet order."""
        if self.name == "i;ascii-numeric":
            x, y = _numeric(a), _numeric(b)
            if x == y:
                return 0
            if x is None:
                return 1
            if y is None:
                return -1
            return -1 if x < y else 1
        fa, fb = self.fold(a), self.fold(b)
        return (fa > fb) - (fa < fb)


COMPARATORS = {name: Comparator(name) for name in ("i;octet", "i;ascii-casemap", "i;ascii-numeric")}
DEFAULT = COMPARATORS["i;ascii-casemap"]
