"""What the server announces (RFC 9051 §6.1.1), before and after login.

Before login: only what a client needs to log in (STARTTLS, AUTH= mechanisms or
LOGINDISABLED when passwords may not be sent yet). After: every extension the
session implements. One list, so CAPABILITY, the greeting and the login reply agree.
"""

from __future__ import annotations

from mailroom.auth import mechanisms
from mailroom.imap.state import State

BASE = ("IMAP4rev1", "IMAP4rev2", "SASL-IR", "LITERAL+", "ID", "ENABLE", "IDLE")
AUTHENTICATED = (
    "NAMESPACE",
    "UNSELECT",
    "UIDPLUS",
    "MOVE",
    "CHILDREN",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "SPECIAL-USE",
    "CREATE-SPECIAL-USE",
    "CONDSTORE",
    "QRESYNC",
    "ESEARCH",
    "SEARCHRES",
    "SORT",
    "SORT=DISPLAY",
    "ESORT",
    "CONTEXT=SEARCH",
    "CONTEXT=SORT",
    "THREAD=REFERENCES",
    "THREAD=ORDEREDSUBJECT",
    "QUOTA",
    "QUOTA=RES-STORAGE",
    "STATUS=SIZE",
    "UTF8=ACCEPT",
    "BINARY",
    "MULTIAPPEND",
    "CATENATE",
    "COMPRESS=DEFLATE",
    "NOTIFY",
)


def capabilities(
    state: State, *, starttls: bool, secure: bool, append_limit: int, external: bool = False
) -> list[str]:
    """What to announce in `state`. `starttls`: STARTTLS may be given now; `secure`:
    passwords may be sent now (else LOGINDISABLED); `append_limit`: APPENDLIMIT;
    `external`: a client certificate was presented (AUTH=EXTERNAL)."""
    names = list(BASE)
    if state is State.NOT_AUTHENTICATED:
        if starttls:
            names.append("STARTTLS")
        offered = mechanisms(secure, external=external)
        if offered:
            names.extend(f"AUTH={name}" for name in offered)
        else:
            names.append("LOGINDISABLED")
        return names
    names.extend(AUTHENTICATED)
    names.append(f"APPENDLIMIT={append_limit}")
    return names
