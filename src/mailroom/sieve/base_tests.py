"""RFC 5228 §5: the tests every script has — address, allof, anyof, exists, false,
header, not, size, true (envelope is an extension: `envelope.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from mailroom.sieve.matching import Matcher
from mailroom.sieve.registry import CompileEnv, Kind, Param, Spec, TagGroup, register
from mailroom.sieve.runtime import Run, Test
from mailroom.sieve.templates import Template
from mailroom.sieve.test_args import (
    ADDRESS_PART,
    INDEX,
    LAST,
    MATCHING,
    address_part,
    address_value,
    check_header_names,
    header_index,
    matcher,
    pick,
)
from mailroom.sieve.tree import Node


def _strings(node: Node, position: int) -> tuple[str, ...]:
    value = node.args[position]
    assert isinstance(value, tuple)
    return value


@dataclass(frozen=True)
class Constant:
    line: int
    value: bool

    def evaluate(self, run: Run) -> bool:
        return self.value


@dataclass(frozen=True)
class AllOf:
    line: int
    tests: tuple[Test, ...]
    want: bool
    """True for allof (every test true), False for anyof (§5.2, §5.3: short-circuit)."""

    def evaluate(self, run: Run) -> bool:
        for test in self.tests:
            run.step(test.line)
            if test.evaluate(run) != self.want:
                return not self.want
        return self.want


@dataclass(frozen=True)
class Not:
    line: int
    test: Test

    def evaluate(self, run: Run) -> bool:
        run.step(self.test.line)
        return not self.test.evaluate(run)


@dataclass(frozen=True)
class Exists:
    line: int
    names: tuple[Template, ...]

    def evaluate(self, run: Run) -> bool:
        return all(run.message.raw_values(name.expand(run)) for name in self.names)


@dataclass(frozen=True)
class Size:
    line: int
    over: bool
    limit: int

    def evaluate(self, run: Run) -> bool:
        size = run.message.size
        return size > self.limit if self.over else size < self.limit


@dataclass(frozen=True)
class HeaderTest:
    line: int
    matcher: Matcher
    names: tuple[Template, ...]
    keys: tuple[Template, ...]
    index: int | None

    def evaluate(self, run: Run) -> bool:
        values: list[str] = []
        for name in self.names:
            values.extend(pick(run.message.values(name.expand(run)), self.index))
        return self.matcher.match(run, values, self.keys)


@dataclass(frozen=True)
class AddressTest:
    line: int
    matcher: Matcher
    part: str
    names: tuple[Template, ...]
    keys: tuple[Template, ...]
    index: int | None

    def evaluate(self, run: Run) -> bool:
        delimiters = run.context.subaddress_delimiters
        values: list[str] = []
        for name in self.names:
            for field in pick(run.message.field_addresses(name.expand(run)), self.index):
                for local, domain in field:
                    value = address_value(local, domain, self.part, delimiters)
                    if value is not None:
                        values.append(value)
        return self.matcher.match(run, values, self.keys)


def _allof(node: Node, env: CompileEnv) -> Test:
    return AllOf(node.line, tuple(env.test(t) for t in node.tests), node.name == "allof")


def _not(node: Node, env: CompileEnv) -> Test:
    return Not(node.line, env.test(node.tests[0]))


def _exists(node: Node, env: CompileEnv) -> Test:
    names = _strings(node, 0)
    check_header_names(node, env, names)
    return Exists(node.line, env.strings(node, names))


def _size(node: Node, env: CompileEnv) -> Test:
    which = node.tag("size")
    if which is None:
        raise env.fail(node.line, "size needs :over or :under")
    limit = node.args[0]
    assert isinstance(limit, int)
    return Size(node.line, which.tag == ":over", limit)


def _header(node: Node, env: CompileEnv) -> Test:
    names = _strings(node, 0)
    check_header_names(node, env, names)
    return HeaderTest(
        node.line,
        matcher(node, env),
        env.strings(node, names),
        env.strings(node, _strings(node, 1)),
        header_index(node, env),
    )


def _address(node: Node, env: CompileEnv) -> Test:
    names = _strings(node, 0)
    check_header_names(node, env, names)
    return AddressTest(
        node.line,
        matcher(node, env),
        address_part(node, env),
        env.strings(node, names),
        env.strings(node, _strings(node, 1)),
        header_index(node, env),
    )


_LISTS = (Param("header-names", "strings"), Param("key-list", "strings"))

register(Spec("true", Kind.TEST, lambda node, env: Constant(node.line, True)))
register(Spec("false", Kind.TEST, lambda node, env: Constant(node.line, False)))
register(Spec("allof", Kind.TEST, _allof, grammar="allof"))
register(Spec("anyof", Kind.TEST, _allof, grammar="anyof"))
register(Spec("not", Kind.TEST, _not, grammar="not"))
register(Spec("exists", Kind.TEST, _exists, params=(Param("header-names", "strings"),)))
register(
    Spec(
        "size",
        Kind.TEST,
        _size,
        tags=(TagGroup("size", (":over", ":under")),),
        params=(Param("limit", "number"),),
    )
)
register(Spec("header", Kind.TEST, _header, tags=(*MATCHING, INDEX, LAST), params=_LISTS))
register(
    Spec(
        "address",
        Kind.TEST,
        _address,
        tags=(*MATCHING, ADDRESS_PART, INDEX, LAST),
        params=_LISTS,
    )
)
