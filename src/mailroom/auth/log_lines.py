"""The one shape of an authentication log line: `key=value` fields, each value made safe
(cut, and quoted with escapes unless plain), so no client-supplied text or certificate
field can forge a line or a field. Used by every login path (`authenticator`,
`certificate_login`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

LOGGED_VALUE_LENGTH = 200
"""Client-supplied values and certificate fields are cut to this in log lines."""

_PLAIN_LOG_VALUE = re.compile(r"[!#-\[\]-~]+")  # printable ASCII but space, '"' and '\'


def log_value(value: str) -> str:
    """`value` made safe for one log line: cut, and quoted with escapes when it holds
    spaces, quotes or anything unprintable."""
    value = value[:LOGGED_VALUE_LENGTH]
    if _PLAIN_LOG_VALUE.fullmatch(value):
        return value
    return json.dumps(value, ensure_ascii=True)


def log_fields(fields: Mapping[str, str]) -> str:
    """`key=value key=value ...`, each value through `log_value`."""
    return " ".join(f"{key}={log_value(value)}" for key, value in fields.items())
