"""Who reads mail to the postmaster: RFC 5321 §4.5.1 requires `postmaster@` every domain
a host accepts mail for, and the bare `<Postmaster>` (§4.1.1.3), local part in any case.

What an address `postmaster@DOMAIN` of a local domain becomes, in this order:
1. whatever routing finds for it (an account, a SQL alias, the aliases file's
   `postmaster:` name, a rewrite map): the operator said so for that domain;
2. `[routing] postmaster`, when it is set: an address, local or not;
3. else `postmaster@` the host's own domain (`host_domain`), if that one is an account
   or an alias;
4. else nothing: RCPT TO is answered `451 4.3.5` (the system is not configured), so the
   sender keeps the message and tries again, and the operator was warned at start-up
   (`missing_postmaster_warning`). Mail to the postmaster is never accepted to be lost.

The bare `<Postmaster>` is `postmaster@` the host's own domain: the hostname if it is a
local domain, else its nearest local parent (`mail.example.org` -> `example.org`), else
the first local domain by name; with no local domain at all, `[routing] postmaster`.

Pure functions over the directory snapshot; `router.py` asks them.
"""

from __future__ import annotations

from mailroom.routing.snapshot import DirectorySnapshot

POSTMASTER = "postmaster"


def is_postmaster(local_part: str) -> bool:
    """Whether a local part is the postmaster's (RFC 5321 §4.5.1: case-insensitive)."""
    return local_part.lower() == POSTMASTER


def host_domain(snapshot: DirectorySnapshot, hostname: str) -> str | None:
    """The local domain the host's own postmaster belongs to (module docstring)."""
    labels = hostname.lower().rstrip(".").split(".")
    for index in range(len(labels)):
        candidate = ".".join(labels[index:])
        if candidate and snapshot.is_local_domain(candidate):
            return candidate
    return min(snapshot.domains) if snapshot.domains else None


def fallback_postmaster(
    snapshot: DirectorySnapshot, hostname: str, configured: str | None
) -> str | None:
    """Steps 2-3 of the module docstring: where mail to a local domain's postmaster goes
    when nothing in that domain is called postmaster."""
    if configured:
        return configured
    domain = host_domain(snapshot, hostname)
    if domain is None:
        return None
    address = f"{POSTMASTER}@{domain}"
    if snapshot.account_of(address) is not None or snapshot.alias_targets(address) is not None:
        return address
    return None


def missing_postmaster_warning(
    snapshot: DirectorySnapshot, hostname: str, configured: str | None
) -> str | None:
    """The one-line start-up warning when mail to a postmaster could not be delivered
    (step 4 of the module docstring), else None."""
    if configured:
        return None
    domain = host_domain(snapshot, hostname)
    if domain is not None and fallback_postmaster(snapshot, hostname, None) is not None:
        return None
    where = f"postmaster@{domain} is no account or alias" if domain else "there is no domain"
    return (
        f"no postmaster: {where} and [routing] postmaster is not set; mail to a postmaster "
        "without its own alias is refused with 451 4.3.5 (senders retry) until one is"
    )
