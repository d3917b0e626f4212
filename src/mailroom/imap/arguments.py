"""The arguments of each IMAP command: RFC 9051 §6 grammar, command by command.

`parse_arguments` reads a command's tokens (`mailroom.wire.tokens`) into the dataclass of
commands.py that its name calls for, raising GrammarError with the text of the
BAD answer. parser.py has already read the tag, the name and every literal;
this module only judges what the arguments say. Pure: no state, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mailroom.imap.commands import (
    STATUS_ITEMS,
    Append,
    AppendMessage,
    Authenticate,
    CancelUpdate,
    CatenatePart,
    CatenateText,
    CatenateUrl,
    CommandArguments,
    Compress,
    Copy,
    Create,
    Enable,
    Expunge,
    Fetch,
    GetQuota,
    Id,
    ListMailboxes,
    Login,
    MailboxArgument,
    NoArguments,
    Notify,
    Qresync,
    Rename,
    Search,
    Select,
    SetQuota,
    Sort,
    SortCriterion,
    SortKey,
    Status,
    Store,
    StoreMode,
    Thread,
)
from mailroom.imap.fetch_items import parse_fetch_items
from mailroom.imap.notify_arguments import parse_notify
from mailroom.imap.search_keys import (
    SYSTEM_FLAGS,
    keyword_flag,
    parse_charset,
    parse_return_options,
    parse_search_keys,
    parse_search_program,
)
from mailroom.imap.tokens import (
    MAX_MOD_SEQUENCE,
    ImapTokenReader,
    ParserLimits,
    date_time_value,
)
from mailroom.wire.tokens import (
    GrammarError,
    Group,
    Literal,
    Quoted,
    Word,
    decode_text,
    string_bytes,
)

_Grammar = Callable[[ImapTokenReader, ParserLimits, bool], CommandArguments]
_MECHANISM = re.compile(r"[A-Z0-9_-]{1,20}")  # RFC 4422 §3.1
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_SYSTEM_FLAGS = {flag.upper(): flag for flag in SYSTEM_FLAGS}
_SPECIAL_USE = {
    use.upper(): use
    # RFC 6154 §2, RFC 8457 (\\Important)
    for use in (
        "\\All",
        "\\Archive",
        "\\Drafts",
        "\\Flagged",
        "\\Important",
        "\\Junk",
        "\\Sent",
        "\\Trash",
    )
}
_LIST_SELECTION = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})
_LIST_RECURSIVE_BASES = frozenset({"SUBSCRIBED", "SPECIAL-USE"})
_LIST_RETURNS = frozenset({"SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS"})
_SORT_KEYS = {key.value: key for key in SortKey}


def _no_arguments(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> NoArguments:
    return NoArguments()


def _authenticate(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Authenticate:
    mechanism = reader.keyword()
    if not _MECHANISM.fullmatch(mechanism):
        raise GrammarError("Invalid SASL mechanism")
    if reader.at_end():
        return Authenticate(mechanism)
    response = reader.word()
    if response != "=" and not _BASE64.fullmatch(response):
        raise GrammarError("Invalid base64 in initial response")
    return Authenticate(mechanism, response)


def _login(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Login:
    return Login(reader.astring(), reader.astring())


def _enable(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Enable:
    if reader.at_end():
        raise GrammarError("Missing argument")
    _at_most(reader.remaining(), limits, "capabilities")
    capabilities = []
    while not reader.at_end():
        capabilities.append(reader.keyword())
    return Enable(tuple(capabilities))


def _id(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Id:
    if reader.take_keyword("NIL"):
        return Id(None)
    pairs = reader.group()
    _at_most(pairs.remaining() // 2, limits, "ID parameters")
    parameters = []
    while not pairs.at_end():
        parameters.append((pairs.string(), pairs.nstring()))
    return Id(tuple(parameters))


def _select(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Select:
    mailbox = reader.astring()
    condstore, qresync = False, None
    if not reader.at_end():
        parameters = reader.group()
        while not parameters.at_end():
            parameter = parameters.keyword()
            if parameter == "CONDSTORE":  # RFC 7162 §3.1.8
                condstore = True
            elif parameter == "QRESYNC":  # RFC 7162 §3.2.5
                qresync = _qresync(parameters.group())
            else:
                raise GrammarError("Unknown SELECT parameter")
    return Select(mailbox, condstore, qresync)


def _qresync(reader: ImapTokenReader) -> Qresync:
    uidvalidity = reader.nz_number()
    modseq = reader.mod_sequence()
    known_uids = reader.sequence_set() if isinstance(reader.peek(), Word) else None
    sequence_numbers = sequence_uids = None
    if not reader.at_end():
        match_data = reader.group()
        sequence_numbers, sequence_uids = match_data.sequence_set(), match_data.sequence_set()
        match_data.end()
    reader.end()
    return Qresync(uidvalidity, modseq, known_uids, sequence_numbers, sequence_uids)


def _create(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Create:
    mailbox = reader.astring()
    special_use: list[str] = []
    if not reader.at_end():
        parameters = reader.group()
        while not parameters.at_end():
            if parameters.keyword() != "USE":  # RFC 6154 §3
                raise GrammarError("Unknown CREATE parameter")
            uses = parameters.group()
            _at_most(uses.remaining(), limits, "special-use attributes")
            while not uses.at_end():
                use = uses.word()
                if not use.startswith("\\") or not keyword_flag(use[1:]):
                    raise GrammarError("Invalid special-use attribute")
                special_use.append(_SPECIAL_USE.get(use.upper(), use))
    return Create(mailbox, tuple(special_use))


def _mailbox(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> MailboxArgument:
    return MailboxArgument(reader.astring())


def _rename(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Rename:
    return Rename(reader.astring(), reader.astring())


def _list_mailbox(reader: ImapTokenReader) -> str:
    """RFC 9051 §9 list-mailbox = 1*list-char / string (wildcards % and * allowed)."""
    token = reader.take()
    if isinstance(token, Word):
        return token.text
    data = string_bytes(token)
    if data is None:
        raise GrammarError("Invalid mailbox pattern")
    return decode_text(data)


def _status_items(reader: ImapTokenReader, limits: ParserLimits) -> tuple[str, ...]:
    items = reader.group()
    if items.at_end():
        raise GrammarError("Missing STATUS items")
    _at_most(items.remaining(), limits, "STATUS items")
    result = []
    while not items.at_end():
        item = items.keyword()
        if item not in STATUS_ITEMS:
            raise GrammarError("Unknown STATUS item")
        result.append(item)
    return tuple(dict.fromkeys(result))


def _list(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> ListMailboxes:
    # RFC 5258 §6: list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
    #                     [SP list-return-opts]
    extended = False
    selection: set[str] = set()
    if isinstance(reader.peek(), Group):
        extended = True
        options = reader.group()
        while not options.at_end():
            option = options.keyword()
            if option not in _LIST_SELECTION:
                raise GrammarError("Unknown LIST selection option")
            selection.add(option)
        # RFC 5258 §3.1: RECURSIVEMATCH alone, or only with REMOTE, is a syntax error; it
        # modifies SUBSCRIBED (and SPECIAL-USE, which Dovecot accepts with it too).
        if "RECURSIVEMATCH" in selection and not selection & _LIST_RECURSIVE_BASES:
            raise GrammarError("RECURSIVEMATCH needs another selection option")
    reference = reader.astring()
    if isinstance(reader.peek(), Group):
        extended = True
        group = reader.group()
        if group.at_end():
            raise GrammarError("Missing mailbox pattern")
        _at_most(group.remaining(), limits, "patterns")
        patterns = []
        while not group.at_end():
            patterns.append(_list_mailbox(group))
    else:
        patterns = [_list_mailbox(reader)]
    returns: set[str] = set()
    status_items = None
    if reader.take_keyword("RETURN"):
        extended = True
        options = reader.group()
        while not options.at_end():
            option = options.keyword()
            if option not in _LIST_RETURNS:
                raise GrammarError("Unknown LIST return option")
            returns.add(option)
            if option == "STATUS":  # RFC 5819 §2
                status_items = _status_items(options, limits)
    return ListMailboxes(
        reference, tuple(patterns), frozenset(selection), frozenset(returns), status_items, extended
    )


def _lsub(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> ListMailboxes:
    return ListMailboxes(reader.astring(), (_list_mailbox(reader),))


def _status(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Status:
    return Status(reader.astring(), _status_items(reader, limits))


def _flag(text: str) -> str:
    """RFC 9051 §9 flag: a system flag (given its usual spelling) or a keyword."""
    if text.startswith("\\"):
        flag = _SYSTEM_FLAGS.get(text.upper())
        if flag is None:
            raise GrammarError(f"Invalid system flag {text[:40]}")
        return flag
    return keyword_flag(text)


def _flags(reader: ImapTokenReader, limits: ParserLimits) -> tuple[str, ...]:
    _at_most(reader.remaining(), limits, "flags")
    flags = []
    while not reader.at_end():
        flags.append(_flag(reader.word()))
    return tuple(dict.fromkeys(flags))


def _append(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Append:
    mailbox = reader.astring()
    messages = []
    while True:
        flags: tuple[str, ...] = ()
        internal_date = None
        if isinstance(reader.peek(), Group):
            flags = _flags(reader.group(), limits)
        date = reader.peek()
        if isinstance(date, Quoted):
            reader.take()
            internal_date = date_time_value(decode_text(date.data))
        if reader.take_keyword("CATENATE"):  # RFC 4469 §5: CATENATE (part…)
            parts = _catenate_parts(reader.group(), limits)
            message = AppendMessage(None, flags, internal_date, catenate=parts)
        else:
            utf8 = reader.take_keyword("UTF8")  # RFC 6855 §4: UTF8 (literal8)
            data_reader = reader.group() if utf8 else reader
            data = _message_literal(data_reader)
            if utf8:
                data_reader.end()
            message = AppendMessage(data.data, flags, internal_date, data.binary, utf8)
        messages.append(message)
        _at_most(len(messages), limits, "messages")
        if reader.at_end():
            return Append(mailbox, tuple(messages))


def _message_literal(reader: ImapTokenReader) -> Literal:
    data = reader.take()
    if not isinstance(data, Literal) or not data.message:
        raise GrammarError("Missing message literal")
    return data


def _catenate_parts(reader: ImapTokenReader, limits: ParserLimits) -> tuple[CatenatePart, ...]:
    """RFC 4469 §5: cat-part *(SP cat-part), cat-part = "TEXT" SP literal / "URL" SP
    astring (a literal8 TEXT with BINARY, RFC 3516; the session judges it)."""
    if reader.at_end():
        raise GrammarError("Empty CATENATE list")
    _at_most(reader.remaining() // 2, limits, "CATENATE parts")
    parts: list[CatenatePart] = []
    while not reader.at_end():
        kind = reader.keyword()
        if kind == "TEXT":
            text = _message_literal(reader)
            parts.append(CatenateText(text.data, text.binary))
        elif kind == "URL":
            parts.append(CatenateUrl(reader.astring()))
        else:
            raise GrammarError("Invalid CATENATE part")
    return tuple(parts)


def _expunge(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Expunge:
    return Expunge(reader.sequence_set(max_ranges=limits.max_sequence_ranges) if uid else None)


def _search(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Search:
    program = parse_search_program(
        reader, max_keys=limits.max_items, max_depth=limits.max_search_depth
    )
    return Search(program.key, program.charset, program.return_options, program.partial)


def _fetch(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Fetch:
    sequence = reader.sequence_set(max_ranges=limits.max_sequence_ranges)
    items = parse_fetch_items(reader, max_items=limits.max_items)
    changed_since, vanished = None, False
    if not reader.at_end():
        modifiers = reader.group()
        while not modifiers.at_end():
            modifier = modifiers.keyword()
            if modifier == "CHANGEDSINCE":  # RFC 7162 §3.1.4.1
                changed_since = modifiers.mod_sequence()
            elif modifier == "VANISHED":  # RFC 7162 §3.2.6
                vanished = True
            else:
                raise GrammarError("Unknown FETCH modifier")
        if vanished and (not uid or changed_since is None):
            raise GrammarError("VANISHED needs UID FETCH and CHANGEDSINCE")
    return Fetch(sequence, items, changed_since, vanished)


_STORE_MODES = {"FLAGS": StoreMode.SET, "+FLAGS": StoreMode.ADD, "-FLAGS": StoreMode.REMOVE}


def _store(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Store:
    sequence = reader.sequence_set(max_ranges=limits.max_sequence_ranges)
    unchanged_since = None
    if isinstance(reader.peek(), Group):
        modifiers = reader.group()
        if modifiers.keyword() != "UNCHANGEDSINCE":  # RFC 7162 §3.1.3
            raise GrammarError("Unknown STORE modifier")
        unchanged_since = modifiers.number(MAX_MOD_SEQUENCE)
        modifiers.end()
    item = reader.keyword()
    silent = item.endswith(".SILENT")
    mode = _STORE_MODES.get(item.removesuffix(".SILENT"))
    if mode is None:
        raise GrammarError("Invalid STORE item")
    if isinstance(reader.peek(), Group):
        flags = _flags(reader.group(), limits)
    else:
        if reader.at_end():
            raise GrammarError("Missing argument")
        flags = _flags(reader, limits)
    return Store(sequence, mode, flags, silent, unchanged_since)


def _copy(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Copy:
    return Copy(reader.sequence_set(max_ranges=limits.max_sequence_ranges), reader.astring())


def _sort(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Sort:
    """RFC 5267 §5 extended-sort: SORT [RETURN (…)] (criteria) charset keys. RETURN is
    also read after the charset, where no search key has that name: a strict tester
    (imaptest's sort-partial) writes it there."""
    return_options, partial = None, None
    if reader.take_keyword("RETURN"):
        return_options, partial = parse_return_options(reader)
    criteria_reader = reader.group()
    if criteria_reader.at_end():
        raise GrammarError("Missing sort criteria")
    _at_most(criteria_reader.remaining(), limits, "sort criteria")
    criteria = []
    while not criteria_reader.at_end():
        reverse = criteria_reader.take_keyword("REVERSE")
        key = _SORT_KEYS.get(criteria_reader.keyword())
        if key is None:
            raise GrammarError("Unknown sort key")
        criteria.append(SortCriterion(key, reverse))
    charset = parse_charset(reader)
    if return_options is None and reader.take_keyword("RETURN"):
        return_options, partial = parse_return_options(reader)
    keys = parse_search_keys(reader, max_keys=limits.max_items, max_depth=limits.max_search_depth)
    return Sort(tuple(criteria), charset, keys, return_options, partial)


def _thread(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Thread:
    algorithm = reader.keyword()
    charset = parse_charset(reader)
    key = parse_search_keys(reader, max_keys=limits.max_items, max_depth=limits.max_search_depth)
    return Thread(algorithm, charset, key)


def _getquota(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> GetQuota:
    return GetQuota(reader.astring())


def _setquota(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> SetQuota:
    root = reader.astring()
    resources = reader.group()
    _at_most(resources.remaining() // 2, limits, "quota resources")
    limits_given = []
    while not resources.at_end():
        limits_given.append((resources.keyword(), resources.number(MAX_MOD_SEQUENCE)))
    return SetQuota(root, tuple(limits_given))


def _compress(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Compress:
    return Compress(reader.keyword())


def _cancelupdate(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> CancelUpdate:
    """Quoted tags only, as Dovecot (and RFC 5267 §5) take them."""
    tags = []
    while True:
        token = reader.take()
        if not isinstance(token, Quoted):
            raise GrammarError("Invalid parameters.")
        tags.append(decode_text(token.data))
        _at_most(len(tags), limits, "tags")
        if reader.at_end():
            return CancelUpdate(tuple(tags))


def _notify(reader: ImapTokenReader, limits: ParserLimits, uid: bool) -> Notify:
    return parse_notify(reader, limits)


def _at_most(count: int, limits: ParserLimits, what: str) -> None:
    if count > limits.max_items:
        raise GrammarError(f"Too many {what}")


_GRAMMAR: dict[str, _Grammar] = {
    **dict.fromkeys(
        (
            "CAPABILITY",
            "NOOP",
            "LOGOUT",
            "STARTTLS",
            "NAMESPACE",
            "CHECK",
            "CLOSE",
            "UNSELECT",
            "IDLE",
        ),
        _no_arguments,
    ),
    "AUTHENTICATE": _authenticate,
    "LOGIN": _login,
    "ENABLE": _enable,
    "ID": _id,
    "SELECT": _select,
    "EXAMINE": _select,
    "CREATE": _create,
    "DELETE": _mailbox,
    "SUBSCRIBE": _mailbox,
    "UNSUBSCRIBE": _mailbox,
    "GETQUOTAROOT": _mailbox,
    "RENAME": _rename,
    "LIST": _list,
    "LSUB": _lsub,
    "STATUS": _status,
    "APPEND": _append,
    "EXPUNGE": _expunge,
    "SEARCH": _search,
    "FETCH": _fetch,
    "STORE": _store,
    "COPY": _copy,
    "MOVE": _copy,
    "SORT": _sort,
    "THREAD": _thread,
    "GETQUOTA": _getquota,
    "SETQUOTA": _setquota,
    "COMPRESS": _compress,
    "CANCELUPDATE": _cancelupdate,
    "NOTIFY": _notify,
}
UID_COMMANDS = frozenset({"COPY", "MOVE", "FETCH", "STORE", "SEARCH", "SORT", "THREAD", "EXPUNGE"})
"""The commands that have a UID form (RFC 9051 §6.4.9, RFC 5256, RFC 6851, RFC 4315)."""
COMMAND_NAMES = frozenset(_GRAMMAR)
"""Every command the parser reads (the session decides which it offers and when)."""


def parse_arguments(
    name: str, reader: ImapTokenReader, limits: ParserLimits, uid: bool
) -> CommandArguments:
    """The arguments of command `name` (upper-case, one of COMMAND_NAMES), all of them."""
    arguments = _GRAMMAR[name](reader, limits, uid)
    reader.end()
    return arguments
