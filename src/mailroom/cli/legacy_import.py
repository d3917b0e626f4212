"""`mailroom import legacy`: carry the legacy host (Postfix + Dovecot + the `cacertusers`
MySQL schema) over: accounts with their hashes as they are, extra addresses, send-as and
receive-only aliases, transports, the map files; Maildirs and Sieve scripts are served
where they are.

It first shows what it will create and what it cannot carry over, with the reason; then
does it (not with --dry-run). Running it again does only what changed since. It never
edits the config file: the lines to add are printed.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from mailroom import app as application
from mailroom.cli.command import ConfigOption, command, command_group, console, fail, load, run
from mailroom.cli.legacy_maildirs import (
    MAPS_DIRECTORY,
    CopyError,
    MaildirOptions,
    OwnershipError,
    members,
    owner_of,
    prepare_maildirs,
    print_maildirs,
)
from mailroom.config import Config
from mailroom.directory import Directory, DirectoryError, normalize_domain
from mailroom.legacy import (
    Action,
    ApplyResult,
    EtcAlias,
    ImportPlan,
    LegacyHost,
    LegacySendAs,
    LegacySourceError,
    LegacyTables,
    LegacyUser,
    MapCopy,
    Skipped,
    apply_plan,
    plan_import,
    read_etc_aliases,
    read_legacy_database,
    read_map_copy,
    read_transport,
    snapshot_of,
)
from mailroom.legacy.maildir_copy import copy_template
from mailroom.routing import MapFileError

app = command_group("Carry another mail host over.")

# The Postfix map files of the legacy host the import reads, and the config key each feeds.
MAP_FILES = (("arbitration", "rewrite_maps"), ("cacert-inc-bcc", "recipient_bcc_maps"))
TRANSPORT_FILE = "transport"
PLAN_ROWS = 200


def _option(name: str, default: str, what: str) -> Any:
    return typer.Option(f"--{name}", help=f"{what} (default: {default}).", show_default=False)


@dataclass(frozen=True)
class _Sources:
    mysql: str | None
    aliases: Path | None
    postfix_dir: Path | None
    tables: LegacyTables


async def _read_host(sources: _Sources, domain: str, maps_dir: Path) -> LegacyHost:
    users: tuple[LegacyUser, ...] = ()
    send_as: tuple[LegacySendAs, ...] = ()
    skipped: list[Skipped] = []
    etc: tuple[EtcAlias, ...] = ()
    transports: tuple[tuple[str, str], ...] = ()
    maps: list[MapCopy] = []
    if sources.mysql is not None:
        users, send_as = await read_legacy_database(sources.mysql, sources.tables)
    if sources.aliases is not None:
        etc, lines = read_etc_aliases(sources.aliases)
        skipped.extend(lines)
    if sources.postfix_dir is not None:
        if not sources.postfix_dir.is_dir():
            fail(f"--postfix-dir: {sources.postfix_dir} is not a directory")
        transport = sources.postfix_dir / TRANSPORT_FILE
        if transport.exists():
            transports, lines = read_transport(transport)
            skipped.extend(lines)
        for name, kind in MAP_FILES:
            source = sources.postfix_dir / name
            if not source.exists():
                continue
            found = read_map_copy(kind, source, maps_dir / name)
            if isinstance(found, Skipped):
                skipped.append(found)
            else:
                maps.append(found)
    return LegacyHost(
        domain, tuple(users), tuple(send_as), tuple(etc), transports, tuple(maps), tuple(skipped)
    )


def _config_lines(settings: Config, host: LegacyHost, maildirs: str) -> list[str]:
    """The config lines the imported host needs that the config does not have yet."""
    lines: list[str] = []
    domain = normalize_domain(host.domain)
    if (
        settings.auth.default_domain is None
        or normalize_domain(settings.auth.default_domain) != domain
    ):
        lines.append(f'[auth] default_domain = "{domain}"  # logins with bare user names')
    if settings.mailbox.path_template != maildirs:
        lines.append(f'[mailbox] path_template = "{maildirs}"  # the Maildirs served')
    for kind in ("rewrite_maps", "recipient_bcc_maps"):
        configured = {settings.resolve(path) for path in getattr(settings.routing, kind)}
        wanted = [str(copy.target) for copy in host.maps if copy.kind == kind]
        missing = [path for path in wanted if Path(path) not in configured]
        if missing:
            present = [str(path) for path in getattr(settings.routing, kind)]
            lines.append(f"[routing] {kind} = {json.dumps(present + missing)}")
    return lines


def _table(title: str, *columns: str) -> Table:
    """Long paths and addresses are wrapped, never cut: the administrator acts on them."""
    table = Table(title=title)
    for name in columns:
        table.add_column(name, overflow="fold")
    return table


def _print_plan(plan: ImportPlan, details: bool) -> None:
    """Every action in a table; past PLAN_ROWS actions (a table of 20,000 rows takes a
    minute to draw and nobody reads it) the count of each kind, unless `details`."""
    if plan.actions and (details or len(plan.actions) <= PLAN_ROWS):
        table = _table("To create or change", "what", "name", "details", "change")
        for action in plan.actions:
            table.add_row(
                str(action.kind),
                action.subject,
                action.detail,
                "update" if action.update else "create",
            )
        console.print(table)
    elif plan.actions:
        counts = Counter((str(a.kind), "update" if a.update else "create") for a in plan.actions)
        table = _table("To create or change (--details lists each)", "what", "change", "how many")
        for (kind, change), count in sorted(counts.items()):
            table.add_row(kind, change, str(count))
        console.print(table)
    if plan.skipped:
        table = _table("Cannot carry over", "what", "reason")
        for skipped in plan.skipped:
            table.add_row(skipped.what, skipped.reason)
        console.print(table)


def _sqlite_file_missing(settings: Config) -> bool:
    """Whether the directory is a SQLite file that does not exist yet (opening it would
    create it, which a dry run must not)."""
    prefix = "sqlite:///"
    url = settings.directory.url
    if not url.lower().startswith(prefix) or url[len(prefix) :] in ("", ":memory:"):
        return False
    return not settings.resolve(Path(url[len(prefix) :].split("?", 1)[0])).exists()


async def _open(settings: Config, dry_run: bool) -> Directory | None:
    if dry_run and _sqlite_file_missing(settings):
        console.print("The directory does not exist yet: the import would create it.")
        return None
    directory = await application.open_directory(settings)
    if not dry_run:
        await directory.migrate()
        return directory
    try:
        await directory.version()
    except DirectoryError:
        await directory.close()
        console.print("The directory has no schema yet: the import would create it.")
        return None
    return directory


def _apply_with_progress(directory: Directory, plan: ImportPlan) -> ApplyResult:
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("importing", total=len(plan.actions))

        def advance(_: Action) -> None:
            progress.advance(task)

        return run(apply_plan(directory, plan, advance))


@command(app, "legacy")
def legacy(
    domain: Annotated[
        str, typer.Option("--domain", help="The legacy accounts' domain, like cacert.org.")
    ],
    mysql: Annotated[
        str | None,
        typer.Option(
            "--mysql", help="The legacy database: mysql://user:password@host/cacertusers."
        ),
    ] = None,
    aliases: Annotated[
        Path | None,
        typer.Option("--aliases", help="The legacy /etc/aliases (receive-only aliases)."),
    ] = None,
    postfix_dir: Annotated[
        Path | None,
        typer.Option(
            "--postfix-dir", help="The legacy /etc/postfix: arbitration, cacert-inc-bcc, transport."
        ),
    ] = None,
    maildirs: Annotated[
        str, typer.Option("--maildirs", help="Where the legacy Maildirs are (%n: the user name).")
    ] = "/home/%n/Maildir",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be done; change nothing.")
    ] = False,
    copy_to: Annotated[
        Path | None,
        typer.Option(
            "--copy-to",
            help="Copy the Maildirs below this directory and serve the copies; the legacy "
            "ones stay as they are.",
        ),
    ] = None,
    details: Annotated[
        bool,
        typer.Option("--details", help=f"List every change, also past {PLAN_ROWS}."),
    ] = False,
    index: Annotated[
        bool,
        typer.Option(
            "--index",
            help="Build every folder's index beforehand, so first logins are fast.",
        ),
    ] = False,
    chown: Annotated[
        str | None,
        typer.Option(
            "--chown",
            metavar="USER[:GROUP]",
            help="Hand the Maildirs and Sieve files over to this user (default, as root: "
            "[server] user and group when set).",
        ),
    ] = None,
    user_table: Annotated[str, _option("user-table", "user", "The members' table")] = "user",
    username_column: Annotated[
        str, _option("username-column", "username", "Its login name column")
    ] = "username",
    fullnamealias_column: Annotated[
        str, _option("fullnamealias-column", "fullnamealias", "Its extra address column")
    ] = "fullnamealias",
    realname_column: Annotated[
        str, _option("realname-column", "realname", "Its display name column")
    ] = "realname",
    password_column: Annotated[
        str, _option("password-column", "password", "Its password hash column")
    ] = "password",  # noqa: S107 - a column name
    aliases_table: Annotated[
        str, _option("aliases-table", "aliases", "The send-as aliases' table")
    ] = "aliases",
    alias_address_column: Annotated[
        str, _option("alias-address-column", "email", "Its alias address column")
    ] = "email",
    alias_member_column: Annotated[
        str, _option("alias-member-column", "destination", "Its member (user name) column")
    ] = "destination",
    config: ConfigOption = None,
) -> None:
    """Import the legacy host's accounts, addresses, aliases, transports and map files."""
    settings = load(config)
    try:
        normalize_domain(domain)
    except DirectoryError as error:
        fail(f"--domain: {error}")
    tables = LegacyTables(
        user_table,
        username_column,
        fullnamealias_column,
        realname_column,
        password_column,
        aliases_table,
        alias_address_column,
        alias_member_column,
    )
    sources = _Sources(mysql, aliases, postfix_dir, tables)
    try:
        owner = owner_of(settings, chown)
        serving = maildirs if copy_to is None else copy_template(maildirs, copy_to.absolute())
    except (OwnershipError, CopyError) as error:
        fail(str(error))
    maildir_options = MaildirOptions(maildirs, serving, copy_to is not None, index, owner, dry_run)
    maps_dir = settings.resolve(settings.data_dir) / MAPS_DIRECTORY
    try:
        host = run(_read_host(sources, domain, maps_dir))
    except (LegacySourceError, MapFileError) as error:
        fail(str(error))
    directory = run(_open(settings, dry_run))
    try:
        current = run(snapshot_of(directory, [copy.target for copy in host.maps]))
        plan = plan_import(host, current)
        _print_plan(plan, details)
        found = members(settings, host, maildirs, serving)
        print_maildirs(found, maildirs)
        lines = _config_lines(settings, host, serving)
        if lines:
            console.print("Add to the config file (it is not changed by the import):")
            for line in lines:
                console.print(f"  {line}")
        result: ApplyResult | None = None
        if not plan.actions:
            console.print(f"Nothing to do: {plan.unchanged} already imported.")
        elif dry_run or directory is None:
            console.print(f"Dry run: {len(plan.actions)} changes planned; nothing was changed.")
        else:
            result = _apply_with_progress(directory, plan)
    finally:
        if directory is not None:
            run(directory.close())
    if result is not None:
        _print_result(plan, result)
    prepare_maildirs(settings, found, maildir_options)
    if result is not None and result.failed:
        raise typer.Exit(1)


def _print_result(plan: ImportPlan, result: ApplyResult) -> None:
    for action, reason in result.failed:
        console.print(f"failed: {action.kind} {action.subject}: {reason}")
    created = sum(1 for action in result.done if not action.update)
    updated = len(result.done) - created
    console.print(
        f"Imported: {created} created, {updated} updated, {plan.unchanged} unchanged, "
        f"{len(result.failed)} failed."
    )
