"""`[inbound_authentication]`: SPF, DKIM, ARC and DMARC on mail that arrives on port 25,
what to do with DMARC's verdict, and the bounds on the DNS work the checks may cause.

Mail from logged-in members (submission) is never checked. The policy may be set apart
for a recipient domain under `[inbound_authentication.domains."example.org"]`; a key
left out there keeps the section's value.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from mailroom.config.section import Section


class DomainAuthenticationPolicy(Section):
    """The checks and actions for mail to one recipient domain (unset: as the section)."""

    spf: bool | None = None
    dkim: bool | None = None
    arc: bool | None = None
    dmarc: bool | None = None
    dmarc_reject: bool | None = None
    dmarc_quarantine: bool | None = None


class InboundAuthenticationConfig(Section):
    """Checks at the end of DATA/BDAT on port 25, and one `Authentication-Results:`
    header (RFC 8601) written with the host name as its authserv-id; incoming ones
    claiming that name are removed first."""

    enabled: bool = False
    """Check mail arriving on port 25 (smtp listeners) at all."""
    spf: bool = True
    """SPF (RFC 7208) of the MAIL FROM and of the HELO name."""
    dkim: bool = True
    """DKIM signatures (RFC 6376), at most `max_dkim_signatures` a message."""
    arc: bool = True
    """The ARC chain (RFC 8617), recorded in the header for readers and our sealer."""
    dmarc: bool = True
    """DMARC (RFC 7489) of the From: domain, from the SPF and DKIM results."""
    dmarc_reject: bool = True
    """Honour `p=reject`: refuse a failing message at DATA with `550 5.7.1`."""
    dmarc_quarantine: bool = True
    """Honour `p=quarantine` (and a sampled-out reject): deliver to `junk_folder`."""
    defer_on_temperror: bool = True
    """When the domain's policy is reject and its aligned SPF or DKIM could not be
    checked for a temporary DNS failure, answer `451` so the sender retries (off:
    accept, with dmarc=temperror in the header)."""
    junk_folder: str = Field(default="Junk", min_length=1, max_length=200)
    """Where quarantined mail is delivered (made if missing); Sieve is not run for it."""
    max_dns_lookups: int = Field(default=10, ge=1, le=100)
    """SPF terms causing DNS lookups per evaluation (RFC 7208 §4.6.4: 10)."""
    max_void_lookups: int = Field(default=2, ge=0, le=100)
    """SPF lookups answered with nothing per evaluation (RFC 7208 §4.6.4: 2)."""
    spf_time_limit_seconds: float = Field(default=20, gt=0, le=300)
    """One SPF evaluation in all (RFC 7208 §4.6.4: at least 20 s); beyond: temperror."""
    time_limit_seconds: float = Field(default=30, gt=0, le=600)
    """The DKIM, ARC and DMARC lookups of one message in all; beyond: temperror."""
    max_dkim_signatures: int = Field(default=5, ge=1, le=50)
    """DKIM signatures verified per message; further ones are ignored."""
    domains: dict[str, DomainAuthenticationPolicy] = Field(default_factory=dict)
    """Per recipient domain (lower case): the domain of each address the message goes
    to after alias expansion (never a client's ORCPT). A message for several runs a check
    if any of them wants it, is refused only if all of them honour `dmarc_reject`
    (else quarantined where one honours `dmarc_quarantine`)."""

    @field_validator("domains")
    @classmethod
    def _lower_case(
        cls, value: dict[str, DomainAuthenticationPolicy]
    ) -> dict[str, DomainAuthenticationPolicy]:
        return {domain.rstrip(".").lower(): policy for domain, policy in value.items()}

    def for_domain(self, domain: str) -> DomainAuthenticationPolicy:
        """The complete policy for mail to `domain` (every key set)."""
        own = self.domains.get(domain.rstrip(".").lower(), DomainAuthenticationPolicy())
        return DomainAuthenticationPolicy(
            **{
                name: getattr(self, name) if getattr(own, name) is None else getattr(own, name)
                for name in DomainAuthenticationPolicy.model_fields
            }
        )
