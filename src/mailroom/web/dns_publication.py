"""What /admin/dns is given (`WebServices.dns`): the records a domain needs and a check
of what DNS holds. Both need packages the web may not import (DKIM keys, the resolver),
so the app fills this in (`app.dns_records.HostDnsPublication`); these protocols say
only what the page reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from mailroom.config import DkimAlgorithm


class ZoneLine(Protocol):
    @property
    def name(self) -> str:
        """Fully qualified, with the final dot."""
        ...

    @property
    def rtype(self) -> str: ...

    @property
    def data(self) -> str:
        """In zone-file syntax (a TXT record's strings quoted)."""
        ...


class DomainRecords(Protocol):
    @property
    def domain(self) -> str: ...

    @property
    def records(self) -> Sequence[ZoneLine]: ...

    @property
    def text(self) -> str:
        """Exactly what `mailroom dns records DOMAIN` prints."""
        ...

    @property
    def dkim_selector(self) -> str | None: ...

    @property
    def dkim_algorithm(self) -> str | None: ...

    @property
    def dkim_created(self) -> float | None:
        """When the key was made (epoch seconds), for its age."""
        ...

    @property
    def dkim_problem(self) -> str | None:
        """Why the domain's DKIM key could not be read, if it could not."""
        ...


class RecordCheck(Protocol):
    @property
    def record(self) -> ZoneLine: ...

    @property
    def state(self) -> str:
        """published, missing, different or unknown (DNS did not answer)."""
        ...

    @property
    def found(self) -> tuple[str, ...]:
        """What DNS holds there (of the record's type and kind)."""
        ...

    @property
    def detail(self) -> str: ...


class DnsPublication(Protocol):
    async def records(self, domain: str) -> DomainRecords:
        """The records of `domain` (normalised); never raises for a bad DKIM key."""
        ...

    async def make_dkim_key(self, domain: str, algorithm: DkimAlgorithm) -> str | None:
        """Make the first DKIM key of `domain` (never replacing one); None when made,
        else why not (for the administrator)."""
        ...

    async def check(self, domain: str) -> Sequence[RecordCheck]:
        """Each record of `domain` compared with what the host's resolver finds."""
        ...
