"""`mailroom init DIR`: a new installation in DIR — a commented config, an SQLite
directory with its schema, and a self-signed TLS certificate; with `--systemd`, also a
systemd unit (systemd_unit.py) for it, or for the installation already in DIR. With
`--demo`, also the demo's way into the web admin (demo_certificates.py)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from mailroom import app as application
from mailroom.cli.command import (
    console,
    fail,
    reports_errors,
    run,
    single_command,
    with_directory,
)
from mailroom.cli.demo_certificates import DEMO_ADMIN, write_demo_certificates
from mailroom.cli.systemd_unit import UnitPathError, systemd_unit
from mailroom.config import Config, ConfigError, Protocol, load_config, parse_config
from mailroom.config.example import DEMO_LISTENERS, STANDARD_LISTENERS, example_config_text
from mailroom.directory import Directory
from mailroom.net.certificates import write_self_signed_certificate

CONFIG_NAME = "mailroom.toml"
UNIT_NAME = "mailroom.service"


def default_hostname() -> str:
    name = socket.getfqdn()
    return name if "." in name and not name.endswith(".localdomain") else "localhost"


# The options of `init` that put a value into the config, by the key they set.
OPTION_OF_KEY = {"hostname": "--hostname", "directory.url": "--directory-url"}


def checked_config(text: str, path: Path) -> Config:
    """The config `init` is about to write, validated before anything is created; a
    refusal names the option that gave the bad value."""
    try:
        return parse_config(text, path)
    except ConfigError as error:
        problems = "; ".join(
            f"{OPTION_OF_KEY.get(problem.key, problem.key)}: {problem.message}"
            for problem in error.problems
        )
        fail(f"{problems}; nothing was created")


def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the installation.")],
    demo: Annotated[
        bool,
        typer.Option("--demo", help="Listen on 127.0.0.1 on the demo ports (2525, 2143, ...)."),
    ] = False,
    hostname: Annotated[
        str | None, typer.Option("--hostname", help="This server's name (default: the FQDN).")
    ] = None,
    directory_url: Annotated[
        str | None,
        typer.Option(
            "--directory-url",
            help="Keep the directory in MariaDB/MySQL or PostgreSQL "
            "(mysql://user:pw@host/db, postgresql://...) instead of SQLite.",
        ),
    ] = None,
    systemd: Annotated[
        bool,
        typer.Option(
            "--systemd",
            help="Also write DIR/mailroom.service, a systemd unit running this "
            "installation as its service user; alone if DIR already has a config.",
        ),
    ] = False,
) -> None:
    """Create a new installation: DIR/mailroom.toml, the directory's tables (SQLite by
    default) and a self-signed certificate in DIR/tls/."""
    config_path = directory / CONFIG_NAME
    if directory.exists() and not directory.is_dir():
        fail(f"{directory} is a file, not a directory; give the path of a new directory")
    if systemd and (directory / UNIT_NAME).exists():
        fail(f"{directory / UNIT_NAME} already exists; nothing was changed")
    if systemd and config_path.exists():
        write_unit(load_config(config_path), config_path)
        return
    if config_path.exists():
        fail(f"{config_path} already exists; nothing was changed")
    name = hostname or ("localhost" if demo else default_hostname())
    examples, host = (DEMO_LISTENERS, "127.0.0.1") if demo else (STANDARD_LISTENERS, "::")
    # Listeners of protocols this version lacks are written as comments: serve refuses them.
    built = tuple(item for item in examples if Protocol(item.protocol) in application.SERVED)
    coming = tuple(item for item in examples if item not in built)
    text = example_config_text(name, built, host, directory_url, coming)
    if demo:
        text = demo_web_admin(text)
    config = checked_config(text, config_path)
    # Written under another name first: a failed init leaves no config that looks finished.
    temporary = config_path.with_suffix(".toml.new")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"cannot create {directory}: {error.strerror or error}; choose a writable place")
    try:
        tls = directory / "tls"
        if not (tls / "cert.pem").exists():
            write_self_signed_certificate(tls / "cert.pem", tls / "key.pem", name)
        if demo and not (tls / "demo-ca.pem").exists():
            write_demo_certificates(tls)
        (directory / "data").mkdir(exist_ok=True)

        async def migrate(store: Directory) -> None:
            await store.migrate()

        run(with_directory(config, migrate))
        temporary.rename(config_path)
    except OSError as error:
        fail(f"cannot write the installation in {directory}: {error}; nothing usable was left")
    finally:
        temporary.unlink(missing_ok=True)
    console.print(
        f"created {config_path}, the directory's tables and a self-signed certificate in {tls}"
    )
    if systemd:
        write_unit(load_config(config_path), config_path)
    console.print(f"next: mailroom -c {config_path} domain add example.org")


DEMO_WEB_SETTINGS = {
    '# listeners = ["submission", "imaps"]  # example; default: [] (none)': 'listeners = ["web"]',
    '# ca_file = "tls/client-ca.pem"  # example; default: none': 'ca_file = "tls/demo-ca.pem"',
    '# crl_files = ["tls/class1.crl"]  # example; default: []': 'crl_files = ["tls/demo-ca.crl"]',
    "# administrators = []": f'administrators = ["{DEMO_ADMIN}"]',
    "# totp_enrol_with_password = false": "totp_enrol_with_password = true",
}
"""The demo's web admin (README, "The web admin"): the demo CA's certificates are asked
for on the web listener, alice is its administrator, and she may enrol TOTP after her
password."""


def demo_web_admin(text: str) -> str:
    for shipped, demo in DEMO_WEB_SETTINGS.items():
        if shipped not in text:  # the example config changed: say so rather than half-apply
            raise AssertionError(f"the example config lacks {shipped!r}")
        text = text.replace(shipped, demo, 1)
    return text


def write_unit(config: Config, config_path: Path) -> None:
    """DIR/mailroom.service for the installation of `config_path`, starting the
    `mailroom` of this Python's environment (the venv it was installed into)."""
    executable = Path(sys.executable).parent / "mailroom"
    if not executable.exists():
        fail(f"no mailroom command beside {sys.executable}; run the venv's own mailroom")
    unit = config_path.parent / UNIT_NAME
    try:
        unit.write_text(systemd_unit(config, executable, config_path.resolve()))
    except UnitPathError as error:
        fail(f"cannot write {unit}: {error}")
    except OSError as error:
        fail(f"cannot write {unit}: {error.strerror or error}")
    console.print(f"created {unit}; install it: cp {unit} /etc/systemd/system/")


app = single_command("init", reports_errors(init))
