"""`mailroom serve` run under Debian's strace, and its trace read back: what the
syscall-order tests (tests/durability/) need to see that a message's file, its new
name and its directory reached the disk before the client was told "stored".

`kill -9` keeps the page cache, so no crash test can notice a missing fsync; the
order of the system calls can. strace is run with `-f` (the disk work happens in
pool threads, IMAP in worker processes when there are any) and `-yy`, which
prints each descriptor with what it is (`5</path>`, `7<TCP:[a:p->b:q]>`), so no
descriptor table has to be kept here. One output file with `-f` keeps the order in
which strace saw the events: a call another thread interrupted is split into
`<unfinished ...>` (its start) and `<... resumed>` (its end), and every call gets
the line number of both, so "finished before it started" is a comparison of
numbers, never of clocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.support.required import required_tool

TRACED = (
    "openat,mkdir,mkdirat,write,writev,pwrite64,fsync,fdatasync,sync_file_range,"
    "rename,renameat,renameat2,link,linkat,unlink,unlinkat,sendto,sendmsg,?send"
)
"""The calls the order is read from (what writes a reply: uvloop's write/writev,
asyncio's send → sendto, sendmsg; `?send`: no such call on x86-64)."""

SYNCS = frozenset({"fsync", "fdatasync"})
PLACES = frozenset({"link", "linkat", "rename", "renameat", "renameat2"})
SENDS = frozenset({"write", "writev", "sendto", "sendmsg", "send"})

_LINE = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+(.*)$")
_CALL = re.compile(r"^([a-z_][a-z0-9_]*)\((.*)$", re.S)
_RESUMED = re.compile(r"^<\.\.\. ([a-z_][a-z0-9_]*) resumed>(.*)$", re.S)
_UNFINISHED = " <unfinished ...>"
_SOCKET = re.compile(r"[A-Z][A-Z0-9-]*v?6?:\[")
_SIMPLE_ESCAPES = {"n": 10, "r": 13, "t": 9, "v": 11, "f": 12, "a": 7, "b": 8}


class TraceError(ValueError):
    """A line of the trace is not what strace writes."""


@dataclass(frozen=True)
class Call:
    """One system call: its arguments as strace printed them, its result (`""` when it
    never returned), and the line numbers where strace saw it start and end."""

    pid: int
    name: str
    arguments: tuple[str, ...]
    result: str
    start: int
    end: int

    @property
    def ok(self) -> bool:
        return bool(self.result) and not self.result.startswith("-1")

    def path(self, index: int) -> str | None:
        """The path strace gave the descriptor that is argument `index`."""
        return annotated_path(self.arguments[index]) if index < len(self.arguments) else None

    @property
    def data(self) -> bytes:
        """Every string among the arguments, decoded and joined (a write's or a
        sendmsg's bytes, as far as `-s` let strace print them)."""
        return b"".join(decode_string(argument) for argument in _strings(",".join(self.arguments)))

    def describe(self) -> str:
        return f"line {self.start}: [{self.pid}] {self.name}({', '.join(self.arguments)})"


def decode_string(text: str) -> bytes:
    """strace's C escapes (`\\n`, `\\"`, `\\377`, `\\x41`) undone; the text is what is
    inside the quotes (or a `<...>` annotation)."""
    out = bytearray()
    index = 0
    while index < len(text):
        char = text[index]
        index += 1
        if char != "\\":
            out += char.encode("utf-8", "surrogateescape")
            continue
        if index >= len(text):
            raise TraceError(f"a string ends in a backslash: {text!r}")
        char = text[index]
        index += 1
        if char in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[char])
        elif char == "x":
            digits = text[index : index + 2]
            if not re.fullmatch(r"[0-9a-fA-F]{2}", digits):
                raise TraceError(f"a bad \\x escape in {text!r}")
            out.append(int(digits, 16))
            index += 2
        elif char in "01234567":
            digits = re.match(r"[0-7]{1,3}", text[index - 1 :])
            assert digits is not None
            value = int(digits.group(0), 8)
            if value > 255:
                raise TraceError(f"an octal escape above 255 in {text!r}")
            out.append(value)
            index += len(digits.group(0)) - 1
        else:
            out += char.encode("utf-8", "surrogateescape")
    return bytes(out)


def encode_string(data: bytes) -> str:
    """`data` escaped as strace prints a string (the inverse of `decode_string`)."""
    out = []
    for byte in data:
        if byte == 0x5C:
            out.append("\\\\")
        elif byte == 0x22:
            out.append('\\"')
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03o}")  # three digits: a digit may follow
    return "".join(out)


def _scan(text: str) -> Iterable[tuple[int, str, int]]:
    """(index, char, depth) for each character outside strings and annotations, where
    depth counts the brackets open; a string or an annotation is one item (its first
    char)."""
    depth = 0
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"' or (char == "<" and index and (text[index - 1].isalnum())):
            closing = '"' if char == '"' else ">"
            start = index
            index += 1
            inner = 0  # a socket's `TCP:[a->b]` holds a `>` of its own
            socket = closing == ">" and _SOCKET.match(text, index) is not None
            while index < len(text) and (text[index] != closing or inner):
                if socket and text[index] in "[]":
                    inner += 1 if text[index] == "[" else -1
                index += 2 if text[index] == "\\" else 1
            if index >= len(text):
                raise TraceError(f"an unclosed {char} in {text!r}")
            yield start, char, depth
            index += 1
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        yield index, char, depth
        index += 1


def _strings(text: str) -> list[str]:
    """The contents of the double-quoted strings in `text`."""
    found = []
    for start, char, _ in _scan(text):
        if char == '"':
            end = start + 1
            while text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            found.append(text[start + 1 : end])
    return found


def split_call(text: str) -> tuple[tuple[str, ...], str | None]:
    """The text after `name(`: its top-level arguments, and its result (None when the
    call is unfinished on this line)."""
    unfinished = text.endswith(_UNFINISHED)
    if unfinished:
        text = text[: -len(_UNFINISHED)]
    arguments: list[str] = []
    begin = 0
    for index, char, depth in _scan(text):
        if depth == 0 and char == ",":
            arguments.append(text[begin:index].strip())
            begin = index + 1
        elif depth == -1 and char == ")":
            arguments.append(text[begin:index].strip())
            rest = text[index + 1 :].strip()
            if unfinished or not rest.startswith("="):
                raise TraceError(f"no result after the arguments: {text!r}")
            return tuple(a for a in arguments if a), rest[1:].strip()
    if not unfinished:
        raise TraceError(f"the arguments never close: {text!r}")
    tail = text[begin:].strip()
    return tuple([*arguments, tail] if tail else arguments), None


def _result_of_resumed(text: str) -> str:
    """The result in what follows `<... name resumed>`: the rest of the arguments,
    `)`, `= result`."""
    for index, char, depth in _scan(text):
        if depth == -1 and char == ")":
            rest = text[index + 1 :].strip()
            if rest.startswith("="):
                return rest[1:].strip()
            break
    raise TraceError(f"no result after a resumed call: {text!r}")


def parse_trace(text: str) -> list[Call]:
    """The calls of an `strace -f -o FILE` output, in the order they started. Lines
    that are no call (signals, exits, `<... resumed> <unfinished ...>` of a process
    killed in a call) end nothing; a call never resumed has the result `""`."""
    calls: list[Call] = []
    open_calls: dict[tuple[int, str], int] = {}
    for number, line in enumerate(text.splitlines()):
        match = _LINE.match(line)
        if match is None:
            continue
        pid, body = int(match.group(1)), match.group(2)
        if body.startswith(("---", "+++")):
            continue
        resumed = _RESUMED.match(body)
        if resumed is not None:
            key = (pid, resumed.group(1))
            position = open_calls.pop(key, None)
            if position is None or resumed.group(2).endswith(_UNFINISHED):
                continue
            call = calls[position]
            calls[position] = Call(
                pid,
                call.name,
                call.arguments,
                _result_of_resumed(resumed.group(2)),
                call.start,
                number,
            )
            continue
        found = _CALL.match(body)
        if found is None:
            raise TraceError(f"line {number} is no system call: {line!r}")
        arguments, result = split_call(found.group(2))
        if result is None:
            open_calls[(pid, found.group(1))] = len(calls)
            calls.append(Call(pid, found.group(1), arguments, "", number, number))
        else:
            calls.append(Call(pid, found.group(1), arguments, result, number, number))
    return calls


def annotated_path(argument: str) -> str | None:
    """The path in `5</a/b>` or `AT_FDCWD</a>` (None for a socket or no annotation)."""
    match = re.fullmatch(r"(?:\d+|AT_FDCWD)<(.*)>", argument, re.S)
    if match is None or match.group(1).startswith(("TCP:", "UDP:", "UNIX:", "TCPv6:")):
        return None
    return os.fsdecode(decode_string(match.group(1)))


def _string_argument(argument: str) -> str | None:
    if len(argument) >= 2 and argument[0] == '"' and argument[-1] == '"':
        return os.fsdecode(decode_string(argument[1:-1]))
    return None


def _at(directory: str | None, name: str | None) -> str | None:
    """`name` relative to the directory `directory` (the whole path when absolute)."""
    if name is None:
        return None
    if os.path.isabs(name) or directory is None:
        return name if os.path.isabs(name) else None
    return os.path.normpath(os.path.join(directory, name))


def placed_paths(call: Call) -> tuple[str | None, str | None]:
    """A link's or a rename's (source, destination), as whole paths."""
    arguments = call.arguments
    if call.name in {"link", "rename"} and len(arguments) >= 2:
        return _string_argument(arguments[0]), _string_argument(arguments[1])
    if len(arguments) >= 4:
        return (
            _at(annotated_path(arguments[0]), _string_argument(arguments[1])),
            _at(annotated_path(arguments[2]), _string_argument(arguments[3])),
        )
    return None, None


class Trace:
    """A parsed trace, and the questions the durability tests ask of it."""

    def __init__(self, text: str) -> None:
        self.calls = [call for call in parse_trace(text) if call.ok]

    def reply(self, marker: bytes) -> Call:
        """The first write to a TCP socket whose bytes contain `marker`."""
        for call in self.calls:
            if (
                call.name in SENDS
                and call.arguments
                and "<TCP" in call.arguments[0]
                and marker in call.data
            ):
                return call
        raise AssertionError(f"no reply containing {marker!r} was written to a socket")

    def next_write(self, after: Call) -> Call:
        """The first write to the socket of `after` (a write) that starts after it:
        the answer to the command sent after the one `after` answered, for protocols
        whose replies carry no tag (ManageSieve's OK)."""
        for call in self.calls:
            if (
                call.name in SENDS
                and call.start > after.end
                and call.arguments
                and call.arguments[0] == after.arguments[0]
            ):
                return call
        raise AssertionError(f"nothing was written to the socket after {after.describe()}")

    def placing(self, destination: Path) -> Call:
        """The link or rename that gave `destination` its name."""
        wanted = os.fspath(destination)
        for call in self.calls:
            if call.name in PLACES and placed_paths(call)[1] == wanted:
                return call
        raise AssertionError(f"no link or rename made {wanted}")

    def removals(self, directory: Path, suffix: str) -> list[Call]:
        """The unlinks of names ending in `suffix` in `directory`."""
        found = []
        for call in self.calls:
            if call.name == "unlink" and call.arguments:
                path = _string_argument(call.arguments[0])
            elif call.name == "unlinkat" and len(call.arguments) >= 2:
                path = _at(annotated_path(call.arguments[0]), _string_argument(call.arguments[1]))
            else:
                continue
            if path is not None and path.endswith(suffix) and Path(path).parent == directory:
                found.append(call)
        return found

    def syncs(self, path: str | Path) -> list[Call]:
        """Every fsync/fdatasync of a descriptor of `path`."""
        wanted = os.fspath(path)
        return [call for call in self.calls if call.name in SYNCS and call.path(0) == wanted]

    def assert_recorded(self, path: Path, record: bytes, reply: Call) -> None:
        """`record` was written into `path` (appended, or into a file renamed to it)
        and that file fsynced (or fdatasynced) after the write, before `reply`."""
        wanted = os.fspath(path)
        for write in self.calls:
            if write.name not in SENDS or write.start > reply.start or record not in write.data:
                continue
            written = write.path(0)
            if written is None:
                continue
            synced = [
                call
                for call in self.syncs(written)
                if write.end < call.start and call.end < reply.start
            ]
            if written == wanted and synced:
                return
            if synced and any(
                placed_paths(call) == (written, wanted) and call.end < reply.start
                for call in self.calls
                if call.name in PLACES
            ):
                return
        raise AssertionError(
            f"{record!r} was not written into {wanted} and synced before {reply.describe()}"
        )

    def made_directories(self) -> dict[str, Call]:
        """The directories created in the trace, by path."""
        made: dict[str, Call] = {}
        for call in self.calls:
            if call.name == "mkdir" and call.arguments:
                path = _string_argument(call.arguments[0])
            elif call.name == "mkdirat" and len(call.arguments) >= 2:
                path = _at(annotated_path(call.arguments[0]), _string_argument(call.arguments[1]))
            else:
                continue
            if path is not None:
                made.setdefault(os.path.normpath(path), call)
        return made

    def assert_directories_durable(self, destination: Path, reply: Call) -> None:
        """Each directory above `destination` that the trace created (a first delivery
        makes the Maildir) was fsynced into its parent after it was made and before
        `reply`: else the message's name could be durable in a directory that is not."""
        made = self.made_directories()
        for directory in destination.parents:
            creation = made.get(os.fspath(directory))
            if creation is None:
                continue
            covering = [
                call
                for call in self.syncs(directory.parent)
                if creation.end < call.start and call.end < reply.start
            ]
            assert covering, (
                f"{directory} was made ({creation.describe()}) but its parent was not "
                f"fsynced before the reply {reply.describe()}"
            )

    def assert_stored(self, destination: Path, reply: Call, *, written: bool = True) -> None:
        """`destination` is on stable storage before `reply` started: the file under its
        first name fsynced before the link or rename (when it was `written` now: a hard
        link of an old file needs none), and its directory fsynced by an fsync that
        started after the link or rename finished and finished before the reply."""
        place = self.placing(destination)
        source, _ = placed_paths(place)
        assert place.end < reply.start, (
            f"the reply was written before {destination.name} got its name:\n"
            f"{reply.describe()}\n{place.describe()}"
        )
        if written:
            assert source is not None
            synced = [call for call in self.syncs(source) if call.end < place.start]
            assert synced, (
                f"{source} was not fsynced before {place.describe()} "
                f"(its syncs: {[call.describe() for call in self.syncs(source)]})"
            )
        directory = destination.parent
        covering = [
            call
            for call in self.syncs(directory)
            if place.end < call.start and call.end < reply.start
        ]
        assert covering, (
            f"no fsync of {directory} started after {place.describe()} and finished "
            f"before the reply {reply.describe()} "
            f"(its syncs: {[call.describe() for call in self.syncs(directory)]})"
        )
        self.assert_directories_durable(destination, reply)


def _server_pid(strace_pid: int) -> int:
    """The traced server: strace's one child."""
    children = Path(f"/proc/{strace_pid}/task/{strace_pid}/children").read_text().split()
    assert children, "strace has no child: the server did not start"
    return int(children[0])


@dataclass
class TracedServer:
    process: asyncio.subprocess.Process
    trace_file: Path

    async def stop(self) -> Trace:
        """SIGTERM to the server; once strace has followed it to its end, the trace."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError, FileNotFoundError, AssertionError):
                os.kill(_server_pid(self.process.pid), signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 60)
        return Trace(self.trace_file.read_text(errors="surrogateescape"))


@contextlib.asynccontextmanager
async def traced_server(config: Path) -> AsyncIterator[TracedServer]:
    """`mailroom serve -c config` under `strace -f` (its log in `serve.log`, the trace
    in `strace.txt` beside the config), once it says it is running; stopped at the end."""
    strace = required_tool("strace", "strace")
    trace_file = config.parent / "strace.txt"
    command = [
        strace,
        *("-f", "-qq", "-yy", "-s", "512", "-e", f"trace={TRACED}", "-o", str(trace_file)),
        *(sys.executable, "-m", "mailroom", "serve", "--as-root", "-c", str(config)),
    ]
    with (config.parent / "serve.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=log
        )
    server = TracedServer(process, trace_file)
    assert process.stdout is not None
    try:
        while True:
            line = await asyncio.wait_for(process.stdout.readline(), 120)
            assert line, "the server exited: " + (config.parent / "serve.log").read_text()
            if line.startswith(b"running"):
                break
        yield server
    finally:
        if process.returncode is None:
            await server.stop()
