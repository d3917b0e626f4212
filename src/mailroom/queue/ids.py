"""Queue ids: the short name a message carries from acceptance to removal.

Every log line about a message starts with its id, as in Postfix, so that
`grep 0J8ZQ3M1QX4TB /var/log/mail.log` tells the whole story of one message.
An id is also the message's file name in the queue, so it must be safe there:
it is 13 characters of Crockford's base 32 (digits and capitals without I, L,
O, U). The first nine are the time of acceptance in milliseconds, so ids sort
by arrival (like Postfix's long queue ids); the next two name the process that
made it (`use_process_slot`: 0 for the main process, worker N's is N + 1), so
the main process and its workers writing one queue never draw the same id; the
last two start at a random value and count up for ids made in the same
millisecond (as ULIDs do), so ids from one process never repeat and sort in the
order they were made. The queue still creates each file with O_EXCL, so a
collision (another host on the same directory) is refused rather than trusted.
"""

from __future__ import annotations

import re
import secrets
import threading
import time

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TIME_DIGITS = 9
"""Milliseconds since 1970 in 45 bits: enough until the year 3084."""
SLOT_DIGITS = 2
"""The process that made the id: 1,024 slots (`[server] workers` is at most 256)."""
COUNTER_DIGITS = 2
"""Ids per millisecond and process before the next millisecond's are borrowed."""
RANDOM_DIGITS = SLOT_DIGITS + COUNTER_DIGITS
LENGTH = TIME_DIGITS + RANDOM_DIGITS
MAX_SLOT = 32**SLOT_DIGITS - 1

_QUEUE_ID = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")


def _base32(value: int, digits: int) -> str:
    characters = []
    for _ in range(digits):
        value, digit = divmod(value, 32)
        characters.append(ALPHABET[digit])
    return "".join(reversed(characters))


_lock = threading.Lock()
_last = (0, 0)  # (milliseconds, counter) of the last id made
_slot = 0


def use_process_slot(slot: int) -> None:
    """Make this process's ids with `slot` (0: the main process; worker N: N + 1)."""
    global _slot
    if not 0 <= slot <= MAX_SLOT:
        raise ValueError(f"a process slot is 0 to {MAX_SLOT}, not {slot}")
    _slot = slot


def new_queue_id() -> str:
    """A fresh id, never made before by this process."""
    global _last
    milliseconds = time.time_ns() // 1_000_000
    with _lock:
        last_milliseconds, last_counter = _last
        if milliseconds <= last_milliseconds:
            # Same millisecond (or the clock stepped back): count on from the last id.
            milliseconds, counter = last_milliseconds, last_counter + 1
            if counter >= 32**COUNTER_DIGITS:
                milliseconds, counter = milliseconds + 1, secrets.randbelow(32**COUNTER_DIGITS // 2)
        else:
            # Start in the lower half, so that counting up rarely runs out.
            counter = secrets.randbelow(32**COUNTER_DIGITS // 2)
        _last = (milliseconds, counter)
    return (
        _base32(milliseconds, TIME_DIGITS)
        + _base32(_slot, SLOT_DIGITS)
        + _base32(counter, COUNTER_DIGITS)
    )


def is_queue_id(text: str) -> bool:
    """Whether `text` is shaped like a queue id (and so is safe as a file name)."""
    return _QUEUE_ID.fullmatch(text) is not None


def queue_id_time(queue_id: str) -> float:
    """When the message with this id was accepted, in seconds since 1970."""
    if not is_queue_id(queue_id):
        raise ValueError(f"{queue_id!r} is not a queue id")
    milliseconds = 0
    for character in queue_id[:TIME_DIGITS]:
        milliseconds = milliseconds * 32 + ALPHABET.index(character)
    return milliseconds / 1000


def queue_id_slot(queue_id: str) -> int:
    """The process slot of the id (`use_process_slot`)."""
    if not is_queue_id(queue_id):
        raise ValueError(f"{queue_id!r} is not a queue id")
    slot = 0
    for character in queue_id[TIME_DIGITS : TIME_DIGITS + SLOT_DIGITS]:
        slot = slot * 32 + ALPHABET.index(character)
    return slot
