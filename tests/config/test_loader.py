"""The config file: typos and bad values are refused with the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from mailroom.config import Config, ConfigError, load_config, parse_config
from mailroom.config.example import DEMO_LISTENERS, STANDARD_LISTENERS, example_config_text


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("/etc/mailroom/mailroom.toml"))
    return str(caught.value).splitlines()


def test_an_empty_file_is_a_config_of_defaults() -> None:
    config = parse_config("", Path("m.toml"))
    assert config.directory.url == "sqlite:///directory.sqlite3"
    assert config.listeners == []


def test_a_typo_in_a_key_names_file_line_and_key() -> None:
    text = 'hostname = "mail.example.org"\n\n[auth.throttle]\nban_secnds = 60\n'
    assert problems_of(text) == [
        "/etc/mailroom/mailroom.toml:4: auth.throttle.ban_secnds: unknown key "
        "(see the example config from `mailroom init` for every key)"
    ]


def test_a_bad_value_in_the_second_listener_points_at_its_line() -> None:
    text = (
        '[[listeners]]\nname = "smtp"\nprotocol = "smtp"\naddress = "[::]:25"\n\n'
        '[[listeners]]\nname = "imap"\nprotocol = "imap"\naddress = "[::]:143000"\n'
    )
    assert problems_of(text) == [
        "/etc/mailroom/mailroom.toml:9: listeners[1].address: "
        "port 143000 is out of range 1-65535 (0: any free port)"
    ]


def test_a_toml_syntax_error_names_its_line() -> None:
    (problem,) = problems_of('hostname = "a"\n[auth\n')
    assert problem.startswith("/etc/mailroom/mailroom.toml:2: TOML syntax:")


def test_a_missing_required_key_points_at_its_table() -> None:
    text = '[auth]\n[[auth.master_users]]\nname = "webmail"\nnetworks = ["192.0.2.1"]\n'
    assert problems_of(text) == [
        "/etc/mailroom/mailroom.toml:2: auth.master_users[0].password_hash: required key is missing"
    ]


def test_a_network_that_is_not_one_is_named() -> None:
    text = '[auth.throttle]\nexempt_networks = ["10.0.0.0/8", "localhost"]\n'
    (problem,) = problems_of(text)
    assert ":2: auth.throttle.exempt_networks:" in problem
    assert "'localhost' is not a network" in problem


def test_listener_names_must_be_unique() -> None:
    block = '[[listeners]]\nname = "smtp"\nprotocol = "smtp"\naddress = "127.0.0.1:{port}"\n'
    (problem,) = problems_of(block.format(port=25) + block.format(port=26))
    assert "listener names must be unique; repeated: smtp" in problem


def test_unknown_directory_scheme_is_refused() -> None:
    (problem,) = problems_of('[directory]\nurl = "oracle://db/mail"\n')
    assert ":2: directory.url: expected a URL starting with sqlite://" in problem


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such file .*mailroom init"):
        load_config(tmp_path / "absent.toml")


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "mailroom.toml"
    path.write_text('[tls]\ncertificate = "tls/c.pem"\nkey = "/abs/k.pem"\n')
    config = load_config(path)
    assert config.resolve(config.tls.certificate) == tmp_path / "tls/c.pem"
    assert config.resolve(config.tls.key) == Path("/abs/k.pem")


@pytest.mark.parametrize("listeners", [DEMO_LISTENERS, STANDARD_LISTENERS])
def test_the_example_config_is_valid(listeners: tuple[object, ...]) -> None:
    text = example_config_text("mail.example.org", listeners, "127.0.0.1")  # type: ignore[arg-type]
    config = parse_config(text, Path("m.toml"))
    assert [listener.port for listener in config.listeners] == [
        listener.port
        for listener in listeners  # type: ignore[attr-defined]
    ]


def test_the_example_config_keeps_the_legacy_listeners_as_comments() -> None:
    text = example_config_text("mail.example.org", DEMO_LISTENERS, "127.0.0.1")
    for port in (25, 465, 587, 110, 143, 993, 995, 2000, 2001):
        assert f'# address = "[::]:{port}"' in text or f'# address = "0.0.0.0:{port}"' in text


def keys_of(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        nested = [
            a
            for a in getattr(annotation, "__args__", (annotation,))
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += keys_of(annotation, f"{prefix}{name}.")
        elif nested:
            keys += keys_of(nested[0], f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return keys


def test_the_example_config_documents_every_key() -> None:
    text = example_config_text("mail.example.org", DEMO_LISTENERS, "127.0.0.1")
    missing = [
        key
        for key in keys_of(Config)
        if f"{key.rsplit('.', 1)[-1]} =" not in text and f"  {key.rsplit('.', 1)[-1]} " not in text
    ]
    assert missing == []


def test_the_login_cache_is_on_for_five_minutes_by_default() -> None:
    auth = parse_config("", Path("m.toml")).auth
    assert (auth.cache_ttl_seconds, auth.cache_max_entries) == (300, 10_000)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("cache_ttl_seconds = -1", "Input should be greater than or equal to 0"),
        ("cache_ttl_seconds = 86401", "Input should be less than or equal to 86400"),
        ('cache_ttl_seconds = "5m"', "Input should be a valid number"),
        ("cache_ttl_seconds = true", "Input should be a valid number"),
        ("cache_max_entries = -1", "Input should be greater than or equal to 0"),
        ("cache_max_entries = 10000001", "Input should be less than or equal to 10000000"),
        ("cache_max_entries = 1.5", "Input should be a valid integer"),
        ('cache_max_entries = "10M"', "Input should be a valid integer"),
    ],
)
def test_a_bad_login_cache_setting_is_named(line: str, message: str) -> None:
    key = line.split(" ", 1)[0]
    assert problems_of(f'hostname = "a"\n[auth]\n{line}\n') == [
        f"/etc/mailroom/mailroom.toml:3: auth.{key}: {message}"
    ]


@pytest.mark.parametrize("value", ["0", "-2", "257", "2.5", "true", '"many"', '"4"', "[2]"])
def test_a_bad_number_of_workers_is_named(value: str) -> None:
    assert problems_of(f"[server]\nworkers = {value}\n") == [
        "/etc/mailroom/mailroom.toml:2: server.workers: "
        'expected a number of processes from 1 to 256, or "auto"'
    ]


def test_workers_default_to_one_process_and_auto_to_one_per_core() -> None:
    assert parse_config("", Path("m.toml")).server.worker_count(8) == 1
    automatic = parse_config('[server]\nworkers = "auto"\n', Path("m.toml")).server
    assert (automatic.worker_count(8), automatic.worker_count(None)) == (8, 1)
    assert parse_config("[server]\nworkers = 3\n", Path("m.toml")).server.worker_count(8) == 3
