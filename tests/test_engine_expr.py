"""Expression language: tokenizer, parser, IR, type checking; malicious input is rejected."""

from __future__ import annotations

import pytest

from fupin_cli.engine import ir
from fupin_cli.engine.expr import ExprError, caret, parse, to_text
from fupin_cli.engine.typecheck import BOOL, INT, MONEY, check, household_scope, member_scope


def err(text: str) -> tuple[str, int]:
    with pytest.raises(ExprError) as info:
        parse(text)
    return info.value.message, info.value.col


def terr(text: str, scope=None) -> tuple[str, int]:
    with pytest.raises(ExprError) as info:
        check(parse(text), scope or household_scope({}, {"poverty_line": INT}), "bool")
    return info.value.message, info.value.col


# ---- parsing ---------------------------------------------------------------------------
def test_precedence_and_shape():
    node = parse("a + b * c < param.x and not d or e")
    assert node == ir.Or((
        ir.And((
            ir.Compare("<", ir.Arith("+", ir.Name("a"), ir.Arith("*", ir.Name("b"), ir.Name("c"))), ir.Param("x")),
            ir.Not(ir.Name("d")),
        )),
        ir.Name("e"),
    ))


def test_all_grammar_forms_round_trip():
    texts = [
        "x in ['a', 'b']",
        "x not in [1, 2, -3]",
        "x between 1 and param.hi",
        "x is missing",
        "x is not missing",
        "min(a, b) + max(a, 0) - abs(c) / round(d, 2)",
        "coalesce(a, b / c)",
        "year(d) >= 2000",
        "contains(risk_types, '因病')",
        "-(a - b) * 2",
        "not not a",
        "a == true and b != false",
    ]
    for t in texts:
        assert to_text(parse(t)) == t


def test_between_and_binds_inside_comparison():
    node = parse("x between 1 and 2 and y")
    assert node == ir.And((ir.Between(ir.Name("x"), ir.Num(1), ir.Num(2)), ir.Name("y")))


def test_double_quoted_and_chinese_strings():
    assert parse('health == "患有大病"') == ir.Compare("==", ir.Name("health"), ir.Str("患有大病"))


@pytest.mark.parametrize(
    "text, message, col",
    [
        ("__import__('os')", "names with '__' are not allowed: '__import__'", 0),
        ("().__class__", "names with '__' are not allowed: '__class__'", 3),
        ("()", "empty parentheses '()' are not allowed", 0),
        ("lambda x: x", "'lambda' is not allowed in rule expressions", 0),
        ("[x for x in y]", "'for' is not allowed in rule expressions", 3),
        ("[x, 1]", "list items must be numbers, quoted text or true/false, not 'x'", 1),
        ("9**9**9", "'**' (power) is not allowed", 1),
        ("a.b", "attribute access ('.') is not allowed", 1),
        ("a[0]", "subscripts ('[...]' after a value) are not allowed", 1),
        ("exec('rm -rf /')", "unknown function 'exec' (allowed: min, max, abs, round, coalesce, year, contains)", 0),
        ("eval('1')", "unknown function 'eval' (allowed: min, max, abs, round, coalesce, year, contains)", 0),
        ("open('/etc/passwd')", "unknown function 'open' (allowed: min, max, abs, round, coalesce, year, contains)", 0),
        ("mni(a, b)", "unknown function 'mni' (did you mean 'min'?) (allowed: min, max, abs, round, coalesce, year, contains)", 0),
        ("_source == 'x'", "names starting with '_' are not allowed: '_source'", 0),
        ("x.__class__.__mro__", "names with '__' are not allowed: '__class__'", 2),
        ("import os", "'import' is not allowed in rule expressions", 0),
        ("a if b else c", "'if' is not allowed in rule expressions", 2),
        ("a = 1", "use '==' to compare", 2),
        ("a & b", "use 'and'", 2),
        ("a < b < c", "chained comparisons are not allowed; use 'between' or 'and'", 6),
        ("(a and b", "missing ')' for this '('", 0),
        ("a and b)", "unmatched ')'", 7),
        ("a and", "unexpected end of expression (expected a value)", 5),
        ("x in y", "unexpected 'y' (expected a list '[...]' or param.NAME after 'in')", 5),
        ("income > 人均", "unexpected character '人' (put text in quotes: '人')", 9),
        ("a （ b", "full-width character '（': use the ASCII form", 2),
        ("'open", "unterminated string (missing closing quote)", 0),
        ("True", "unknown word 'True' (use 'true')", 0),
        ("x is None", "unknown word 'None' (use 'is missing')", 5),
        ("round(a, 1, 2)", "round() takes 1 to 2 arguments, got 3", 0),
        ("abs()", "abs() takes 1 argument, got 0", 0),
        ("param", "unexpected end of expression (expected 'param.NAME')", 5),
        ("1abc", "unexpected character 'a' after number 1", 1),
        ("a; b", "';' is not allowed", 1),
        ("", "empty expression", 0),
    ],
)
def test_rejected_with_message_and_column(text, message, col):
    assert err(text) == (message, col)


def test_very_long_input_rejected():
    assert err("a or " * 500 + "a") == ("expression too long (2501 characters, at most 2000)", 0)


def test_deep_nesting_rejected_without_recursion_error():
    text = "(" * 70 + "a" + ")" * 70
    message, _ = err(text)
    assert message == "expression nested too deeply (more than 60 levels)"
    message, _ = err("not " * 100 + "a")
    assert message == "expression nested too deeply (more than 60 levels)"


def test_caret_accounts_for_wide_characters():
    assert caret("health == '患病' and x", 18) == "    health == '患病' and x\n                        ^"


# ---- type checking ---------------------------------------------------------------------
def test_typecheck_ok_and_canonicalises_code_labels():
    node, ty = check(parse("recorded_primary_cause in ['1', '缺劳动力']"), household_scope({}, {}), "bool")
    assert ty == BOOL
    assert node.options == ir.ListLit((ir.Str("因病"), ir.Str("缺劳力")))
    mnode, _ = check(parse("health == '大病' and labour != '丧失'"), member_scope({}), "bool")
    assert mnode.items[0].right == ir.Str("患有大病")
    assert mnode.items[1].right == ir.Str("丧失劳动力")


def test_typecheck_dates_from_iso_text():
    node, _ = check(parse("monitoring_start >= '2021-01-01'"), household_scope({}, {}), "bool")
    assert isinstance(node.right, ir.Date) and node.right.value.isoformat() == "2021-01-01"
    assert terr("monitoring_start >= '2021-13-01'") == ("not a date '2021-13-01' (write 'YYYY-MM-DD')", 20)


def test_contains_canonicalises_list_items():
    node, _ = check(parse("contains(risk_types, '因灾')"), household_scope({}, {}), "bool")
    assert node.args[1] == ir.Str("因自然灾害")
    assert terr("contains(risk_types, '因冰')")[0].startswith("unknown 风险类型 value '因冰'")


@pytest.mark.parametrize(
    "text, message, col",
    [
        ("incme_per_capita < 1", "unknown field 'incme_per_capita' (did you mean 'income_per_capita'?)", 0),
        ("income_per_capita < param.povrty_line", "unknown parameter 'povrty_line' (did you mean 'poverty_line'?)", 20),
        ("has_vehicle > 3", "cannot compare yes/no with number (yes/no values compare with true/false)", 12),
        ("head_name > 'a'", "'>' needs numbers or dates, got text", 10),
        ("income_per_capita == '高'", "cannot compare number with text", 18),
        ("income_per_capita + has_vehicle > 1", "'+' needs a number, got yes/no", 20),
        ("not income_per_capita", "'not' needs a condition (yes/no), got number", 4),
        ("has_vehicle and household_size", "'and' needs a condition (yes/no), got number", 16),
        ("recorded_primary_cause == '因冰'", "unknown 致贫原因 value '因冰' (did you mean '因病'?); allowed: 因病、因残、因学、因灾、缺土地、缺水、缺技术、缺劳力、缺资金、交通条件落后、自身发展动力不足、其他", 26),
        ("household_size in ['a']", "list item is text, but 'household_size' is number", 19),
        ("health == '残疾'", "member field 'health' can only be used in a derived field over members", 0),
        ("age > 60", "'age' is a member value: use it in a derived field over members (e.g. agg: max, of: age)", 0),
        ("income_per_capita", "expression gives number, expected a condition (yes/no)", 0),
        ("min(has_vehicle, 1) > 0", "min() needs numbers (or dates), got yes/no, number", 0),
        ("year(household_size) > 1", "year() needs a date, got number", 5),
        ("contains(risk_types, head_name)", "contains(field, 'text'): the second argument must be quoted text", 21),
        ("round(income_per_capita, 9) > 1", "round(x, digits): digits must be a whole number 0–6", 25),
        ("coalesce(has_vehicle, 1)", "coalesce() arguments must all be of one type, got yes/no, number", 0),
        ("[1, 'a'] is missing", "list mixes num and str items", 0),
    ],
)
def test_type_errors(text, message, col):
    assert terr(text) == (message, col)


def test_member_scope_rejects_household_fields():
    assert terr("income_per_capita > 1", member_scope({})) == ("household field 'income_per_capita' cannot be used in a member condition", 0)


def test_derived_types_in_scope():
    scope = household_scope({"labourer_count": INT, "income_pc": MONEY}, {})
    _, ty = check(parse("income_pc / labourer_count"), scope)
    assert ty.kind == "num" and ty.fmt == "float"
    _, ty = check(parse("labourer_count + 1"), scope)
    assert ty.fmt == "int"
