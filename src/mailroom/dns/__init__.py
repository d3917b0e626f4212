"""The one DNS resolver of the host (DESIGN.md: `dns`), for `mailauth` (SPF, DKIM, DMARC,
ARC, DNSBL) and `delivery` (MX, TLSA, MTA-STS).

Answers are cached by their TTL; every lookup is bounded in time. A name that does not
exist or has no record of the asked type is an empty answer (`NoRecord` only where a
caller must tell them apart); a failure that may pass is `DnsTemporaryError`."""

from mailroom.dns.resolver import DnsError, DnsTemporaryError, NoRecord, Resolver

__all__ = ["DnsError", "DnsTemporaryError", "NoRecord", "Resolver"]
