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
from typing import Annotated, Any

import typer

from mailroom import app as application
from mailroom.app import queue_dir
from mailroom.cli.command import (
    ConfigOption,
    command,
    command_group,
    console,
    fail,
    load,
    run,
    with_directory,
)
from mailroom.cli.output import FormatOption, OutputFormat, print_fields, print_listing
from mailroom.config import Config
from mailroom.control import (
    ControlCommand,
    ControlError,
    ControlRequest,
    ask_server,
)
from mailroom.control.administration import NOT_QUEUED
from mailroom.directory import Directory
from mailroom.queue import QueueEntry, read_entry, read_queue
from mailroom.queue.layout import QueueLayout

app = command_group("Mail waiting in the queue.")


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _destination(address: str) -> str:
    return address.rpartition("@")[2]


@command(app, "list")
def list_(config: ConfigOption = None, format_: FormatOption = None) -> None:
    """List queued messages with their unfinished recipients, and counts by state and
    destination domain."""
    entries = read_queue(queue_dir(load(config)))
    rows: list[list[str]] = []
    records: list[dict[str, Any]] = []
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
        arrived = _when(entry.envelope.received_at)
        rows.append([entry.queue_id, str(entry.size), arrived, f"<{entry.envelope.sender}>", shown])
        records.append(
            {
                "queue_id": entry.queue_id,
                "size": entry.size,
                "arrived_utc": arrived,
                "sender": entry.envelope.sender,
                "held": entry.envelope.held,
                "recipients": [{"address": r.address, "state": r.state.value} for r in unfinished],
            }
        )
    columns = ("queue id", "size", "arrived (UTC)", "sender", "recipients (state)")
    if print_listing(format_, columns, rows, records) is OutputFormat.JSON:
        return
    summary = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
    console.print(f"{len(entries)} message(s); recipients: {summary or 'none'}")
    if destinations:
        console.print(
            "by destination: "
            + ", ".join(f"{domain} {count}" for domain, count in destinations.most_common())
        )


def show_entry(entry: QueueEntry, headers: list[tuple[str, str]]) -> None:
    envelope = entry.envelope
    fields = [
        ("queue id", entry.queue_id),
        ("size", str(entry.size)),
        ("arrived (UTC)", _when(envelope.received_at)),
        ("sender", f"<{envelope.sender}>"),
    ]
    if envelope.client is not None:
        fields.append(("client", f"{envelope.client.helo} [{envelope.client.ip}]"))
    fields.append(("logged in as", envelope.authenticated or "-"))
    fields.append(("on hold", "yes" if envelope.held else "no"))
    print_fields(fields)
    columns = ("recipient", "original", "state", "attempts", "next attempt (UTC)", "last reply")
    rows = [
        [
            recipient.address,
            recipient.original,
            recipient.state.value,
            str(recipient.attempts),
            _when(recipient.next_attempt),
            recipient.last_reply or "-",
        ]
        for recipient in envelope.recipients
    ]
    if console.is_terminal:
        print_listing(OutputFormat.TABLE, columns, rows, [])
    else:  # one `name: value` line per field, as above: unlabelled columns would puzzle
        for row in rows:
            labelled = zip(columns, row, strict=True)
            console.print("; ".join(f"{name}: {value}" for name, value in labelled))
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
    hint = f"check data_dir ({application.data_dir(config)}) in {config.source}"
    try:
        request = ControlRequest(command, None if queue_ids == ["ALL"] else tuple(queue_ids))
        response = run(ask_server(application.control_socket(config), request))
    except ControlError as error:
        fail(str(error))
    except OSError as error:
        fail(f"cannot reach the queue's control socket: {error.strerror or error}; {hint}")
    if response is None:
        try:
            results = run(_without_server(config, request))
        except OSError as error:
            fail(f"cannot open the queue: {error.strerror or error}; {hint}")
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
    async with application.open_queue(config) as queue:
        if request.command is not ControlCommand.BOUNCE:
            return await application.queue_administration(config, queue).handle(request)

        async def bounce(directory: Directory) -> dict[str, str]:
            # Reports go to final recipients, as routing expands the senders.
            router = application.router_for(config, directory)
            return await application.queue_administration(config, queue, router).handle(request)

        return await with_directory(config, bounce, reads_only=True)


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
