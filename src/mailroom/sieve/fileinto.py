"""fileinto (RFC 5228 §4.1) with `:copy` (RFC 3894), `:create` (mailbox, RFC 5490 §3.2)
and `:flags` (imap4flags, RFC 5232 §5); and mailbox's `mailboxexists` test (RFC 5490
§3.1), answered by `RunContext.folders`."""

from __future__ import annotations

from dataclasses import dataclass

from mailroom.sieve.actions import FileInto
from mailroom.sieve.base_actions import COPY, copy_argument
from mailroom.sieve.imap4flags import FLAGS, flags_argument, flags_for_action
from mailroom.sieve.registry import CompileEnv, Kind, Param, Spec, TagGroup, register
from mailroom.sieve.runtime import Executable, Run, Test
from mailroom.sieve.templates import Template
from mailroom.sieve.tree import Node

CREATE = TagGroup("create", (":create",))
MAX_FOLDER = 1024


def folder_problem(name: str) -> str | None:
    """Why `name` cannot be a folder name, or None."""
    if not name:
        return "an empty folder name"
    if len(name) > MAX_FOLDER:
        return f"a folder name longer than {MAX_FOLDER} characters"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return "a control character in a folder name"
    return None


@dataclass(frozen=True)
class FileIntoAction:
    line: int
    folder: Template
    flags: tuple[Template, ...] | None
    copy: bool
    create: bool

    def execute(self, run: Run) -> None:
        folder = self.folder.expand(run)
        problem = folder_problem(folder)
        if problem is not None:
            raise run.fail(f'fileinto "{folder[:80]}": {problem}')
        run.add(FileInto(folder, flags_for_action(run, self.flags), self.create, self.copy))


@dataclass(frozen=True)
class MailboxExists:
    line: int
    names: tuple[Template, ...]

    def evaluate(self, run: Run) -> bool:
        # RFC 5490 §3.1: true only if every named mailbox exists.
        return all(run.context.folders.exists(name.expand(run)) for name in self.names)


def _fileinto(node: Node, env: CompileEnv) -> Executable:
    raw = node.args[0]
    assert isinstance(raw, str)
    folder = env.string(node, raw)
    if folder.constant is not None:
        problem = folder_problem(folder.constant)
        if problem is not None:
            raise env.fail(node.line, problem)
    create = node.tag("create") is not None
    if create:
        env.require("mailbox", node.line, ":create")
    return FileIntoAction(
        node.line, folder, flags_argument(node, env), copy_argument(node, env), create
    )


def _mailboxexists(node: Node, env: CompileEnv) -> Test:
    names = node.args[0]
    assert isinstance(names, tuple)
    return MailboxExists(node.line, env.strings(node, names))


register(
    Spec(
        "fileinto",
        Kind.ACTION,
        _fileinto,
        capability="fileinto",
        tags=(COPY, CREATE, FLAGS),
        params=(Param("folder", "string"),),
    )
)
register(
    Spec(
        "mailboxexists",
        Kind.TEST,
        _mailboxexists,
        capability="mailbox",
        params=(Param("mailbox-names", "strings"),),
    )
)
