"""IMAP commands as typed values: what parser.py hands the session.

`Command(tag, name, uid, args)`: `name` is upper-case (`FETCH` for `UID FETCH`,
with `uid=True`), `args` one of the frozen dataclasses below, documented with
the RFC section of its grammar. Commands without arguments (CAPABILITY, NOOP,
LOGOUT, STARTTLS, NAMESPACE, CHECK, CLOSE, UNSELECT, IDLE) carry `NoArguments()`;
EXPUNGE carries `Expunge(None)`. Mailbox names are the raw text the client sent
(modified UTF-7, or UTF-8 under UTF8=ACCEPT): decoding and the "INBOX in any
case" rule are the session's. Nothing here checks state or permissions.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass, field

from mailroom.imap.fetch_items import FetchItem
from mailroom.imap.search_keys import SearchKey
from mailroom.imap.sequence import SequenceSet


@dataclass(frozen=True)
class NoArguments:
    """Commands that take none."""


@dataclass(frozen=True)
class Authenticate:
    """RFC 9051 §6.2.2, RFC 4959 (SASL-IR): AUTHENTICATE mechanism [initial-response]."""

    mechanism: str
    """Upper-cased."""
    initial_response: str | None = field(default=None, repr=False)
    """Base64 as sent, "=" for an empty one; None when not given. Out of repr: it may
    hold a password."""


@dataclass(frozen=True)
class Login:
    """RFC 9051 §6.2.3: LOGIN userid password (astrings)."""

    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Enable:
    """RFC 5161 §3.1: ENABLE capability… (upper-cased, in order given)."""

    capabilities: tuple[str, ...]


@dataclass(frozen=True)
class Id:
    """RFC 2971 §3.1: ID ("(" field value … ")" / NIL); None for NIL. Values may be None."""

    parameters: tuple[tuple[str, str | None], ...] | None


@dataclass(frozen=True)
class Qresync:
    """RFC 7162 §3.2.5: QRESYNC (uidvalidity modseq [known-uids] [(seq-match uid-match)])."""

    uidvalidity: int
    modseq: int
    known_uids: SequenceSet | None = None
    known_sequence_numbers: SequenceSet | None = None
    """The seq-match half of seq-match-data (paired with known_sequence_uids)."""
    known_sequence_uids: SequenceSet | None = None


@dataclass(frozen=True)
class Select:
    """RFC 9051 §6.3.2/§6.3.3 SELECT and EXAMINE mailbox [(CONDSTORE) / (QRESYNC (…))]
    (RFC 7162 §3.1.8, §3.2.5)."""

    mailbox: str
    condstore: bool = False
    qresync: Qresync | None = None


@dataclass(frozen=True)
class Create:
    """RFC 9051 §6.3.4 CREATE mailbox [(USE (\\Sent …))] (RFC 6154 §3)."""

    mailbox: str
    special_use: tuple[str, ...] = ()
    """Special-use attributes, the known ones in their usual spelling (`\\Sent`)."""


@dataclass(frozen=True)
class MailboxArgument:
    """DELETE, SUBSCRIBE, UNSUBSCRIBE (RFC 9051 §6.3.5, §6.3.7, §6.3.8) and
    GETQUOTAROOT (RFC 9208 §4.1.2): one mailbox name."""

    mailbox: str


@dataclass(frozen=True)
class Rename:
    """RFC 9051 §6.3.6: RENAME existing new."""

    old: str
    new: str


@dataclass(frozen=True)
class ListMailboxes:
    """LIST (RFC 9051 §6.3.9, RFC 5258 LIST-EXTENDED, RFC 6154, RFC 5819 LIST-STATUS)
    and LSUB (RFC 3501 §6.3.9: `selection={"SUBSCRIBED"}`-like, patterns as given).

    `LIST [(select-options)] reference (pattern / (patterns)) [RETURN (options)]`.
    Options are upper-cased; `status_items` are the STATUS items of RETURN (STATUS
    (…)), None when not asked. `extended` is RFC 5258 §3's "extended LIST": select
    options, several patterns in parentheses, or RETURN were given.
    """

    reference: str
    patterns: tuple[str, ...]
    selection: frozenset[str] = frozenset()
    """SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE."""
    returns: frozenset[str] = frozenset()
    """SUBSCRIBED, CHILDREN, SPECIAL-USE, STATUS."""
    status_items: tuple[str, ...] | None = None
    extended: bool = False


@dataclass(frozen=True)
class Status:
    """RFC 9051 §6.3.11: STATUS mailbox (items), upper-cased: MESSAGES UIDNEXT
    UIDVALIDITY UNSEEN RECENT SIZE (RFC 8438) HIGHESTMODSEQ (RFC 7162) DELETED
    APPENDLIMIT (RFC 7889)."""

    mailbox: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class CatenateText:
    """RFC 4469 §5 `TEXT literal` (or literal8, RFC 3516): octets the client sends."""

    data: object
    """What the session gave `feed_literal` for it (a file, bytes, …)."""
    binary: bool = False


@dataclass(frozen=True)
class CatenateUrl:
    """RFC 4469 §5 `URL astring`: an IMAP URL (RFC 5092) of a message or part, as sent."""

    url: str


CatenatePart = CatenateText | CatenateUrl


@dataclass(frozen=True)
class AppendMessage:
    """One message of APPEND: [flags] [date-time] literal (RFC 9051 §6.3.12),
    `~{n}` literal8 (RFC 3516 §4.3: binary=True), UTF8 (~{n}) (RFC 6855 §4:
    utf8=True), or CATENATE (part…) (RFC 4469 §5: `catenate` holds the parts, `data` is
    None)."""

    data: object
    """What the session gave `feed_literal` for the message (a file, bytes, …)."""
    flags: tuple[str, ...] = ()
    """System flags in their usual spelling (`\\Seen`), keywords as written."""
    internal_date: datetime.datetime | None = None
    binary: bool = False
    utf8: bool = False
    catenate: tuple[CatenatePart, ...] | None = None


@dataclass(frozen=True)
class Append:
    """RFC 9051 §6.3.12 APPEND mailbox message…; several with MULTIAPPEND (RFC 3502)."""

    mailbox: str
    messages: tuple[AppendMessage, ...]


@dataclass(frozen=True)
class Expunge:
    """RFC 9051 §6.4.3 EXPUNGE (uids None) and UID EXPUNGE sequence-set (§6.4.9, RFC 4315)."""

    uids: SequenceSet | None = None


@dataclass(frozen=True)
class Search:
    """RFC 9051 §6.4.4: SEARCH [RETURN (…)] [CHARSET charset] keys.

    `return_options` None without RETURN (a `* SEARCH` answer), else the upper-cased
    options of RFC 4731/5182/5267 (MIN MAX ALL COUNT SAVE CONTEXT UPDATE PARTIAL;
    empty for `RETURN ()`, which means ALL), `partial` PARTIAL's range. `charset`
    upper-cased, None when not given (US-ASCII); the session answers NO [BADCHARSET]
    for charsets it lacks.
    """

    key: SearchKey
    charset: str | None = None
    return_options: frozenset[str] | None = None
    partial: tuple[int, int] | None = None


@dataclass(frozen=True)
class Fetch:
    """RFC 9051 §6.4.5 FETCH sequence-set items [(CHANGEDSINCE n [VANISHED])]
    (RFC 7162 §3.1.4.1, §3.2.6; VANISHED only with UID FETCH)."""

    sequence: SequenceSet
    items: tuple[FetchItem, ...]
    changed_since: int | None = None
    vanished: bool = False


class StoreMode(enum.Enum):
    """FLAGS replaces, +FLAGS adds, -FLAGS removes (RFC 9051 §6.4.6)."""

    SET = "set"
    ADD = "add"
    REMOVE = "remove"


@dataclass(frozen=True)
class Store:
    """RFC 9051 §6.4.6 STORE sequence-set [(UNCHANGEDSINCE n)] (+|-)FLAGS[.SILENT]
    (flags) (RFC 7162 §3.1.3); flags as in AppendMessage."""

    sequence: SequenceSet
    mode: StoreMode
    flags: tuple[str, ...]
    silent: bool = False
    unchanged_since: int | None = None


@dataclass(frozen=True)
class Copy:
    """RFC 9051 §6.4.7 COPY and §6.4.8 MOVE (RFC 6851): sequence-set mailbox."""

    sequence: SequenceSet
    mailbox: str


class SortKey(enum.Enum):
    """RFC 5256 §3 sort-key, and DISPLAYFROM DISPLAYTO of RFC 5957."""

    ARRIVAL = "ARRIVAL"
    CC = "CC"
    DATE = "DATE"
    FROM = "FROM"
    SIZE = "SIZE"
    SUBJECT = "SUBJECT"
    TO = "TO"
    DISPLAYFROM = "DISPLAYFROM"
    DISPLAYTO = "DISPLAYTO"


@dataclass(frozen=True)
class SortCriterion:
    """One sort key, with REVERSE (RFC 5256 §3)."""

    key: SortKey
    reverse: bool = False


@dataclass(frozen=True)
class Sort:
    """RFC 5256 §3 SORT (criteria) charset keys; RFC 5267 ESORT: SORT RETURN (…) first."""

    criteria: tuple[SortCriterion, ...]
    charset: str
    key: SearchKey
    return_options: frozenset[str] | None = None
    partial: tuple[int, int] | None = None


@dataclass(frozen=True)
class Thread:
    """RFC 5256 §3 THREAD algorithm charset keys (algorithm upper-cased, not checked:
    the session answers for the ones it lacks)."""

    algorithm: str
    charset: str
    key: SearchKey


@dataclass(frozen=True)
class GetQuota:
    """RFC 9208 §4.1.1: GETQUOTA root."""

    root: str


@dataclass(frozen=True)
class SetQuota:
    """RFC 9208 §4.1.4: SETQUOTA root ((resource limit)…), resources upper-cased."""

    root: str
    limits: tuple[tuple[str, int], ...]


class NotifyFilter(enum.Enum):
    """RFC 5465 §6 filter-mailboxes: which mailboxes an event group is about."""

    SELECTED = "SELECTED"
    SELECTED_DELAYED = "SELECTED-DELAYED"
    INBOXES = "INBOXES"
    PERSONAL = "PERSONAL"
    SUBSCRIBED = "SUBSCRIBED"
    SUBTREE = "SUBTREE"
    MAILBOXES = "MAILBOXES"


@dataclass(frozen=True)
class NotifyGroup:
    """RFC 5465 §8 event-group: a mailbox filter and its events (none for `NONE`)."""

    filter: NotifyFilter
    mailboxes: tuple[str, ...] = ()
    """The names of SUBTREE and MAILBOXES, as sent."""
    events: tuple[str, ...] = ()
    """The RFC's spelling for the events it names (`MessageNew`), others as sent: the
    session refuses those it lacks with NO [BADEVENT] (RFC 5465 §3.1)."""
    fetch: tuple[FetchItem, ...] = ()
    """MessageNew's fetch attributes (selected filters only)."""


@dataclass(frozen=True)
class Notify:
    """RFC 5465 §3.1: NOTIFY NONE (`groups` None) and NOTIFY SET [STATUS] event-groups."""

    groups: tuple[NotifyGroup, ...] | None
    status: bool = False


@dataclass(frozen=True)
class Compress:
    """RFC 4978 §3: COMPRESS mechanism (upper-cased; DEFLATE is the only one)."""

    mechanism: str


@dataclass(frozen=True)
class CancelUpdate:
    """RFC 5267 §4.3.5 CANCELUPDATE 1*(SP quoted): the tags of UPDATE searches."""

    tags: tuple[str, ...]


CommandArguments = (
    NoArguments
    | Authenticate
    | Login
    | Enable
    | Id
    | Select
    | Create
    | MailboxArgument
    | Rename
    | ListMailboxes
    | Status
    | Append
    | Expunge
    | Search
    | Fetch
    | Store
    | Copy
    | Sort
    | Thread
    | GetQuota
    | SetQuota
    | Compress
    | CancelUpdate
    | Notify
)


@dataclass(frozen=True)
class Command:
    """A whole command as read: `name` upper-case, `uid` for the UID forms."""

    tag: str
    name: str
    uid: bool
    args: CommandArguments = NoArguments()


STATUS_ITEMS = frozenset(
    {
        "MESSAGES",
        "UIDNEXT",
        "UIDVALIDITY",
        "UNSEEN",
        "RECENT",
        "SIZE",
        "HIGHESTMODSEQ",
        "DELETED",
        "APPENDLIMIT",
    }
)
"""STATUS items we parse (the session answers each)."""
