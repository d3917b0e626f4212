"""`Script` and `compile_script`/`check_script`: a script's source checked in full
(size, grammar, capabilities, every command's arguments) and turned into the tree of
compiled commands `run` executes. A `Script` is immutable and may be cached and shared
between runs and threads.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailroom.sieve import registry
from mailroom.sieve.compiler import Compiler
from mailroom.sieve.errors import ScriptFault, SieveError
from mailroom.sieve.limits import SieveLimits
from mailroom.sieve.runtime import Executable
from mailroom.sieve.syntax import Converter, parse, required_capabilities

registry.register_capability("encoded-character")


@dataclass(frozen=True)
class Script:
    name: str
    body: tuple[Executable, ...]
    capabilities: frozenset[str]
    globals: frozenset[str] = frozenset()
    """Variables the script declared `global` (RFC 6609 §3.5)."""
    size: int = 0


def compile_script(source: bytes, *, name: str, limits: SieveLimits) -> Script:
    """The compiled script; SieveError names the line of the first problem."""
    if len(source) > limits.max_script_size:
        raise SieveError(name, 0, f"the script is larger than {limits.max_script_size} octets")
    try:
        commands = parse(source, limits.max_nesting_depth)
        known = set(registry.capabilities())
        required: set[str] = set()
        for line, capability in required_capabilities(commands):
            if capability not in known:
                raise ScriptFault(line, f'unsupported extension "{capability}"')
            required.add(capability)
        converter = Converter(
            encoded_characters="encoded-character" in required,
            max_list=limits.max_string_list,
        )
        nodes = converter.nodes(commands)
        compiler = Compiler(name, limits, frozenset(required))
        body = compiler.script_body(nodes)
    except ScriptFault as fault:
        raise SieveError(name, fault.line, fault.message) from None
    except RecursionError:
        raise SieveError(name, 0, "the script is nested too deeply") from None
    declared = frozenset(str(item) for item in compiler.noted("global"))
    return Script(name, body, frozenset(required), declared, len(source))


def check_script(source: bytes, *, name: str, limits: SieveLimits) -> SieveError | None:
    """None when the script compiles, else what is wrong (ManageSieve's CHECKSCRIPT)."""
    try:
        compile_script(source, name=name, limits=limits)
    except SieveError as error:
        return error
    return None
