"""The queue lets go of a message only once it is on stable storage where it went:
a message the queue delivers to a local Maildir (here a Sieve redirect from alice to
bob, which goes through the queue) is fsynced, linked into bob's `new/` and `new/`
fsynced before the queue unlinks its envelope from `active/`, seen in the system
calls of the real server (`mailroom serve` under strace)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mailroom.config.example import ListenerExample
from tests.durability.host import maildir, maildir_files, queue_layout, send
from tests.support.managesieve_talk import SieveTalk, plain
from tests.support.server_process import prepare_host_ports
from tests.support.strace import traced_server

LISTENERS = (
    ListenerExample("smtp", "smtp", 0, "starttls"),
    ListenerExample("sieve", "managesieve", 0, "none"),
)
PLAIN_ON_LOOPBACK = {'tls = "none"': 'tls = "none"\nplaintext_networks = ["127.0.0.1/32"]'}
REDIRECT = b'redirect "bob@example.test";\r\n'


async def test_the_queue_removes_a_message_only_after_its_local_delivery(
    tmp_path: Path,
) -> None:
    config, ports = await prepare_host_ports(tmp_path / "host", PLAIN_ON_LOOPBACK, LISTENERS)
    bob = maildir(config, "bob@example.test")
    async with traced_server(config) as server:
        talk = await SieveTalk.open(ports["sieve"])
        assert (await talk.command(f'AUTHENTICATE "PLAIN" "{plain()}"')).ok
        assert (await talk.put("forward", REDIRECT)).ok
        assert (await talk.command('SETACTIVE "forward"')).ok
        await talk.close()
        await send(ports["smtp"], ["alice@example.test"], "redirected")
        async with asyncio.timeout(60):
            while not ((bob / "new").is_dir() and maildir_files(bob)):
                await asyncio.sleep(0.05)
        active = queue_layout(config).active
        async with asyncio.timeout(60):
            while list(active.glob("*.env")):
                await asyncio.sleep(0.05)
        trace = await server.stop()
    [delivered] = maildir_files(bob)
    [removal] = trace.removals(active, ".env")
    trace.assert_stored(delivered, removal)
