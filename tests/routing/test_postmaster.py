"""Postmaster (RFC 5321 §4.5.1): `postmaster@` every local domain and the bare
`<Postmaster>` reach someone: the domain's own postmaster, else `[routing] postmaster`,
else the host domain's postmaster; with none of these, a temporary failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailroom.config import ConfigError, RoutingConfig, parse_config
from mailroom.delivery.bounces import Bouncer
from mailroom.directory import Directory
from mailroom.queue import MailQueue, RecipientResult
from mailroom.routing import FailureReason, RecipientVerdict, Router
from tests.support.queue_messages import body, envelope, queue_message
from tests.support.routing_community import Clock, deliveries, failures, write


def router(
    directory: Directory, tmp_path: Path, clock: Clock, hostname: str, **settings: Any
) -> Router:
    aliases = settings.pop("aliases", None)
    if aliases is not None:
        settings["aliases_file"] = write(tmp_path, "aliases", aliases).relative_to(tmp_path)
    made = Router(directory, RoutingConfig(**settings), tmp_path, clock, hostname=hostname)
    made.load()
    return made


async def test_postmaster_of_every_local_domain_goes_to_the_configured_address(
    directory: Directory, tmp_path: Path, clock: Clock
) -> None:
    routing = router(directory, tmp_path, clock, "mx.example.org", postmaster="bob@example.org")
    for address in ("postmaster@example.org", "PostMaster@example.net", "POSTMASTER@EXAMPLE.ORG"):
        route = await routing.route(address)
        assert route.verdict is RecipientVerdict.LOCAL, address
        assert deliveries(route.expansion) == ["local bob@example.org"], address


async def test_bare_postmaster_is_the_host_domains_postmaster(
    directory: Directory, tmp_path: Path, clock: Clock
) -> None:
    routing = router(directory, tmp_path, clock, "mx.example.org", postmaster="bob@example.org")
    for bare in ("postmaster", "Postmaster", "POSTMASTER"):
        route = await routing.route(bare)
        assert route.verdict is RecipientVerdict.LOCAL
        assert deliveries(route.expansion) == ["local bob@example.org"]


async def test_a_domains_own_postmaster_alias_wins_over_the_configured_one(
    directory: Directory, tmp_path: Path, clock: Clock
) -> None:
    await directory.add_alias("postmaster@example.net", ["root@example.net"])
    routing = router(directory, tmp_path, clock, "mx.example.org", postmaster="bob@example.org")
    route = await routing.route("postmaster@example.net")
    assert deliveries(route.expansion) == ["local root@example.net"]
    route = await routing.route("postmaster@example.org")
    assert deliveries(route.expansion) == ["local bob@example.org"]


async def test_unset_the_host_domains_postmaster_serves_every_domain(
    directory: Directory, tmp_path: Path, clock: Clock
) -> None:
    await directory.add_alias("postmaster@example.org", ["alice@example.org"])
    routing = router(directory, tmp_path, clock, "mail.example.org")
    assert await routing.missing_postmaster() is None
    for address in ("postmaster@example.net", "postmaster"):
        route = await routing.route(address)
        assert route.verdict is RecipientVerdict.LOCAL
        assert deliveries(route.expansion) == ["local alice@example.org"]


async def test_a_configured_postmaster_elsewhere_is_accepted_from_anyone(
    directory: Directory, tmp_path: Path, clock: Clock
) -> None:
    routing = router(
        directory, tmp_path, clock, "mx.example.org", postmaster="hostmaster@elsewhere.example"
    )
    route = await routing.route("postmaster@example.net")
    assert route.verdict is RecipientVerdict.LOCAL  # no relay permission needed
    assert deliveries(route.expansion) == ["remote hostmaster@elsewhere.example"]


async def test_without_any_postmaster_it_fails_for_now_and_start_up_warns(
    directory: Directory, tmp_path: Path, clock: Clock
) -> None:
    routing = router(directory, tmp_path, clock, "mx.example.org")
    warning = await routing.missing_postmaster()
    assert warning is not None and "postmaster@example.org" in warning
    assert "[routing] postmaster" in warning and len(warning.splitlines()) == 1
    for address in ("postmaster@example.org", "postmaster"):
        route = await routing.route(address)
        assert route.verdict is RecipientVerdict.LOCAL_UNKNOWN
        reasons = [failure.reason for failure in route.expansion.failures]
        assert reasons == [FailureReason.NO_POSTMASTER], failures(route.expansion)


async def test_the_aliases_files_postmaster_serves_every_domain_and_silences_the_warning(
    directory: Directory, tmp_path: Path, clock: Clock
) -> None:
    routing = router(directory, tmp_path, clock, "mx.example.org", aliases="postmaster: root\n")
    assert await routing.missing_postmaster() is None
    route = await routing.route("postmaster@example.net")
    assert deliveries(route.expansion) == ["local root@example.net"]


async def test_postmaster_of_a_foreign_domain_is_an_ordinary_remote_address(
    directory: Directory, tmp_path: Path, clock: Clock
) -> None:
    routing = router(directory, tmp_path, clock, "mx.example.org", postmaster="bob@example.org")
    route = await routing.route("postmaster@foreign.example")
    assert route.verdict is RecipientVerdict.REMOTE


def test_a_postmaster_setting_that_is_no_address_is_refused_naming_line_and_key() -> None:
    text = '[routing]\npostmaster = "root"\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("/etc/mailroom/mailroom.toml"))
    (line,) = str(caught.value).splitlines()
    assert line.startswith("/etc/mailroom/mailroom.toml:2: routing.postmaster: ")
    assert "'root' is not an address" in line
    config = parse_config('[routing]\npostmaster = " Hostmaster@Example.ORG "\n', Path("m.toml"))
    assert config.routing.postmaster == "hostmaster@example.org"


async def test_expanding_the_bare_postmaster_finds_the_host_domains_postmaster(
    directory: Directory, tmp_path: Path, clock: Clock
) -> None:
    await directory.add_alias("postmaster@example.net", ["alice@example.org"])
    routing = router(directory, tmp_path, clock, "mx.elsewhere.example")
    assert deliveries(await routing.expand("Postmaster")) == ["local alice@example.org"]


async def test_a_double_bounce_reaches_the_postmaster_when_the_hostname_is_no_local_domain(
    directory: Directory, tmp_path: Path, clock: Clock
) -> None:
    """The host domain is then the first local domain (example.net). The report says
    postmaster@<hostname>, but the host name is not one of ours: it is
    delivered where the bare <Postmaster> goes, never sent out to the host name's MX."""
    await directory.add_alias("postmaster@example.net", ["alice@example.org"])
    routing = router(directory, tmp_path, clock, "mx.elsewhere.example")
    async with MailQueue(tmp_path / "queue") as queue:
        queue_id = await queue_message(queue, body(), envelope("bob@example.net", sender=""))
        (before,) = await queue.due()
        after = await queue.update(queue_id, {0: RecipientResult.failed("550 5.1.1 no such user")})
        bouncer = Bouncer(queue, "mx.elsewhere.example", router=routing)
        report_id = await bouncer.report_failures(before, after)
        assert report_id is not None
        report = await queue.get(report_id)
        assert report is not None
        assert [(r.address, r.original) for r in report.envelope.recipients] == [
            ("alice@example.org", "postmaster@mx.elsewhere.example")
        ]
        report_text = queue.message_path(report_id).read_bytes()
        assert b"\r\nTo: <postmaster@mx.elsewhere.example>\r\n" in report_text
