"""The envelope test (RFC 5228 §5.4): "from" is MAIL FROM ("" for the null sender),
"to" the recipient this delivery is for, "auth" the authenticated submitter (RFC 5228
leaves other parts to extensions). `:detail` of "to" is the detail routing found
(RFC 5233 §4 with `RunContext.envelope.detail`)."""

from __future__ import annotations

from dataclasses import dataclass

from mailroom.sieve.matching import Matcher
from mailroom.sieve.registry import CompileEnv, Kind, Param, Spec, register
from mailroom.sieve.runtime import Run, Test
from mailroom.sieve.templates import Template
from mailroom.sieve.test_args import ADDRESS_PART, MATCHING, address_part, address_value, matcher
from mailroom.sieve.tree import Node

PARTS = ("from", "to", "auth")


@dataclass(frozen=True)
class EnvelopeTest:
    line: int
    matcher: Matcher
    part: str
    names: tuple[Template, ...]
    keys: tuple[Template, ...]

    def evaluate(self, run: Run) -> bool:
        envelope = run.context.envelope
        delimiters = run.context.subaddress_delimiters
        values: list[str] = []
        for name in self.names:
            which = name.expand(run).lower()
            address = {"from": envelope.sender, "to": envelope.recipient}.get(which)
            if which == "auth":
                address = envelope.auth
            if address is None:
                continue
            if address == "":
                # The null reverse-path: every part of it is "" (RFC 5228 §5.4).
                if self.part in ("all", "localpart", "domain", "user"):
                    values.append("")
                continue
            local, _, domain = address.rpartition("@") if "@" in address else (address, "", "")
            if which == "to" and self.part == "detail" and envelope.detail is not None:
                values.append(envelope.detail)
                continue
            value = address_value(local, domain, self.part, delimiters)
            if value is not None:
                values.append(value)
        return self.matcher.match(run, values, self.keys)


def _envelope(node: Node, env: CompileEnv) -> Test:
    names = node.args[0]
    keys = node.args[1]
    assert isinstance(names, tuple) and isinstance(keys, tuple)
    for name in names:
        if "${" not in name and name.lower() not in PARTS:
            raise env.fail(node.line, f'unknown envelope part "{name}"')
    return EnvelopeTest(
        node.line,
        matcher(node, env),
        address_part(node, env),
        env.strings(node, names),
        env.strings(node, keys),
    )


register(
    Spec(
        "envelope",
        Kind.TEST,
        _envelope,
        capability="envelope",
        tags=(*MATCHING, ADDRESS_PART),
        params=(Param("envelope-part", "strings"), Param("key-list", "strings")),
    )
)
