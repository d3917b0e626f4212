"""SASL PLAIN and LOGIN, server side (`mailroom.auth.sasl.SaslExchange`, RFC 4616,
draft-murchison-sasl-login).

The input's first octet picks the mechanism and whether the AUTH line carried an
initial response; the rest is the client's lines (cut at LF), fed until the exchange
finishes. Contract: each step is a `Challenge`, `Credentials` or `SaslFailure`; no
exception; credentials are UTF-8 text within `MAX_FIELD_BYTES`, without NUL, with a
non-empty user name and password. `SaslExchange` of a name it does not offer raises
`UnknownMechanism` (also fed from the input). A crash: any other exception or broken
invariant.
"""

from __future__ import annotations

import contextlib

from mailroom.auth.sasl import (
    MAX_FIELD_BYTES,
    Challenge,
    Credentials,
    SaslExchange,
    SaslFailure,
    UnknownMechanism,
)


def _check(credentials: Credentials) -> None:
    for value in (credentials.authzid, credentials.authcid, credentials.password):
        assert "\x00" not in value
        assert len(value.encode("utf-8")) <= MAX_FIELD_BYTES
    assert credentials.authcid and credentials.password


def one_input(data: bytes) -> None:
    if not data:
        return
    options, lines = data[0], data[1:].split(b"\n")
    if options & 4:  # a mechanism name as a client may write it
        with contextlib.suppress(UnknownMechanism):
            SaslExchange(lines[0].decode("utf-8", "replace"))
        return
    exchange = SaslExchange("PLAIN" if options & 1 else "login")
    step = exchange.start(lines.pop(0) if options & 2 else None)
    for line in lines:
        if not isinstance(step, Challenge):
            break
        step = exchange.respond(line)
    if isinstance(step, Credentials):
        _check(step)
        assert exchange.finished
    elif isinstance(step, SaslFailure):
        assert exchange.finished and step.reason
