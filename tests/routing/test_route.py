"""`Router.route`, what RCPT TO asks: the verdict and the deliveries in one answer, and
bounces to the SRS addresses our forwarding made."""

from __future__ import annotations

import pytest

from mailroom.delivery.srs import SrsRewriter
from mailroom.routing import FailureReason, InvalidRecipient, RecipientVerdict
from tests.support.routing_community import MakeRouter, deliveries, failures

DAY_20000 = 20000 * 86400.0
SRS = SrsRewriter([b"secret"], "fwd.example.org", clock=lambda: DAY_20000)


@pytest.mark.parametrize(
    "address",
    [
        "alice@example.org",
        "alice+lists@example.org",
        "team@example.org",
        "nobody@example.org",
        "anyone@lists.example.org",
        "friend@elsewhere.example",
    ],
)
async def test_route_answers_what_check_and_expand_answer(
    make_router: MakeRouter, address: str
) -> None:
    router = make_router()
    route = await router.route(address)
    assert route.verdict is await router.check(address)
    assert route.expansion == await router.expand(address)


async def test_a_sub_address_is_routed_to_its_account_with_its_detail(
    make_router: MakeRouter,
) -> None:
    route = await make_router().route("alice+lists@example.org")
    assert route.verdict is RecipientVerdict.LOCAL
    (delivery,) = route.expansion.deliveries
    assert (delivery.account, delivery.detail) == ("alice@example.org", "lists")


async def test_route_refuses_what_is_no_address(make_router: MakeRouter) -> None:
    with pytest.raises(InvalidRecipient):
        await make_router().route("not an address")


async def test_a_bounce_to_our_srs_address_goes_to_the_original_sender(
    make_router: MakeRouter,
) -> None:
    address = SRS.forward("carol@outside.example")
    route = await make_router().route(address, srs=SRS)
    assert route.verdict is RecipientVerdict.SRS_BOUNCE
    assert deliveries(route.expansion) == ["remote carol@outside.example"]
    assert route.expansion.deliveries[0].original == address


async def test_a_bounce_for_a_member_is_routed_to_the_member(make_router: MakeRouter) -> None:
    route = await make_router().route(SRS.forward("bob@example.org"), srs=SRS)
    assert route.verdict is RecipientVerdict.SRS_BOUNCE
    assert route.expansion.deliveries[0].account == "bob@example.org"


async def test_a_forged_srs_address_is_unknown_saying_why(make_router: MakeRouter) -> None:
    forged = "SRS0=AAAA=RA=outside.example=carol@fwd.example.org"
    route = await make_router().route(forged, srs=SRS)
    assert route.verdict is RecipientVerdict.LOCAL_UNKNOWN
    assert failures(route.expansion) == [f"bad-srs {forged}"]
    assert route.expansion.failures[0].reason is FailureReason.BAD_SRS
    assert "hash does not match" in route.expansion.failures[0].message


async def test_without_srs_an_srs_address_is_routed_like_any_other(
    make_router: MakeRouter,
) -> None:
    route = await make_router().route(SRS.forward("carol@outside.example"))
    assert route.verdict is RecipientVerdict.REMOTE


async def test_an_ordinary_address_in_the_srs_domain_is_routed_as_usual(
    make_router: MakeRouter,
) -> None:
    srs = SrsRewriter([b"secret"], "example.org", clock=lambda: DAY_20000)
    route = await make_router().route("alice@example.org", srs=srs)
    assert route.verdict is RecipientVerdict.LOCAL
    assert deliveries(route.expansion) == ["local alice@example.org"]
