"""THREAD (RFC 5256 §3): the ORDEREDSUBJECT and REFERENCES algorithms, and the response.

REFERENCES follows RFC 5256 §2.2 step by step (linking by Message-ID/References/
In-Reply-To, dummy pruning, sorting by sent date, grouping by base subject). Every
walk over the tree is iterative, so a hostile chain of thousands of replies cannot
exhaust Python's recursion limit; references beyond MAX_REFERENCES per message are
ignored (the most recent ones are kept) to bound the loop checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mailroom.imap.ordering import base_subject_of, collation_key, sent_date
from mailroom.message import MessagePart, unfold

MAX_REFERENCES = 100


@dataclass(frozen=True)
class ThreadInput:
    """What threading needs of one message; `id` is what the response lists."""

    id: int
    sequence: int
    date: datetime
    """Sent date (Date header, else INTERNALDATE), timezone-aware."""
    message_id: str | None = None
    references: tuple[str, ...] = ()
    """References' message-ids, oldest first (or the first of In-Reply-To)."""
    subject: str = ""
    """Base subject (RFC 5256 §2.1), case-mapped for comparison."""
    is_reply_or_forward: bool = False

    @classmethod
    def from_part(
        cls, id: int, sequence: int, part: MessagePart, internaldate: datetime
    ) -> ThreadInput:
        ids = message_ids(part.header("Message-ID"))
        references = message_ids(part.header("References"))
        if not references:
            references = message_ids(part.header("In-Reply-To"))[:1]
        subject = base_subject_of(part.header("Subject"))
        return cls(
            id=id,
            sequence=sequence,
            date=sent_date(part, internaldate),
            message_id=ids[0] if ids else None,
            references=tuple(references[-MAX_REFERENCES:]),
            subject=collation_key(subject.text),
            is_reply_or_forward=subject.is_reply_or_forward,
        )


_MSG_ID = re.compile(rb"<([^<>]*)>")


def message_ids(raw: bytes | None) -> list[str]:
    """The `<local@domain>` ids of a header, blanks removed; ids without `@` are invalid."""
    if raw is None:
        return []
    ids: list[str] = []
    for match in _MSG_ID.finditer(unfold(raw)):
        text = re.sub(rb"[ \t]", b"", match.group(1))
        if b"@" in text:
            ids.append(text.decode("utf-8", "surrogateescape"))
    return ids


@dataclass
class ThreadNode:
    """A thread member; `id` None is a dummy (a message referred to but not present)."""

    id: int | None
    children: list[ThreadNode] = field(default_factory=list)


class _Container:
    __slots__ = ("children", "message", "parent")

    def __init__(self, message: ThreadInput | None = None) -> None:
        self.message = message
        self.parent: _Container | None = None
        self.children: list[_Container] = []


def _is_ancestor(ancestor: _Container, node: _Container) -> bool:
    current: _Container | None = node
    while current is not None:
        if current is ancestor:
            return True
        current = current.parent
    return False


def _link(parent: _Container, child: _Container) -> None:
    if child.parent is not None:
        child.parent.children.remove(child)
    child.parent = parent
    parent.children.append(child)


def _date_key(container: _Container) -> tuple[float, int]:
    """Sent date and sequence; a dummy takes its first child's (children sorted first)."""
    current = container
    while current.message is None and current.children:
        current = current.children[0]
    if current.message is None:
        return (0.0, 0)
    return (_timestamp(current.message.date), current.message.sequence)


def _timestamp(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def _post_order(root: _Container) -> list[_Container]:
    """Every container below `root` (and root), children before their parent."""
    order: list[_Container] = []
    stack = [root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(node.children)
    order.reverse()
    return order


def _link_messages(messages: list[ThreadInput]) -> list[_Container]:
    """Step 1: containers for every message and every referenced id."""
    table: dict[str, _Container] = {}
    containers: list[_Container] = []

    def lookup(message_id: str) -> _Container:
        found = table.get(message_id)
        if found is None:
            found = table[message_id] = _Container()
            containers.append(found)
        return found

    for message in messages:
        # 1.A: a duplicate Message-ID is treated as if there were none.
        container: _Container | None = None
        if message.message_id is not None:
            found = table.get(message.message_id)
            if found is None or found.message is None:
                container = lookup(message.message_id)
        if container is None:
            container = _Container()
            containers.append(container)
        container.message = message
        # 1.B: link the references in order, keeping existing links and avoiding loops.
        previous: _Container | None = None
        for reference in message.references:
            current = lookup(reference)
            if (
                previous is not None
                and current.parent is None
                and current is not previous
                and not _is_ancestor(current, previous)
            ):
                _link(previous, current)
            previous = current
        # 1.C: the last reference is this message's parent (unless that makes a loop).
        if previous is not None and not _is_ancestor(container, previous):
            if container.parent is not previous:
                _link(previous, container)
        elif container.parent is not None:
            container.parent.children.remove(container)
            container.parent = None
    return containers


def _prune(root: _Container) -> None:
    """Step 3: drop childless dummies; splice a dummy's children into its place,
    except at the top level when it has more than one child."""
    for node in _post_order(root):
        kept: list[_Container] = []
        for child in node.children:
            if child.message is None:
                if not child.children:
                    continue
                if node is not root or len(child.children) == 1:
                    for grandchild in child.children:
                        grandchild.parent = node
                        kept.append(grandchild)
                    continue
            kept.append(child)
        node.children = kept


def _sort_siblings(root: _Container) -> None:
    """Sort every set of siblings by sent date, the youngest sets first (step 6)."""
    for node in _post_order(root):
        node.children.sort(key=_date_key)


def _group_by_subject(root: _Container) -> None:
    """Step 5: gather top-level threads that share a base subject."""

    def subject_of(container: _Container) -> tuple[str, bool]:
        message = container.message or container.children[0].message
        if message is None:
            return "", False
        is_reply = container.message is not None and message.is_reply_or_forward
        return message.subject, is_reply

    table: dict[str, _Container] = {}
    for container in root.children:
        subject, is_reply = subject_of(container)
        if not subject:
            continue
        old = table.get(subject)
        if (
            old is None
            or (old.message is not None and container.message is None)
            or (old.message is not None and old.message.is_reply_or_forward and not is_reply)
        ):
            table[subject] = container
    # Merged containers leave the top level by getting another parent; the top-level
    # list is rebuilt once at the end (removing one by one would be quadratic).
    top = list(root.children)
    position = {id(c): i for i, c in enumerate(top)}
    for container in list(top):
        if container.parent is not root:
            continue  # already merged into another thread
        subject, is_reply = subject_of(container)
        if not subject:
            continue
        other = table[subject]
        if other is container:
            continue
        if other.message is None and container.message is None:
            for child in container.children:
                child.parent = other
            other.children.extend(container.children)
            container.children = []
            container.parent = None
        elif other.message is None or (
            is_reply and not (other.message is not None and other.message.is_reply_or_forward)
        ):
            container.parent = other
            other.children.append(container)
        else:
            dummy = _Container()
            dummy.parent = root
            index = position[id(other)]
            top[index] = dummy
            position[id(dummy)] = index
            for child in (other, container):
                child.parent = dummy
                dummy.children.append(child)
            table[subject] = dummy
    root.children = [c for c in top if c.parent is root]


def _to_nodes(root: _Container) -> list[ThreadNode]:
    nodes: dict[int, ThreadNode] = {}
    for container in _post_order(root):
        node = ThreadNode(
            container.message.id if container.message is not None else None,
            [nodes[id(child)] for child in container.children],
        )
        nodes[id(container)] = node
    return nodes[id(root)].children


def thread_references(messages: Iterable[ThreadInput]) -> list[ThreadNode]:
    """THREAD=REFERENCES (RFC 5256 §2.2 / §3)."""
    ordered = sorted(messages, key=lambda m: m.sequence)
    containers = _link_messages(ordered)
    root = _Container()
    for container in containers:  # step 2
        if container.parent is None:
            container.parent = root
            root.children.append(container)
    _prune(root)  # step 3
    for container in root.children:  # step 4
        if container.message is None:
            container.children.sort(key=_date_key)
    root.children.sort(key=_date_key)
    _group_by_subject(root)  # step 5
    _sort_siblings(root)  # step 6
    return _to_nodes(root)


def thread_orderedsubject(messages: Iterable[ThreadInput]) -> list[ThreadNode]:
    """THREAD=ORDEREDSUBJECT: by base subject then sent date; the first message of each
    subject is the parent of the others; threads in the sent-date order of their first."""
    ordered = sorted(messages, key=lambda m: (m.subject, _timestamp(m.date), m.sequence))
    threads: list[tuple[tuple[float, int], ThreadNode]] = []
    current_subject: str | None = None
    for message in ordered:
        if threads and message.subject == current_subject:
            threads[-1][1].children.append(ThreadNode(message.id))
            continue
        current_subject = message.subject
        key = (_timestamp(message.date), message.sequence)
        threads.append((key, ThreadNode(message.id)))
    threads.sort(key=lambda pair: pair[0])
    return [node for _, node in threads]


def format_threads(threads: Iterable[ThreadNode]) -> bytes:
    """The THREAD response data: `(1 2)(3 (4)(5))` (RFC 5256 §4)."""
    out: list[str] = []
    for thread in threads:
        out.append("(")
        _write_members(thread, out)
        out.append(")")
    return "".join(out).encode("ascii")


def _write_members(node: ThreadNode, out: list[str]) -> None:
    """A chain of single children is written flat (`1 2 3`); two or more children
    are written as nested lists. Iterative over chains; recursion only per branching."""
    stack: list[ThreadNode | str] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        current = item
        if current.id is not None:
            if out and out[-1] not in ("(", ")"):
                out.append(" ")
            out.append(str(current.id))
        children = current.children
        if len(children) == 1 and current.id is not None:
            stack.append(children[0])
            continue
        if not children:
            continue
        if current.id is not None:
            out.append(" ")
        for child in reversed(children):
            stack.append(")")
            stack.append(child)
            stack.append("(")
