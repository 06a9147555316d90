"""Rule pack loading: one broken pack per failure mode, with the exact message it must give."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from fupin_cli.engine import load_pack
from fupin_cli.engine.loader import find_pack, shipped_packs
from fupin_cli.errors import EXIT_RULES, RuleError

ROOT = Path(__file__).resolve().parents[1]
BROKEN = "tests/data/packs/broken"
MINI = "tests/data/packs/mini"


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # problem paths are shown relative to the working directory


def problems_of(name: str) -> list[str]:
    with pytest.raises(RuleError) as info:
        load_pack(f"{BROKEN}/{name}")
    assert info.value.exit_code == EXIT_RULES
    return info.value.problems


EXPECTED = {
    "yaml_syntax": f"{BROKEN}/yaml_syntax/rules.yaml:5:1: YAML syntax error: expected ',' or ']', but got '<stream end>'",
    "unknown_key": f"{BROKEN}/unknown_key/rules.yaml:9:5: rules.1.wehn: unknown key 'wehn' (did you mean 'when'?)",
    "unknown_kind": f"{BROKEN}/unknown_kind/rules.yaml:7:11: rules.1.kind: unknown kind 'critrion' (did you mean 'criterion'?)",
    "missing_label": f"{BROKEN}/missing_label/rules.yaml:2:5: rules.0.label: missing required key 'label'",
    "unknown_field": (
        f"{BROKEN}/unknown_field/rules.yaml:5:11: rules.0.when: unknown field 'incme_per_capita' (did you mean 'income_per_capita'?)\n"
        "    incme_per_capita < param.poverty_line\n"
        "    ^"
    ),
    "unknown_param": (
        f"{BROKEN}/unknown_param/rules.yaml:5:31: rules.0.when: unknown parameter 'povrty_line' (did you mean 'poverty_line'?)\n"
        "    income_per_capita < param.povrty_line\n"
        "                        ^"
    ),
    "expr_syntax": (
        f"{BROKEN}/expr_syntax/rules.yaml:5:32: rules.0.when: missing ')' for this '('\n"
        "    income_per_capita < (1 + 2\n"
        "                        ^"
    ),
    "type_mismatch": (
        f"{BROKEN}/type_mismatch/rules.yaml:5:23: rules.0.when: cannot compare yes/no with number (yes/no values compare with true/false)\n"
        "    has_vehicle > 3\n"
        "                ^"
    ),
    "code_label": (
        f"{BROKEN}/code_label/rules.yaml:6:37: rules.0.when: unknown 致贫原因 value '因并' (did you mean '因病'?); "
        "allowed: 因病、因残、因学、因灾、缺土地、缺水、缺技术、缺劳力、缺资金、交通条件落后、自身发展动力不足、其他\n"
        "    recorded_primary_cause == '因并'\n"
        "                              ^"
    ),
    "duplicate_id": f"{BROKEN}/duplicate_id/rules.yaml:6:9: rules.1.id: duplicate rule id 'income_below_line' (first defined at {BROKEN}/duplicate_id/rules.yaml:2)",
    "param_no_label": f"{BROKEN}/param_no_label/parameters.yaml:3:5: parameters.poverty_line: parameter 'poverty_line' has no label (中文名称)",
    "param_mixed_types": f"{BROKEN}/param_mixed_types/parameters.yaml:7:29: parameters.poverty_line.values.1.value: parameter 'poverty_line' mixes number and text values",
    "param_duplicate_year": (
        f"{BROKEN}/param_duplicate_year/parameters.yaml:7:16: parameters.poverty_line.values.1.year: second value for year 2014, "
        f"region 国家 (first at {BROKEN}/param_duplicate_year/parameters.yaml:6)"
    ),
    "param_unknown_region": f"{BROKEN}/param_unknown_region/parameters.yaml:7:30: parameters.poverty_line.values.1.region: unknown region '重床' (declare it under pack.regions)",
    "param_unknown_source": (
        f"{BROKEN}/param_unknown_source/parameters.yaml:7:43: parameters.poverty_line.values.1.source: "
        "unknown source key 'nbs-2071' (did you mean 'nbs-2017'?) (declare it under pack.sources)"
    ),
    "member_field_in_household_rule": (
        f"{BROKEN}/member_field_in_household_rule/rules.yaml:5:11: rules.0.when: member field 'health' can only be used in a derived field over members\n"
        "    health == '残疾'\n"
        "    ^"
    ),
    "disable_unknown": f"{BROKEN}/disable_unknown/pack.yaml:5:13: pack.disable.0: cannot disable unknown base rule 'income_below_lin' (did you mean 'income_below_line'?)",
    "no_pack_section": f"{BROKEN}/no_pack_section: no 'pack:' section (name, version) in any *.yaml file of the pack",
    "bad_rule_id": f"{BROKEN}/bad_rule_id/rules.yaml:2:9: rules.0.id: id must match [a-z][a-z0-9_]* (lower-case English, digits, '_')",
    "derived_missing_of": f"{BROKEN}/derived_missing_of/derived.yaml:5:10: derived.0.agg: agg: sum needs 'of:' (the member value to aggregate, e.g. of: age)",
    "unknown_top_key": f"{BROKEN}/unknown_top_key/rules.yaml:1:1: rule: unknown top-level key 'rule' (did you mean 'rules'?) (allowed: pack, parameters, derived, rules, measures, funds)",
    "malicious_expression": (
        f"{BROKEN}/malicious_expression/rules.yaml:5:11: rules.0.when: names with '__' are not allowed: '__import__'\n"
        "    __import__('os').system('echo pwned')\n"
        "    ^"
    ),
    "bad_cause_value": (
        f"{BROKEN}/bad_cause_value/rules.yaml:5:12: rules.0.cause: unknown 致贫原因 '因冰' (did you mean '因病'?); "
        "allowed: 因病、因残、因学、因灾、缺土地、缺水、缺技术、缺劳力、缺资金、交通条件落后、自身发展动力不足、其他"
    ),
    "condition_not_bool": (
        f"{BROKEN}/condition_not_bool/rules.yaml:5:29: rules.0.when: expression gives number, expected a condition (yes/no)\n"
        "    income_per_capita + 1\n"
        "                      ^"
    ),
    "until_before_from": f"{BROKEN}/until_before_from/rules.yaml:6:12: rules.0.until: until (2016) is before from (2018)",
    "derived_shadows_field": (
        f"{BROKEN}/derived_shadows_field/derived.yaml:2:9: derived.0.id: derived field id 'income_per_capita' is a canonical "
        "field name (schema.py); choose another id, e.g. 'income_per_capita_calc'"
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_pack_gives_its_message(name):
    assert problems_of(name) == [EXPECTED[name]]


def test_every_broken_pack_has_an_expected_message():
    folders = {p.name for p in (ROOT / BROKEN).iterdir() if p.is_dir()} - {"extends_cycle", "extends_missing"}
    assert folders == set(EXPECTED)


def test_extends_missing_names_the_pack():
    [problem] = problems_of("extends_missing")
    assert problem.startswith(f"{BROKEN}/extends_missing/pack.yaml:4:12: pack.extends: rule pack '../no-such-pack' not found")


def test_extends_cycle():
    with pytest.raises(RuleError) as info:
        load_pack(f"{BROKEN}/extends_cycle/cycle_a")
    assert info.value.problems == [
        f"{BROKEN}/extends_cycle/cycle_b/pack.yaml:4:12: pack.extends: circular 'extends': cycle_a → cycle_b → cycle_a"
    ]


def test_all_problems_collected_at_once(tmp_path):
    pack = tmp_path / "many"
    pack.mkdir()
    (pack / "pack.yaml").write_text('pack:\n  name: many\n  version: "1"\n', encoding="utf-8")
    (pack / "rules.yaml").write_text(
        "rules:\n"
        "  - {id: a, kind: criterion, label: x, when: incme_per_capita < 1}\n"
        "  - {id: b, kind: exclusoin, label: y}\n"
        "  - {id: c, kind: criterion, label: z, when: 'has_vehicle and'}\n"
        "  - {id: a, kind: exclusion, label: w}\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleError) as info:
        load_pack(pack)
    first_lines = [p.split("\n")[0] for p in info.value.problems]
    f = pack / "rules.yaml"
    assert first_lines == [  # every problem, sorted by position
        f"{f}:2:46: rules.0.when: unknown field 'incme_per_capita' (did you mean 'income_per_capita'?)",
        f"{f}:3:19: rules.1.kind: unknown kind 'exclusoin' (did you mean 'exclusion'?)",
        f"{f}:4:62: rules.2.when: unexpected end of expression (expected a value)",
        f"{f}:5:10: rules.3.id: duplicate rule id 'a' (first defined at {f}:2)",
    ]
    assert len(info.value.problems) == 4
    assert info.value.message == f"rule pack {pack} has 4 problems"


def test_flow_style_expression_column(tmp_path):
    pack = tmp_path / "p"
    pack.mkdir()
    (pack / "pack.yaml").write_text('pack: {name: p, version: "1"}\n', encoding="utf-8")
    (pack / "rules.yaml").write_text("rules:\n  - id: a\n    kind: criterion\n    label: x\n    when: |\n      income_per_capita < 1 and\n      has_vehicel\n", encoding="utf-8")
    with pytest.raises(RuleError) as info:
        load_pack(pack)
    [problem] = info.value.problems
    assert problem.split("\n")[0] == f"{pack / 'rules.yaml'}:7:7: rules.0.when: unknown field 'has_vehicel' (did you mean 'has_vehicle'?)"


def test_mini_pack_loads():
    pack = load_pack(MINI)
    assert pack.ident == "mini@1.0"
    assert [r.id for r in pack.rules][:3] == ["income_below_line", "public_employee", "expensive_vehicle"]
    assert set(pack.parameters) == {"poverty_line", "vehicle_limit", "village_incidence"}
    assert [d.id for d in pack.derived] == ["labourer_count", "seriously_ill_count", "any_disabled", "any_dropout", "oldest_age", "income_pc"]
    assert pack.chain == ["mini"]
    assert pack.field_types["labourer_count"].fmt == "int"
    # code labels are canonicalised at load time: '大病' would become '患有大病'
    assert pack.rule("cause_labour").cause == "缺劳力"


def test_pack_hash_is_sha256_over_sorted_names_and_bytes():
    pack = load_pack(MINI)
    h = hashlib.sha256()
    for f in sorted((ROOT / MINI).glob("*.yaml"), key=lambda p: p.name):
        h.update(f"mini/{f.name}\0".encode())
        h.update(f.read_bytes())
        h.update(b"\0")
    assert pack.sha256 == h.hexdigest()


def test_hash_changes_with_content_and_covers_bases(tmp_path):
    base = tmp_path / "base"
    shutil.copytree(ROOT / MINI, base)
    child = tmp_path / "child"
    child.mkdir()
    (child / "pack.yaml").write_text('pack:\n  name: child\n  version: "2"\n  extends: ../base\n', encoding="utf-8")
    h1 = load_pack(child).sha256
    text = (base / "parameters.yaml").read_text(encoding="utf-8").replace("2855", "2856")
    (base / "parameters.yaml").write_text(text, encoding="utf-8")
    h2 = load_pack(child).sha256
    assert h1 != h2
    assert load_pack(child).chain == ["mini", "child"]


def test_extends_overrides_params_rules_and_disable(tmp_path):
    child = tmp_path / "child"
    child.mkdir()
    (child / "pack.yaml").write_text(
        "pack:\n  name: child\n  version: '2'\n  extends: " + str(ROOT / MINI) + "\n  region: 重庆\n  disable: [old_rule, expensive_vehicle]\n",
        encoding="utf-8",
    )
    (child / "parameters.yaml").write_text(
        "parameters:\n  poverty_line:\n    values:\n      - {year: 2015, value: 3000}\n      - {year: 2017, region: 重庆, value: 3300}\n",
        encoding="utf-8",
    )
    (child / "rules.yaml").write_text(
        "rules:\n  - {id: public_employee, kind: exclusion, label: 有公职人员（重庆）, when: has_public_employee or has_village_cadre}\n"
        "  - {id: new_rule, kind: exclusion, label: 新规则, when: has_company}\n",
        encoding="utf-8",
    )
    pack = load_pack(child)
    ids = [r.id for r in pack.rules]
    assert "old_rule" not in ids and "expensive_vehicle" not in ids
    assert ids.index("public_employee") == 1  # replaced in place
    assert ids[-1] == "new_rule"
    assert pack.rule("public_employee").label == "有公职人员（重庆）"
    assert pack.parameters["poverty_line"].label == "国家扶贫标准"  # inherited label
    values = sorted((e.year, e.region, e.value) for e in pack.parameters["poverty_line"].model.values)
    # a value without a region belongs to its own pack's default region (child: 重庆, base: 国家)
    assert values == [(2014, "国家", 2800), (2015, "国家", 2855), (2015, "重庆", 3000), (2016, "国家", 2952), (2016, "重庆", 3100), (2017, "重庆", 3300)]
    assert pack.meta.regions["重庆"] == "西部"  # regions inherited


def test_find_pack_by_shipped_name_and_env(tmp_path, monkeypatch):
    assert find_pack("national-2014") == (ROOT / "rules" / "national-2014").resolve()
    assert "national-2014" in shipped_packs()
    extra = tmp_path / "packs"
    shutil.copytree(ROOT / MINI, extra / "my-pack")
    monkeypatch.setenv("FUPIN_RULES_PATH", str(extra))
    assert load_pack("my-pack").name == "mini"


def test_unknown_pack_name_suggests():
    with pytest.raises(RuleError) as info:
        load_pack("nationl-2014")
    assert info.value.message == "rule pack 'nationl-2014' not found (did you mean 'national-2014'?)"


@pytest.mark.parametrize("name", ["national-2014", "monitoring-2021", "chongqing"])
def test_shipped_packs_load(name):
    pack = load_pack(name)
    assert pack.rules and pack.parameters


def _touch(path: Path, extra: str) -> None:
    import os

    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a new mtime even on coarse clocks


def test_loaded_pack_is_cached_until_a_file_changes(tmp_path):
    src = Path(__file__).resolve().parent / "data" / "packs" / "mini"
    dst = tmp_path / "mini"
    shutil.copytree(src, dst)
    first = load_pack(dst)
    again = load_pack(dst)
    assert again is not first and again.sha256 == first.sha256  # a copy, not the shared object
    rules = next(p for p in dst.glob("*.yaml") if "rules:" in p.read_text(encoding="utf-8"))
    _touch(rules, "\n# touched\n")
    second = load_pack(dst)
    assert second.sha256 != first.sha256


def test_cached_pack_is_a_copy_a_caller_cannot_spoil(tmp_path):
    dst = tmp_path / "mini"
    shutil.copytree(ROOT / MINI, dst)
    first = load_pack(dst)
    n_rules, line = len(first.rules), first.parameters["poverty_line"].model.values[0].value
    first.rules.clear()
    first.parameters["poverty_line"].model.values[0].value = 1
    second = load_pack(dst)
    assert len(second.rules) == n_rules
    assert second.parameters["poverty_line"].model.values[0].value == line


def test_cache_sees_yml_files_added_or_edited(tmp_path):
    dst = tmp_path / "mini"
    shutil.copytree(ROOT / MINI, dst)
    first = load_pack(dst)
    extra = dst / "more.yml"
    extra.write_text("rules:\n  - id: extra_rule\n    kind: criterion\n    label: 额外规则\n    when: income_pc < 1\n",
                     encoding="utf-8")
    second = load_pack(dst)
    assert "extra_rule" in {r.id for r in second.rules} and "extra_rule" not in {r.id for r in first.rules}
    _touch(extra, "  - id: extra_rule_2\n    kind: criterion\n    label: 又一规则\n    when: income_pc < 2\n")
    third = load_pack(dst)
    assert {"extra_rule", "extra_rule_2"} <= {r.id for r in third.rules}
    extra.unlink()
    assert "extra_rule" not in {r.id for r in load_pack(dst).rules}


def test_cache_sees_a_changed_base_pack(tmp_path):
    base = tmp_path / "mini"
    shutil.copytree(ROOT / MINI, base)
    child = tmp_path / "child"
    child.mkdir()
    (child / "pack.yaml").write_text('pack:\n  name: child\n  version: "1"\n  title: 子包\n  region: 国家\n  extends: ../mini\n',
                                     encoding="utf-8")
    first = load_pack(child)
    _touch(base / "rules.yaml", "  - id: base_added\n    kind: criterion\n    label: 基础包新增\n    when: income_pc < 1\n")
    second = load_pack(child)
    assert "base_added" in {r.id for r in second.rules} and "base_added" not in {r.id for r in first.rules}
    assert second.sha256 != first.sha256
