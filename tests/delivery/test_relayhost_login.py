"""The relay host's login in the config: a name and a password file (never the password
itself), read at start with errors that name the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from mailroom.config import Config, ConfigError, load_config
from mailroom.delivery.outbound import relayhost_login

RELAY = {"relayhost": "[relay.example.org]:587"}


def config_in(tmp_path: Path, **delivery: str) -> Config:
    lines = "\n".join(f'{key} = "{value}"' for key, value in delivery.items())
    path = tmp_path / "mailroom.toml"
    path.write_text(f"[delivery]\n{lines}\n")
    return load_config(path)


def test_the_password_is_the_first_line_of_its_file(tmp_path: Path) -> None:
    (tmp_path / "relay.password").write_text("s3cret with spaces\nignored\n")
    config = config_in(
        tmp_path, **RELAY, relayhost_username="mx1", relayhost_password_file="relay.password"
    )
    login = relayhost_login(config)
    assert login is not None
    assert (login.username, login.password) == ("mx1", "s3cret with spaces")
    assert "s3cret" not in repr(login)


def test_no_username_means_no_login(tmp_path: Path) -> None:
    assert relayhost_login(config_in(tmp_path, **RELAY)) is None


@pytest.mark.parametrize(
    ("content", "error"), [(None, "cannot read"), ("", "is empty"), ("\nsecond", "is empty")]
)
def test_an_unreadable_or_empty_password_file_names_the_key(
    tmp_path: Path, content: str | None, error: str
) -> None:
    if content is not None:
        (tmp_path / "relay.password").write_text(content)
    config = config_in(
        tmp_path, **RELAY, relayhost_username="mx1", relayhost_password_file="relay.password"
    )
    with pytest.raises(ConfigError, match=f"delivery.relayhost_password_file: .*{error}"):
        relayhost_login(config)


@pytest.mark.parametrize(
    ("delivery", "error"),
    [
        ({**RELAY, "relayhost_username": "mx1"}, "together"),
        ({**RELAY, "relayhost_password_file": "p"}, "together"),
        ({"relayhost_username": "mx1", "relayhost_password_file": "p"}, "needs a relayhost"),
    ],
)
def test_a_login_needs_a_name_a_password_file_and_a_relay_host(
    delivery: dict[str, str], error: str
) -> None:
    with pytest.raises(ValidationError, match=error):
        Config.model_validate({"delivery": delivery})


@pytest.mark.parametrize(
    "relayhost",
    [
        "[relay.example.org]:587",
        "smtp:[relay.example.org]",
        "relay.example.org",
        "[2001:db8::1]:25",
    ],
)
def test_a_relay_host_is_written_as_a_transports_next_hop_and_kept_as_written(
    relayhost: str,
) -> None:
    config = Config.model_validate({"delivery": {"relayhost": relayhost}})
    assert config.delivery.relayhost == relayhost


@pytest.mark.parametrize(
    ("relayhost", "reason"),
    [
        ("relay.example.org:0", "port 0 is not in 1-65535"),
        ("lmtp:unix:/run/lmtp", "only smtp: next hops are supported, not lmtp:"),
        ("relay_host.example.org", "'relay_host.example.org' is not a host name or IP address"),
        ("[relay.example.org", "'[' without ']'"),
    ],
)
def test_a_relay_host_that_is_not_a_next_hop_is_refused_saying_why(
    relayhost: str, reason: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(reason)):
        Config.model_validate({"delivery": {"relayhost": relayhost}})
