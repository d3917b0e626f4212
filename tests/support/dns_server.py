"""A tiny authoritative DNS server for tests: UDP and TCP on 127.0.0.1, one ephemeral
port, answering from a dict.

Built on dnspython's `dns.message` (parse the query, make the response) and
`dns.rrset.from_text` (build each record); no `dns.zone`, no zone files: a test
states its records inline, as `{"example.test": {"MX": ["10 mx1.example.test."]}}`.
A name missing from the dict is NXDOMAIN; a name present without the asked type is
NODATA (NOERROR, empty answer); a name in `servfail` is SERVFAIL; a name in `silent`
gets no answer at all (the client times out). No real DNS server
library is needed for that, and a real resolver (dnspython's) talks to it.

As a real server does (RFC 1035 §4.2.1, RFC 6891 §6.2.5), a UDP answer larger than the
query allows (512 octets, or its EDNS payload size) is sent truncated (TC, no records),
and the resolver asks again over TCP (RFC 7766), where the whole answer is sent: a long
TXT record (a 4096-bit DKIM key) thus takes the path it takes on the internet.
`queries` records TCP questions with the type suffixed "/tcp".
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import cast

import dns.exception
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
    tcp: asyncio.Server | None = None
    ttl: int = TTL
    """The TTL of every answer (0: resolvers may not cache them)."""

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
        limit = max(512, query.payload) if query.edns >= 0 else 512
        try:
            wire = response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.AA | dns.flags.TC
            wire = truncated.to_wire()
        self.transport.sendto(wire, addr)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.tcp is not None:
            self.tcp.close()  # closing the UDP transport stops the whole server

    async def serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """RFC 7766 §8: each message preceded by its two-octet length; several per
        connection."""
        try:
            while True:
                length = int.from_bytes(await reader.readexactly(2), "big")
                query = dns.message.from_wire(await reader.readexactly(length))
                response = self.answer(query, transport="/tcp")
                wire = response.to_wire(max_size=65535)  # not the UDP payload size
                writer.write(len(wire).to_bytes(2, "big") + wire)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, dns.exception.DNSException):
            pass
        finally:
            writer.close()

    def answer(self, query: dns.message.Message, transport: str = "") -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = _name(question.name)
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype + transport))
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif name not in self.records:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif values := self.records[name].get(rdtype):
            response.answer.append(
                dns.rrset.from_text_list(question.name, self.ttl, dns.rdataclass.IN, rdtype, values)
            )
        return response


def _name(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


async def start_dns_server(
    records: dict[str, dict[str, list[str]]], servfail: set[str] | None = None
) -> DnsServer:
    """Listen on 127.0.0.1, an ephemeral port for UDP and the same for TCP (in `.port`);
    close with `.transport.close()`."""
    loop = asyncio.get_running_loop()
    for _ in range(50):
        server = DnsServer(records, servfail or set())
        transport, _ = await loop.create_datagram_endpoint(
            lambda server=server: server,
            local_addr=("127.0.0.1", 0),
        )
        server.port = transport.get_extra_info("sockname")[1]
        try:
            server.tcp = await asyncio.start_server(server.serve_tcp, "127.0.0.1", server.port)
        except OSError:  # that TCP port is taken: another pair
            transport.close()
            continue
        return server
    raise OSError("no port free for both UDP and TCP on 127.0.0.1")
