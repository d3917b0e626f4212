"""What the IMAP load benchmark (imap_load.py) checks in every answer, and the small
parser it needs for that.

Every check must stay sound while many clients change the same mailboxes at once, so
each one only asserts what no other client could have changed:

- **UIDVALIDITY** of a mailbox never changes during a run (the run's folders are new).
- **A UID names one message for good**: the first Message-ID seen for (account, mailbox,
  UID) — from APPENDUID or a FETCH ENVELOPE — must be the only one ever seen for it.
  Within one session, a sequence number keeps its UID until an EXPUNGE moves it, and
  UIDs ascend with sequence numbers.
- **EXISTS/EXPUNGE bookkeeping**: each session counts its messages from EXISTS and
  EXPUNGE; EXISTS never shrinks the count, EXPUNGE and FETCH never name a number past
  it, SEARCH never answers one past it.
- **Flags as stored**: a client that holds an owner slot of an account is the only one
  that sets or clears that slot's keyword (``$owner1``...) there; where it did, every
  later FETCH FLAGS must agree. Nobody else sends ``STORE FLAGS`` (replace) or removes
  ``\\Deleted``, so after a client's EXPUNGE and a NOOP none of the messages it marked
  can still be there.

A failed check is counted by kind with a few samples, never dropped.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

Value = bytes | None | list["Value"]
"""A parsed IMAP value: an atom or string (bytes), NIL (None), or a parenthesised list."""

NUMBERED = re.compile(rb"^\* (\d+) (EXISTS|EXPUNGE|FETCH|RECENT)\b", re.IGNORECASE)
UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]", re.IGNORECASE)
APPENDUID = re.compile(r"\[APPENDUID (\d+) (\d+)\]", re.IGNORECASE)
SAMPLES_PER_KIND = 3

# Tagged NO answers a server may give under concurrency without being wrong: RFC 5530's
# EXPUNGEISSUED (the command named a message another session expunged) and Dovecot's
# text for the same. Counted and shown, but not consistency errors.
ALLOWED_NO = re.compile(r"EXPUNGEISSUED|no longer exist", re.IGNORECASE)


class ParseError(ValueError):
    """A response the checker cannot read: itself an error (kind "unparsable")."""


QUOTED = re.compile(rb'"((?:[^"\\]|\\.)*)"', re.DOTALL)
ESCAPED = re.compile(rb"\\(.)", re.DOTALL)
ATOM = re.compile(rb"[^ ()\[\]{\"]*(?:\[[^\]]*\][^ ()]*)?")  # BODY[HEADER.FIELDS (A B)]<0>
LITERAL = re.compile(rb"~?\{(\d+)\+?\}\r\n")


def parse_value(data: bytes, i: int) -> tuple[Value, int]:
    """One value at ``data[i:]`` (spaces skipped): list, quoted, literal, NIL or atom.
    Regular expressions, not a loop per byte: the client's CPU is on the same two cores
    as the servers it measures."""
    while data[i : i + 1] == b" ":
        i += 1
    c = data[i : i + 1]
    if not c:
        raise ParseError("value expected")
    if c == b"(":
        items: list[Value] = []
        i += 1
        while True:
            while data[i : i + 1] == b" ":
                i += 1
            if data[i : i + 1] == b")":
                return items, i + 1
            item, i = parse_value(data, i)
            items.append(item)
    if c == b'"':
        quoted = QUOTED.match(data, i)
        if quoted is None:
            raise ParseError("unclosed string")
        return ESCAPED.sub(rb"\1", quoted.group(1)), quoted.end()
    literal = LITERAL.match(data, i)
    if literal is not None:
        start = literal.end()
        end = start + int(literal.group(1))
        if end > len(data):
            raise ParseError("literal cut short")
        return data[start:end], end
    atom = ATOM.match(data, i)
    if atom is None or atom.end() == i:
        raise ParseError(f"unexpected {c!r}")
    value = data[i : atom.end()]
    return (None if value.upper() == b"NIL" else value), atom.end()


def fetch_items(response: bytes) -> tuple[int, dict[str, Value]]:
    """``* n FETCH (NAME value ...)`` as n and {NAME: value}."""
    match = NUMBERED.match(response)
    if match is None or match.group(2).upper() != b"FETCH":
        raise ParseError("not a FETCH response")
    values, _ = parse_value(response, match.end())
    if not isinstance(values, list) or len(values) % 2:
        raise ParseError("FETCH items are not name/value pairs")
    items = {}
    for name, value in zip(values[::2], values[1::2], strict=True):
        if not isinstance(name, bytes):
            raise ParseError("FETCH item name is not an atom")
        items[name.decode("ascii", "replace").upper()] = value
    return int(match.group(1)), items


def flag_names(value: Value) -> set[str]:
    if not isinstance(value, list):
        raise ParseError("FLAGS is not a list")
    return {v.decode("ascii", "replace").lower() for v in value if isinstance(v, bytes)}


def envelope_message_id(value: Value) -> str | None:
    """The Message-ID of an ENVELOPE (its tenth field)."""
    if not isinstance(value, list) or len(value) != 10:
        raise ParseError("ENVELOPE is not a list of 10")
    found = value[9]
    return found.decode("utf-8", "replace") if isinstance(found, bytes) else None


@dataclass
class Errors:
    """Counts by kind, a few samples of each; ``allowed`` kinds are not failures."""

    counts: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[str]] = field(default_factory=dict)
    allowed: set[str] = field(default_factory=set)

    def add(self, kind: str, sample: str = "", allowed: bool = False) -> None:
        self.counts[kind] += 1
        if allowed:
            self.allowed.add(kind)
        kept = self.samples.setdefault(kind, [])
        if sample and len(kept) < SAMPLES_PER_KIND:
            kept.append(sample[:300])

    def failures(self) -> int:
        return sum(n for kind, n in self.counts.items() if kind not in self.allowed)


@dataclass
class Registry:
    """What all clients of one run know together, per (account, mailbox)."""

    errors: Errors = field(default_factory=Errors)
    uidvalidity: dict[tuple[str, str], int] = field(default_factory=dict)
    message_ids: dict[tuple[str, str, int], str] = field(default_factory=dict)
    free_slots: dict[str, list[int]] = field(default_factory=dict)
    last_append_sent: dict[tuple[str, str], float] = field(default_factory=dict)
    idling: dict[str, str] = field(default_factory=dict)
    """account → a mailbox a session of it is in IDLE on (the latest to start)."""

    def see_uidvalidity(self, account: str, mailbox: str, value: int) -> None:
        known = self.uidvalidity.setdefault((account, mailbox), value)
        if known != value:
            self.errors.add("UIDVALIDITY changed", f"{account} {mailbox}: {known} then {value}")

    def see_message(self, account: str, mailbox: str, uid: int, message_id: str | None) -> None:
        if message_id is None:
            return
        known = self.message_ids.setdefault((account, mailbox, uid), message_id)
        if known != message_id:
            self.errors.add(
                "UID reused for another message",
                f"{account} {mailbox} UID {uid}: {known} then {message_id}",
            )

    def claim_slot(self, account: str, slots: int) -> int | None:
        free = self.free_slots.setdefault(account, list(range(slots, 0, -1)))
        return free.pop() if free else None

    def release_slot(self, account: str, slot: int) -> None:
        self.free_slots[account].append(slot)


def owner_keyword(slot: int) -> str:
    return f"$owner{slot}"


@dataclass
class SessionView:
    """One session's picture of its selected mailbox, kept from every untagged response."""

    registry: Registry
    account: str
    mailbox: str | None = None
    read_only: bool = False
    count: int = 0
    uids: list[int | None] = field(default_factory=list)
    owner_slot: int | None = None
    expected: dict[tuple[str, int], bool] = field(default_factory=dict)
    """(mailbox, UID) → whether this session's owner keyword is set there."""

    def select(self, mailbox: str | None, read_only: bool = False) -> None:
        self.mailbox, self.read_only, self.count, self.uids = mailbox, read_only, 0, []

    def error(self, kind: str, detail: str) -> None:
        self.registry.errors.add(kind, f"{self.account} {self.mailbox}: {detail}")

    def absorb(self, untagged: list[bytes]) -> list[int]:
        """Check and apply each response in order; returns the EXISTS numbers seen."""
        exists: list[int] = []
        for response in untagged:
            try:
                self._absorb_one(response, exists)
            except (ParseError, ValueError, IndexError) as exc:
                self.error("unparsable response", f"{exc}: {response[:120]!r}")
        return exists

    def _absorb_one(self, response: bytes, exists: list[int]) -> None:
        match = NUMBERED.match(response)
        if match is None:
            validity = UIDVALIDITY.search(response)
            if validity and self.mailbox is not None and response.startswith(b"* OK"):
                self.registry.see_uidvalidity(self.account, self.mailbox, int(validity.group(1)))
            elif response[:9].upper() == b"* SEARCH ":
                self._check_search(response)
            return
        number, kind = int(match.group(1)), match.group(2).upper()
        if kind == b"EXISTS":
            exists.append(number)
            if number < self.count:
                self.error("EXISTS shrank without EXPUNGE", f"{self.count} then {number}")
                del self.uids[number:]
            self.uids.extend([None] * (number - self.count))
            self.count = number
        elif kind == b"EXPUNGE":
            if not 1 <= number <= self.count:
                self.error("EXPUNGE past the message count", f"{number} of {self.count}")
                return
            del self.uids[number - 1]
            self.count -= 1
        elif kind == b"FETCH":
            if not 1 <= number <= self.count:
                self.error("FETCH past the message count", f"{number} of {self.count}")
                return
            self._check_fetch(response)

    def _check_search(self, response: bytes) -> None:
        for word in response[9:].split():
            if word.isdigit() and int(word) > self.count and not self._uid_search:
                self.error("SEARCH past the message count", f"{int(word)} of {self.count}")
                return

    _uid_search = False

    def absorb_uid_search(self, untagged: list[bytes]) -> list[int]:
        """A UID SEARCH's UIDs (not bounded by the count), other responses absorbed."""
        self._uid_search = True
        try:
            self.absorb(untagged)
        finally:
            self._uid_search = False
        found: list[int] = []
        for line in untagged:
            if line[:9].upper() == b"* SEARCH ":
                found.extend(int(w) for w in line[9:].split() if w.isdigit())
        return found

    def _learn_uid(self, seq: int, uid: int) -> None:
        known = self.uids[seq - 1]
        if known is not None and known != uid:
            self.error("sequence number changed UID", f"{seq}: UID {known} then {uid}")
        self.uids[seq - 1] = uid
        left = self.uids[seq - 2] if seq > 1 else None  # the neighbours, where known
        right = self.uids[seq] if seq < self.count else None
        if (left is not None and left >= uid) or (right is not None and right <= uid):
            self.error("UIDs not ascending", f"{seq}: UID {uid} between {left} and {right}")

    def _check_fetch(self, response: bytes) -> None:
        seq, items = fetch_items(response)
        uid_value = items.get("UID")
        if isinstance(uid_value, bytes):
            self._learn_uid(seq, int(uid_value))
        uid = self.uids[seq - 1]
        if uid is None or self.mailbox is None:
            return
        if "ENVELOPE" in items:
            message_id = envelope_message_id(items["ENVELOPE"])
            self.registry.see_message(self.account, self.mailbox, uid, message_id)
        if "FLAGS" in items and self.owner_slot is not None:
            want = self.expected.get((self.mailbox, uid))
            if want is not None:
                has = owner_keyword(self.owner_slot).lower() in flag_names(items["FLAGS"])
                if has != want:
                    self.error(
                        "FLAGS differ from what this client stored",
                        f"UID {uid}: {owner_keyword(self.owner_slot)} "
                        f"{'missing' if want else 'present'}: {response[:160]!r}",
                    )
