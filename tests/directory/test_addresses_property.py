"""Address normalisation against hostile text: whatever comes in, either an address comes
out that is already in normal form, or InvalidAddress says why not. Nothing else."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailroom.directory import InvalidAddress, normalize_address, normalize_domain

# Pieces that make near-addresses: most random text has no '@' and proves little.
pieces = st.sampled_from(
    [
        "a",
        "Z",
        "0",
        ".",
        "..",
        "-",
        "_",
        "+",
        "@",
        "é",
        "ß",
        "İ",
        "K",
        "ﬀ",
        "\u3002",
        "\u00ad",
        "\u200b",
        "\u0301",
        " ",
        "\t",
        "\n",
        "\x00",
        "\x7f",
        "\ud800",
        "xn--",
        "[",
        "]",
        '"',
        "(",
        "😀",
        "example",
        "org",
        "ＡＢＣ",
        "\u0130",
        "Σ",
    ]
)
near_text = st.lists(pieces | st.characters(), max_size=40).map("".join)
near_addresses = st.tuples(near_text, near_text).map(lambda parts: f"{parts[0]}@{parts[1]}")
hostile = st.text(max_size=300) | near_text | near_addresses


@settings(max_examples=200, deadline=None)
@given(hostile)
@example("Alice@Example.ORG.")
@example("İ@example.org")
@example("a@ß.example")
@example("a@b\u3002example")
@example("x" * 64 + "@" + "y" * 63 + ".org")
def test_address_normalises_to_a_fixed_point_or_is_refused(text: str) -> None:
    try:
        address = normalize_address(text)
    except InvalidAddress as error:
        assert "\n" not in str(error)
        return
    assert normalize_address(address) == address
    domain = address.rpartition("@")[2]
    assert normalize_domain(domain) == domain
    assert domain.isascii()
    assert len(address.encode("utf-8")) <= 254


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300) | near_text)
@example("Bücher.Example.")
@example("xn--bcher-kva.example")
@example("a.b.")
def test_domain_normalises_to_a_fixed_point_or_is_refused(text: str) -> None:
    try:
        domain = normalize_domain(text)
    except InvalidAddress as error:
        assert "\n" not in str(error)
        return
    assert normalize_domain(domain) == domain
    assert domain.isascii()
    assert domain == domain.lower()
