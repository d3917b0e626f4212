"""MTA-STS (RFC 8461) as delivery reads it from the receiving domain
(`mailroom.delivery.mta_sts`): the `_mta-sts` TXT record and the fetched
`mta-sts.txt` policy, both written by whoever runs that domain.

The input is read as a policy body and, cut at LF, as a domain's TXT records. Contract:
`parse_policy` gives a `Policy` (a known mode, a max_age within RFC 8461's bound, mx
patterns in lower case, at least one unless the mode is none) or `MtaStsError`;
`parse_sts_record` gives an id of 1-32 letters and digits or None; `Policy.allows` of
each MX name answers without raising, and a listed name is allowed. A crash: any other
exception or broken invariant.
"""

from __future__ import annotations

import re

from mailroom.delivery.mta_sts import (
    MAX_AGE_LIMIT,
    Mode,
    MtaStsError,
    parse_policy,
    parse_sts_record,
)

_ID = re.compile(r"[A-Za-z0-9]{1,32}")
HOSTS = ("mx.example.org", "MX1.Example.ORG.", "a.b.example.org", "", ".")


def one_input(data: bytes) -> None:
    texts = data.decode("utf-8", "replace").split("\n")
    policy_id = parse_sts_record(texts)
    assert policy_id is None or _ID.fullmatch(policy_id), policy_id
    try:
        policy = parse_policy(data)
    except MtaStsError as error:
        assert str(error), data[:100]
        return
    assert isinstance(policy.mode, Mode) and 0 <= policy.max_age <= MAX_AGE_LIMIT, policy
    assert policy.mode is Mode.NONE or policy.mx, policy
    for pattern in policy.mx:
        assert pattern == pattern.lower(), pattern
        if not pattern.startswith("*."):
            assert policy.allows(pattern.upper() + "."), pattern
    for host in HOSTS:
        policy.allows(host)
