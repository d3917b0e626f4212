"""Hostile config files: whatever the text, the loader returns a Config or a ConfigError."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.config import Config, ConfigError, parse_config
from mailroom.config.example import DEMO_LISTENERS, example_config_text
from mailroom.config.loader import line_of_key
from mailroom.config.sizes import parse_size

EXAMPLE = example_config_text("mail.example.org", DEMO_LISTENERS, "127.0.0.1")


def load_or_error(text: str) -> Config | ConfigError:
    try:
        return parse_config(text, Path("fuzz.toml"))
    except ConfigError as error:
        assert error.problems, "a ConfigError always names at least one problem"
        return error


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_is_a_config_or_a_config_error(text: str) -> None:
    load_or_error(text)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(EXAMPLE) - 1), st.integers(0, 40), st.text(max_size=20))
def test_a_damaged_example_config_is_a_config_or_a_config_error(
    at: int, cut: int, insert: str
) -> None:
    load_or_error(EXAMPLE[:at] + insert + EXAMPLE[at + cut :])


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=300), st.lists(st.one_of(st.text(max_size=10), st.integers(-2, 5)), max_size=5)
)
def test_finding_a_key_line_never_fails(text: str, loc: list[str | int]) -> None:
    line = line_of_key(text, loc)
    assert line is None or 1 <= line <= len(text.splitlines())


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_sizes_parse_or_say_why_not(text: str) -> None:
    try:
        size = parse_size(text)
    except ValueError as error:
        assert "size" in str(error) or "too large" in str(error)
    else:
        assert size is None or size >= 0
