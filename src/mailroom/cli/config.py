"""`mailroom config check`: is this config usable? (syntax, keys, values, the directory
reachable, the certificates readable)."""

from __future__ import annotations

import ssl

import typer

from mailroom.cli.command import (
    ConfigOption,
    command,
    config_path,
    console,
    fail,
    load,
    run,
    with_directory,
)
from mailroom.config import Config
from mailroom.directory import Directory

app = typer.Typer(help="Check the configuration.", no_args_is_help=True)


def check_certificates(config: Config) -> None:
    pairs = {(config.tls.certificate, config.tls.key)}
    pairs |= {
        (item.certificate, item.key) for item in config.listeners if item.certificate and item.key
    }
    for certificate, key in sorted(pairs, key=str):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(config.resolve(certificate), config.resolve(key))
        except (OSError, ssl.SSLError) as error:
            fail(f"{config.source}: certificate {certificate} / key {key}: {error}")


@command(app, "check")
def check(config: ConfigOption = None) -> None:
    """Load the config and check what it refers to; print what would listen where."""
    settings = load(config)
    check_certificates(settings)

    async def action(directory: Directory) -> int:
        return len(await directory.list_domains())

    domains = run(with_directory(settings, action))
    console.print(
        f"{config_path(config)}: OK ({domains} domain(s), {len(settings.listeners)} listener(s))"
    )
