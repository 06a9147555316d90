"""The shipped rule packs (rules/): they load, their scenarios pass, and their values are sourced.

One pytest case per scenario of ``rules/<pack>/tests/*.yaml`` (run through the engine's
scenario runner, once per pack), plus checks of the policy values themselves against
``shared/domain.md`` (verified / unverified marks of the poverty line, the monitoring line,
the western exit threshold).
"""

from __future__ import annotations

from functools import cache

import pytest

from fupin_cli import schema
from fupin_cli.engine import ir, load_pack, resolve
from fupin_cli.engine.scenarios import load_scenarios, run_scenarios, scenario_files

PACKS = ("national-2014", "monitoring-2021", "chongqing")

# Sources that are not an authority: every value citing one must be `verified: false`.
UNVERIFIED_SOURCES = {
    "fupin-choice",  # thresholds fupin chose
    "memory-unverified",  # domain.md §1.1: 2018 from memory
    "brief-exit-standard",  # domain.md §1.1: 3335 / 3535 / 3747
    "national-reference-unverified",  # domain.md §1.2: 6600 / 7100 / 7300
    "seed-2015-interest",  # domain.md §8: the seed's 5% interest subsidy
}


@cache
def pack(name: str):
    return load_pack(name)


@cache
def scenario_results(name: str) -> dict[tuple[str, int], object]:
    """Every scenario of a pack, run once: (file name, index in file) → ScenarioResult."""
    p = pack(name)
    results = run_scenarios(p)
    keys = [(f.name, i) for f in scenario_files(p) for i, _ in enumerate(load_scenarios(f))]
    assert len(keys) == len(results)
    return dict(zip(keys, results))


def _scenario_params():
    params = []
    for name in PACKS:
        p = pack(name)
        for f in scenario_files(p):
            for i, (_sc, _line, _problems, title) in enumerate(load_scenarios(f)):
                params.append(pytest.param(name, f.name, i, id=f"{name}/{f.stem}/{i:02d} {title}"))
    return params


def _values(p, param: str):
    """(year, region, value, verified, source) of a parameter's values (no region → the pack's region)."""
    m = p.parameters[param].model
    return [(e.year, e.region or p.meta.region, e.value, e.verified, e.source or m.source) for e in m.values]


# ---------------------------------------------------------------------------------------
# loading and scenarios
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", PACKS)
def test_pack_loads_without_problems(name):
    p = pack(name)  # raises RuleError listing every problem
    assert p.name == name
    assert p.rules and p.parameters
    assert len(scenario_files(p)) >= 1


def test_chongqing_extends_national():
    p = pack("chongqing")
    assert p.chain == ["national-2014", "chongqing"]
    assert p.meta.region == "重庆"
    national_ids = {r.id for r in pack("national-2014").rules}
    assert national_ids <= {r.id for r in p.rules}


def test_every_pack_has_scenarios_of_its_main_kinds():
    counts = {name: len(scenario_results(name)) for name in PACKS}
    assert counts["national-2014"] >= 100
    assert counts["monitoring-2021"] >= 35
    assert counts["chongqing"] >= 15


@pytest.mark.parametrize(("name", "file", "index"), _scenario_params())
def test_scenario(name, file, index):
    result = scenario_results(name)[(file, index)]
    detail = "\n".join(result.failures) + ("\n" + result.explanation if result.explanation else "")
    assert result.passed, f"{result.where}: {result.name}\n{detail}"


# ---------------------------------------------------------------------------------------
# sources and verification marks
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", PACKS)
def test_every_parameter_value_has_a_source_or_is_unverified(name):
    p = pack(name)
    bad = [
        (param, year, region)
        for param in p.parameters
        for year, region, _value, verified, source in _values(p, param)
        if not (source and source in p.meta.sources) and verified
    ]
    assert bad == []


@pytest.mark.parametrize("name", PACKS)
def test_every_value_and_rule_cites_a_declared_source(name):
    p = pack(name)
    undeclared = [
        (param, year, source)
        for param in p.parameters
        for year, _region, _value, _verified, source in _values(p, param)
        if source not in p.meta.sources
    ]
    undeclared += [(r.id, None, r.source) for r in p.rules if r.source not in p.meta.sources]
    assert undeclared == []


@pytest.mark.parametrize("name", PACKS)
def test_values_from_non_authoritative_sources_are_unverified(name):
    p = pack(name)
    marked_verified = [
        (param, year, source)
        for param in p.parameters
        for year, _region, _value, verified, source in _values(p, param)
        if source in UNVERIFIED_SOURCES and verified
    ]
    assert marked_verified == []


@pytest.mark.parametrize("name", PACKS)
def test_pack_description_lists_its_unverified_values(name):
    p = pack(name)
    text = p.meta.description
    own = set(p.parameters) - pack_base_params(name)
    unverified = {
        param
        for param in own
        for _year, _region, _value, verified, source in _values(p, param)
        if not verified and source != "fupin-choice"
    }
    assert unverified, "each shipped pack has some unverified value"
    assert [q for q in sorted(unverified) if q not in text] == []
    if any(s == "fupin-choice" for q in own for *_, s in _values(p, q)):
        assert "fupin-choice" in text


def pack_base_params(name: str) -> set[str]:
    """Parameters a pack inherits (its base's description lists their unverified values)."""
    p = pack(name)
    return set(pack(p.chain[-2]).parameters) if len(p.chain) > 1 else set()


# domain.md §1.1: year → (yuan, verified)
DOMAIN_POVERTY_LINE = {
    2010: (2300, True),
    2011: (2536, True),
    2012: (2625, True),
    2013: (2736, True),
    2014: (2800, True),
    2015: (2855, True),
    2016: (2952, True),
    2017: (2952, False),  # [S] only: a data-check UI; the NBS figure is UNVERIFIED
    2018: (2995, False),  # UNVERIFIED (from memory)
    2019: (3218, True),
    2020: (4000, True),
}


def test_poverty_line_values_and_marks_match_domain():
    got = {year: (value, verified) for year, region, value, verified, _src in _values(pack("national-2014"), "poverty_line") if region == "国家"}
    assert got == DOMAIN_POVERTY_LINE


def test_poverty_line_sources():
    sources = {year: src for year, _r, _v, _ok, src in _values(pack("national-2014"), "poverty_line")}
    assert sources[2010] == "xinhua-2013"
    assert {sources[y] for y in range(2011, 2017)} == {"nbs-yunnan-2017"}
    assert sources[2017] == "datacheck-2952"
    assert sources[2018] == "memory-unverified"
    assert sources[2019] == "xinhua-2020"
    assert sources[2020] == "cgtn-2021"


def test_exit_standard_is_the_6pct_series_used_for_household_exit():
    """Issue 9.3: 2800 in 2014 raised 6% a year (3335/3535/3747 for 2017–2019, about 4000 in 2020);
    before 2014 no distinct standard is sourced and it equals the line (the note says so)."""
    p = pack("national-2014")
    got = {y: (v, ok) for y, _r, v, ok, _s in _values(p, "exit_standard")}
    assert {y: v for y, (v, _ok) in got.items() if y >= 2014} == {2014: 2800, 2015: 2968, 2016: 3146, 2017: 3335, 2018: 3535, 2019: 3747, 2020: 4000}
    assert [y for y, (_v, ok) in got.items() if not ok] == [2015, 2016]  # derived by the rule, no published value
    lines = {y: v for y, _r, v, _ok, _s in _values(p, "poverty_line")}
    for entry in p.parameters["exit_standard"].model.values:
        if entry.year < 2014:
            assert entry.value == lines[entry.year] and "等于当年 poverty_line" in entry.note
    assert ir.params(p.conditions["hh_exit_income"]) == {"exit_standard"}
    assert ir.params(p.conditions["income_below_line"]) == {"poverty_line"}


def test_monitoring_line_values_and_marks_match_domain():
    """Issue 9.4: no national line after 2021 (the 2021 value ends there); 云南 2023 8050 [V]."""
    p = pack("monitoring-2021")
    got = {(y, r, v, ok) for y, r, v, ok, _s in _values(p, "monitoring_line")}
    assert got == {
        (2021, "国家", 6000, False),
        (2023, "福建", 10560, True),
        (2023, "云南", 8050, True),
        (2025, "云南", 8700, True),
    }
    assert [e.until for e in p.parameters["monitoring_line"].model.values if e.region == "国家"] == [2021]


def test_chongqing_subsidy_and_credit_values():
    p = pack("chongqing")
    assert [(y, v, ok) for y, _r, v, ok, _s in _values(p, "relocation_subsidy_ordinary")] == [(2013, 8000, True), (2015, 8000, True)]
    assert [(y, v, ok) for y, _r, v, ok, _s in _values(p, "relocation_subsidy_poor")] == [(2013, 8000, True), (2015, 10000, True)]
    assert [(y, v) for y, _r, v, _ok, _s in _values(p, "microcredit_max_amount")] == [(2014, 50000)]
    assert [(y, v) for y, _r, v, _ok, _s in _values(p, "microcredit_max_term_years")] == [(2014, 3)]
    assert [(y, v, ok) for y, _r, v, ok, _s in _values(p, "microcredit_age_max")] == [(2014, 60, False), (2019, 65, True)]
    assert [(y, v, ok) for y, _r, v, ok, _s in _values(p, "microcredit_loan_rate")] == [(2014, 0.05, False), (2015, 0.0475, False)]
    assert [(y, v) for y, _r, v, _ok, _s in _values(p, "microcredit_include_exited")] == [(2014, False), (2019, True)]


# ---------------------------------------------------------------------------------------
# regions: 3% in the west, 2% elsewhere
# ---------------------------------------------------------------------------------------
def _provinces(p, group: str) -> list[str]:
    return sorted(r for r, parent in p.meta.regions.items() if parent == group)


@pytest.mark.parametrize("param", ["village_exit_incidence", "county_exit_incidence"])
def test_western_provinces_get_three_percent(param):
    p = pack("national-2014")
    west = _provinces(p, "西部")
    assert len(west) == 12 and "重庆" in west and "广西" in west
    assert {r: resolve(p, param, 2017, r).value for r in west} == {r: 3 for r in west}
    others = [r for g in ("东部", "中部", "东北") for r in _provinces(p, g)]
    assert len(others) == 19
    assert {r: resolve(p, param, 2017, r).value for r in others} == {r: 2 for r in others}
    assert resolve(p, param, 2017).value == 2


def test_chongqing_default_region_is_western():
    p = pack("chongqing")
    v = resolve(p, "village_exit_incidence", 2017)
    assert (v.value, v.region) == (3, "西部")
    assert resolve(p, "county_exit_incidence", 2019, "国家").value == 2
    # national values keep their region (国家) in the child pack; the child's own values are 重庆's
    assert resolve(p, "poverty_line", 2015).text() == "国家扶贫标准 2,855 (2015, 国家)"
    assert resolve(p, "relocation_subsidy_poor", 2016).region == "重庆"


# ---------------------------------------------------------------------------------------
# coverage of the code tables
# ---------------------------------------------------------------------------------------
SEED_MEASURES = {"产业扶持", "社会保障", "金融服务", "培训助学", "社会帮扶", "基础设施", "移民扶贫", "文化扶贫", "科技扶贫", "自主创业"}
TAXONOMY_2023 = {"产业帮扶", "就业帮扶", "金融帮扶", "公益岗位帮扶", "住房安全保障", "饮水安全保障", "健康帮扶", "义务教育保障",
                 "其他教育帮扶", "综合保障", "社会帮扶", "搬迁", "生产生活条件改善", "基础设施建设"}


def test_every_cause_has_a_rule_and_measures():
    p = pack("national-2014")
    causes = {r.cause for r in p.rules if r.kind == "cause"}
    assert causes == set(schema.CAUSES) - {"其他"}  # 其他 = none fired
    assert len({r.priority for r in p.rules if r.kind == "cause"}) == 11  # no ties
    measures = [r for r in p.rules if r.kind == "measure"]
    assert {r.cause for r in measures} == set(schema.CAUSES)
    assert {r.category for r in measures} == SEED_MEASURES
    headings = {m.split("：", 1)[0] for r in measures for m in r.measures}
    assert headings <= TAXONOMY_2023


def test_attributes_cover_the_poor_household_codes():
    p = pack("national-2014")
    assert {r.value for r in p.rules if r.kind == "attribute"} == {"一般贫困户", "低保贫困户", "特困供养贫困户", "低保特困供养贫困户"}


def test_monitoring_categories_and_risk_types():
    p = pack("monitoring-2021")
    assert [r.category for r in sorted((r for r in p.rules if r.kind == "monitoring"), key=lambda r: r.priority)] == [
        "脱贫不稳定户", "边缘易致贫户", "突发严重困难户"]
    assert {r.risk_type for r in p.rules if r.kind == "risk"} == set(schema.RISK_TYPES)


def test_shared_derived_fields_come_from_one_file():
    """Issue 9.6: monitoring-2021 includes national-2014's derived-base.yaml instead of copying it."""
    national, monitoring = pack("national-2014"), pack("monitoring-2021")
    base = national.path / "derived-base.yaml"
    assert "../national-2014/derived-base.yaml" in monitoring.meta.include
    assert base in monitoring.files and base in national.files
    shared = {d.id for d in national.derived} & {d.id for d in monitoring.derived}
    assert len(shared) >= 15
    for name in shared:
        assert monitoring.origins[f"derived:{name}"].file == base == national.origins[f"derived:{name}"].file
    assert monitoring.origins["param:compulsory_age_min"].file == base


# ---------------------------------------------------------------------------------------
# docs/packs.md stays true
# ---------------------------------------------------------------------------------------
def _value_rows(name: str) -> list[str]:
    from fupin_cli.engine.params import format_value

    p = pack(name)
    inherited = pack_base_params(name)
    rows = []
    for pname, d in p.parameters.items():
        if pname in inherited:
            continue
        for year, region, value, verified, source in _values(p, pname):
            rows.append(f"| `{pname}` | {d.label} | {d.model.unit or ''} | {year} | {region} | {format_value(value)} | {source} | {'yes' if verified else '**no**'} |")
    return rows


@pytest.mark.parametrize("name", PACKS)
def test_docs_value_table_matches_the_pack(name):
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "packs.md").read_text(encoding="utf-8")
    # every value is listed, followed by the review finding it answers (issue 9: "§…" column)
    assert [row for row in _value_rows(name) if row + " §" not in doc] == []
    for key in pack(name).meta.sources:
        assert f"| `{key}` |" in doc


def test_readme_names_every_semantic_switch():
    """Issue 9 must-show: the README says which semantics each pack applies by default and how to switch.
    Every mode or yes/no parameter of a shipped pack is named in the README's semantics table
    (the per-item exclusion modes as `mode_excl_<item>`)."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("Semantics each pack applies by default"):readme.index("## Exit codes")]
    missing = []
    for name in PACKS:
        for pname, d in pack(name).parameters.items():
            if (d.model.unit or "") in ("ignore/review/poor", "veto/review/ignore", "是/否"):
                key = "mode_excl_<item>" if pname.startswith("mode_excl_") else pname
                if f"`{key}`" not in table:
                    missing.append(f"{name}:{pname}")
    assert missing == []
