"""Tokenizer and precedence parser for the rule expression language → IR (:mod:`.ir`).

Hand-written: nothing here calls ``eval``/``compile``/``ast``.  The grammar is in
``docs/rule-packs.md``; anything outside it (attribute access, subscripts, lambdas,
comprehensions, ``**``, unknown functions, dunder names) is an :class:`ExprError` with the
0-based column of the offending token, rendered by :func:`caret` for the user.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from fupin_cli.engine import ir

MAX_LENGTH = 2000
MAX_DEPTH = 60  # levels of the expression tree, of every kind: brackets, not, unary minus, calls, operator chains
MAX_NODES = 400  # values, names and operators in one expression
MAX_NUMBER = 1e15  # literals beyond this (or with more than MAX_NUMBER_TEXT characters) are refused
MAX_NUMBER_TEXT = 32
FUNCS = {  # name → (min args, max args)
    "min": (2, 16),
    "max": (2, 16),
    "abs": (1, 1),
    "round": (1, 2),
    "coalesce": (2, 16),
    "year": (1, 1),
    "contains": (2, 2),
}
KEYWORDS = {"and", "or", "not", "in", "between", "is", "missing", "true", "false", "param"}
FORBIDDEN_WORDS = {
    "lambda", "for", "if", "else", "elif", "import", "from", "def", "class", "return", "yield", "while",
    "with", "as", "del", "global", "nonlocal", "assert", "raise", "try", "except", "finally", "pass",
    "break", "continue", "async", "await",
}
PYTHON_WORDS = {"True": "true", "False": "false", "None": "is missing", "AND": "and", "OR": "or", "NOT": "not"}


class ExprError(Exception):
    def __init__(self, message: str, col: int):
        super().__init__(message)
        self.message = message
        self.col = col


@dataclass(frozen=True)
class Token:
    kind: str  # NUM STR NAME OP EOF
    text: str
    pos: int
    value: object = None


_NUM = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = ("<=", ">=", "==", "!=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ",", ".")
_BAD_OPS = {
    "**": "'**' (power) is not allowed",
    "//": "'//' is not allowed; use '/' and round()",
    "%": "'%' is not allowed",
    "=": "use '==' to compare",
    "!": "use 'not'",
    "&": "use 'and'",
    "|": "use 'or'",
    "~": "use 'not'",
    "@": "'@' is not allowed",
    "{": "'{' is not allowed",
    "}": "'}' is not allowed",
    ":": "':' is not allowed",
    ";": "';' is not allowed",
    "`": "'`' is not allowed",
    "\\": "'\\' is not allowed",
    "#": "comments are not allowed inside an expression",
    "$": "'$' is not allowed",
    "^": "'^' is not allowed",
    "?": "'?' is not allowed",
}


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression too long ({len(text)} characters, at most {MAX_LENGTH})", 0)
    if "\x00" in text:
        raise ExprError("NUL character in the expression", text.index("\x00"))
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n\u3000":
            i += 1
            continue
        if ch.isascii() and ch.isdigit():
            m = _NUM.match(text, i)
            assert m
            s = m.group(0)
            is_int = m.group(1) is None and m.group(2) is None
            if len(s) > MAX_NUMBER_TEXT or not float(s) <= MAX_NUMBER:
                shown = f"{s[:12]}… ({len(s)} digits and signs)" if len(s) > 20 else s
                what = "is too large (not a finite number)" if len(s) <= MAX_NUMBER_TEXT and float(s) == float("inf") else "is too large"
                raise ExprError(f"number {shown} {what} (at most {MAX_NUMBER:.0e} and {MAX_NUMBER_TEXT} characters)", i)
            tokens.append(Token("NUM", s, i, (int(s), is_int) if is_int else (float(s), False)))
            i = m.end()
            if i < n and (text[i].isascii() and (text[i].isalpha() or text[i] == "_")):
                raise ExprError(f"unexpected character {text[i]!r} after number {s}", i)
            continue
        if ch in "'\"":
            end = text.find(ch, i + 1)
            if end < 0:
                raise ExprError("unterminated string (missing closing quote)", i)
            tokens.append(Token("STR", text[i : end + 1], i, text[i + 1 : end]))
            i = end + 1
            continue
        if ch.isascii() and (ch.isalpha() or ch == "_"):
            m = _NAME.match(text, i)
            assert m
            word = m.group(0)
            if "__" in word:
                raise ExprError(f"names with '__' are not allowed: {word!r}", i)
            if word.startswith("_"):
                raise ExprError(f"names starting with '_' are not allowed: {word!r}", i)
            if word in FORBIDDEN_WORDS:
                raise ExprError(f"{word!r} is not allowed in rule expressions", i)
            if word in PYTHON_WORDS:
                raise ExprError(f"unknown word {word!r} (use {PYTHON_WORDS[word]!r})", i)
            tokens.append(Token("NAME", word, i))
            i = m.end()
            continue
        two = text[i : i + 2]
        if two in _BAD_OPS:
            raise ExprError(_BAD_OPS[two], i)
        if two in _OPS:
            tokens.append(Token("OP", two, i))
            i += 2
            continue
        if ch in _OPS:
            tokens.append(Token("OP", ch, i))
            i += 1
            continue
        if ch in _BAD_OPS:
            raise ExprError(_BAD_OPS[ch], i)
        if ch in "（）【】“”‘’，＜＞＝":
            raise ExprError(f"full-width character {ch!r}: use the ASCII form", i)
        if not ch.isascii():
            raise ExprError(f"unexpected character {ch!r} (put text in quotes: '{ch}')", i)
        raise ExprError(f"unexpected character {ch!r}", i)
    tokens.append(Token("EOF", "", n))
    return tokens


def parse(text: str) -> ir.Node:
    """Parse an expression into IR; :class:`ExprError` on anything outside the grammar."""
    if not isinstance(text, str):
        raise ExprError("expression must be text", 0)
    if not text.strip():
        raise ExprError("empty expression", 0)
    node = _Parser(text, tokenize(text)).parse()
    check_size(node)
    return node


def check_size(node: ir.Node) -> None:
    """Refuse trees the engines cannot evaluate safely: more than :data:`MAX_DEPTH` levels of any
    kind (a 600-term sum is 600 levels deep) or more than :data:`MAX_NODES` nodes.  Iterative, so a
    tree of any shape is measured without recursion."""
    count = 0
    stack = [(node, 1)]
    while stack:
        n, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise ExprError(f"expression nested too deeply (more than {MAX_DEPTH} levels; a long chain of operators "
                            "counts one level per operator): split it into derived fields", n.pos)
        if count > MAX_NODES:
            raise ExprError(f"expression too large (more than {MAX_NODES} values and operators): split it into derived fields", n.pos)
        stack.extend((c, depth + 1) for c in ir.children(n))


class _Parser:
    def __init__(self, text: str, tokens: list[Token]):
        self.text = text
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    # -- helpers -------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def at(self, kind: str, text: str | None = None) -> bool:
        t = self.tok
        return t.kind == kind and (text is None or t.text == text)

    def at_word(self, word: str) -> bool:
        return self.at("NAME", word)

    def take(self) -> Token:
        t = self.tok
        self.i += 1
        return t

    def expect_op(self, op: str, what: str) -> Token:
        if not self.at("OP", op):
            raise self.unexpected(f"expected {op!r} {what}")
        return self.take()

    def unexpected(self, context: str | None = None) -> ExprError:
        t = self.tok
        special = {
            ")": "unmatched ')'",
            ".": "attribute access ('.') is not allowed",
            "[": "subscripts ('[...]' after a value) are not allowed",
            "(": "calls are only allowed for the functions " + ", ".join(FUNCS),
        }
        if t.kind == "OP" and t.text in special:
            return ExprError(special[t.text], t.pos)
        msg = "unexpected end of expression" if t.kind == "EOF" else f"unexpected {t.text!r}"
        if context:
            msg += f" ({context})"
        return ExprError(msg, t.pos)

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError(f"expression nested too deeply (more than {MAX_DEPTH} levels)", self.tok.pos)

    # -- grammar -------------------------------------------------------------------------
    def parse(self) -> ir.Node:
        node = self.or_()
        if not self.at("EOF"):
            raise self.unexpected()
        return node

    def or_(self) -> ir.Node:
        pos = self.tok.pos
        items = [self.and_()]
        while self.at_word("or"):
            self.take()
            items.append(self.and_())
        return items[0] if len(items) == 1 else ir.Or(tuple(items), pos)

    def and_(self) -> ir.Node:
        pos = self.tok.pos
        items = [self.not_()]
        while self.at_word("and"):
            self.take()
            items.append(self.not_())
        return items[0] if len(items) == 1 else ir.And(tuple(items), pos)

    def not_(self) -> ir.Node:
        if self.at_word("not"):
            t = self.take()
            self.nest()
            node = ir.Not(self.not_(), t.pos)
            self.depth -= 1
            return node
        return self.cmp()

    def cmp(self) -> ir.Node:
        left = self.sum()
        t = self.tok
        if t.kind == "OP" and t.text in ("<", "<=", ">", ">=", "==", "!="):
            self.take()
            right = self.sum()
            if self.tok.kind == "OP" and self.tok.text in ("<", "<=", ">", ">=", "==", "!="):
                raise ExprError("chained comparisons are not allowed; use 'between' or 'and'", self.tok.pos)
            return ir.Compare(t.text, left, right, t.pos)
        if self.at_word("in"):
            self.take()
            return ir.In(left, self.options(), False, t.pos)
        if self.at_word("not") and self.peek().kind == "NAME" and self.peek().text == "in":
            self.take()
            self.take()
            return ir.In(left, self.options(), True, t.pos)
        if self.at_word("between"):
            self.take()
            low = self.sum()
            if not self.at_word("and"):
                raise self.unexpected("expected 'and' in 'x between low and high'")
            self.take()
            high = self.sum()
            return ir.Between(left, low, high, t.pos)
        if self.at_word("is"):
            self.take()
            negate = False
            if self.at_word("not"):
                self.take()
                negate = True
            if not self.at_word("missing"):
                raise self.unexpected("expected 'is missing' or 'is not missing'")
            self.take()
            return ir.IsMissing(left, negate, t.pos)
        return left

    def options(self) -> ir.Node:
        if self.at("OP", "["):
            return self.list_()
        if self.at_word("param"):
            return self.param()
        raise self.unexpected("expected a list '[...]' or param.NAME after 'in'")

    def sum(self) -> ir.Node:
        node = self.term()
        while self.tok.kind == "OP" and self.tok.text in ("+", "-"):
            t = self.take()
            node = ir.Arith(t.text, node, self.term(), t.pos)
        return node

    def term(self) -> ir.Node:
        node = self.unary()
        while self.tok.kind == "OP" and self.tok.text in ("*", "/"):
            t = self.take()
            node = ir.Arith(t.text, node, self.unary(), t.pos)
        return node

    def unary(self) -> ir.Node:
        if self.at("OP", "-"):
            t = self.take()
            self.nest()
            operand = self.unary()
            self.depth -= 1
            if isinstance(operand, ir.Num):
                return ir.Num(-operand.value, t.pos, operand.is_int)
            return ir.Neg(operand, t.pos)
        if self.at("OP", "+"):
            raise self.unexpected()
        node = self.atom()
        if self.tok.kind == "OP" and self.tok.text in (".", "[", "("):
            raise self.unexpected()
        return node

    def param(self) -> ir.Node:
        t = self.take()  # 'param'
        if not self.at("OP", "."):
            raise self.unexpected("expected 'param.NAME'")
        self.take()
        if not self.at("NAME") or self.tok.text in KEYWORDS:
            raise self.unexpected("expected a parameter name after 'param.'")
        name = self.take()
        return ir.Param(name.text, t.pos)

    def atom(self) -> ir.Node:
        t = self.tok
        if t.kind == "NUM":
            self.take()
            value, is_int = cast("tuple[float, bool]", t.value)  # a NUM token's value (set by the tokenizer)
            return ir.Num(value, t.pos, is_int)
        if t.kind == "STR":
            self.take()
            return ir.Str(t.value, t.pos)  # type: ignore[arg-type]
        if t.kind == "OP" and t.text == "(":
            self.take()
            if self.at("OP", ")"):
                raise ExprError("empty parentheses '()' are not allowed", t.pos)
            self.nest()
            node = self.or_()
            self.depth -= 1
            if not self.at("OP", ")"):
                raise self.unexpected("expected ')'") if not self.at("EOF") else ExprError("missing ')' for this '('", t.pos)
            self.take()
            return node
        if t.kind == "OP" and t.text == "[":
            return self.list_()
        if t.kind == "NAME":
            if t.text in ("true", "false"):
                self.take()
                return ir.Bool(t.text == "true", t.pos)
            if t.text == "param":
                return self.param()
            if t.text in KEYWORDS:
                raise self.unexpected("expected a value")
            if self.peek().kind == "OP" and self.peek().text == "(":
                return self.call()
            self.take()
            return ir.Name(t.text, t.pos)
        raise self.unexpected("expected a value")

    def call(self) -> ir.Node:
        t = self.take()
        if t.text not in FUNCS:
            raise ExprError(f"unknown function {t.text!r}{did_you_mean(t.text, FUNCS)} (allowed: {', '.join(FUNCS)})", t.pos)
        self.take()  # (
        self.nest()
        args: list[ir.Node] = []
        if not self.at("OP", ")"):
            args.append(self.or_())
            while self.at("OP", ","):
                self.take()
                args.append(self.or_())
        if not self.at("OP", ")"):
            raise self.unexpected(f"expected ',' or ')' in {t.text}(...)")
        self.take()
        self.depth -= 1
        lo, hi = FUNCS[t.text]
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}" if hi < 16 else f"at least {lo}"
            raise ExprError(f"{t.text}() takes {want} argument{'s' if hi != 1 else ''}, got {len(args)}", t.pos)
        return ir.Call(t.text, tuple(args), t.pos)

    def list_(self) -> ir.Node:
        t = self.take()  # [
        items: list[ir.Node] = []
        while not self.at("OP", "]"):
            if items:
                if not self.at("OP", ","):
                    raise self.unexpected("expected ',' or ']' in a list")
                self.take()
                if self.at("OP", "]"):  # trailing comma
                    break
            items.append(self.list_item())
        self.take()
        return ir.ListLit(tuple(items), t.pos)

    def list_item(self) -> ir.Node:
        t = self.tok
        if t.kind == "OP" and t.text == "-" and self.peek().kind == "NUM":
            self.take()
            n = self.take()
            value, is_int = cast("tuple[float, bool]", n.value)  # a NUM token's value (set by the tokenizer)
            return ir.Num(-value, t.pos, is_int)
        if t.kind == "NUM" or t.kind == "STR" or (t.kind == "NAME" and t.text in ("true", "false")):
            return self.atom()
        if t.kind == "EOF":
            raise ExprError("missing ']' for this '['", t.pos)
        raise ExprError(f"list items must be numbers, quoted text or true/false, not {t.text!r}", t.pos)


# ---------------------------------------------------------------------------------------
# helpers shared by the loader and the type checker
# ---------------------------------------------------------------------------------------
def did_you_mean(word: str, choices: Iterable[str], n: int = 1, cutoff: float | None = None) -> str:
    if cutoff is None:  # short (e.g. two-character Chinese) words need a looser match
        cutoff = 0.5 if len(word) <= 3 else 0.6
    matches = difflib.get_close_matches(word, list(choices), n=n, cutoff=cutoff)
    if not matches:
        return ""
    return " (did you mean " + " or ".join(repr(m) for m in matches) + "?)"


def caret(text: str, col: int, indent: str = "    ") -> str:
    """Two lines: the expression and a caret under column ``col`` (display-width aware)."""
    import unicodedata

    width = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text[:col])
    line = text if len(text) <= 200 else text[:200] + "…"
    return f"{indent}{line}\n{indent}{' ' * min(width, 200)}^"


_OP_TEXT = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_PREC = {ir.Or: 1, ir.And: 2, ir.Not: 3, ir.Compare: 4, ir.In: 4, ir.Between: 4, ir.IsMissing: 4}


def _prec(node: ir.Node) -> int:
    if isinstance(node, ir.Arith):
        return 5 if node.op in "+-" else 6
    if isinstance(node, ir.Neg):
        return 7
    return _PREC.get(type(node), 9)


def to_text(node: ir.Node, name_text: Callable[[str], str] | None = None,
            param_text: Callable[[str], str] | None = None) -> str:
    """Render IR back to expression text (``name_text``/``param_text`` may give labels instead)."""

    def lit(v: Any) -> str:
        if isinstance(v, ir.Str):
            return repr(v.value)
        if isinstance(v, ir.Bool):
            return "true" if v.value else "false"
        if isinstance(v, ir.Num):
            return fmt_number(v.value)
        if isinstance(v, ir.Date):
            return repr(v.value.isoformat())
        return r(v, 0)

    def wrap(child: ir.Node, min_prec: int) -> str:
        s = r(child, min_prec)
        return f"({s})" if _prec(child) < min_prec else s

    def r(n: ir.Node, _p: int) -> str:
        if isinstance(n, (ir.Num, ir.Str, ir.Bool, ir.Date)):
            return lit(n)
        if isinstance(n, ir.Name):
            return name_text(n.name) if name_text else n.name
        if isinstance(n, ir.Param):
            return param_text(n.name) if param_text else f"param.{n.name}"
        if isinstance(n, ir.ListLit):
            return "[" + ", ".join(lit(i) for i in n.items) + "]"
        if isinstance(n, ir.Neg):
            return "-" + wrap(n.operand, 7)
        if isinstance(n, ir.Arith):
            p = _prec(n)
            return f"{wrap(n.left, p)} {n.op} {wrap(n.right, p + 1)}"
        if isinstance(n, ir.Compare):
            return f"{wrap(n.left, 5)} {_OP_TEXT[n.op]} {wrap(n.right, 5)}"
        if isinstance(n, ir.In):
            return f"{wrap(n.operand, 5)} {'not in' if n.negate else 'in'} {r(n.options, 0)}"
        if isinstance(n, ir.Between):
            return f"{wrap(n.operand, 5)} between {wrap(n.low, 5)} and {wrap(n.high, 5)}"
        if isinstance(n, ir.IsMissing):
            return f"{wrap(n.operand, 5)} is {'not ' if n.negate else ''}missing"
        if isinstance(n, ir.Not):
            return "not " + wrap(n.operand, 3)
        if isinstance(n, ir.And):
            return " and ".join(wrap(i, 3) for i in n.items)
        if isinstance(n, ir.Or):
            return " or ".join(wrap(i, 2) for i in n.items)
        if isinstance(n, ir.Call):
            return f"{n.func}(" + ", ".join(r(a, 0) for a in n.args) + ")"
        raise TypeError(type(n).__name__)

    return r(node, 0)


def fmt_number(v: float) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))
