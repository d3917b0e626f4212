"""ManageSieve's OK to PUTSCRIPT and SETACTIVE is written only once the script (and
the active link) are on stable storage, seen in the system calls of the real server
(`mailroom serve` under strace): the script fsynced under its temporary name, renamed
into the scripts directory, the directory fsynced; the new link renamed over the
active one and its directory fsynced; before the OK reached the socket. ManageSieve's
OK carries no tag: a `NOOP "tag"` before each command marks where its answer starts."""

from __future__ import annotations

from pathlib import Path

from mailroom.config.example import ListenerExample
from tests.support.managesieve_talk import SieveTalk, plain
from tests.support.server_process import prepare_host
from tests.support.strace import traced_server

LISTENERS = (ListenerExample("sieve", "managesieve", 0, "none"),)
PLAIN_ON_LOOPBACK = {'tls = "none"': 'tls = "none"\nplaintext_networks = ["127.0.0.1/32"]'}
SCRIPT = b'require "fileinto";\r\nif header :contains "subject" "x" { fileinto "Kept"; }\r\n'


async def test_putscript_and_setactive_are_durable_before_ok(tmp_path: Path) -> None:
    config, port = await prepare_host(tmp_path / "host", PLAIN_ON_LOOPBACK, LISTENERS)
    async with traced_server(config) as server:
        talk = await SieveTalk.open(port)
        assert (await talk.command(f'AUTHENTICATE "PLAIN" "{plain()}"')).ok
        assert (await talk.command('NOOP "before-put"')).ok
        assert (await talk.put("filters", SCRIPT)).ok
        assert (await talk.command('NOOP "before-activate"')).ok
        assert (await talk.command('SETACTIVE "filters"')).ok
        await talk.close()
        trace = await server.stop()
    [script] = (config.parent / "data").resolve().rglob("filters.sieve")
    [active] = (config.parent / "data").resolve().rglob(".dovecot.sieve")
    assert active.is_symlink()
    put_reply = trace.next_write(trace.reply(b'"before-put"'))
    trace.assert_stored(script, put_reply)
    activate_reply = trace.next_write(trace.reply(b'"before-activate"'))
    trace.assert_stored(active, activate_reply, written=False)
