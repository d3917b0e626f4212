"""Client-certificate logins (`mailroom.config.client_certificates`,
`mailroom.auth.certificate_login`): the `account_from` strings of the config, and what a
client's certificate says (its subject and subjectAltName, written by whoever asked the
CA for it) as the login reads and logs it.

The input, as text, is cut at LF: the first line is an account source; the whole input
is also read as a DER certificate (`net.client_certificates.load_certificate`, None
for what is none). Contract: `parse_account_source` gives an
`AccountSource` whose text reads back as the same source, or raises `ValueError`; for a
certificate cryptography loads, `certificate_names` by each source (and by every
subject attribute) gives at most `MAX_CANDIDATES` strings, `describe` a serial in hex
and a subject, `net.client_certificates.distribution_points` at most 8 URLs
(cryptography reads names and extensions lazily: their errors must not come out), and
the log line's value of each (`auth.log_lines.log_value`) is
printable ASCII without spaces, or a JSON string. A crash: any other exception or broken
invariant.
"""

from __future__ import annotations

import json

from mailroom.auth.certificate_login import (
    MAX_CANDIDATES,
    certificate_names,
    describe,
)
from mailroom.auth.log_lines import LOGGED_VALUE_LENGTH, log_value
from mailroom.config.client_certificates import (
    SAN_EMAIL,
    SUBJECT_ATTRIBUTES,
    SUBJECT_PREFIX,
    AccountSource,
    parse_account_source,
)
from mailroom.net.client_certificates import distribution_points, load_certificate

SOURCES = [
    AccountSource(None),
    *(AccountSource(name) for name in sorted(SUBJECT_ATTRIBUTES)),
    AccountSource("2.5.4.45"),
]


def one_input(data: bytes) -> None:
    text = data.partition(b"\n")[0].decode("utf-8", "replace")
    try:
        source = parse_account_source(text)
    except ValueError as error:
        assert str(error), text
    else:
        assert str(source) in (SAN_EMAIL, SUBJECT_PREFIX + str(source.attribute)), source
        assert parse_account_source(str(source)) == source, (text, source)
        _logged(text)
    certificate = load_certificate(data)
    if certificate is None:
        return
    for sources in ([source] for source in SOURCES):
        found, names = certificate_names(certificate, sources)
        assert len(names) <= MAX_CANDIDATES and (found is None) == (not names), names
        for name in names:
            _logged(name)
    for value in describe(certificate):
        _logged(value)
    assert len(distribution_points(certificate)) <= 8


def _logged(value: str) -> None:
    logged = log_value(value)
    assert logged.isascii() and logged.isprintable(), logged
    if " " in logged or logged.startswith('"'):
        assert json.loads(logged) == value[:LOGGED_VALUE_LENGTH], (value, logged)
