"""The ManageSieve commands (RFC 5804 §2) as typed values, and the grammar of each one's
arguments, read from the tokens of `mailroom.wire`.

Arguments are strings (quoted or literal) and numbers (RFC 5804 §4); an atom is only a
command's name, so a script name or a script given as an atom is refused. Names and
SASL responses are UTF-8 text; a script is kept as the octets the client sent, for the
checker to judge. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailroom.wire.tokens import GrammarError, Token, TokenReader, Word, decode_text, string_bytes


@dataclass(frozen=True)
class Authenticate:
    """RFC 5804 §2.1: a SASL mechanism and its optional initial response (base64)."""

    mechanism: str
    initial_response: bytes | None


@dataclass(frozen=True)
class StartTls:
    """RFC 5804 §2.2."""


@dataclass(frozen=True)
class Logout:
    """RFC 5804 §2.3."""


@dataclass(frozen=True)
class Capability:
    """RFC 5804 §2.4."""


@dataclass(frozen=True)
class HaveSpace:
    """RFC 5804 §2.5: would a script `name` of `size` octets fit?"""

    name: str
    size: int


@dataclass(frozen=True)
class PutScript:
    """RFC 5804 §2.6."""

    name: str
    script: bytes


@dataclass(frozen=True)
class CheckScript:
    """RFC 5804 §2.12."""

    script: bytes


@dataclass(frozen=True)
class ListScripts:
    """RFC 5804 §2.7."""


@dataclass(frozen=True)
class SetActive:
    """RFC 5804 §2.8; an empty name deactivates."""

    name: str


@dataclass(frozen=True)
class GetScript:
    """RFC 5804 §2.9."""

    name: str


@dataclass(frozen=True)
class DeleteScript:
    """RFC 5804 §2.10."""

    name: str


@dataclass(frozen=True)
class RenameScript:
    """RFC 5804 §2.11.1."""

    old: str
    new: str


@dataclass(frozen=True)
class Noop:
    """RFC 5804 §2.13: the optional tag comes back in the OK's TAG response code."""

    tag: str | None


@dataclass(frozen=True)
class Unauthenticate:
    """RFC 5804 §2.14.1."""


Command = (
    Authenticate
    | StartTls
    | Logout
    | Capability
    | HaveSpace
    | PutScript
    | CheckScript
    | ListScripts
    | SetActive
    | GetScript
    | DeleteScript
    | RenameScript
    | Noop
    | Unauthenticate
)


class _Arguments(TokenReader):
    """ManageSieve's value types over the shared token reader."""

    def octets(self) -> bytes:
        """RFC 5804 §4 string: quoted or literal, never an atom."""
        data = string_bytes(self.take())
        if data is None:
            raise GrammarError("Expected a string.")
        return data

    def text(self) -> str:
        return decode_text(self.octets())

    def optional_text(self) -> str | None:
        return None if self.at_end() else self.text()

    def size(self) -> int:
        token = self.take()
        if not isinstance(token, Word):
            raise GrammarError("Expected a number.")
        return _number(token.text)


def _number(text: str) -> int:
    # RFC 5804 §4: number = 1*DIGIT, 0 to 4,294,967,295.
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) > 2**32 - 1:
        raise GrammarError("Invalid number.")
    return int(text)


def _authenticate(arguments: _Arguments) -> Command:
    mechanism = arguments.text()
    initial = None if arguments.at_end() else arguments.octets()
    return Authenticate(mechanism, initial)


_PARSERS: dict[str, Callable[[_Arguments], Command]] = {
    "AUTHENTICATE": _authenticate,
    "STARTTLS": lambda a: StartTls(),
    "LOGOUT": lambda a: Logout(),
    "CAPABILITY": lambda a: Capability(),
    "HAVESPACE": lambda a: HaveSpace(a.text(), a.size()),
    "PUTSCRIPT": lambda a: PutScript(a.text(), a.octets()),
    "CHECKSCRIPT": lambda a: CheckScript(a.octets()),
    "LISTSCRIPTS": lambda a: ListScripts(),
    "SETACTIVE": lambda a: SetActive(a.text()),
    "GETSCRIPT": lambda a: GetScript(a.text()),
    "DELETESCRIPT": lambda a: DeleteScript(a.text()),
    "RENAMESCRIPT": lambda a: RenameScript(a.text(), a.text()),
    "NOOP": lambda a: Noop(a.optional_text()),
    "UNAUTHENTICATE": lambda a: Unauthenticate(),
}
COMMAND_NAMES = frozenset(_PARSERS)

SCRIPT_POSITIONS = {"PUTSCRIPT": 1, "CHECKSCRIPT": 0}
"""Which argument is a script, whose literal may be as large as `max_script_size`."""


def parse_arguments(name: str, items: list[Token]) -> Command:
    """The command `name` (upper case, one of COMMAND_NAMES) with its arguments;
    GrammarError with the text of the NO answer otherwise."""
    arguments = _Arguments(items)
    command = _PARSERS[name](arguments)
    if not arguments.at_end():
        raise GrammarError("Too many arguments.")
    return command
