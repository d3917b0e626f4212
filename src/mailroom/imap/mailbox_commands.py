"""Commands on mailboxes as a whole: SELECT/EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE,
UNSUBSCRIBE, LIST/LSUB (LIST-EXTENDED, LIST-STATUS, SPECIAL-USE), STATUS, NAMESPACE
and QUOTA (RFC 9051 §6.3, RFC 5258, RFC 5819, RFC 6154, RFC 7162, RFC 9208).

Mailbox names cross here: clients send modified UTF-7 (or UTF-8 once UTF8=ACCEPT is
enabled); the store works with Unicode names and refuses the ones that cannot be.
"""

from __future__ import annotations

import contextlib
from bisect import bisect_left
from collections.abc import Callable

from mailroom.imap import responses
from mailroom.imap.commands import (
    Command,
    Create,
    GetQuota,
    ListMailboxes,
    MailboxArgument,
    Rename,
    Select,
    Status,
)
from mailroom.imap.context import SessionContext
from mailroom.imap.listing import full_pattern, matches
from mailroom.imap.responses import STORE_ERRORS, ImapError
from mailroom.imap.selected import SelectedView
from mailroom.imap.sequence import format_set
from mailroom.imap.state import State
from mailroom.imap.wire import Atom, Value, format_flags, response, status_response
from mailroom.store import INBOX, Account, FolderInfo, FolderNameError, Mailbox, mutf7

QUOTA_ROOT = ""
"""One quota root per account, named "" as Dovecot names its default root... 'User quota'
is Dovecot's; "" is what most servers send and clients display fine."""


def decode_name(session: SessionContext, raw: str) -> str:
    """The Unicode name of what the client sent."""
    try:
        return _unicode_name(session, raw)
    except ValueError:
        raise responses.no("Mailbox name is not valid mUTF-7", "CANNOT") from None


def _unicode_name(session: SessionContext, raw: str) -> str:
    """`decode_name`, raising ValueError for a name that is not valid mUTF-7."""
    name = raw if session.utf8 or _plain(raw) else mutf7.decode(raw)
    head, separator, rest = name.partition(session.separator)
    if head.upper() == INBOX:
        name = INBOX + separator + rest
    return name


def encode_name(session: SessionContext, name: str) -> str:
    return name if session.utf8 or _plain(name) else mutf7.encode(name)


def _plain(name: str) -> bool:
    """Whether mUTF-7 writes `name` as it is (printable ASCII without "&", RFC 3501
    §5.1.3): nearly every name, and LIST writes every folder's name."""
    return name.isascii() and name.isprintable() and "&" not in name


def ascii_safe(session: SessionContext, error: ImapError) -> ImapError:
    """The reply with the names in its text as the client writes them: a client without
    UTF8=ACCEPT reads 7-bit text (RFC 3501 §9 TEXT-CHAR), so "ä" goes back as "&AOQ-"."""
    if session.utf8 or error.text.isascii():
        return error
    return ImapError(error.status, mutf7.encode(error.text), error.code)


def store_failure(session: SessionContext, error: Exception, name: str) -> ImapError:
    """`responses.store_error`, its text safe for this client."""
    return ascii_safe(session, responses.store_error(error, name))


def account_of(session: SessionContext) -> Account:
    assert session.account is not None  # the dispatcher checks the state
    return session.account


async def open_mailbox(session: SessionContext, name: str, *, for_copy: bool = False) -> Mailbox:
    try:
        return await account_of(session).open(name)
    except STORE_ERRORS as error:
        mapped = store_failure(session, error, name)
        if for_copy and mapped.code == "NONEXISTENT":
            raise ascii_safe(session, responses.trycreate(name)) from None
        raise mapped from None


# -- SELECT / EXAMINE ----------------------------------------------------------------------


async def select(session: SessionContext, command: Command) -> None:
    assert isinstance(command.args, Select)
    args = command.args
    readonly = command.name == "EXAMINE"
    if args.qresync is not None and not session.qresync:
        raise responses.bad("QRESYNC not enabled.")
    if session.selected is not None:
        await session.leave_selected()
        if session.qresync or "IMAP4REV2" in session.enabled:
            # RFC 7162 §3.2.11, RFC 9051 §7.1: the client learns where the old mailbox's
            # untagged responses end.
            session.write(status_response(None, "OK", "Previous mailbox closed.", Atom("CLOSED")))
    name = decode_name(session, args.mailbox)
    mailbox = await open_mailbox(session, name)
    try:
        await mailbox.sync()
        snapshot = mailbox.snapshot  # what the view starts from (no await in between)
        view = SelectedView(mailbox, name, readonly=readonly)
        if view.uids:
            # SELECT claims the recent messages; EXAMINE shows them, claiming none.
            await view.take_recent(1, view.uids[-1])
    except BaseException as error:
        await mailbox.close()
        if isinstance(error, STORE_ERRORS):
            raise store_failure(session, error, name) from None
        raise
    if args.condstore:
        session.enable_condstore()
    view.show_recent = "IMAP4REV2" not in session.enabled
    session.selected = view
    session.state = State.SELECTED
    out = [view.flags_response()]
    out.append(f"* {len(view)} EXISTS\r\n".encode())
    if "IMAP4REV2" not in session.enabled:
        # RFC 9051 §7.4.1 (Appendix E): IMAP4rev2 has no RECENT response.
        out.append(f"* {len(view.recent)} RECENT\r\n".encode())
    else:
        # RFC 9051 §6.3.2: a LIST response with the mailbox's name and attributes.
        out.append(await _list_line(session, name))
    first_unseen = next(
        (n for n, m in enumerate(snapshot.messages, 1) if "\\Seen" not in m.flags), None
    )
    if first_unseen is not None and "IMAP4REV2" not in session.enabled:
        out.append(status_response(None, "OK", "First unseen.", [Atom("UNSEEN"), first_unseen]))
    out.append(
        status_response(None, "OK", "UIDs valid", [Atom("UIDVALIDITY"), snapshot.uidvalidity])
    )
    out.append(
        status_response(None, "OK", "Predicted next UID", [Atom("UIDNEXT"), snapshot.uidnext])
    )
    out.append(
        status_response(None, "OK", "Highest", [Atom("HIGHESTMODSEQ"), snapshot.highestmodseq])
    )
    session.write(b"".join(out))
    if args.qresync is not None:
        await _qresync(session, view, args)
    code = Atom("READ-ONLY" if readonly else "READ-WRITE")
    await session.send(
        status_response(
            command.tag, "OK", f"{'Examine' if readonly else 'Select'} completed.", code
        )
    )


async def _qresync(session: SessionContext, view: SelectedView, args: Select) -> None:
    """RFC 7162 §3.2.5: what changed since the client's last sync, if UIDVALIDITY holds."""
    qresync = args.qresync
    assert qresync is not None
    mailbox = view.mailbox
    if qresync.uidvalidity != mailbox.uidvalidity:
        return
    since = qresync.modseq
    known_uids = qresync.known_uids
    largest = mailbox.uidnext

    def known(uid: int) -> bool:
        # RFC 7162 §3.2.5: expunges and flag changes of the known UIDs only (all of
        # them when none were given). Tested range by range: the set may be huge.
        return known_uids is None or known_uids.contains(uid, largest)

    vanished = [uid for uid in mailbox.vanished_since(since) if known(uid)]
    if vanished:
        session.write(f"* VANISHED (EARLIER) {format_set(vanished)}\r\n".encode())
    changed = mailbox.changed_since(since)
    announcement = view.announce_keywords()  # keywords added since SELECT's FLAGS
    if announcement:
        session.write(announcement)
    for message in changed:
        if not known(message.uid):
            continue
        number = view.sequence_of(message.uid)
        if number is None:
            continue
        data: list[Value] = [
            Atom("UID"),
            message.uid,
            Atom("FLAGS"),
            view.flags(message),
            Atom("MODSEQ"),
            [message.modseq],
        ]
        session.write(response(None, number, Atom("FETCH"), data))


# -- CREATE, DELETE, RENAME, SUBSCRIBE -------------------------------------------------------


async def create(session: SessionContext, command: Command) -> None:
    assert isinstance(command.args, Create)
    name = decode_name(session, command.args.mailbox)
    uses = command.args.special_use
    if len(uses) > 1:
        raise responses.no("Only one special-use attribute per mailbox.", "USEATTR")
    if name.rstrip(session.separator).upper() == INBOX:
        raise responses.no("Mailbox already exists", "ALREADYEXISTS")
    try:
        await account_of(session).create(name, uses[0] if uses else None)
    except STORE_ERRORS as error:
        raise store_failure(session, error, name) from None
    await session.tagged_ok(command, "Create completed.")


async def delete(session: SessionContext, command: Command) -> None:
    assert isinstance(command.args, MailboxArgument)
    name = decode_name(session, command.args.mailbox)
    if name == INBOX:
        raise responses.no("INBOX can't be deleted.")
    account = account_of(session)
    view = session.selected
    closing = view is not None and _same_folder(account, view.name, name)
    if closing:
        # As Dovecot does: the selected mailbox is closed first, and since the client
        # believes it still has one selected, the connection ends after the reply.
        await session.leave_selected()
    try:
        await account.delete(name)
    except STORE_ERRORS as error:
        raise store_failure(session, error, name) from None
    await session.tagged_ok(command, "Delete completed.")
    if closing:
        await session.send(b"* BYE Selected mailbox was deleted, have to disconnect.\r\n")
        session.state = State.LOGOUT


def _same_folder(account: Account, first: str, second: str) -> bool:
    try:
        return account.path_of(first) == account.path_of(second)
    except FolderNameError:
        return False


async def rename(session: SessionContext, command: Command) -> None:
    assert isinstance(command.args, Rename)
    old = decode_name(session, command.args.old)
    new = decode_name(session, command.args.new)
    account = account_of(session)
    try:
        await account.rename(old, new)
        await _follow_rename(session, account, old, new)
    except STORE_ERRORS as error:
        raise store_failure(session, error, old) from None
    await session.tagged_ok(command, "Rename completed.")


async def _follow_rename(session: SessionContext, account: Account, old: str, new: str) -> None:
    """The selected mailbox was renamed (or a folder above it): the session goes on with
    it under its new name, messages and UIDs unchanged, as in Dovecot. (Not INBOX:
    renaming INBOX moves its messages out, and the view sees them expunged.)"""
    view = session.selected
    if view is None:
        return
    old = account.names.normalize(old)
    selected = account.names.normalize(view.name)
    if old == INBOX or not (selected == old or account.names.is_inside(selected, old)):
        return
    renamed = account.names.normalize(new) + selected[len(old) :]
    mailbox = await account.open(renamed)
    stale, view.mailbox, view.name = view.mailbox, mailbox, renamed
    await stale.close()


async def subscribe(session: SessionContext, command: Command) -> None:
    assert isinstance(command.args, MailboxArgument)
    name = decode_name(session, command.args.mailbox)
    try:
        if command.name == "SUBSCRIBE":
            await account_of(session).subscribe(name)
        else:
            await account_of(session).unsubscribe(name)
    except STORE_ERRORS as error:
        raise store_failure(session, error, name) from None
    await session.tagged_ok(command, f"{command.name.capitalize()} completed.")


# -- LIST, LSUB ----------------------------------------------------------------------------

SPECIAL_USE = frozenset(
    {"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash"}
)


async def list_mailboxes(session: SessionContext, command: Command) -> None:
    assert isinstance(command.args, ListMailboxes)
    args = command.args
    separator = session.separator
    lsub = command.name == "LSUB"
    if not lsub and args.patterns == ("",):
        # RFC 9051 §6.3.9: the hierarchy delimiter and the root.
        session.write(response(None, Atom("LIST"), [Atom("\\Noselect")], separator, ""))
        await session.tagged_ok(command, "List completed.")
        return
    patterns = _list_patterns(session, args.reference, args.patterns)

    def matched(name: str) -> bool:
        return any(matches(name, pattern, separator) for pattern in patterns)

    folders = _with_subscribed_ancestors(await account_of(session).folders(), separator)
    subscribed_only = lsub or "SUBSCRIBED" in args.selection
    special_only = "SPECIAL-USE" in args.selection
    show_subscribed = "SUBSCRIBED" in args.returns or "SUBSCRIBED" in args.selection
    recursive = "RECURSIVEMATCH" in args.selection
    subscribed = sorted(f.name for f in folders if f.subscribed)
    out: list[bytes] = []
    for folder in folders:
        if not matched(folder.name):
            continue
        attributes = set(folder.attributes)
        # RFC 5258 §3.5: CHILDINFO (and LSUB's \Noselect, RFC 3501 §6.3.9) only for a
        # subscribed descendant this listing does not show itself.
        hidden_child = subscribed_only and _has_subscribed_child(
            folder.name, subscribed, separator, matched
        )
        if subscribed_only and not folder.subscribed:
            if not hidden_child or not (lsub or recursive):
                continue
            if lsub:
                attributes = {"\\Noselect"}
        exists = "\\NonExistent" not in folder.attributes
        if not exists and not subscribed_only:
            continue
        if special_only and not attributes & SPECIAL_USE:
            continue
        if not show_subscribed or lsub:
            attributes.discard("\\Subscribed")
        if lsub:
            # RFC 3501 §6.3.9: LSUB's only attribute is \Noselect, for a level shown
            # because of a subscribed name below it. A subscribed folder gets (), as
            # Dovecot 2.3 answers (\HasChildren and the rest are LIST's, RFC 9051 §7.3.1).
            attributes = {"\\Noselect"} if not folder.subscribed else set()
        if "\\NonExistent" in attributes:
            attributes.discard("\\Noselect")
        data: list[Value] = [
            Atom("LSUB" if lsub else "LIST"),
            format_flags(attributes),
            separator,
            encode_name(session, folder.name),
        ]
        if hidden_child and recursive and not lsub:
            # RFC 5258 §6: the selection options in CHILDINFO are always quoted.
            data.append(Atom('("CHILDINFO" ("SUBSCRIBED"))'))
        out.append(response(None, *data, utf8=session.utf8))
        if args.status_items is not None and folder.selectable and exists:
            with contextlib.suppress(ImapError):
                out.append(await _status_line(session, folder.name, args.status_items))
    session.write(b"".join(out))
    await session.tagged_ok(command, f"{'Lsub' if lsub else 'List'} completed.")


def _list_patterns(session: SessionContext, reference: str, patterns: tuple[str, ...]) -> list[str]:
    """The Unicode patterns that reference and patterns name. One that is not valid
    mUTF-7 names no mailbox, so it matches nothing and is left out: RFC 9051 §6.3.9
    matches names against it, and only the commands that make a name refuse one
    (Dovecot answers OK with no match)."""
    try:
        prefix = _unicode_name(session, reference) if reference else ""
    except ValueError:
        return []
    out = []
    for pattern in patterns:
        try:
            name = _unicode_name(session, pattern) if pattern else ""
        except ValueError:
            continue
        out.append(full_pattern(prefix, name, session.separator))
    return out


async def _list_line(session: SessionContext, name: str) -> bytes:
    """`* LIST (attributes) "." "name"` of one folder, as `LIST "" name` shows it."""
    folders = await account_of(session).folders()
    attributes = next((f.attributes for f in folders if f.name == name), frozenset())
    return response(
        None,
        Atom("LIST"),
        format_flags(attributes),
        session.separator,
        encode_name(session, name),
        utf8=session.utf8,
    )


def _with_subscribed_ancestors(folders: list[FolderInfo], separator: str) -> list[FolderInfo]:
    """The folders, and the levels above subscribed names that exist nowhere, as
    \\NonExistent (RFC 5258 §3.5, example 8 A2: `Foo` when only `Foo/Baz` is
    subscribed and `Foo` is no folder)."""
    known = {folder.name for folder in folders}
    missing: set[str] = set()
    for folder in folders:
        if not folder.subscribed:
            continue
        parent, sep, _ = folder.name.rpartition(separator)
        while sep and parent not in known:
            missing.add(parent)
            parent, sep, _ = parent.rpartition(separator)
    if not missing:
        return folders
    extra = [FolderInfo(name, frozenset({"\\NonExistent"}), False, False) for name in missing]
    return sorted([*folders, *extra], key=lambda f: (f.name != INBOX, f.name))


def _has_subscribed_child(
    name: str, subscribed: list[str], separator: str, matched: Callable[[str], bool]
) -> bool:
    """Whether a subscribed name (`subscribed` is sorted) below `name` is not matched."""
    prefix = name + separator
    for index in range(bisect_left(subscribed, prefix), len(subscribed)):
        child = subscribed[index]
        if not child.startswith(prefix):
            return False
        if not matched(child):
            return True
    return False


# -- STATUS ----------------------------------------------------------------------------------


async def status(session: SessionContext, command: Command) -> None:
    assert isinstance(command.args, Status)
    name = decode_name(session, command.args.mailbox)
    if "HIGHESTMODSEQ" in command.args.items:
        session.enable_condstore()  # RFC 7162 §3.1: a CONDSTORE-enabling command
    # The name as the client sent it, as Dovecot answers: a client that asked for
    # "inbox" finds its answer under "inbox".
    shown = command.args.mailbox
    session.write(await _status_line(session, name, command.args.items, shown))
    await session.tagged_ok(command, "Status completed.")


async def _status_line(
    session: SessionContext, name: str, items: tuple[str, ...], shown: str | None = None
) -> bytes:
    try:
        folder = await account_of(session).status(name, recent="RECENT" in items)
    except STORE_ERRORS as error:
        raise store_failure(session, error, name) from None
    values = {
        "MESSAGES": folder.messages,
        "UIDNEXT": folder.uidnext,
        "UIDVALIDITY": folder.uidvalidity,
        "UNSEEN": folder.unseen,
        "RECENT": folder.recent,
        "SIZE": folder.size,
        "HIGHESTMODSEQ": folder.highestmodseq,
        "DELETED": folder.deleted,
        "APPENDLIMIT": session.settings.max_message_size,
    }
    data: list[Value] = []
    for item in items:
        if item in values:
            data += [Atom(item), values[item]]
    if shown is None:
        shown = encode_name(session, name)
    return response(None, Atom("STATUS"), shown, data, utf8=session.utf8)


# -- NAMESPACE, QUOTA -------------------------------------------------------------------------


async def namespace(session: SessionContext, command: Command) -> None:
    # RFC 2342: one personal namespace with no prefix; no other users', no shared.
    session.write(
        b'* NAMESPACE (("" ' + response(None, session.separator)[2:-2] + b")) NIL NIL\r\n"
    )
    await session.tagged_ok(command, "Namespace completed.")


async def _quota_line(session: SessionContext) -> bytes | None:
    used, limit, _messages = await account_of(session).quota()
    if limit is None:
        return None
    # RFC 9208 §5.1: STORAGE in units of 1024 octets.
    return response(None, Atom("QUOTA"), QUOTA_ROOT, [Atom("STORAGE"), used // 1024, limit // 1024])


async def getquotaroot(session: SessionContext, command: Command) -> None:
    assert isinstance(command.args, MailboxArgument)
    name = decode_name(session, command.args.mailbox)
    mailbox = await open_mailbox(session, name)
    await mailbox.close()
    line = await _quota_line(session)
    roots: list[Value] = [Atom("QUOTAROOT"), command.args.mailbox]  # as sent, like STATUS
    if line is not None:
        roots.append(QUOTA_ROOT)
    session.write(response(None, *roots, utf8=session.utf8) + (line or b""))
    await session.tagged_ok(command, "Getquotaroot completed.")


async def getquota(session: SessionContext, command: Command) -> None:
    assert isinstance(command.args, GetQuota)
    line = await _quota_line(session)
    if command.args.root != QUOTA_ROOT or line is None:
        raise responses.no("Quota root does not exist.")
    session.write(line)
    await session.tagged_ok(command, "Getquota completed.")


async def setquota(session: SessionContext, command: Command) -> None:
    raise responses.no("Quota can be changed only by the administrator.", "NOPERM")
