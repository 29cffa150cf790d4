"""The rule language: SQL-style boolean conditions over features, parsed, checked, compiled to Ibis.

Grammar (case-insensitive keywords)::

    expr     := or
    or       := and (OR and)*
    and      := not (AND not)*
    not      := NOT not | predicate
    predicate:= sum [ (= | == | != | <> | < | <= | > | >=) sum
                    | [NOT] IN ( literal, ... )
                    | [NOT] BETWEEN sum AND sum
                    | IS [NOT] NULL ]
    sum      := product ((+ | -) product)*
    product  := unary ((* | /) unary)*
    unary    := - unary | atom
    atom     := number | 'string' | TRUE | FALSE | NULL | column | function ( args ) | ( expr )

Functions: ``abs``, ``coalesce``, ``least``, ``greatest``, ``round``, ``lower``, ``upper``,
``length``. Nothing else is accepted: no subqueries, no other functions, no attribute
access. Text is parsed, never evaluated. Every error names the position in the rule::

    aum_avg_3m >= 500000 AND agee < 60
                             ^ unknown column 'agee'; did you mean 'age'?

>>> parse("aum_avg_3m >= 500000 AND age BETWEEN 30 AND 55").op
'and'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

from tierwise.errors import PolicyError, did_you_mean

FUNCTIONS = {"abs": (1, 1), "coalesce": (1, 99), "least": (2, 99), "greatest": (2, 99), "round": (1, 2),
             "lower": (1, 1), "upper": (1, 1), "length": (1, 1)}
KEYWORDS = {"and", "or", "not", "in", "between", "is", "null", "true", "false"}
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
  | (?P<str>'(?:[^']|'')*')
  | (?P<op><=|>=|<>|!=|==|=|<|>|\+|-|\*|/|\(|\)|,)
  | (?P<name>[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]*)
""", re.VERBOSE)


@dataclass
class Node:
    op: str                      # 'and','or','not','cmp','in','between','isnull','arith','neg','col','lit','call'
    pos: int
    args: list = field(default_factory=list)
    value: object = None         # operator symbol, column name, literal value, function name, or negation flag


class RuleError(PolicyError):
    """A rule cannot be parsed or refers to something unknown; the message points at the place."""


def _fail(text: str, pos: int, msg: str, where: str) -> RuleError:
    caret = " " * pos + "^"
    return RuleError(f"{where}: {msg}\n    {text}\n    {caret}")


class _Parser:
    def __init__(self, text: str, where: str):
        self.text, self.where = text, where
        self.toks: list[tuple[str, str, int]] = []
        i = 0
        while i < len(text):
            m = _TOKEN.match(text, i)
            if not m:
                raise _fail(text, i, f"unexpected character {text[i]!r}", where)
            kind = m.lastgroup
            if kind != "ws":
                val = m.group()
                if kind == "name" and val.lower() in KEYWORDS:
                    kind, val = "kw", val.lower()
                self.toks.append((kind, val, i))
            i = m.end()
        self.toks.append(("end", "", len(text)))
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, str, int]:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def take(self) -> tuple[str, str, int]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def accept(self, kind: str, val: str | None = None) -> bool:
        k, v, _ = self.peek()
        if k == kind and (val is None or v == val):
            self.i += 1
            return True
        return False

    def expect(self, kind: str, val: str, what: str) -> None:
        if not self.accept(kind, val):
            k, v, p = self.peek()
            raise _fail(self.text, p, f"expected {what}, found {v or 'the end'!r}", self.where)

    def parse(self) -> Node:
        node = self.or_()
        k, v, p = self.peek()
        if k != "end":
            raise _fail(self.text, p, f"unexpected {v!r}", self.where)
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.peek()[:2] == ("kw", "or"):
            p = self.take()[2]
            node = Node("or", p, [node, self.and_()])
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.peek()[:2] == ("kw", "and"):
            p = self.take()[2]
            node = Node("and", p, [node, self.not_()])
        return node

    def not_(self) -> Node:
        if self.peek()[:2] == ("kw", "not"):
            p = self.take()[2]
            return Node("not", p, [self.not_()])
        return self.predicate()

    def predicate(self) -> Node:
        left = self.sum_()
        k, v, p = self.peek()
        if k == "op" and v in ("=", "==", "!=", "<>", "<", "<=", ">", ">="):
            self.take()
            return Node("cmp", p, [left, self.sum_()], {"==": "=", "<>": "!="}.get(v, v))
        negate = False
        if (k, v) == ("kw", "not") and self.peek(1)[:2] in (("kw", "in"), ("kw", "between")):
            self.take()
            negate = True
            k, v, p = self.peek()
        if (k, v) == ("kw", "in"):
            self.take()
            self.expect("op", "(", "'(' after IN")
            items = [self.literal()]
            while self.accept("op", ","):
                items.append(self.literal())
            self.expect("op", ")", "')' closing the IN list")
            return Node("in", p, [left, *items], negate)
        if (k, v) == ("kw", "between"):
            self.take()
            lo = self.sum_()
            self.expect("kw", "and", "AND in BETWEEN … AND …")
            return Node("between", p, [left, lo, self.sum_()], negate)
        if (k, v) == ("kw", "is"):
            self.take()
            neg = self.accept("kw", "not")
            self.expect("kw", "null", "NULL after IS")
            return Node("isnull", p, [left], neg)
        return left

    def literal(self) -> Node:
        neg = self.accept("op", "-")
        k, v, p = self.take()
        if k == "num":
            val = float(v) if any(c in v for c in ".eE") else int(v)
            return Node("lit", p, value=-val if neg else val)
        if k == "str" and not neg:
            return Node("lit", p, value=v[1:-1].replace("''", "'"))
        raise _fail(self.text, p, f"expected a number or 'text' in the list, found {v or 'the end'!r}", self.where)

    def sum_(self) -> Node:
        node = self.product()
        while self.peek()[0] == "op" and self.peek()[1] in "+-" and self.peek()[1]:
            _, v, p = self.take()
            node = Node("arith", p, [node, self.product()], v)
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/"):
            _, v, p = self.take()
            node = Node("arith", p, [node, self.unary()], v)
        return node

    def unary(self) -> Node:
        if self.peek()[:2] == ("op", "-"):
            p = self.take()[2]
            return Node("neg", p, [self.unary()])
        return self.atom()

    def atom(self) -> Node:
        k, v, p = self.take()
        if k == "num":
            return Node("lit", p, value=float(v) if any(c in v for c in ".eE") else int(v))
        if k == "str":
            return Node("lit", p, value=v[1:-1].replace("''", "'"))
        if k == "kw" and v in ("true", "false"):
            return Node("lit", p, value=(v == "true"))
        if k == "kw" and v == "null":
            return Node("lit", p, value=None)
        if k == "op" and v == "(":
            node = self.or_()
            self.expect("op", ")", "')'")
            return node
        if k == "name":
            if self.peek()[:2] == ("op", "("):
                fname = v.lower()
                if fname not in FUNCTIONS:
                    hint = did_you_mean(fname, FUNCTIONS)
                    raise _fail(self.text, p, f"function '{v}' is not allowed" + (f"; {hint}" if hint else
                                f"; allowed: {', '.join(sorted(FUNCTIONS))}"), self.where)
                self.take()
                args = [] if self.peek()[:2] == ("op", ")") else [self.sum_()]
                while self.accept("op", ","):
                    args.append(self.sum_())
                self.expect("op", ")", f"')' closing {v}(")
                lo, hi = FUNCTIONS[fname]
                if not lo <= len(args) <= hi:
                    raise _fail(self.text, p, f"{fname}() takes {lo}" + (f" to {hi}" if hi != lo else "")
                                + f" argument(s), got {len(args)}", self.where)
                return Node("call", p, args, fname)
            return Node("col", p, value=v)
        raise _fail(self.text, p, f"unexpected {v or 'end of rule'!r}", self.where)


def parse(text: str, where: str = "rule") -> Node:
    """Parse a rule into its syntax tree; a :class:`RuleError` points at the problem."""
    if not isinstance(text, str) or not text.strip():
        raise RuleError(f"{where}: the rule is empty")
    return _Parser(text, where).parse()


def columns_of(node: Node) -> set[str]:
    found = {node.value} if node.op == "col" else set()
    for a in node.args:
        found |= columns_of(a)
    return found


def compile_rule(text: str, table: ir.Table, where: str = "rule") -> ir.BooleanValue:
    """Parse ``text`` and compile it to a boolean Ibis expression over ``table``'s columns.

    A NULL result (a comparison with a missing value) counts as false.
    """
    node = parse(text, where)
    expr = _compile(node, table, text, where)
    if not isinstance(expr, ir.BooleanValue):
        raise _fail(text, 0, "the rule must be a condition (true or false), not a value", where)
    return expr.fill_null(False)


def _compile(n: Node, t: ir.Table, text: str, where: str):
    c = lambda x: _compile(x, t, text, where)  # noqa: E731
    try:
        if n.op == "col":
            if n.value not in t.columns:
                hint = did_you_mean(n.value, t.columns)
                raise _fail(text, n.pos, f"unknown column '{n.value}'" + (f"; {hint}" if hint else ""), where)
            return t[n.value]
        if n.op == "lit":
            return ibis.literal(n.value) if n.value is not None else ibis.null()
        if n.op == "and":
            return c(n.args[0]) & c(n.args[1])
        if n.op == "or":
            return c(n.args[0]) | c(n.args[1])
        if n.op == "not":
            return ~c(n.args[0])
        if n.op == "cmp":
            a, b = c(n.args[0]), c(n.args[1])
            return {"=": a.__eq__, "!=": a.__ne__, "<": a.__lt__, "<=": a.__le__, ">": a.__gt__,
                    ">=": a.__ge__}[n.value](b)
        if n.op == "in":
            expr = c(n.args[0]).isin([a.value for a in n.args[1:]])
            return ~expr if n.value else expr
        if n.op == "between":
            expr = c(n.args[0]).between(c(n.args[1]), c(n.args[2]))
            return ~expr if n.value else expr
        if n.op == "isnull":
            e = c(n.args[0])
            return e.notnull() if n.value else e.isnull()
        if n.op == "neg":
            return -c(n.args[0])
        if n.op == "arith":
            a, b = c(n.args[0]), c(n.args[1])
            if n.value == "/":
                return a.cast("float64") / b.cast("float64").nullif(0)
            return {"+": a.__add__, "-": a.__sub__, "*": a.__mul__}[n.value](b)
        if n.op == "call":
            args = [c(a) for a in n.args]
            f = n.value
            if f == "coalesce":
                return ibis.coalesce(*args)
            if f == "least":
                return ibis.least(*args)
            if f == "greatest":
                return ibis.greatest(*args)
            if f == "round":
                return args[0].round(int(n.args[1].value) if len(args) > 1 else 0)
            return getattr(args[0], {"abs": "abs", "lower": "lower", "upper": "upper", "length": "length"}[f])()
    except RuleError:
        raise
    except (AttributeError, TypeError, ibis.common.exceptions.IbisTypeError) as exc:
        raise _fail(text, n.pos, f"types do not fit here ({exc})".split("\n")[0], where) from None
    raise _fail(text, n.pos, f"unsupported '{n.op}'", where)  # pragma: no cover - parser yields only the above


def compile_value(text: str, table: ir.Table, where: str = "metric") -> ir.NumericValue:
    """Parse and compile a numeric expression (``aum_avg_3m + 0.5 * revenue_365d``) over ``table``."""
    node = parse(text, where)
    expr = _compile(node, table, text, where)
    if not isinstance(expr, ir.NumericValue) or isinstance(expr, ir.BooleanValue):
        raise _fail(text, 0, "the metric must be a number, not a condition or text", where)
    return expr
