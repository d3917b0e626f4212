"""`mailroom queue list|show|flush|hold|release|delete|bounce`, like `postqueue` and
`postsuper`.

`list` and `show` read the files only (like `postqueue -p` and `postcat -q`), so they
are safe while the server runs. The others change the queue, which has one owner: a
running server is asked over its control channel (`mailroom.control`); when none
runs, the command takes the queue's lock and acts itself (a bounce is then queued,
and leaves when the server starts)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mailroom.app import data_dir, queue_dir
from mailroom.cli.command import (
    ConfigOption,
    command,
    console,
    fail,
    load,
    run,
    with_directory,
)
from mailroom.config import Config
from mailroom.control import (
    CONTROL_SOCKET,
    ControlCommand,
    ControlError,
    ControlRequest,
    ask_server,
)
from mailroom.delivery.administration import NOT_QUEUED, QueueAdministration
from mailroom.delivery.bounces import Bouncer
from mailroom.directory import Directory
from mailroom.queue import MailQueue, QueueEntry, RetrySchedule, read_entry, read_queue
from mailroom.queue.layout import QueueLayout
from mailroom.routing import Router

app = typer.Typer(help="Mail waiting in the queue.", no_args_is_help=True)


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _destination(address: str) -> str:
    return address.rpartition("@")[2]


@command(app, "list")
def list_(config: ConfigOption = None) -> None:
    """List queued messages with their unfinished recipients, and counts by state and
    destination domain."""
    entries = read_queue(queue_dir(load(config)))
    table = Table("queue id", "size", "arrived (UTC)", "sender", "recipients (state)")
    states: Counter[str] = Counter()
    destinations: Counter[str] = Counter()
    for entry in entries:
        unfinished = [recipient for _, recipient in entry.unfinished()]
        for recipient in unfinished:
            states["held" if entry.envelope.held else recipient.state.value] += 1
            destinations[_destination(recipient.address)] += 1
        shown = "\n".join(f"{r.address} ({r.state.value})" for r in unfinished)
        if entry.envelope.held:
            shown = f"ON HOLD\n{shown}"
        table.add_row(
            entry.queue_id,
            str(entry.size),
            _when(entry.envelope.received_at),
            f"<{entry.envelope.sender}>",
            shown,
        )
    console.print(table)
    summary = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
    console.print(f"{len(entries)} message(s); recipients: {summary or 'none'}")
    if destinations:
        console.print(
            "by destination: "
            + ", ".join(f"{domain} {count}" for domain, count in destinations.most_common())
        )


def show_entry(entry: QueueEntry, headers: list[tuple[str, str]]) -> None:
    envelope = entry.envelope
    table = Table(show_header=False, box=None)
    table.add_row("queue id", entry.queue_id)
    table.add_row("size", str(entry.size))
    table.add_row("arrived (UTC)", _when(envelope.received_at))
    table.add_row("sender", f"<{envelope.sender}>")
    if envelope.client is not None:
        table.add_row("client", f"{envelope.client.helo} [{envelope.client.ip}]")
    table.add_row("logged in as", envelope.authenticated or "-")
    table.add_row("on hold", "yes" if envelope.held else "no")
    console.print(table)
    recipients = Table(
        "recipient", "original", "state", "attempts", "next attempt (UTC)", "last reply"
    )
    for recipient in envelope.recipients:
        recipients.add_row(
            recipient.address,
            recipient.original,
            recipient.state.value,
            str(recipient.attempts),
            _when(recipient.next_attempt),
            recipient.last_reply or "-",
        )
    console.print(recipients)
    for name, value in headers:
        console.print(f"{name}: {value}")


@command(app, "show")
def show(
    queue_id: Annotated[str, typer.Argument(help="The queue id, as `queue list` shows it.")],
    config: ConfigOption = None,
) -> None:
    """Show one message's envelope, recipients and headers."""
    directory = queue_dir(load(config))
    entry = read_entry(directory, queue_id)
    if entry is None:
        fail(f"no message {queue_id!r} in the queue {directory}")
    with QueueLayout(directory).message(entry.queue_id).open("rb") as message:
        headers = BytesHeaderParser().parse(message).items()
    show_entry(entry, [(name, str(value)) for name, value in headers])


QueueIds = Annotated[
    list[str], typer.Argument(help="Queue ids as `queue list` shows them, or ALL.")
]


def administer(config: Config, command: ControlCommand, queue_ids: list[str]) -> None:
    """Ask the running server to do `command`, or do it here when none runs; print what
    became of each message; exit 1 if some were not in the queue."""
    try:
        request = ControlRequest(command, None if queue_ids == ["ALL"] else tuple(queue_ids))
        response = run(ask_server(data_dir(config) / CONTROL_SOCKET, request))
    except ControlError as error:
        fail(str(error))
    if response is None:
        results = run(_without_server(config, request))
        console.print("(no server is running: the queue was changed directly)")
    elif not response.ok:
        fail(f"the server refused: {response.error}")
    else:
        results = dict(response.results)
    for queue_id, outcome in results.items():
        console.print(f"{queue_id}: {outcome}")
    if not results:
        console.print("the queue is empty")
    if NOT_QUEUED in results.values():
        raise typer.Exit(1)


async def _without_server(config: Config, request: ControlRequest) -> dict[str, str]:
    queue = MailQueue(queue_dir(config), schedule=RetrySchedule.from_config(config.queue))
    async with queue:
        if request.command is not ControlCommand.BOUNCE:
            return await QueueAdministration(queue, Bouncer(queue, config.hostname)).handle(request)

        async def bounce(directory: Directory) -> dict[str, str]:
            # Reports go to final recipients, as routing expands the senders.
            base = config.source.parent if config.source else Path.cwd()
            router = Router(directory, config.routing, base)
            router.load()
            bouncer = Bouncer(queue, config.hostname, router=router)
            return await QueueAdministration(queue, bouncer).handle(request)

        return await with_directory(config, bounce)


@command(app, "flush")
def flush(
    queue_ids: Annotated[
        list[str] | None,
        typer.Argument(
            help="Queue ids as `queue list` shows them (default: ALL).", show_default=False
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Try deferred mail now (`postqueue -f`; with ids, `postqueue -i ID`)."""
    administer(load(config), ControlCommand.FLUSH, queue_ids or ["ALL"])


@command(app, "hold")
def hold(queue_ids: QueueIds, config: ConfigOption = None) -> None:
    """Keep messages from delivery until released (`postsuper -h`)."""
    administer(load(config), ControlCommand.HOLD, queue_ids)


@command(app, "release")
def release(queue_ids: QueueIds, config: ConfigOption = None) -> None:
    """Let held messages be delivered again (`postsuper -H`)."""
    administer(load(config), ControlCommand.RELEASE, queue_ids)


@command(app, "delete")
def delete(queue_ids: QueueIds, config: ConfigOption = None) -> None:
    """Remove messages without telling anyone (`postsuper -d`)."""
    administer(load(config), ControlCommand.DELETE, queue_ids)


@command(app, "bounce")
def bounce(queue_ids: QueueIds, config: ConfigOption = None) -> None:
    """Return messages to their senders with a delivery report, then remove them."""
    administer(load(config), ControlCommand.BOUNCE, queue_ids)
