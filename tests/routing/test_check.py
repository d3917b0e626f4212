"""`Router.check`, asked at RCPT time: ours and known, ours but unknown, relayed, remote."""

from __future__ import annotations

import pytest

from mailroom.routing import InvalidRecipient, RecipientVerdict
from tests.support.routing_community import MakeRouter

LOCAL = RecipientVerdict.LOCAL
LOCAL_UNKNOWN = RecipientVerdict.LOCAL_UNKNOWN
RELAY = RecipientVerdict.RELAY
REMOTE = RecipientVerdict.REMOTE


@pytest.mark.parametrize(
    ("address", "verdict"),
    [
        ("alice@example.org", LOCAL),
        ("ALICE@Example.Org", LOCAL),
        ("alice.smith@example.org", LOCAL),  # extra address
        ("carol@example.org", LOCAL),  # disabled accounts still receive mail
        ("team@example.org", LOCAL),  # SQL alias
        ("alice+lists@example.org", LOCAL),
        ("team+x@example.org", LOCAL),
        ("nobody@example.org", LOCAL_UNKNOWN),
        ("nobody+alice@example.org", LOCAL_UNKNOWN),
        ("alice@example.net", LOCAL_UNKNOWN),
        ("anyone@issue.example.org", RELAY),
        ("anyone@lists.example.org", RELAY),
        ("anyone@sub.lists.example.org", REMOTE),
        ("friend@elsewhere.example", REMOTE),
    ],
)
async def test_verdict_of_the_directory(
    make_router: MakeRouter, address: str, verdict: RecipientVerdict
) -> None:
    assert await make_router().check(address) is verdict


async def test_aliases_file_names_are_known_in_every_local_domain(make_router: MakeRouter) -> None:
    router = make_router(aliases="postmaster: root\n")
    assert await router.check("postmaster@example.org") is LOCAL
    assert await router.check("postmaster@example.net") is LOCAL
    assert await router.check("postmaster+reports@example.net") is LOCAL
    assert await router.check("postmaster@elsewhere.example") is REMOTE


async def test_rewritten_local_address_is_known(make_router: MakeRouter) -> None:
    router = make_router(rewrite=r"/^deleted-account-[0-9]+@example\.org$/ team@example.org" "\n")
    assert await router.check("deleted-account-9@example.org") is LOCAL
    assert await router.check("deleted-account-x@example.org") is LOCAL_UNKNOWN


async def test_rewrite_to_itself_does_not_make_an_address_known(make_router: MakeRouter) -> None:
    router = make_router(rewrite=r"/^(.*@example\.org)$/ $1" "\n")
    assert await router.check("nobody@example.org") is LOCAL_UNKNOWN
    assert await router.check("alice@example.org") is LOCAL


async def test_relaying_is_decided_by_the_domain_given_not_a_rewrite(
    make_router: MakeRouter,
) -> None:
    # As Postfix's smtpd: a rewrite does not make another domain's address ours.
    router = make_router(rewrite=r"/@elsewhere\.example$/ alice@example.org" "\n")
    assert await router.check("anyone@elsewhere.example") is REMOTE


@pytest.mark.parametrize(
    "address",
    [
        "",
        "alice",
        "alice@",
        "@example.org",
        "a b@example.org",
        "alice@exa mple.org",
        "x" * 300 + "@example.org",
    ],
)
async def test_what_is_not_an_address_is_an_invalid_recipient(
    make_router: MakeRouter, address: str
) -> None:
    with pytest.raises(InvalidRecipient) as caught:
        await make_router().check(address)
    assert caught.value.address == address
    assert str(caught.value).startswith("invalid recipient ")
