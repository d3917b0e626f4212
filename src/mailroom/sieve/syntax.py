"""Sieve's grammar (RFC 5228 §8) through sievelib's parser, and its result turned into
our own `tree.Node`s with line numbers.

sievelib serves the lexer and the state machine; what it lacks is done here:
- every command we know is registered as a sievelib `Command` subclass built from our
  `registry.Spec`s (sievelib's own classes for the rest are shadowed by ones that
  refuse, so a command only sievelib knows, such as `notify`, is "unknown");
- each command records its line and its nesting depth when sievelib creates it, from
  the lexer's position, counted incrementally (sievelib keeps no line per command);
  the depth limit stops the parse at once, so 100,000 nested `if`s cost nothing;
- values as sievelib hands them over (quotes, escapes, `text:` and its final dot, K/M/G
  numbers) are decoded by `literals`, which also refuses what sievelib's lexer accepts
  against RFC 5228 §8.1: text after `text:` on its line, NUL in strings, and a last
  command without its ";".
sievelib keeps the extensions a script required in a `threading.local`; we do our own
capability checks, and keep our per-parse state (the lexer being read) in one as well,
so compiling in several threads at once is safe; one thread compiles one script at a
time (an include is compiled when the run reaches it, not inside a parse).
"""

from __future__ import annotations

import threading
from typing import Any

from sievelib import commands as sl
from sievelib.parser import Parser

from mailroom.sieve import registry
from mailroom.sieve.errors import ScriptFault
from mailroom.sieve.literals import decode_encoded_characters, number_value, string_value
from mailroom.sieve.registry import ArgType, Kind, Spec
from mailroom.sieve.tree import Node, Tagged, Value

_local = threading.local()

_GRAMMAR: dict[str, type[Any]] = {
    "if": sl.IfCommand,
    "elsif": sl.ElsifCommand,
    "else": sl.ElseCommand,
    "not": sl.NotCommand,
    "allof": sl.AllofCommand,
    "anyof": sl.AnyofCommand,
}
_BASES: dict[Kind, type[Any]] = {
    Kind.ACTION: sl.ActionCommand,
    Kind.CONTROL: sl.ControlCommand,
    Kind.TEST: sl.TestCommand,
}


class _Tracker:
    """The line of the lexer's position, counted from the last position asked about."""

    def __init__(self, lexer: Any, max_depth: int) -> None:
        self.lexer = lexer
        self.max_depth = max_depth
        self.position = 0
        self.line = 1

    def line_now(self) -> int:
        text: bytes = self.lexer.text
        position: int = self.lexer.pos
        if position >= self.position:
            self.line += text.count(b"\n", self.position, position)
        else:  # sievelib steps back one octet to re-read a token
            self.line -= text.count(b"\n", position, self.position)
        self.position = position
        return self.line


class _Located:
    """Mixed into every command class we register: records line and depth."""

    line: int
    depth: int

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)  # type: ignore[call-arg]
        tracker: _Tracker = _local.tracker
        self.line = tracker.line_now()
        self.depth = getattr(parent, "depth", 0) + 1
        if self.depth > tracker.max_depth:
            raise sl.CommandError(f"nested deeper than {tracker.max_depth} levels")


class _Refused:
    """Shadows a sievelib command we do not provide."""

    def __init__(self, parent: Any = None) -> None:
        raise sl.UnknownCommand(type(self).__name__[: -len("Command")].lower())


def _sievelib_type(kind: ArgType) -> list[str]:
    return {"string": ["string"], "strings": ["string", "stringlist"], "number": ["number"]}[kind]


def _definition(spec: Spec) -> list[dict[str, Any]]:
    definition: list[dict[str, Any]] = []
    for group in spec.tags:
        entry: dict[str, Any] = {
            "name": group.name,
            "type": ["tag"],
            "values": [tag.lower() for tag in group.tags],
            "required": False,
        }
        if group.takes is not None:
            extra: dict[str, Any] = {"type": _sievelib_type(group.takes)}
            if group.takes_for is not None:
                extra["valid_for"] = list(group.takes_for)
            entry["extra_arg"] = extra
        definition.append(entry)
    for param in spec.params:
        definition.append(
            {"name": param.name, "type": _sievelib_type(param.type), "required": not param.optional}
        )
    return definition


def _reassign(self: Any) -> None:
    """sievelib fills optional positional arguments first; move the values given to the
    required ones when fewer than all were given (imap4flags' `[variable] flags`)."""
    params = self._spec.params
    given = [self.arguments.pop(p.name) for p in params if p.name in self.arguments]
    optional_given = len(given) - sum(1 for p in params if not p.optional)
    filled = 0
    for param in params:
        if param.optional:
            if optional_given > 0:
                self.arguments[param.name] = given.pop(0)
                optional_given -= 1
        elif given:
            self.arguments[param.name] = given.pop(0)
            filled += 1
    self.rargs_cnt = filled


def _command_class(spec: Spec) -> type[Any]:
    attributes: dict[str, Any] = {"extension": None, "_spec": spec, "__module__": __name__}
    if spec.grammar is not None:
        base = _GRAMMAR[spec.grammar]
    else:
        base = _BASES[spec.kind]
        attributes["args_definition"] = _definition(spec)
        if any(param.optional for param in spec.params):
            attributes["non_deterministic_args"] = True
            attributes["reassign_arguments"] = _reassign
    return type(f"{spec.name.capitalize()}Command", (_Located, base), attributes)


_installed = [-1]
_install_lock = threading.Lock()


def _install() -> None:
    """Register our commands in sievelib (its registry is its module's globals)."""
    with _install_lock:
        if _installed[0] == registry.version():
            return
        ours = {spec.name.lower(): _command_class(spec) for spec in registry.specs()}
        for name, value in list(vars(sl).items()):
            if (
                name.endswith("Command")
                and isinstance(value, type)
                and issubclass(value, sl.Command)
                and hasattr(value, "args_definition")
                and name[: -len("Command")].lower() not in ours
                and not issubclass(value, _Located)
            ):
                shadow = type(name, (_Refused, value), {"__module__": __name__, "extension": None})
                sl.add_commands(shadow)
        sl.add_commands(list(ours.values()))
        _installed[0] = registry.version()


def parse(source: bytes, max_depth: int) -> list[Any]:
    """sievelib's command objects for `source`; ScriptFault names the line."""
    _install()
    parser = Parser()
    tracker = _Tracker(parser.lexer, max_depth)
    parser.lexer.text = source
    parser.lexer.pos = 0
    _local.tracker = tracker
    try:
        ok = parser.parse(source)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, RecursionError):
        # sievelib's state machine on input it did not foresee: still a syntax error.
        raise ScriptFault(tracker.line_now(), "syntax error") from None
    finally:
        _local.tracker = None
    if not ok:
        line = parser.error_pos[0]
        message = str(parser.error).split(": ", 1)[-1]
        if message.startswith("parsing error: "):
            message = message[len("parsing error: ") :]
        raise ScriptFault(line, message)
    if getattr(parser, "_Parser__cstate", None) is not None:
        # sievelib accepts a last command without its ";" (`keep` at the end of the
        # script): its state machine is still inside the command when the input ends.
        raise ScriptFault(tracker.line_now(), "end of script reached while ';' expected")
    return list(parser.result)


def required_capabilities(commands: list[Any]) -> list[tuple[int, str]]:
    """(line, name) of each capability the script's `require`s name."""
    found: list[tuple[int, str]] = []
    for command in commands:
        if command.name == "require":
            raw = command.arguments.get("capabilities")
            for item in raw if isinstance(raw, list) else [raw]:
                found.append((command.line, string_value(item, command.line)))
    return found


class Converter:
    """sievelib's tree to `Node`s, decoding every value."""

    def __init__(self, *, encoded_characters: bool, max_list: int) -> None:
        self.encoded_characters = encoded_characters
        self.max_list = max_list

    def nodes(self, commands: list[Any]) -> tuple[Node, ...]:
        return tuple(self.node(command) for command in commands)

    def node(self, command: Any) -> Node:
        spec: Spec = command._spec
        line: int = command.line
        arguments: dict[str, Any] = command.arguments
        tags: list[tuple[str, Tagged]] = []
        for group in spec.tags:
            tag = arguments.get(group.name)
            if tag is None:
                continue
            extra = command.extra_arguments.get(group.name)
            value = None
            if extra is not None and group.takes is not None:
                value = self.value(extra, group.takes, line)
            elif group.takes is not None and (
                group.takes_for is None or tag.lower() in group.takes_for
            ):
                raise ScriptFault(line, f"{tag} needs a value")
            tags.append((group.name, Tagged(tag.lower(), value)))
        args = tuple(
            None if p.name not in arguments else self.value(arguments[p.name], p.type, line)
            for p in spec.params
        )
        tests: tuple[Node, ...] = ()
        if spec.grammar in ("if", "elsif", "not"):
            tests = (self.node(arguments["test"]),)
        elif spec.grammar in ("allof", "anyof"):
            tests = tuple(self.node(test) for test in arguments.get("tests", []))
        block = None
        if spec.kind is Kind.CONTROL and spec.grammar in ("if", "elsif", "else"):
            block = self.nodes(command.children)
        return Node(spec.name, line, tuple(tags), args, tests, block)

    def value(self, raw: Any, kind: ArgType, line: int) -> Value:
        if kind == "number":
            return number_value(str(raw), line)
        if isinstance(raw, list):
            if kind == "string":
                raise ScriptFault(line, "a string list where one string is expected")
            if len(raw) > self.max_list:
                raise ScriptFault(line, f"a string list longer than {self.max_list}")
            return tuple(self.string(item, line) for item in raw)
        text = self.string(raw, line)
        return (text,) if kind == "strings" else text

    def string(self, raw: str, line: int) -> str:
        value = string_value(raw, line)
        if "\x00" in value:
            raise ScriptFault(line, "a NUL character in a string")
        if self.encoded_characters:
            value = decode_encoded_characters(value, line)
        return value
