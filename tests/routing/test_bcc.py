"""recipient_bcc_maps: a copy for the BCC address of the original recipient, as Postfix's
cleanup adds it."""

from __future__ import annotations

from mailroom.directory import Directory
from tests.support.routing_community import MakeRouter, deliveries, failures

CACERT_INC_BCC = """
    # Functional addresses whose mail is archived.
    team@example.org     archive@example.net
    board                root@example.org
    @lists.example.org   list-archive@elsewhere.example
"""


async def test_bcc_copy_goes_with_the_deliveries_of_the_recipient(
    make_router: MakeRouter,
) -> None:
    router = make_router(bcc=CACERT_INC_BCC, aliases="archive: root\n")
    expansion = await router.expand("team@example.org")
    assert deliveries(expansion) == [
        "local alice@example.org",
        "local bob@example.org",
        "local root@example.net bcc",
    ]
    assert expansion.deliveries[-1].original == "team@example.org"


async def test_bcc_is_found_for_a_sub_address_without_its_detail(make_router: MakeRouter) -> None:
    router = make_router(bcc=CACERT_INC_BCC, aliases="archive: root\n")
    expansion = await router.expand("team+minutes@example.org")
    assert deliveries(expansion) == [
        "local alice@example.org detail=minutes",
        "local bob@example.org detail=minutes",
        "local root@example.net bcc",
    ]


async def test_bare_name_key_applies_in_every_local_domain(make_router: MakeRouter) -> None:
    router = make_router(bcc=CACERT_INC_BCC, aliases="board: alice\n")
    expansion = await router.expand("board@example.org")
    assert deliveries(expansion) == ["local alice@example.org", "local root@example.org bcc"]
    expansion = await router.expand("board@example.net")  # alice has no account there
    assert deliveries(expansion) == ["local root@example.org bcc"]
    assert failures(expansion) == ["unknown alice@example.net"]
    assert deliveries(await router.expand("board@elsewhere.example")) == [
        "remote board@elsewhere.example"
    ]


async def test_domain_key_copies_mail_for_a_relay_domain(make_router: MakeRouter) -> None:
    router = make_router(bcc=CACERT_INC_BCC)
    expansion = await router.expand("dev@lists.example.org")
    assert deliveries(expansion) == [
        "relay dev@lists.example.org via [lists.internal.example.org]:25",
        "remote list-archive@elsewhere.example bcc",
    ]


async def test_bcc_looks_up_the_original_recipient_not_the_final_ones(
    make_router: MakeRouter,
) -> None:
    # bob has a BCC entry, but mail to team is looked up as team (as in Postfix).
    router = make_router(bcc="bob@example.org archive@elsewhere.example\n")
    assert deliveries(await router.expand("team@example.org")) == [
        "local alice@example.org",
        "local bob@example.org",
    ]
    assert deliveries(await router.expand("bob@example.org")) == [
        "local bob@example.org",
        "remote archive@elsewhere.example bcc",
    ]


async def test_bcc_address_is_expanded_but_never_copied_again(
    make_router: MakeRouter, directory: Directory
) -> None:
    await directory.add_alias("archive@example.org", ["root@example.org", "root@example.net"])
    router = make_router(
        bcc="alice@example.org archive@example.org\narchive@example.org bob@example.org\n"
    )
    expansion = await router.expand("alice@example.org")
    assert deliveries(expansion) == [
        "local alice@example.org",
        "local root@example.net bcc",
        "local root@example.org bcc",
    ]


async def test_bcc_to_a_recipient_already_delivered_adds_no_copy(make_router: MakeRouter) -> None:
    router = make_router(bcc="team@example.org alice@example.org\n")
    expansion = await router.expand("team@example.org")
    assert deliveries(expansion) == ["local alice@example.org", "local bob@example.org"]


async def test_first_bcc_map_with_an_entry_wins(make_router: MakeRouter) -> None:
    router = make_router(
        bcc=["bob@example.org one@elsewhere.example\n", "bob@example.org two@elsewhere.example\n"]
    )
    assert deliveries(await router.expand("bob@example.org")) == [
        "local bob@example.org",
        "remote one@elsewhere.example bcc",
    ]


async def test_unknown_bcc_address_is_a_failure_beside_the_deliveries(
    make_router: MakeRouter,
) -> None:
    router = make_router(bcc="bob@example.org nobody@example.org\n")
    expansion = await router.expand("bob@example.org")
    assert deliveries(expansion) == ["local bob@example.org"]
    assert failures(expansion) == ["unknown nobody@example.org"]
