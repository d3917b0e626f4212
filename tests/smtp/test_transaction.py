"""The rules of the SMTP conversation (`smtp.transaction`), asked directly: which
command may come when, and what an accepted RCPT puts in the envelope. The same rules
are heard over a socket in tests/mailhost; here each is one decision."""

from __future__ import annotations

from typing import cast

import pytest

from mailroom.queue import EnvelopeRecipient, MessageWriter
from mailroom.routing import (
    Delivery,
    DeliveryKind,
    Expansion,
    ExpansionFailure,
    FailureReason,
    RecipientVerdict,
    Route,
)
from mailroom.smtp import replies
from mailroom.smtp.commands import Mail, Rcpt, parse_command
from mailroom.smtp.data import DataDecoder
from mailroom.smtp.paths import parse_forward_path
from mailroom.smtp.settings import SmtpSettings
from mailroom.smtp.transaction import (
    SessionState,
    auth_refusal,
    bdat_refusal,
    data_failure,
    data_refusal,
    envelope_of,
    envelope_recipients,
    last_chunk_failure,
    mail_refusal,
    new_transaction,
    rcpt_refusal,
    recipient_address,
    route_refusal,
)

SETTINGS = SmtpSettings(
    hostname="mx.example.org",
    greeting="ESMTP Mailroom",
    max_message_size=1000,
    max_recipients=2,
    max_command_line=4096,
    max_data_line=1000,
    max_received_headers=5,
)


def mail(line: str) -> Mail:
    command = parse_command(line.encode() + b"\r\n", max_length=4096)
    assert isinstance(command, Mail)
    return command


def rcpt(line: str) -> Rcpt:
    command = parse_command(line.encode() + b"\r\n", max_length=4096)
    assert isinstance(command, Rcpt)
    return command


def greeted(*, extended: bool = True, account: str | None = None) -> SessionState:
    return SessionState(helo="client.example.net", extended=extended, account=account)


def in_transaction(recipients: int = 0, *, account: str | None = None) -> SessionState:
    state = greeted(account=account)
    state.transaction = new_transaction(mail("MAIL FROM:<carol@example.net>"))
    for number in range(recipients):
        address = f"r{number}@example.org"
        state.transaction.accept([EnvelopeRecipient(address, address)])
    return state


def local_route(*deliveries: Delivery, original: str = "alice@example.org") -> Route:
    return Route(RecipientVerdict.LOCAL, Expansion(original, deliveries, ()))


ALICE = Delivery(DeliveryKind.LOCAL, "alice@example.org", "alice@example.org", "alice@example.org")


# --- MAIL FROM ----------------------------------------------------------------------


def test_mail_before_helo_is_refused() -> None:
    command = mail("MAIL FROM:<carol@example.net>")
    refusal = mail_refusal(SessionState(), command, requires_auth=False, settings=SETTINGS)
    assert refusal == replies.NEED_HELO


def test_mail_inside_a_transaction_is_refused_as_nested() -> None:
    command = mail("MAIL FROM:<carol@example.net>")
    refusal = mail_refusal(in_transaction(), command, requires_auth=False, settings=SETTINGS)
    assert refusal == replies.NESTED_MAIL


def test_mail_on_submission_needs_a_login_first() -> None:
    command = mail("MAIL FROM:<alice@example.org>")
    assert mail_refusal(greeted(), command, requires_auth=True, settings=SETTINGS) == (
        replies.AUTH_REQUIRED
    )
    state = greeted(account="alice@example.org")
    assert mail_refusal(state, command, requires_auth=True, settings=SETTINGS) is None


def test_mail_parameters_need_ehlo() -> None:
    command = mail("MAIL FROM:<carol@example.net> BODY=8BITMIME")
    refusal = mail_refusal(greeted(extended=False), command, requires_auth=False, settings=SETTINGS)
    assert refusal is not None and refusal.code == 555
    assert mail_refusal(greeted(), command, requires_auth=False, settings=SETTINGS) is None


def test_binarymime_is_not_offered_so_refused() -> None:
    command = mail("MAIL FROM:<carol@example.net> BODY=BINARYMIME")
    refusal = mail_refusal(greeted(), command, requires_auth=False, settings=SETTINGS)
    assert refusal is not None and "BINARYMIME" in refusal.text


def test_a_declared_size_over_the_limit_is_refused_at_mail() -> None:
    state = greeted()
    too_big = mail("MAIL FROM:<carol@example.net> SIZE=1001")
    assert mail_refusal(state, too_big, requires_auth=False, settings=SETTINGS) == (
        replies.SIZE_EXCEEDS_LIMIT
    )
    just_fits = mail("MAIL FROM:<carol@example.net> SIZE=1000")
    assert mail_refusal(state, just_fits, requires_auth=False, settings=SETTINGS) is None


def test_a_transaction_keeps_the_parameters_the_queue_needs() -> None:
    command = mail("MAIL FROM:<> BODY=8BITMIME RET=HDRS ENVID=a+2Bb SMTPUTF8 SIZE=10")
    transaction = new_transaction(command)
    assert transaction.sender == ""
    assert transaction.smtputf8
    params = transaction.params
    assert (params.size, params.body, params.ret, params.envid) == (10, "8BITMIME", "HDRS", "a+b")


# --- RCPT TO ------------------------------------------------------------------------


def test_rcpt_needs_mail_first() -> None:
    refusal = rcpt_refusal(greeted(), rcpt("RCPT TO:<alice@example.org>"), settings=SETTINGS)
    assert refusal == replies.NEED_MAIL


def test_rcpt_after_bdat_is_refused() -> None:
    state = in_transaction(1)
    assert state.transaction is not None
    state.transaction.writer = cast(MessageWriter, object())  # a chunk has been written
    refusal = rcpt_refusal(state, rcpt("RCPT TO:<alice@example.org>"), settings=SETTINGS)
    assert refusal == replies.RCPT_AFTER_BDAT


def test_rcpt_over_the_recipient_limit_is_refused_for_now() -> None:
    command = rcpt("RCPT TO:<alice@example.org>")
    assert rcpt_refusal(in_transaction(1), command, settings=SETTINGS) is None
    refusal = rcpt_refusal(in_transaction(2), command, settings=SETTINGS)
    assert refusal == replies.TOO_MANY_RECIPIENTS


@pytest.mark.parametrize(
    "path", ["<victim%outside.example@example.org>", "<@example.org:victim@outside.example>"]
)
def test_a_routing_trick_is_refused_unless_logged_in(path: str) -> None:
    command = rcpt(f"RCPT TO:{path}")
    refusal = rcpt_refusal(in_transaction(), command, settings=SETTINGS)
    assert refusal is not None and refusal.code == 554
    member = in_transaction(account="alice@example.org")
    assert rcpt_refusal(member, command, settings=SETTINGS) is None


def test_bare_postmaster_is_asked_of_routing_as_it_is() -> None:
    # routing knows whose postmaster it is (routing/postmaster.py), not the hostname
    path = parse_forward_path("<Postmaster>", smtputf8=False)
    assert recipient_address(path) == "Postmaster"
    path = parse_forward_path("<alice@example.org>", smtputf8=False)
    assert recipient_address(path) == "alice@example.org"


def test_no_postmaster_set_up_is_a_temporary_refusal() -> None:
    failure = ExpansionFailure(
        "postmaster@example.org", FailureReason.NO_POSTMASTER, "no postmaster is set up"
    )
    route = Route(
        RecipientVerdict.LOCAL_UNKNOWN,
        Expansion("postmaster@example.org", (), (failure,)),
    )
    refusal = route_refusal(route, authenticated=False, shown="postmaster@example.org")
    assert refusal is not None and (refusal.code, refusal.enhanced) == (451, "4.3.5")


def test_a_remote_recipient_is_relayed_only_for_a_member() -> None:
    route = Route(
        RecipientVerdict.REMOTE,
        Expansion(
            "friend@outside.example",
            (Delivery(DeliveryKind.REMOTE, "friend@outside.example", "friend@outside.example"),),
            (),
        ),
    )
    refusal = route_refusal(route, authenticated=False, shown="friend@outside.example")
    assert refusal == replies.relay_denied("friend@outside.example")
    assert route_refusal(route, authenticated=True, shown="friend@outside.example") is None


def test_an_unknown_local_recipient_is_refused_with_550() -> None:
    route = Route(RecipientVerdict.LOCAL_UNKNOWN, Expansion("nobody@example.org", (), ()))
    refusal = route_refusal(route, authenticated=True, shown="nobody@example.org")
    assert refusal == replies.unknown_user("nobody@example.org")


def test_a_known_recipient_whose_every_branch_failed_is_refused() -> None:
    loop = ExpansionFailure("a@example.org", FailureReason.LOOP, "alias loop")
    route = Route(RecipientVerdict.LOCAL, Expansion("a@example.org", (), (loop,)))
    assert route_refusal(route, authenticated=False, shown="a@example.org") == (
        replies.unknown_user("a@example.org")
    )
    bad = ExpansionFailure("a@example.org", FailureReason.INVALID, "rewrote to nothing")
    route = Route(RecipientVerdict.LOCAL, Expansion("a@example.org", (), (bad,)))
    refusal = route_refusal(route, authenticated=False, shown="a@example.org")
    assert refusal is not None and refusal.enhanced == "5.1.3"


def test_a_forged_srs_address_is_refused_saying_why() -> None:
    forged = "SRS0=AAAA=RA=outside.example=carol@fwd.example.org"
    failure = ExpansionFailure(forged, FailureReason.BAD_SRS, "hash does not match")
    route = Route(RecipientVerdict.LOCAL_UNKNOWN, Expansion(forged, (), (failure,)))
    refusal = route_refusal(route, authenticated=False, shown=forged)
    assert refusal == replies.unknown_user(forged).with_detail("hash does not match")


def test_an_srs_bounce_is_accepted_from_anyone_for_the_original_sender() -> None:
    address = "SRS0=HHHH=RA=outside.example=carol@fwd.example.org"
    carol = Delivery(DeliveryKind.REMOTE, "carol@outside.example", address)
    route = Route(RecipientVerdict.SRS_BOUNCE, Expansion(address, (carol,), ()))
    assert route_refusal(route, authenticated=False, shown=address) is None
    params = rcpt(f"RCPT TO:<{address}> NOTIFY=NEVER").params
    assert envelope_recipients(route, params) == [
        EnvelopeRecipient("carol@outside.example", original=address)
    ]


def test_an_accepted_recipient_carries_its_account_and_detail() -> None:
    delivery = Delivery(
        DeliveryKind.LOCAL,
        "alice@example.org",
        "alice+lists@example.org",
        account="alice@example.org",
        detail="lists",
    )
    route = local_route(delivery, original="alice+lists@example.org")
    (recipient,) = envelope_recipients(route, rcpt("RCPT TO:<alice+lists@example.org>").params)
    assert recipient == EnvelopeRecipient(
        "alice@example.org",
        original="alice+lists@example.org",
        account="alice@example.org",
        detail="lists",
    )


def test_orcpt_and_notify_go_into_the_envelope_and_bcc_copies_notify_never() -> None:
    bcc = Delivery(DeliveryKind.LOCAL, "bob@example.org", "alice@example.org", bcc=True)
    params = rcpt(
        "RCPT TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bb@example.org"
    ).params
    first, copy = envelope_recipients(local_route(ALICE, bcc), params)
    assert (first.original, first.notify) == ("a+b@example.org", frozenset({"SUCCESS", "FAILURE"}))
    assert copy.notify == frozenset({"NEVER"})


def test_a_final_recipient_reached_twice_is_in_the_envelope_once() -> None:
    transaction = new_transaction(mail("MAIL FROM:<carol@example.net>"))
    transaction.accept([EnvelopeRecipient("alice@example.org", "pr@example.org")])
    transaction.accept([EnvelopeRecipient("alice@example.org", "alice@example.org")])
    assert list(transaction.recipients.values()) == [
        EnvelopeRecipient("alice@example.org", "pr@example.org")
    ]
    assert transaction.accepted == 2
    assert transaction.single_recipient() is None


def test_the_one_recipient_given_is_named_in_received() -> None:
    transaction = new_transaction(mail("MAIL FROM:<carol@example.net>"))
    transaction.accept([EnvelopeRecipient("alice@example.org", "alice+x@example.org")])
    assert transaction.single_recipient() == "alice+x@example.org"


# --- DATA and BDAT ------------------------------------------------------------------


def test_data_needs_mail_and_a_recipient() -> None:
    assert data_refusal(greeted()) == replies.NEED_MAIL
    assert data_refusal(in_transaction()) == replies.NO_VALID_RECIPIENTS
    assert data_refusal(in_transaction(1)) is None


def test_data_after_bdat_is_refused() -> None:
    state = in_transaction(1)
    assert state.transaction is not None
    state.transaction.writer = cast(MessageWriter, object())
    assert data_refusal(state) == replies.DATA_AFTER_BDAT


def test_bdat_needs_mail_and_a_recipient() -> None:
    assert bdat_refusal(greeted()) == replies.NEED_MAIL
    assert bdat_refusal(in_transaction()) == replies.NO_VALID_RECIPIENTS
    assert bdat_refusal(in_transaction(1)) is None


def test_a_message_that_is_too_big_is_refused_after_its_dot() -> None:
    decoder = DataDecoder(max_size=10, max_line_length=1000)
    decoder.feed(b"Subject: a message longer than ten octets\r\n")
    decoder.feed(b".\r\n")
    assert data_failure(decoder, SETTINGS) == replies.MESSAGE_TOO_BIG


def test_a_message_with_too_many_received_headers_is_looping() -> None:
    decoder = DataDecoder(max_size=10_000, max_line_length=1000)
    for _ in range(SETTINGS.max_received_headers):
        decoder.feed(b"Received: from somewhere\r\n")
    decoder.feed(b"\r\n")
    decoder.feed(b".\r\n")
    assert data_failure(decoder, SETTINGS) == replies.TOO_MANY_HOPS


def test_bdat_chunks_past_the_size_limit_are_read_but_not_written() -> None:
    transaction = new_transaction(mail("MAIL FROM:<>"))
    assert transaction.take_chunk(b"x" * 600, SETTINGS.max_message_size)
    assert not transaction.take_chunk(b"x" * 600, SETTINGS.max_message_size)
    assert not transaction.take_chunk(b"x", SETTINGS.max_message_size)
    assert last_chunk_failure(transaction, SETTINGS) == replies.MESSAGE_TOO_BIG


def test_bdat_chunks_with_too_many_received_headers_are_looping() -> None:
    transaction = new_transaction(mail("MAIL FROM:<>"))
    chunk = b"Received: from somewhere\r\n" * SETTINGS.max_received_headers + b"\r\nhi\r\n"
    assert transaction.take_chunk(chunk, 10_000)
    assert last_chunk_failure(transaction, SETTINGS) == replies.TOO_MANY_HOPS


# --- AUTH, STARTTLS and the envelope ----------------------------------------------


def test_auth_is_refused_where_not_offered_before_helo_twice_and_in_a_transaction() -> None:
    assert auth_refusal(greeted(), offered=False, may_send_password=True) == (
        replies.AUTH_NOT_ENABLED
    )
    assert auth_refusal(SessionState(), offered=True, may_send_password=True) == (replies.NEED_HELO)
    member = greeted(account="alice@example.org")
    assert auth_refusal(member, offered=True, may_send_password=True) == (
        replies.ALREADY_AUTHENTICATED
    )
    assert auth_refusal(in_transaction(), offered=True, may_send_password=True) == (
        replies.AUTH_IN_TRANSACTION
    )


def test_auth_without_tls_from_an_untrusted_network_needs_encryption() -> None:
    assert auth_refusal(greeted(), offered=True, may_send_password=False) == (
        replies.MECHANISM_NEEDS_ENCRYPTION
    )
    assert auth_refusal(greeted(), offered=True, may_send_password=True) is None


def test_starttls_forgets_the_greeting_the_login_and_the_transaction() -> None:
    state = in_transaction(1, account="alice@example.org")
    state.forget_for_tls()
    assert state == SessionState()


def test_the_envelope_names_the_client_and_the_login() -> None:
    state = in_transaction(1, account="alice@example.org")
    assert state.transaction is not None
    envelope = envelope_of(state.transaction, state, client_ip="192.0.2.7", received_at=1e9)
    assert envelope.sender == "carol@example.net"
    assert [r.address for r in envelope.recipients] == ["r0@example.org"]
    assert envelope.client is not None
    assert (envelope.client.helo, envelope.client.ip) == ("client.example.net", "192.0.2.7")
    assert envelope.authenticated == "alice@example.org"
