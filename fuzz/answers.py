"""DNS answers for the harnesses of the checks that ask DNS (SPF, DKIM, ARC): a
`mailroom.dns.Resolver` that never sends a query and answers every name from a table
the harness fills from its input, so the fuzzer writes the records a hostile domain
would publish. Nothing else of the resolver is replaced: the checks run as they do on
the host, on a real event loop.
"""

from __future__ import annotations

from collections.abc import Callable

from mailroom.dns import NoRecord, Resolver

TxtAnswer = Callable[[str], list[bytes]]


class TableResolver(Resolver):
    """Answers `records` from `table[rdtype]` (the same records for every name; NoRecord
    when the type has none) and `txt` from `txt_answer(name)`."""

    def __init__(self, table: dict[str, tuple[str, ...]], txt_answer: TxtAnswer) -> None:
        super().__init__(["127.0.0.1"], port=9)  # never asked: both lookups are answered here
        self.table = table
        self.txt_answer = txt_answer

    async def records(self, name: str, rdtype: str) -> tuple[str, ...]:
        found = self.table.get(rdtype.upper(), ())
        if not found:
            raise NoRecord(name, rdtype, nxdomain=False)
        return found

    async def txt(self, name: str) -> list[bytes]:
        return self.txt_answer(name)
