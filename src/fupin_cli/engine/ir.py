"""Intermediate representation of rule expressions: small frozen dataclasses.

The parser (:mod:`.expr`) builds these; the type checker (:mod:`.typecheck`) annotates a
copy with resolved names; the pandas compiler (:mod:`.compile_pandas`) and the scalar
interpreter (:mod:`.interpret`) evaluate them.  The IR is backend-neutral (it could also
compile to SQL).  ``pos`` is the 0-based column in the expression text (not compared).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast


@dataclass(frozen=True)
class Num:
    value: float
    pos: int = field(default=0, compare=False)
    is_int: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Str:
    value: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Bool:
    value: bool
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Date:
    value: dt.date
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Name:
    """A field: canonical (schema), derived, member field, or built-in (``age``)."""

    name: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Param:
    name: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ListLit:
    items: tuple[Any, ...]  # of Num | Str | Bool | Date
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Neg:
    operand: Node
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Arith:
    op: str  # + - * /
    left: Node
    right: Node
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Compare:
    op: str  # < <= > >= == !=
    left: Node
    right: Node
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class In:
    operand: Node
    options: Node  # ListLit or Param (list-valued)
    negate: bool = False
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Between:
    operand: Node
    low: Node
    high: Node
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class IsMissing:
    operand: Node
    negate: bool = False
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Not:
    operand: Node
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    items: tuple[Any, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Or:
    items: tuple[Any, ...]
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Call:
    func: str  # min max abs round coalesce year contains
    args: tuple[Any, ...]
    pos: int = field(default=0, compare=False)


def _cached_hash(self: Any) -> int:
    """The dataclass hash, computed once per node (memo tables hash nodes again and again, and the
    generated hash walks the whole subtree every time)."""
    try:
        return cast(int, self.__dict__["_hash"])
    except KeyError:
        h = hash((type(self).__name__, *(getattr(self, f) for f in self.__dataclass_fields__ if self.__dataclass_fields__[f].compare)))
        object.__setattr__(self, "_hash", h)
        return h


Node = (Num | Str | Bool | Date | Name | Param | ListLit | Neg | Arith | Compare | In | Between | IsMissing | Not | And | Or
        | Call)
for _cls in (Num, Str, Bool, Date, Name, Param, ListLit, Neg, Arith, Compare, In, Between, IsMissing, Not, And, Or, Call):
    _cls.__hash__ = _cached_hash  # type: ignore[method-assign]
LEAVES = (Num, Str, Bool, Date, Name, Param, ListLit)
CONDITIONS = (Compare, In, Between, IsMissing)  # leaves of the deciding-values text


def children(node: Node) -> tuple[Any, ...]:
    if isinstance(node, (Neg, Not)):
        return (node.operand,)
    if isinstance(node, (Arith, Compare)):
        return (node.left, node.right)
    if isinstance(node, In):
        return (node.operand, node.options)
    if isinstance(node, Between):
        return (node.operand, node.low, node.high)
    if isinstance(node, IsMissing):
        return (node.operand,)
    if isinstance(node, (And, Or)):
        return node.items
    if isinstance(node, Call):
        return node.args
    if isinstance(node, ListLit):
        return node.items
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Yield every node of the tree, depth first."""
    yield node
    for c in children(node):
        yield from walk(c)


def names(node: Node) -> set[str]:
    return {n.name for n in walk(node) if isinstance(n, Name)}


def params(node: Node) -> set[str]:
    return {n.name for n in walk(node) if isinstance(n, Param)}
