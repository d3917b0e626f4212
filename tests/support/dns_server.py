"""A tiny authoritative DNS server for tests: UDP on 127.0.0.1, an ephemeral port,
answering from a dict.

Built on dnspython's `dns.message` (parse the query, make the response) and
`dns.rrset.from_text` (build each record); no `dns.zone`, no zone files: a test
states its records inline, as `{"example.test": {"MX": ["10 mx1.example.test."]}}`.
A name missing from the dict is NXDOMAIN; a name present without the asked type is
NODATA (NOERROR, empty answer); a name in `servfail` is SERVFAIL; a name in `silent`
gets no answer at all (the client times out). No real DNS server
library is needed for that, and a real resolver (dnspython's) talks to it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import cast

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

TTL = 60


@dataclass
class DnsServer(asyncio.DatagramProtocol):
    """Records by lower-case name (no final dot) and type; `queries` lists what was asked."""

    records: dict[str, dict[str, list[str]]]
    servfail: set[str] = field(default_factory=set)
    queries: list[tuple[str, str]] = field(default_factory=list)
    silent: set[str] = field(default_factory=set)
    transport: asyncio.DatagramTransport | None = None
    port: int = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's UDP transport does not subclass asyncio.DatagramTransport; it quacks.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        try:
            query = dns.message.from_wire(data)
        except Exception:
            return  # not DNS: a real server drops it too
        if query.question and _name(query.question[0].name) in self.silent:
            self.queries.append((_name(query.question[0].name), "(silent)"))
            return
        response = self.answer(query)
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = _name(question.name)
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif name not in self.records:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif values := self.records[name].get(rdtype):
            response.answer.append(
                dns.rrset.from_text_list(question.name, TTL, dns.rdataclass.IN, rdtype, values)
            )
        return response


def _name(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


async def start_dns_server(
    records: dict[str, dict[str, list[str]]], servfail: set[str] | None = None
) -> DnsServer:
    """Listen on 127.0.0.1, an ephemeral UDP port (in `.port`); close with `.transport.close()`."""
    loop = asyncio.get_running_loop()
    server = DnsServer(records, servfail or set())
    transport, _ = await loop.create_datagram_endpoint(lambda: server, local_addr=("127.0.0.1", 0))
    server.port = transport.get_extra_info("sockname")[1]
    return server
