"""`Router.expand`: each step of resolution, and the order between them (see the
router's module docstring), over the community of conftest.populate."""

from __future__ import annotations

from mailroom.directory import Directory
from mailroom.routing import DeliveryKind
from tests.support.routing_community import MakeRouter, deliveries, failures

ISSUE_HOP = "via [issue.internal.example.org]:25"


async def test_account_is_delivered_to_its_mailbox(make_router: MakeRouter) -> None:
    expansion = await make_router().expand("alice@example.org")
    assert deliveries(expansion) == ["local alice@example.org"]
    assert failures(expansion) == []
    (delivery,) = expansion.deliveries
    assert delivery.account == "alice@example.org"
    assert (delivery.original, delivery.bcc, delivery.nexthop) == ("alice@example.org", False, None)


async def test_extra_address_is_delivered_to_the_account(make_router: MakeRouter) -> None:
    expansion = await make_router().expand("Alice.Smith@EXAMPLE.org")
    assert expansion.original == "alice.smith@example.org"
    assert deliveries(expansion) == ["local alice@example.org"]
    assert expansion.deliveries[0].original == "alice.smith@example.org"


async def test_disabled_account_still_receives_mail(make_router: MakeRouter) -> None:
    expansion = await make_router().expand("carol@example.org")
    assert deliveries(expansion) == ["local carol@example.org"]


async def test_unknown_local_address_fails_as_unknown(make_router: MakeRouter) -> None:
    expansion = await make_router().expand("nobody@example.org")
    assert deliveries(expansion) == []
    assert failures(expansion) == ["unknown nobody@example.org"]


async def test_address_in_another_domain_is_remote(make_router: MakeRouter) -> None:
    expansion = await make_router().expand("Friend@Elsewhere.example")
    assert deliveries(expansion) == ["remote friend@elsewhere.example"]
    assert expansion.deliveries[0].kind is DeliveryKind.REMOTE


async def test_domain_with_a_transport_is_relayed_to_its_next_hop(make_router: MakeRouter) -> None:
    expansion = await make_router().expand("tracker@issue.example.org")
    assert deliveries(expansion) == [f"relay tracker@issue.example.org {ISSUE_HOP}"]


async def test_transport_matches_its_exact_domain_only(make_router: MakeRouter) -> None:
    expansion = await make_router().expand("a@sub.issue.example.org")
    assert deliveries(expansion) == ["remote a@sub.issue.example.org"]


async def test_local_domain_with_a_transport_is_still_delivered_locally(
    make_router: MakeRouter, directory: Directory
) -> None:
    await directory.set_transport("example.org", "[elsewhere.example]:25")
    expansion = await make_router().expand("alice@example.org")
    assert deliveries(expansion) == ["local alice@example.org"]


async def test_hostile_addresses_are_invalid_failures_not_errors(make_router: MakeRouter) -> None:
    router = make_router()
    for hostile in [
        "",
        "no-at-sign",
        "a@b@",
        "<a@example.org>",
        "a b@example.org",
        "x" * 10_000 + "@example.org",
        "a@example..org",
        "\x00@example.org",
    ]:
        expansion = await router.expand(hostile)
        assert deliveries(expansion) == []
        assert [failure.reason.value for failure in expansion.failures] == ["invalid"]


# -- sub-addresses --------------------------------------------------------------------------


async def test_sub_address_is_delivered_to_the_user_with_its_detail(
    make_router: MakeRouter,
) -> None:
    expansion = await make_router().expand("alice+lists@example.org")
    assert deliveries(expansion) == ["local alice@example.org detail=lists"]
    assert expansion.deliveries[0].original == "alice+lists@example.org"


async def test_empty_detail_is_kept_apart_from_no_detail(make_router: MakeRouter) -> None:
    expansion = await make_router().expand("alice+@example.org")
    assert deliveries(expansion) == ["local alice@example.org detail="]


async def test_address_that_exists_with_its_delimiter_is_not_split(
    make_router: MakeRouter, directory: Directory
) -> None:
    await directory.add_address("bob@example.org", "alice+bob@example.org")
    expansion = await make_router().expand("alice+bob@example.org")
    assert deliveries(expansion) == ["local bob@example.org"]


async def test_detail_is_split_at_the_first_delimiter(make_router: MakeRouter) -> None:
    expansion = await make_router().expand("alice+a+b@example.org")
    assert deliveries(expansion) == ["local alice@example.org detail=a+b"]


async def test_custom_delimiters_each_separate_a_detail(make_router: MakeRouter) -> None:
    router = make_router(recipient_delimiter="-+")
    assert deliveries(await router.expand("alice-news@example.org")) == [
        "local alice@example.org detail=news"
    ]
    assert deliveries(await router.expand("alice+news@example.org")) == [
        "local alice@example.org detail=news"
    ]
    assert deliveries(await router.expand("alice-a+b@example.org")) == [
        "local alice@example.org detail=a+b"
    ]


async def test_with_dash_as_delimiter_owner_and_request_names_stay_whole(
    make_router: MakeRouter,
) -> None:
    router = make_router(recipient_delimiter="-", aliases="owner: alice\nteam: bob\n")
    assert failures(await router.expand("owner-team@example.org")) == [
        "unknown owner-team@example.org"
    ]
    assert failures(await router.expand("team-request@example.org")) == [
        "unknown team-request@example.org"
    ]
    assert deliveries(await router.expand("team-x@example.org")) == [
        "local alice@example.org detail=x",
        "local bob@example.org detail=x",
    ]


async def test_without_delimiters_there_are_no_sub_addresses(make_router: MakeRouter) -> None:
    expansion = await make_router(recipient_delimiter="").expand("alice+lists@example.org")
    assert failures(expansion) == ["unknown alice+lists@example.org"]


async def test_sub_address_of_an_unknown_user_is_unknown(make_router: MakeRouter) -> None:
    expansion = await make_router().expand("nobody+x@example.org")
    assert failures(expansion) == ["unknown nobody+x@example.org"]


async def test_sub_address_in_another_domain_is_left_as_it_is(make_router: MakeRouter) -> None:
    expansion = await make_router().expand("friend+tag@elsewhere.example")
    assert deliveries(expansion) == ["remote friend+tag@elsewhere.example"]


# -- SQL aliases -----------------------------------------------------------------------------


async def test_sql_alias_expands_to_its_targets(make_router: MakeRouter) -> None:
    expansion = await make_router().expand("team@example.org")
    assert deliveries(expansion) == ["local alice@example.org", "local bob@example.org"]
    assert {delivery.original for delivery in expansion.deliveries} == {"team@example.org"}


async def test_sql_alias_with_local_and_external_targets(
    make_router: MakeRouter, directory: Directory
) -> None:
    await directory.add_alias(
        "pr@example.org", ["alice@example.org", "agency@elsewhere.example", "pr@lists.example.org"]
    )
    expansion = await make_router().expand("pr@example.org")
    assert deliveries(expansion) == [
        "remote agency@elsewhere.example",
        "local alice@example.org",
        "relay pr@lists.example.org via [lists.internal.example.org]:25",
    ]


async def test_sql_aliases_are_followed_through_other_aliases(
    make_router: MakeRouter, directory: Directory
) -> None:
    await directory.add_alias("board@example.org", ["team@example.org", "root@example.org"])
    expansion = await make_router().expand("board@example.org")
    assert deliveries(expansion) == [
        "local root@example.org",
        "local alice@example.org",
        "local bob@example.org",
    ]


async def test_detail_of_an_alias_reaches_its_local_deliveries_only(
    make_router: MakeRouter, directory: Directory
) -> None:
    await directory.add_alias("pr@example.org", ["alice@example.org", "agency@elsewhere.example"])
    expansion = await make_router().expand("pr+press@example.org")
    assert deliveries(expansion) == [
        "remote agency@elsewhere.example",
        "local alice@example.org detail=press",
    ]


async def test_a_recipient_reached_twice_is_delivered_once(
    make_router: MakeRouter, directory: Directory
) -> None:
    await directory.add_alias("all@example.org", ["team@example.org", "alice@example.org"])
    expansion = await make_router().expand("all@example.org")
    assert deliveries(expansion) == ["local alice@example.org", "local bob@example.org"]


# -- the aliases file ------------------------------------------------------------------------

LEGACY_ALIASES = """
    postmaster: root
    abuse: postmaster, security@elsewhere.example
    x: x@issue.example.org
    helpdesk: alice
"""


async def test_aliases_file_name_applies_in_every_local_domain(make_router: MakeRouter) -> None:
    router = make_router(aliases=LEGACY_ALIASES)
    assert deliveries(await router.expand("postmaster@example.org")) == ["local root@example.org"]
    assert deliveries(await router.expand("postmaster@example.net")) == ["local root@example.net"]


async def test_aliases_file_does_not_apply_to_other_domains(make_router: MakeRouter) -> None:
    router = make_router(aliases=LEGACY_ALIASES)
    expansion = await router.expand("postmaster@elsewhere.example")
    assert deliveries(expansion) == ["remote postmaster@elsewhere.example"]


async def test_aliases_file_entries_are_followed_recursively(make_router: MakeRouter) -> None:
    router = make_router(aliases=LEGACY_ALIASES)
    expansion = await router.expand("abuse@example.org")
    assert deliveries(expansion) == [
        "local root@example.org",
        "remote security@elsewhere.example",
    ]


async def test_issue_tracking_alias_forwards_to_the_relay_domain(make_router: MakeRouter) -> None:
    router = make_router(aliases=LEGACY_ALIASES)
    for domain in ("example.org", "example.net"):
        expansion = await router.expand(f"x@{domain}")
        assert deliveries(expansion) == [f"relay x@issue.example.org {ISSUE_HOP}"]


async def test_aliases_file_value_without_a_local_account_is_unknown(
    make_router: MakeRouter,
) -> None:
    router = make_router(aliases=LEGACY_ALIASES)
    expansion = await router.expand("helpdesk@example.net")  # alice exists in example.org only
    assert deliveries(expansion) == []
    assert failures(expansion) == ["unknown alice@example.net"]


async def test_aliases_file_name_that_maps_to_itself_is_unknown_unless_an_account(
    make_router: MakeRouter,
) -> None:
    router = make_router(aliases="nobody: nobody, alice@example.org\n")
    expansion = await router.expand("nobody@example.org")
    assert deliveries(expansion) == ["local alice@example.org"]
    assert failures(expansion) == ["unknown nobody@example.org"]


async def test_account_comes_before_an_aliases_file_name(make_router: MakeRouter) -> None:
    router = make_router(aliases="root: alice\n")
    assert deliveries(await router.expand("root@example.org")) == ["local root@example.org"]


async def test_sql_alias_comes_before_an_aliases_file_name(make_router: MakeRouter) -> None:
    router = make_router(aliases="team: root\n")
    assert deliveries(await router.expand("team@example.org")) == [
        "local alice@example.org",
        "local bob@example.org",
    ]


async def test_sub_address_of_an_aliases_file_name(make_router: MakeRouter) -> None:
    router = make_router(aliases=LEGACY_ALIASES)
    expansion = await router.expand("postmaster+dmarc@example.org")
    assert deliveries(expansion) == ["local root@example.org detail=dmarc"]


async def test_exact_aliases_file_name_comes_before_stripping_the_detail(
    make_router: MakeRouter,
) -> None:
    router = make_router(aliases="alice+spam: root\n")
    expansion = await router.expand("alice+spam@example.org")
    assert deliveries(expansion) == ["local root@example.org"]


# -- rewrite maps ----------------------------------------------------------------------------

ARBITRATION = r"""
    # Deleted accounts' mail goes to support; arbitration cases to the issue tracker.
    /^(deleted-account-[0-9]+)@example\.org$/ support+deletedaccounts@example.org
    /^arbitration-([0-9]+)@example\.org$/ case-$1@issue.example.org
"""


async def test_arbitration_rewrites_lead_to_support(make_router: MakeRouter) -> None:
    router = make_router(rewrite=ARBITRATION, aliases="support: alice, bob\n")
    expansion = await router.expand("Deleted-Account-4711@example.org")
    assert deliveries(expansion) == [
        "local alice@example.org detail=deletedaccounts",
        "local bob@example.org detail=deletedaccounts",
    ]
    assert {d.original for d in expansion.deliveries} == {"deleted-account-4711@example.org"}
    expansion = await router.expand("arbitration-12@example.org")
    assert deliveries(expansion) == [f"relay case-12@issue.example.org {ISSUE_HOP}"]


async def test_rewrite_comes_before_the_account(make_router: MakeRouter) -> None:
    router = make_router(rewrite=r"/^alice@example\.org$/ bob@example.org" + "\n")
    assert deliveries(await router.expand("alice@example.org")) == ["local bob@example.org"]


async def test_first_rewrite_map_that_matches_wins(make_router: MakeRouter) -> None:
    router = make_router(rewrite=["/^x@/ alice@example.org\n", "/^x@/ bob@example.org\n"])
    assert deliveries(await router.expand("x@example.org")) == ["local alice@example.org"]


async def test_later_rewrite_map_applies_when_earlier_ones_do_not_match(
    make_router: MakeRouter,
) -> None:
    router = make_router(rewrite=["/^y@/ alice@example.org\n", "/^x@/ bob@example.org\n"])
    assert deliveries(await router.expand("x@example.org")) == ["local bob@example.org"]


async def test_rewrite_result_is_resolved_again_from_the_start(make_router: MakeRouter) -> None:
    router = make_router(rewrite="/^old@/ new@example.org\n/^new@/ team@example.org\n")
    assert deliveries(await router.expand("old@example.org")) == [
        "local alice@example.org",
        "local bob@example.org",
    ]


async def test_rewrite_to_the_address_itself_keeps_it(make_router: MakeRouter) -> None:
    router = make_router(rewrite="/^(alice@example\\.org)$/ $1\n/^alice@/ bob@example.org\n")
    assert deliveries(await router.expand("alice@example.org")) == ["local alice@example.org"]


async def test_rewrite_to_several_addresses(make_router: MakeRouter) -> None:
    router = make_router(rewrite="/^both@/ alice@example.org, friend@elsewhere.example\n")
    assert deliveries(await router.expand("both@example.org")) == [
        "local alice@example.org",
        "remote friend@elsewhere.example",
    ]


async def test_rewrite_applies_to_other_domains_too(make_router: MakeRouter) -> None:
    router = make_router(rewrite=r"/^(.*)@old\.example$/ $1@example.org" + "\n")
    assert deliveries(await router.expand("alice@old.example")) == ["local alice@example.org"]


async def test_rewrite_sees_the_whole_address_with_its_detail(make_router: MakeRouter) -> None:
    router = make_router(rewrite=r"/^alice@example\.org$/ bob@example.org" + "\n")
    expansion = await router.expand("alice+x@example.org")
    assert deliveries(expansion) == ["local alice@example.org detail=x"]


async def test_rewrite_to_something_that_is_not_an_address_fails_as_invalid(
    make_router: MakeRouter,
) -> None:
    router = make_router(rewrite="/^(.*)@example\\.org$/ $1\n")
    expansion = await router.expand("alice@example.org")
    assert deliveries(expansion) == []
    assert failures(expansion) == ["invalid alice@example.org"]
    assert "rewrite0:1 rewrote it to 'alice', which is not an address" in (
        expansion.failures[0].message
    )
