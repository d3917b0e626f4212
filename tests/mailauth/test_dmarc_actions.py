"""What the inbound check does with DMARC's result (mailauth/inbound.py `decide`), and
how recipient domains' policies combine (`merged`, `[inbound_authentication.domains]`)."""

from __future__ import annotations

import pytest

from mailroom.config.mailauth import DomainAuthenticationPolicy, InboundAuthenticationConfig
from mailroom.mailauth.dmarc import DmarcResult
from mailroom.mailauth.inbound import Action, decide, merged

EVERYTHING = merged([InboundAuthenticationConfig().for_domain("example.test")])


def dmarc(result: str, disposition: str, temporary: str = "") -> DmarcResult:
    return DmarcResult(result, "from.test", "reject", disposition, "", temporary)


def test_a_failure_under_reject_is_refused_with_550_5_7_1() -> None:
    assert decide(dmarc("fail", "reject"), EVERYTHING, defer_on_temperror=True) == (
        Action.REJECT,
        (550, "5.7.1", "Email from from.test rejected per its DMARC policy"),
    )


@pytest.mark.parametrize(("temporary", "enhanced"), [("spf", "4.7.24"), ("dkim", "4.7.5")])
def test_a_temporary_failure_under_reject_is_deferred(temporary: str, enhanced: str) -> None:
    action, reply = decide(
        dmarc("temperror", "reject", temporary), EVERYTHING, defer_on_temperror=True
    )
    assert action is Action.DEFER
    assert reply is not None and reply[:2] == (451, enhanced)


def test_without_deferral_a_temporary_failure_is_accepted() -> None:
    result = dmarc("temperror", "reject", "spf")
    assert decide(result, EVERYTHING, defer_on_temperror=False) == (Action.ACCEPT, None)


@pytest.mark.parametrize("result", ["pass", "none", "permerror"])
def test_anything_but_a_failure_is_accepted(result: str) -> None:
    assert decide(dmarc(result, "reject"), EVERYTHING, defer_on_temperror=True)[0] is (
        Action.ACCEPT
    )


def test_quarantine_and_a_sampled_out_reject_go_to_junk() -> None:
    assert decide(dmarc("fail", "quarantine"), EVERYTHING, defer_on_temperror=True)[0] is (
        Action.QUARANTINE
    )


def test_a_policy_of_none_is_accepted() -> None:
    assert decide(dmarc("fail", "none"), EVERYTHING, defer_on_temperror=True)[0] is Action.ACCEPT


def test_no_dmarc_check_accepts() -> None:
    assert decide(None, EVERYTHING, defer_on_temperror=True) == (Action.ACCEPT, None)


def config(**domains: DomainAuthenticationPolicy) -> InboundAuthenticationConfig:
    return InboundAuthenticationConfig(enabled=True, domains=domains)


def test_a_domain_override_keeps_the_sections_other_values() -> None:
    settings = config(**{"Lists.Example": DomainAuthenticationPolicy(dmarc_reject=False)})
    policy = settings.for_domain("lists.example")
    assert (policy.dmarc_reject, policy.dmarc_quarantine, policy.spf) == (False, True, True)
    assert settings.for_domain("other.example").dmarc_reject is True


def test_reject_needs_every_recipient_domain_and_then_falls_back_to_junk() -> None:
    settings = config(lenient=DomainAuthenticationPolicy(dmarc_reject=False))
    wanted = merged([settings.for_domain("strict"), settings.for_domain("lenient")])
    assert (wanted.reject, wanted.quarantine) == (False, True)
    assert decide(dmarc("fail", "reject"), wanted, defer_on_temperror=True)[0] is (
        Action.QUARANTINE
    )


def test_a_check_runs_when_any_recipient_domain_wants_it() -> None:
    settings = config(quiet=DomainAuthenticationPolicy(spf=False, dkim=False, arc=False))
    wanted = merged([settings.for_domain("quiet"), settings.for_domain("loud")])
    assert (wanted.spf, wanted.dkim, wanted.arc) == (True, True, True)
    alone = merged([settings.for_domain("quiet")])
    assert (alone.spf, alone.dkim, alone.arc, alone.dmarc) == (False, False, False, True)
