"""Sub-addresses: `alice+lists@example.org` is alice's, with the detail `lists`.

Split as Postfix's split_addr() does (recipient_delimiter in postconf(5)): at the first
character of the local part that is one of the delimiters, except when the local part
starts with a delimiter (`+tag` is a name, not a detail of nobody), for `postmaster` and
`mailer-daemon`, and, when `-` is a delimiter, for `owner-list` and `list-request`
(the old mailing-list conventions, which must stay whole).
"""

from __future__ import annotations

_NEVER_SPLIT = frozenset({"postmaster", "mailer-daemon"})


def split_detail(local_part: str, delimiters: str) -> tuple[str, str] | None:
    """(user, detail) if `local_part` has a sub-address, else None: `alice+x` -> (alice, x).

    The detail may be empty (`alice+`), which RFC 5233 distinguishes from none."""
    if not delimiters or local_part.lower() in _NEVER_SPLIT:
        return None
    if "-" in delimiters:
        lowered = local_part.lower()
        if lowered.startswith("owner-") or (len(lowered) > 8 and lowered.endswith("-request")):
            return None
    for index, char in enumerate(local_part):
        if char in delimiters:
            if index == 0:
                return None
            return local_part[:index], local_part[index + 1 :]
    return None
