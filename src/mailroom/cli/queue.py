"""`mailroom queue list|show`: what waits in the queue, like `postqueue -p` and
`postcat -q`. Reads the files only, so it is safe while the server runs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from typing import Annotated

import typer
from rich.table import Table

from mailroom.app import queue_dir
from mailroom.cli.command import ConfigOption, command, console, fail, load
from mailroom.queue import QueueEntry, read_entry, read_queue
from mailroom.queue.layout import QueueLayout

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
            states[recipient.state.value] += 1
            destinations[_destination(recipient.address)] += 1
        shown = "\n".join(f"{r.address} ({r.state.value})" for r in unfinished)
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
