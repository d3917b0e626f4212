"""Carrying a plan out: each action through the directory's own operations (which check
everything again), map files written to a temporary name, fsynced and renamed into place.
An action the directory refuses is reported and the others go on; a second run plans only
what is still missing.

Also here: the snapshot of the directory that the planner compares the legacy host with.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mailroom.directory import Directory, DirectoryError
from mailroom.durable import fsync_directory, make_directory, write_synced
from mailroom.legacy.plan import Action, ActionKind, ImportPlan
from mailroom.legacy.records import CurrentAccount, CurrentAlias, CurrentDirectory

MAX_MAP_READ_BYTES = 64 * 1024 * 1024


@dataclass
class ApplyResult:
    done: list[Action] = field(default_factory=list)
    failed: list[tuple[Action, str]] = field(default_factory=list)


async def snapshot_of(directory: Directory | None, map_targets: Sequence[Path]) -> CurrentDirectory:
    """What the directory holds now (`None`: a directory without its schema yet, so
    empty), and the current text of each map copy that exists."""
    texts: dict[Path, str] = {}
    for target in map_targets:
        try:
            with target.open("rb") as stream:
                texts[target] = stream.read(MAX_MAP_READ_BYTES).decode("utf-8", "replace")
        except FileNotFoundError:
            continue
    if directory is None:
        return CurrentDirectory(map_texts=texts)
    domains = frozenset(domain.name for domain in await directory.list_domains())
    accounts = {
        account.address: CurrentAccount(
            account.password_hash, account.display_name, frozenset(account.extra_addresses)
        )
        for account in await directory.list_accounts()
    }
    aliases = {
        alias.address: CurrentAlias(frozenset(alias.targets), frozenset(alias.send_as))
        for alias in await directory.list_aliases()
    }
    transports = {t.domain: t.nexthop for t in await directory.list_transports()}
    return CurrentDirectory(domains, accounts, aliases, transports, texts)


def _write_map(target: Path, text: str) -> None:
    make_directory(target.parent)
    temporary = target.with_name(f".{target.name}.importing")
    write_synced(temporary, text.encode("utf-8"))
    os.chmod(temporary, 0o644)  # a map file holds no secret; the server may run as another user
    os.replace(temporary, target)
    fsync_directory(target.parent)


async def _apply(directory: Directory, action: Action) -> None:
    kind = action.kind
    if kind is ActionKind.DOMAIN:
        await directory.add_domain(action.subject)
    elif kind is ActionKind.ACCOUNT:
        await directory.add_account(
            action.subject, action.account, display_name=action.display_name
        )
    elif kind is ActionKind.PASSWORD:
        await directory.set_password_hash(action.subject, action.account)
    elif kind is ActionKind.DISPLAY_NAME:
        await directory.update_account(action.subject, display_name=action.account)
    elif kind is ActionKind.ADDRESS:
        await directory.add_address(action.account, action.subject)
    elif kind is ActionKind.ALIAS:
        await directory.add_alias(action.subject, action.targets, send_as=action.send_as)
    elif kind is ActionKind.SEND_AS:
        await directory.grant_send_as(action.subject, action.account)
    elif kind is ActionKind.TRANSPORT:
        await directory.set_transport(action.subject, action.account)
    else:
        assert action.map_copy is not None
        _write_map(action.map_copy.target, action.map_copy.text)


async def apply_plan(
    directory: Directory, plan: ImportPlan, advance: Callable[[Action], None]
) -> ApplyResult:
    """Carry out `plan`'s actions in order; `advance` is called after each one."""
    result = ApplyResult()
    for action in plan.actions:
        try:
            await _apply(directory, action)
        except DirectoryError as error:
            result.failed.append((action, str(error)))
        except OSError as error:
            result.failed.append((action, f"{error.filename or action.subject}: {error.strerror}"))
        else:
            result.done.append(action)
        advance(action)
    return result
