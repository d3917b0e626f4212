"""Small real implementations of what a Sieve run asks of the world (the Protocols of
`mailroom.sieve.context`), for the interpreter's unit tests: folders in a set, duplicate
memory in a dict, scripts to include in a dict; and `deliver`, which compiles scripts
and runs a message through them as delivery would."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mailroom.sieve import SieveLimits, compile_script, run
from mailroom.sieve.actions import Outcome
from mailroom.sieve.context import Envelope, MessageSource, RunContext, ScriptScope

LIMITS = SieveLimits()


@dataclass
class FolderSet:
    names: set[str] = field(default_factory=lambda: {"INBOX"})

    def exists(self, name: str) -> bool:
        return name in self.names


@dataclass
class DuplicateRecord:
    seen_pairs: set[tuple[str, str]] = field(default_factory=set)

    def seen(self, handle: str, value: str) -> bool:
        return (handle, value) in self.seen_pairs


@dataclass
class ScriptShelf:
    personal: dict[str, bytes] = field(default_factory=dict)
    global_: dict[str, bytes] = field(default_factory=dict)
    loads: list[str] = field(default_factory=list)

    def load(self, scope: ScriptScope, name: str) -> bytes | None:
        self.loads.append(f"{scope.value}:{name}")
        shelf = self.personal if scope is ScriptScope.PERSONAL else self.global_
        return shelf.get(name)


def message(header: str, body: str = "Hello.\r\n") -> bytes:
    """A message from header lines written with \\n (turned into CRLF)."""
    head = header.strip("\n").replace("\n", "\r\n") + "\r\n"
    return head.encode("utf-8") + b"\r\n" + body.encode("utf-8")


def context(
    raw: bytes,
    *,
    sender: str = "coyote@desert.example.org",
    recipient: str = "roadrunner@acme.example.com",
    detail: str | None = None,
    folders: Iterable[str] = ("INBOX",),
    shelf: ScriptShelf | None = None,
    duplicates: DuplicateRecord | None = None,
) -> RunContext:
    split = raw.find(b"\r\n\r\n")
    header = raw if split < 0 else raw[: split + 2]
    body = b"" if split < 0 else raw[split + 4 :]
    return RunContext(
        envelope=Envelope(sender, recipient, detail),
        message=MessageSource(header, len(raw), lambda limit: body[:limit]),
        folders=FolderSet(set(folders)),
        duplicates=duplicates or DuplicateRecord(),
        includes=shelf or ScriptShelf(),
        own_addresses=(recipient,),
        now=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        hostname="mail.acme.example.com",
    )


def deliver(
    scripts: str | list[str],
    raw: bytes,
    *,
    limits: SieveLimits = LIMITS,
    **kwargs: object,
) -> Outcome:
    """Compile each script (named script1, script2, …) and run `raw` through them."""
    sources = [scripts] if isinstance(scripts, str) else scripts
    compiled = [
        compile_script(source.encode("utf-8"), name=f"script{i + 1}", limits=limits)
        for i, source in enumerate(sources)
    ]
    return run(compiled, context(raw, **kwargs), limits)  # type: ignore[arg-type]
