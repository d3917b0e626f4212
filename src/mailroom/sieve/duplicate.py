"""The duplicate test (RFC 7352): was this message's unique ID seen by an earlier run?

The ID is the first Message-ID field (or the first field named by `:header`), unfolded,
RFC 2047-decoded and trimmed (§3), or the `:uniqueid` string as given; it is matched
case-sensitively and tracked per `:handle`. The test asks RunContext.duplicates, which
remembers the marks of earlier successful deliveries, and yields a `DuplicateMark` for
the Outcome, which delivery records only once the message has been delivered (§3: "MUST
only update the internal duplicate tracking list when the Sieve script execution
finishes successfully").

`DuplicateChecks` keeps the answers of one run: every duplicate test with the same
handle and ID in one run yields the same result and IDs marked in this run are not
duplicates of themselves (§3: "MUST NOT consider ID values encountered earlier in the
current Sieve script execution").
"""

from __future__ import annotations

from dataclasses import dataclass

from mailroom.message.headers import decode_header
from mailroom.sieve.actions import DuplicateMark
from mailroom.sieve.context import DuplicateMemory
from mailroom.sieve.header_encoding import is_field_name

MAX_ID_CHARS = 1000
"""Characters of a unique ID kept (a Message-ID is at most 998 on one line)."""


@dataclass(frozen=True)
class DuplicatePeriods:
    """The test's period without `:seconds`, and the longest honoured (a longer one is
    silently lowered to it, §3), in seconds (config.sieve.duplicate_*_period_seconds)."""

    default: int = 14 * 24 * 3600
    maximum: int = 28 * 24 * 3600


@dataclass(frozen=True)
class DuplicateRequest:
    handle: str = ""
    header: str | None = None
    """`:header`; None means Message-ID unless `uniqueid` is given."""
    uniqueid: str | None = None
    seconds: int | None = None
    last: bool = False


def argument_errors(request: DuplicateRequest) -> list[str]:
    """§3: `:header` and `:uniqueid` exclude each other (an invalid header name is not
    an error: the test is then false)."""
    errors: list[str] = []
    if request.header is not None and request.uniqueid is not None:
        errors.append("duplicate: :header and :uniqueid cannot both be given")
    if request.seconds is not None and request.seconds < 0:
        errors.append("duplicate: :seconds must not be negative")
    return errors


def unique_id(request: DuplicateRequest, field_values: list[bytes]) -> str | None:
    """The tracked ID: `:uniqueid`, else the first of `field_values` (the values of
    the :header field, or of Message-ID) normalised as §3 asks; None when there is no
    such field or the name is not a valid field name (the test is then false)."""
    if request.uniqueid is not None:
        return request.uniqueid[:MAX_ID_CHARS]
    if request.header is not None and not is_field_name(request.header):
        return None
    if not field_values:
        return None
    return decode_header(field_values[0]).strip(" \t")[:MAX_ID_CHARS]


def id_field(request: DuplicateRequest) -> str:
    """The field whose first value is the ID (when :uniqueid is not given)."""
    return request.header if request.header is not None else "Message-ID"


def period(request: DuplicateRequest, periods: DuplicatePeriods) -> int:
    wanted = periods.default if request.seconds is None else request.seconds
    return min(wanted, periods.maximum) if periods.maximum > 0 else wanted


class DuplicateChecks:
    """The duplicate tests of one run: their answers and the marks to record."""

    def __init__(self, memory: DuplicateMemory, periods: DuplicatePeriods) -> None:
        self._memory = memory
        self._periods = periods
        self._answers: dict[tuple[str, str], bool] = {}
        self._marks: dict[tuple[str, str], DuplicateMark] = {}

    def test(self, request: DuplicateRequest, field_values: list[bytes]) -> bool:
        """Evaluate one duplicate test (field_values: see `unique_id`)."""
        value = unique_id(request, field_values)
        if value is None:
            return False  # §3: no ID, no test and no mark
        seconds = period(request, self._periods)
        if seconds == 0:
            return False  # §3: ":seconds 0" yields false unconditionally
        key = (request.handle, value)
        answer = self._answers.get(key)
        if answer is None:
            answer = self._memory.seen(request.handle, value)
            self._answers[key] = answer
        # Without :last an entry expires counted from its creation, so a duplicate
        # adds no mark; with :last every check restarts the period (§3).
        if not answer or request.last:
            self._marks[key] = DuplicateMark(request.handle, value, seconds)
        return answer

    def marks(self) -> tuple[DuplicateMark, ...]:
        """What the Outcome carries for delivery to record after success."""
        return tuple(self._marks.values())
