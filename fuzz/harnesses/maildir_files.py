"""What a Dovecot Maildir holds besides mail, as Mailroom reads it from a legacy host
(`mailroom.store`): `dovecot-uidlist`, `dovecot-keywords`, `subscriptions`, message file
names, and folder names in modified UTF-7.

The input is read as each of them. Contract: `parse_uidlist` gives a `UidList` (which
writes back in version 3 and reads again the same) or `UidListError`;
`parse_keywords` gives `Keywords` (round trip too) or `KeywordsError`;
`parse_subscriptions` never raises; `parse_file_name` gives the parts of a name or None
and `format_file_name` writes them back; `mutf7.decode` gives text or `ValueError`, and
`decode(encode(text))` is `text`. A crash: any other exception or broken round trip.
"""

from __future__ import annotations

import contextlib

from mailroom.store import mutf7
from mailroom.store.filename import format_file_name, parse_file_name
from mailroom.store.keywords import KeywordsError, format_keywords, parse_keywords
from mailroom.store.subscriptions import parse_subscriptions
from mailroom.store.uidlist import UidListError, format_uidlist, parse_uidlist


def _uidlist(data: bytes) -> None:
    try:
        uidlist = parse_uidlist(data)
    except UidListError:
        return
    written = format_uidlist(uidlist)
    again = parse_uidlist(written)
    assert format_uidlist(again) == written, (written, format_uidlist(again))


def _keywords(data: bytes) -> None:
    try:
        keywords = parse_keywords(data)
    except KeywordsError:
        return
    assert parse_keywords(format_keywords(keywords)) == keywords


def one_input(data: bytes) -> None:
    _uidlist(data)
    _keywords(data)
    parse_subscriptions(data)
    text = data.decode("utf-8", "surrogateescape")
    for line in text.split("\n")[:20]:
        parts = parse_file_name(line)
        if parts is not None:
            assert parse_file_name(format_file_name(parts)) == parts, line
        with contextlib.suppress(ValueError):
            mutf7.decode(line)
    readable = data[:200].decode("utf-8", "replace")
    assert mutf7.decode(mutf7.encode(readable)) == readable
