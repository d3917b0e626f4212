"""RFC 5228's base language: tests, actions, implicit keep (§2.10.2–2.10.6), the
duplicate-action rules, comparators and match types, with the RFC's own examples."""

from __future__ import annotations

from mailroom.sieve.actions import Discard, FileInto, Keep, Redirect
from tests.support.sieve_world import deliver, message

# RFC 5228 §4.2 / §9's message.
COYOTE = message(
    "Date: Tue, 1 Apr 1997 09:06:31 -0800 (PST)\n"
    "From: coyote@desert.example.org\n"
    "To: roadrunner@acme.example.com\n"
    "Subject: I have a present for you\n"
    "X-Caffeine: C8H10N4O2\n",
    "I've got some great birdseed over here at my place.\r\nWant to buy it?\r\n",
)


def test_no_script_action_means_implicit_keep() -> None:
    assert deliver('if header :is "subject" "nope" { discard; }', COYOTE).actions == (
        Keep(implicit=True),
    )


def test_discard_cancels_implicit_keep_only() -> None:
    outcome = deliver('require "fileinto"; keep; discard;', COYOTE)
    assert outcome.actions == (Keep(), Discard())


def test_rfc5228_section_9_example() -> None:
    # RFC 5228 §9 (the "real" example), cut to the parts without vacation.
    script = """
    require ["fileinto"];
    if header :is "Sender" "owner-ietf-mta-filters@imc.org"
            {
                fileinto "filter";  # move to "filter" mailbox
            }
    elsif address :DOMAIN :is ["From", "To"] "example.com"
            {
                keep;               # keep in "In" mailbox
            }
    elsif anyof (NOT address :all :contains
                   ["To", "Cc", "Bcc"] "me@example.com",
                 header :matches "subject"
                   ["*make*money*fast*", "*university*dipl*mas*"])
            {
                fileinto "spam";   # move to "spam" mailbox
            }
    else
            {
                fileinto "personal";
            }
    """
    assert deliver(script, COYOTE).actions == (FileInto("spam"),)
    mine = message("From: a@b.org\nTo: list@b.org\nCc: me@example.com\nSubject: hello\n")
    assert deliver(script, mine).actions == (FileInto("personal"),)
    listed = message("Sender: owner-ietf-mta-filters@imc.org\nTo: me@example.com\n")
    assert deliver(script, listed).actions == (FileInto("filter"),)
    local = message("From: boss@example.com\nTo: me@example.com\n")
    assert deliver(script, local).actions == (Keep(),)


def test_header_test_examples_of_section_5_7() -> None:
    script = 'if header :is ["from", "to"] "roadrunner@acme.example.com" { discard; }'
    assert deliver(script, COYOTE).actions == (Discard(),)
    exists = 'if exists ["From","Date"] { discard; }'
    assert deliver(exists, COYOTE).actions == (Discard(),)
    missing = 'if exists ["From","X-Nope"] { discard; }'
    assert deliver(missing, COYOTE).actions[0] == Keep(implicit=True)


def test_header_values_are_rfc2047_decoded() -> None:
    raw = message("Subject: =?ISO-8859-1?Q?Caf=E9?= au lait\n")
    assert deliver('if header :is "subject" "Café au lait" { discard; }', raw).actions == (
        Discard(),
    )


def test_address_parts_and_groups() -> None:
    raw = message('To: Friends: "A B" <a.b@Example.COM>, c@example.org;, d@x\n')
    assert deliver('if address :localpart :is "to" "a.b" { discard; }', raw).actions == (Discard(),)
    assert deliver('if address :domain :is "to" "example.com" { discard; }', raw).actions == (
        Discard(),
    )
    assert deliver('if address :all :is "to" "c@example.org" { discard; }', raw).actions == (
        Discard(),
    )


def test_size_over_and_under_are_strict() -> None:
    size = len(COYOTE)
    assert deliver(f"if size :over {size} {{ discard; }}", COYOTE).actions[0].implicit  # type: ignore[union-attr]
    assert deliver(f"if size :under {size + 1} {{ discard; }}", COYOTE).actions == (Discard(),)


def test_stop_ends_the_script_and_implicit_keep_still_applies() -> None:
    assert deliver("stop; discard;", COYOTE).actions == (Keep(implicit=True),)


def test_allof_anyof_not_true_false() -> None:
    script = "if allof(true, not false, anyof(false, true)) { discard; }"
    assert deliver(script, COYOTE).actions == (Discard(),)


def test_fileinto_same_folder_twice_stores_once() -> None:
    script = 'require "fileinto"; fileinto "a"; fileinto "a"; keep; fileinto "INBOX";'
    assert deliver(script, COYOTE).actions == (FileInto("a"), Keep())


def test_redirect_to_the_same_address_twice_sends_once() -> None:
    script = 'redirect "x@example.org"; redirect "<x@example.org>";'
    assert deliver(script, COYOTE).actions == (Redirect("x@example.org"),)


def test_comparators_octet_and_casemap() -> None:
    octet = 'if header :comparator "i;octet" :is "subject" "i have a present for you" {discard;}'
    assert deliver(octet, COYOTE).actions[0] == Keep(implicit=True)
    casemap = 'if header :is "subject" "I HAVE A PRESENT FOR YOU" { discard; }'
    assert deliver(casemap, COYOTE).actions == (Discard(),)


def test_ascii_numeric_comparator() -> None:
    script = """require ["relational", "comparator-i;ascii-numeric"];
    if header :value "gt" :comparator "i;ascii-numeric" "x-priority" "3" { discard; }"""
    assert deliver(script, message("X-Priority: 5 (low)\n")).actions == (Discard(),)
    assert deliver(script, message("X-Priority: 1\n")).actions[0] == Keep(implicit=True)
    # RFC 4790 §9.1.1: a value not starting with a digit is positive infinity.
    assert deliver(script, message("X-Priority: none\n")).actions == (Discard(),)


def test_matches_wildcards_and_escapes() -> None:
    assert deliver('if header :matches "subject" "I*a ?resent*" { discard; }', COYOTE).actions
    escaped = message("Subject: really?*\n")
    assert deliver(r'if header :matches "subject" "*\\?\\*" { discard; }', escaped).actions == (
        Discard(),
    )
    plain = message("Subject: really!!\n")
    assert deliver(r'if header :matches "subject" "*\\?\\*" { discard; }', plain).actions[0] == (
        Keep(implicit=True)
    )


def test_runtime_error_keeps_the_message_and_says_where() -> None:
    script = 'require "variables";\nset "a" "not an address";\nredirect "${a}";'
    outcome = deliver(script, COYOTE)
    assert outcome.actions == (Keep(implicit=True),)
    assert (
        outcome.failed == 'script1: line 3: redirect to "not an address", which is not an address'
    )
    assert outcome.log[-1].startswith("failed: script1: line 3")
