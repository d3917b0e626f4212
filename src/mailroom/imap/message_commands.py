"""Commands that change messages: APPEND, STORE, COPY, MOVE, EXPUNGE, UID EXPUNGE, and
leaving a mailbox with CLOSE / UNSELECT; CHECK (RFC 9051 §6.3.12, §6.4; RFC 4315
UIDPLUS, RFC 6851 MOVE, RFC 7162 CONDSTORE, RFC 3502 MULTIAPPEND).
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left

from mailroom.imap import responses
from mailroom.imap.catenate import Scratch, message_source
from mailroom.imap.commands import Append, Command, Copy, Expunge, Store, StoreMode
from mailroom.imap.context import SessionContext
from mailroom.imap.mailbox_commands import decode_name, open_mailbox
from mailroom.imap.responses import STORE_ERRORS
from mailroom.imap.selected import SelectedView, resolve, selected_view, writable_view
from mailroom.imap.sequence import format_set
from mailroom.imap.wire import Atom, Value, status_response
from mailroom.store import FlagMode, Mailbox, MessageInfo

MODES: dict[StoreMode, FlagMode] = {
    StoreMode.SET: "set",
    StoreMode.ADD: "add",
    StoreMode.REMOVE: "remove",
}


# -- APPEND ----------------------------------------------------------------------------------


async def append(session: SessionContext, command: Command) -> None:
    """APPEND, and MULTIAPPEND: all the messages or none (RFC 3502 §6.3.11), each a
    literal or put together by CATENATE (RFC 4469). The target is opened first, so that
    a missing one answers TRYCREATE before any URL is read (as Dovecot)."""
    assert isinstance(command.args, Append)
    name = decode_name(session, command.args.mailbox)
    for message in command.args.messages:
        if isinstance(message.data, bytes) and not message.data and message.catenate is None:
            raise responses.no("Can't save a zero byte message.")
    target = await open_mailbox(session, name, for_copy=True)
    assert session.account is not None
    scratch = Scratch(session.account.root / "tmp")
    try:
        messages = []
        for message in command.args.messages:
            data = await message_source(session, message, scratch)
            if isinstance(data, bytes) and not data:
                raise responses.no("Can't save a zero byte message.")
            flags = [flag for flag in message.flags if flag != "\\Recent"]
            messages.append((data, flags, message.internal_date))
        added = await target.append_many(messages)
        uidvalidity = target.uidvalidity
    except STORE_ERRORS as error:
        raise responses.store_error(error, name) from None
    finally:
        await target.close()
        if scratch.files:  # CATENATE wrote some: no thread's round trip for none
            await asyncio.to_thread(scratch.remove)
    code: list[Value] = [
        Atom("APPENDUID"),
        uidvalidity,
        Atom(format_set(m.uid for m in added)),
    ]
    await session.tagged_ok(command, "Append completed.", code)


# -- STORE -----------------------------------------------------------------------------------


async def store(session: SessionContext, command: Command) -> None:
    assert isinstance(command.args, Store)
    args = command.args
    view = writable_view(session.selected)
    uids = resolve(view, args.sequence, uid=command.uid)
    if args.unchanged_since is not None:
        session.enable_condstore()
    flags = [flag for flag in args.flags if flag != "\\Recent"]
    before = view.mailbox.highestmodseq
    try:
        changed, failed = await view.mailbox.store_flags(
            uids, MODES[args.mode], flags, args.unchanged_since
        )
    except STORE_ERRORS as error:
        raise responses.store_error(error) from None
    view.mark_reported(changed, before=before)
    announcement = view.announce_keywords()  # a keyword new to the folder (RFC 3501 §7.2.6)
    if announcement:
        session.write(announcement)
    # As Dovecot: a FETCH for each message whose flags changed (RFC 9051 §6.4.6 lets
    # the server leave out the others). .SILENT sends none, except the mod-sequences
    # of a conditional store (RFC 7162 §3.1.3).
    if not args.silent or (session.condstore and args.unchanged_since is not None):
        await _report_stored(session, view, changed, uid=command.uid, silent=args.silent)
    if failed:
        numbers = failed if command.uid else [view.sequence_of(u) or 0 for u in failed]
        code: list[Value] = [Atom("MODIFIED"), Atom(format_set(numbers))]
        await session.tagged_ok(command, "Conditional store failed.", code)
        return
    await session.tagged_ok(command, "Store completed.")


async def _report_stored(
    session: SessionContext,
    view: SelectedView,
    changed: list[MessageInfo],
    *,
    uid: bool,
    silent: bool,
) -> None:
    """The untagged FETCH of each message a STORE changed (ascending UIDs): its flags
    (unless .SILENT), with UID and MODSEQ where the session needs them.

    Thousands at a time (a STORE 1:*): the view's UIDs are walked in step with the
    changed ones, and a flag list is formatted once per distinct set of flags."""
    with_uid = uid or session.qresync
    condstore = session.condstore
    # One format per line: "* n FETCH (" [UID u ] [FLAGS (...)] [ ][MODSEQ (m)] ")".
    template = b"* %d FETCH ("
    if with_uid:
        template += b"UID %d "
    if not silent:
        template += b"%s"
        if condstore:
            template += b" "
    if condstore:
        template += b"MODSEQ (%d)"
    template += b")\r\n"
    flags_text: dict[tuple[frozenset[str], bool], bytes] = {}
    recent = view.recent if view.show_recent else set()
    uids = view.uids
    count = len(uids)
    position = 0
    out: list[bytes] = []
    for message in changed:
        message_uid = message.uid
        if position < count and uids[position] != message_uid:
            position = bisect_left(uids, message_uid, position)
        if position >= count or uids[position] != message_uid:
            continue  # not in this session's view (yet)
        position += 1
        values: list[int | bytes] = [position]
        if with_uid:
            values.append(message_uid)
        if not silent:
            key = (message.flags, message_uid in recent)
            text = flags_text.get(key)
            if text is None:
                text = flags_text[key] = b"FLAGS " + view.flags(message).encode()
            values.append(text)
        if condstore:
            values.append(message.modseq)
        out.append(template % tuple(values))
        if len(out) >= 1000:
            session.write(b"".join(out))
            out.clear()
            await session.drain()
    session.write(b"".join(out))


# -- COPY, MOVE ------------------------------------------------------------------------------


async def copy(session: SessionContext, command: Command) -> None:
    assert isinstance(command.args, Copy)
    moving = command.name == "MOVE"
    view = writable_view(session.selected) if moving else selected_view(session.selected)
    uids = resolve(view, command.args.sequence, uid=command.uid)
    name = decode_name(session, command.args.mailbox)
    target: Mailbox = await open_mailbox(session, name, for_copy=True)
    try:
        if not uids:
            await session.tagged_ok(command, "No messages found.")
            return
        try:
            if moving:
                pairs = await view.mailbox.move(uids, target)
            else:
                pairs = await view.mailbox.copy(uids, target)
        except STORE_ERRORS as error:
            raise responses.store_error(error, name) from None
        uidvalidity = target.uidvalidity
    finally:
        await target.close()
    code: list[Value] = [
        Atom("COPYUID"),
        uidvalidity,
        Atom(format_set(s for s, _ in pairs)),
        Atom(format_set(d for _, d in pairs)),
    ]
    if not pairs:
        await session.tagged_ok(command, "No messages found.")
    elif moving:
        # RFC 6851 §4.3: COPYUID in an untagged OK before the EXPUNGEs.
        session.write(status_response(None, "OK", "Moved UIDs.", code))
        await session.tagged_ok(command, "Move completed.")
    else:
        await session.tagged_ok(command, "Copy completed.", code)


# -- EXPUNGE, CLOSE, UNSELECT, CHECK ---------------------------------------------------------


async def expunge(session: SessionContext, command: Command) -> None:
    assert isinstance(command.args, Expunge)
    view = writable_view(session.selected)
    among = None
    if command.args.uids is not None:
        among = resolve(view, command.args.uids, uid=True)
    try:
        await view.mailbox.expunge(among)
    except STORE_ERRORS as error:
        raise responses.store_error(error) from None
    await session.tagged_ok(command, "Expunge completed.")


async def close(session: SessionContext, command: Command) -> None:
    view = selected_view(session.selected)
    if not view.readonly:
        try:
            await view.mailbox.expunge(None)
        except STORE_ERRORS as error:
            raise responses.store_error(error) from None
    await session.leave_selected()
    await session.send(status_response(command.tag, "OK", "Close completed."))


async def unselect(session: SessionContext, command: Command) -> None:
    selected_view(session.selected)
    await session.leave_selected()
    await session.send(status_response(command.tag, "OK", "Unselect completed."))


async def check(session: SessionContext, command: Command) -> None:
    selected_view(session.selected)
    await session.tagged_ok(command, "Check completed.")
