"""Carrying a plan out: each action through the directory's own operations (which check
everything again), map files written to a temporary name, fsynced and renamed into place.
An action the directory refuses is reported and the others go on; a second run plans only
what is still missing.

Speed: the actions are made in batches of `BATCH_SIZE`, each one transaction of the
directory (`Directory.batch`): one commit per batch rather than per action; within a
batch, the new accounts, then their extra addresses, are made by the directory's bulk
operations (`add_accounts`, `add_addresses`: a few statements for hundreds of them, with
the same checks). That is what makes 10,000 accounts an import of seconds. So that the
bulk operations get long runs, the actions are taken kind by kind (`KIND_ORDER`), which
keeps every dependency of the plan's order: domains before accounts, accounts before
their addresses, both before the aliases that forward to them, aliases in the plan's
order. A refused action is undone alone (a savepoint); a batch that cannot be committed
at all (the database went away) is reported as failed action by action, and the next
run makes it again.

Also here: the snapshot of the directory that the planner compares the legacy host with.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mailroom.directory import Directory, DirectoryError
from mailroom.directory.bulk import NewAccount
from mailroom.durable import fsync_directory, make_directory, write_synced
from mailroom.legacy.plan import Action, ActionKind, ImportPlan
from mailroom.legacy.records import CurrentAccount, CurrentAlias, CurrentDirectory

MAX_MAP_READ_BYTES = 64 * 1024 * 1024
BATCH_SIZE = 500
"""Actions per transaction: big enough that commits cost little, small enough that a
lost batch is a short report."""
KIND_ORDER = tuple(ActionKind)
"""The order kinds are made in (module docstring): ActionKind's own."""
BULK_KINDS = (ActionKind.ACCOUNT, ActionKind.ADDRESS)


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
    """Carry out `plan`'s actions (module docstring); `advance` is called after each one."""
    result = ApplyResult()
    actions = sorted(plan.actions, key=lambda action: KIND_ORDER.index(action.kind))
    for start in range(0, len(actions), BATCH_SIZE):
        done: list[Action] = []
        try:
            async with directory.batch():
                for run in _runs(actions[start : start + BATCH_SIZE]):
                    for action, reason in zip(run, await _make(directory, run), strict=True):
                        if reason is None:
                            done.append(action)
                        else:
                            result.failed.append((action, reason))
                        advance(action)
        except DirectoryError as error:
            result.failed.extend((action, f"not committed: {error}") for action in done)
        else:
            result.done.extend(done)
    return result


def _runs(actions: Sequence[Action]) -> list[list[Action]]:
    """`actions` cut into runs a bulk operation makes at once (accounts, addresses), the
    other actions one to a run."""
    runs: list[list[Action]] = []
    for action in actions:
        if runs and action.kind in BULK_KINDS and runs[-1][0].kind is action.kind:
            runs[-1].append(action)
        else:
            runs.append([action])
    return runs


async def _make(directory: Directory, run: list[Action]) -> list[str | None]:
    """Make one run; per action, None when done, else why not."""
    kind = run[0].kind
    if kind is ActionKind.ACCOUNT and len(run) > 1:
        refusals = await directory.add_accounts(
            [NewAccount(a.subject, a.account, a.display_name) for a in run]
        )
        return [None if refusal is None else str(refusal) for refusal in refusals]
    if kind is ActionKind.ADDRESS and len(run) > 1:
        refusals = await directory.add_addresses([(a.account, a.subject) for a in run])
        return [None if refusal is None else str(refusal) for refusal in refusals]
    return [await _attempt(directory, action) for action in run]


async def _attempt(directory: Directory, action: Action) -> str | None:
    """Make one action; None when done, else why not."""
    try:
        await _apply(directory, action)
    except DirectoryError as error:
        return str(error)
    except OSError as error:
        return f"{error.filename or action.subject}: {error.strerror}"
    return None
