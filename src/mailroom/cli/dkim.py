"""`mailroom dkim keygen|show`: a domain's DKIM signing key and the DNS record to publish."""

from __future__ import annotations

from typing import Annotated

import typer

from mailroom import app as application
from mailroom.cli.command import (
    ConfigOption,
    command,
    command_group,
    config_path,
    console,
    fail,
    load,
)
from mailroom.config import Config, DkimAlgorithm
from mailroom.directory import normalize_domain
from mailroom.mailauth import DkimError, DkimKeys

app = command_group("DKIM signing keys and their DNS records.")

DomainArgument = Annotated[str, typer.Argument(help="Domain to sign for, like example.org.")]
SelectorOption = Annotated[
    str | None,
    typer.Option(
        "--selector", help="Selector (default: [dkim] selector, 'mail').", show_default=False
    ),
]


def _keys(config: Config, selector: str | None) -> DkimKeys:
    try:
        return application.dkim_keys(config, selector)
    except DkimError as error:
        fail(str(error))


@command(app, "keygen")
def keygen(
    domain: DomainArgument,
    selector: SelectorOption = None,
    algorithm: Annotated[
        DkimAlgorithm | None,
        typer.Option(
            "--algorithm",
            help="rsa (2048 bits) or ed25519 (default: [dkim] algorithm).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing key for this selector.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Make a signing key for DOMAIN and print the TXT record to publish."""
    loaded = load(config)
    name = normalize_domain(domain)
    keys = _keys(loaded, selector)
    try:
        key = keys.create(name, algorithm or loaded.dkim.algorithm, replace=force)
    except DkimError as error:
        fail(str(error))
    except OSError as error:
        fail(
            f"cannot write the key into {keys.directory}: {error.strerror or error}; make it "
            f"writable or set [dkim] key_directory in {config_path(config)}"
        )
    console.print(f"wrote {key.algorithm.value} key {keys.path(name)}")
    console.print("publish this record in DNS:")
    console.print(key.zone_file_line)


@command(app, "show")
def show(
    domain: DomainArgument, selector: SelectorOption = None, config: ConfigOption = None
) -> None:
    """Print the TXT record of DOMAIN's existing key."""
    loaded = load(config)
    name = normalize_domain(domain)
    keys = _keys(loaded, selector)
    try:
        key = keys.load(name)
    except DkimError as error:
        fail(str(error))
    if key is None:
        fail(
            f"no DKIM key for {name} with selector {keys.selector!r} "
            f"(make one with `mailroom dkim keygen {name}`)"
        )
    console.print(key.zone_file_line)
