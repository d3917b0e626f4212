"""The vacation and forwarding script: whatever a member types is one Sieve string (the
script always compiles, and reads back as the settings it was made from), and whatever
file sits under the script's name in the member's directory (ManageSieve lets them write
it), reading it never raises."""

from __future__ import annotations

import dataclasses
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.config.sieve import SieveConfig
from mailroom.sieve import SieveLimits, check_script
from mailroom.web.selfservice_script import (
    MAX_BODY,
    MAX_DAYS,
    MAX_SUBJECT,
    MIN_DAYS,
    SETTINGS_PREFIX,
    Settings,
    clean_line,
    clean_text,
    read_settings,
    render,
)

LIMITS = SieveLimits.from_config(SieveConfig())
typed = st.text(max_size=300)
member_settings = st.builds(
    Settings,
    vacation=st.booleans(),
    subject=typed.map(lambda text: clean_line(text, MAX_SUBJECT)),
    body=st.text(max_size=600).map(lambda text: clean_text(text, MAX_BODY)),
    days=st.integers(min_value=MIN_DAYS, max_value=MAX_DAYS),
    forward_to=st.sampled_from(["", "dave@outside.example", "o'neil+x@example.test"]),
    keep_copy=st.booleans(),
)
own_addresses = st.lists(
    st.sampled_from(["bob@example.test", "b.o.b@example.test", "x@example.org"]),
    max_size=3,
    unique=True,
).map(tuple)


@settings(max_examples=300)
@given(member_settings, own_addresses)
def test_any_settings_make_a_script_that_compiles_and_reads_back(
    chosen: Settings, addresses: tuple[str, ...]
) -> None:
    source = render(chosen, addresses)
    assert check_script(source, name="mailroom-selfservice", limits=LIMITS) is None
    assert read_settings(source) == chosen


@given(st.binary(max_size=2000))
def test_any_file_is_read_without_an_error(source: bytes) -> None:
    assert isinstance(read_settings(source), Settings)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=20,
)
settings_keys = st.sampled_from(
    ["vacation", "subject", "body", "days", "forward_to", "keep_copy", "other"]
)


@given(st.dictionaries(settings_keys, json_values, max_size=7) | json_values)
def test_a_tampered_settings_line_reads_as_settings_of_the_right_kinds(saved: object) -> None:
    """What is read back only fills the form (a save checks the form again), but it must
    be settings of the right kinds and bounds, that make a script that compiles."""
    source = (SETTINGS_PREFIX + json.dumps(saved) + "\r\nkeep;\r\n").encode()
    found = read_settings(source)
    assert MIN_DAYS <= found.days <= MAX_DAYS
    assert len(found.subject) <= MAX_SUBJECT and len(found.body) <= MAX_BODY
    assert isinstance(found.vacation, bool) and isinstance(found.keep_copy, bool)
    without_forwarding = dataclasses.replace(found, forward_to="")
    assert check_script(render(without_forwarding, ()), name="x", limits=LIMITS) is None
