"""MTA-STS (RFC 8461) grammar: the `_mta-sts` TXT record, the policy file, and which MX
hosts a policy allows. Pure functions on text from the internet: everything is
checked, and what does not parse is refused with MtaStsError (the caller then acts
as if the domain had no policy, as §3.1 and §3.2 say).

`apply_policy` says which MX hosts a delivery may try, and whether their certificates
must be verified; fetching and caching policies is `mta_sts_cache`; `remote` connects.
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass
from typing import Protocol, TypeVar

log = logging.getLogger("mailroom.delivery")

MAX_POLICY_BYTES = 64 * 1024
"""RFC 8461 §3.3: senders may refuse bigger policy bodies."""
MAX_AGE_LIMIT = 31_557_600
"""RFC 8461 §3.2: max_age is at most a year (in seconds)."""

# RFC 8461 §3.1 ABNF: sts-field-name = ALPHA *31(ALPHA / DIGIT / "_" / "-" / ".") and
# sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E): visible characters but ";" and "=".
_TXT_FIELD = re.compile(r"([A-Za-z][A-Za-z0-9_.-]{0,31})=([\x21-\x3a\x3c\x3e-\x7e]+)")
_POLICY_ID = re.compile(r"[A-Za-z0-9]{1,32}")
# One label of a host name (letters, digits, inner hyphens), for mx patterns.
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_MX_PATTERN = re.compile(rf"(\*\.)?{_LABEL}(\.{_LABEL})+")


class MtaStsError(ValueError):
    """A record or policy that does not follow RFC 8461; says what is wrong."""


class Mode(enum.StrEnum):
    ENFORCE = "enforce"
    """Deliver only to matching MX hosts over TLS with a verified certificate."""
    TESTING = "testing"
    """Deliver as usual; report (here: log) what enforce would have refused."""
    NONE = "none"
    """The domain withdrew its policy."""


@dataclass(frozen=True)
class Policy:
    mode: Mode
    max_age: int
    """Seconds the policy may be cached."""
    mx: tuple[str, ...]
    """Patterns of allowed MX host names (lower case; `*.` matches one label)."""

    def allows(self, host: str) -> bool:
        """Whether MX `host` matches one of the patterns (RFC 8461 §4.1)."""
        name = host.rstrip(".").lower()
        for pattern in self.mx:
            if pattern.startswith("*."):
                label, dot, rest = name.partition(".")
                if dot and label and rest == pattern[2:]:
                    return True
            elif name == pattern:
                return True
        return False


def parse_sts_record(texts: list[str]) -> str | None:
    """The policy id of the domain's `_mta-sts` TXT records (each the joined strings
    of one record), or None when there is no usable record (§3.1: records not starting
    with `v=STSv1` are ignored; none, several or a malformed one mean no policy)."""
    candidates = [text for text in texts if text.startswith("v=STSv1")]
    if len(candidates) != 1:
        return None
    try:
        return _record_id(candidates[0])
    except MtaStsError:
        return None


def _record_id(text: str) -> str:
    fields = [field.strip(" \t") for field in text.split(";")]
    if fields and fields[-1] == "":
        fields.pop()  # a final ";" is allowed
    parsed: list[tuple[str, str]] = []
    for field in fields:
        match = _TXT_FIELD.fullmatch(field)
        if match is None:
            raise MtaStsError(f"malformed field {field[:40]!r}")
        parsed.append((match.group(1), match.group(2)))
    if not parsed or parsed[0] != ("v", "STSv1"):
        raise MtaStsError("the record must start with v=STSv1")
    ids = [value for name, value in parsed if name == "id"]
    if not ids or not _POLICY_ID.fullmatch(ids[0]):
        raise MtaStsError("id= must be 1 to 32 letters and digits")
    return ids[0]


def parse_policy(body: bytes) -> Policy:
    """The policy in a fetched `mta-sts.txt` body (RFC 8461 §3.2); MtaStsError if it is
    not one. Unknown keys are ignored; of a repeated key other than mx, the first counts."""
    if len(body) > MAX_POLICY_BYTES:
        raise MtaStsError(f"the policy is larger than {MAX_POLICY_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MtaStsError("the policy is not UTF-8 text") from None
    values: dict[str, str] = {}
    mx: list[str] = []
    for line in re.split(r"\r?\n", text):
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        if not colon:
            raise MtaStsError(f"line without ':': {line[:40]!r}")
        key, value = key.strip(), value.strip(" \t")
        if key == "mx":
            pattern = value.rstrip(".").lower()
            if not _MX_PATTERN.fullmatch(pattern):
                raise MtaStsError(f"mx: {value[:60]!r} is not a host name or *.pattern")
            mx.append(pattern)
        else:
            values.setdefault(key, value)
    if values.get("version") != "STSv1":
        raise MtaStsError("version: must be STSv1")
    try:
        mode = Mode(values.get("mode", ""))
    except ValueError:
        raise MtaStsError("mode: must be enforce, testing or none") from None
    age = values.get("max_age", "")
    if not re.fullmatch(r"[0-9]{1,10}", age):
        raise MtaStsError("max_age: must be a number of seconds")
    if mode is not Mode.NONE and not mx:
        raise MtaStsError("an enforce or testing policy needs at least one mx")
    return Policy(mode, min(int(age), MAX_AGE_LIMIT), tuple(dict.fromkeys(mx)))


class _Host(Protocol):
    @property
    def name(self) -> str: ...


HostT = TypeVar("HostT", bound=_Host)


def apply_policy(
    policy: Policy | None, domain: str, hosts: list[HostT], queue_id: str
) -> tuple[list[HostT], bool, str | None]:
    """(hosts to try, whether TLS must be verified, or why none may be tried) for mail
    to `domain`'s MX `hosts` under its policy (RFC 8461 §4, §5): enforce keeps only
    listed hosts, over verified TLS, and defers (4.7.5) when none is listed; testing
    only logs what enforce would refuse; none, or no policy, changes nothing."""
    if policy is None or policy.mode is Mode.NONE:
        return hosts, False, None
    allowed = [host for host in hosts if policy.allows(host.name)]
    if policy.mode is Mode.TESTING:
        for name in dict.fromkeys(host.name for host in hosts if host not in allowed):
            log.warning(
                "%s: MTA-STS policy of %s (testing) does not list MX host %s",
                queue_id,
                domain,
                name,
            )
        return hosts, False, None
    if not allowed:
        names = ", ".join(dict.fromkeys(host.name for host in hosts))
        return [], True, f"4.7.5 MTA-STS policy of {domain} allows none of its MX hosts ({names})"
    return allowed, True, None
