"""Issue 8 items 5, 6 (+ issue 9 item 9): rules never run on absent inputs; region and year from the data.

(a) a column a rule needs relabelled beyond recognition, with the reader's likely candidate → exit 1 naming
    the rule, the field and the column (and --allow-missing confirms the field is not collected);
(b) the column removed → the run goes on; the summary, --json, 说明 and the affected households say which
    rules were not evaluated; (c) is in test_exit_core (an exit condition's column removed: nobody exits on it).
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app
from fupin_cli.engine import evaluate, load_pack
from fupin_cli.engine.decide import identification
from fupin_cli.engine.inputs import InputPolicy, analyse
from fupin_cli.errors import DataError, UsageError
from fupin_cli.regions import infer_region, normalise_region, settle_region
from fupin_cli.roster import Roster, SourceInfo, UnmatchedColumn

runner = CliRunner()


@pytest.fixture(scope="module")
def pack():
    return load_pack("national-2014")


def roster(n=3, **over) -> Roster:
    hh = pd.DataFrame({
        "household_id": [f"H{i}" for i in range(n)], "village": ["一村"] * n,
        "household_size": pd.array([1] * n, dtype="Int64"),
        "income_per_capita": pd.array([1000.0, 2000.0, 9000.0][:n], dtype="Float64"),
        "vehicle_value": pd.array([50000.0, None, None][:n], dtype="Float64"),
        "vehicle_type": pd.array([None] * n, dtype="str"),  # the exemption's column, blank
    })
    for k, v in over.items():
        if v is None:
            hh = hh.drop(columns=[k])
        else:
            hh[k] = v
    mem = pd.DataFrame({"household_id": list(hh["household_id"]), "name": ["甲"] * n, "health": ["健康"] * n,
                        "labour": ["普通劳动力"] * n, "birth_date": pd.to_datetime(["1980-01-01"] * n)})
    return Roster(hh, mem)


# ---- the analysis --------------------------------------------------------------------------
def test_blank_cells_keep_the_pack_meaning_but_an_absent_column_is_not_evaluated(pack):
    present = evaluate(roster(), pack, 2015)
    assert "excl_vehicle" not in present.not_evaluated  # column present, blank cells → not declared
    # (the national pack's car exclusion is a review item by default: 待核实, for 民主评议)
    assert identification(present)["status"].astype(str).tolist() == ["待核实", "贫困户", "非贫困户"]
    absent = evaluate(roster(vehicle_value=None), pack, 2015)
    assert absent.not_evaluated["excl_vehicle"].all()
    dec = identification(absent)
    # never read as 否: not excluded for lack of a column, and marked where it could have changed the decision
    assert dec["status"].astype(str).tolist() == ["贫困户", "贫困户", "非贫困户"]
    label = pack.rule("excl_vehicle").label
    marks = dec["not_evaluated"].tolist()
    assert all(any(p.startswith(f"{label}（未评估：花名册没有") and "车辆价值列" in p for p in t.split("；")) for t in marks[:2])
    assert "车辆价值" not in str(dec["not_evaluated"].tolist()[2])  # not poor anyway: the exclusion could not change it
    listed = {r.rule_id: r for r in absent.not_evaluated_rules()}
    assert listed["excl_vehicle"].households == 3 and listed["excl_vehicle"].affected == 2


def test_alternatives_use_what_the_roster_has(pack):
    # 低保: household flag absent, member flag present → 是否低保 comes from the members; the rule is evaluated
    r = roster()
    r.members["on_dibao"] = pd.array([False, True, False], dtype="boolean")
    ev = evaluate(r, pack, 2015)
    assert "attr_dibao" not in ev.not_evaluated
    assert identification(ev)["attribute"].astype(str).tolist()[1] == "低保贫困户"


def test_no_member_rows_means_member_aggregates_are_absent(pack):
    r = roster()
    r.members = r.members.iloc[0:0]
    avail = analyse(pack, 2015, r.households, r.members)
    assert avail.derived_absent["labourer_count"] == frozenset({"members"})
    assert "size" not in avail.derived_absent  # 家庭人口数 is on the household rows


# ---- (a) a likely column: stop --------------------------------------------------------------
def test_likely_column_stops_the_run_naming_rule_field_and_column(pack):
    r = roster(vehicle_value=None)
    r.unmatched = [UnmatchedColumn("车子值多少钱（元）", "村.xlsx", "一村", "K", [("vehicle_value", 0.72)])]
    with pytest.raises(DataError) as e:
        evaluate(r, pack, 2015)
    text = e.value.one_line()
    assert "excl_vehicle" in text and "车辆价值" in text and "K 列“车子值多少钱（元）”" in text
    assert "--columns" in text and "--allow-missing vehicle_value" in text
    ev = evaluate(r, pack, 2015, policy=InputPolicy(allow_missing=frozenset({"vehicle_value", "has_vehicle"})))
    assert {r.rule_id: r.allowed for r in ev.not_evaluated_rules()}["excl_vehicle"]


def test_required_fields_stop_the_run(pack):
    r = roster(income_per_capita=None)
    with pytest.raises(DataError, match="必需的 人均纯收入 无法计算"):
        evaluate(r, pack, 2015)


def test_strict_makes_every_not_evaluated_rule_an_error(pack):
    with pytest.raises(DataError, match="--strict：.*excl_vehicle"):
        evaluate(roster(vehicle_value=None), pack, 2015, policy=InputPolicy(strict=True))
    evaluate(roster(vehicle_value=None), pack, 2015,
             policy=InputPolicy(strict=True, allow_missing=frozenset(f for f in analyse(pack, 2015, roster(vehicle_value=None).households, roster().members).absent)))


def test_pack_required_is_validated(tmp_path):
    from fupin_cli.errors import RuleError

    src = Path(load_pack("national-2014").path)
    dst = tmp_path / "p"
    dst.mkdir()
    for f in src.glob("*.yaml"):
        (dst / f.name).write_text(f.read_text(encoding="utf-8").replace("required: [income_pc, size]", "required: [income_pcc]"), encoding="utf-8")
    with pytest.raises(RuleError) as e:
        load_pack(dst)
    assert "income_pcc" in " ".join(e.value.problems) + e.value.one_line()


# ---- (b) the column removed, end to end --------------------------------------------------------
@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    d = tmp_path_factory.mktemp("absent")
    res = runner.invoke(app, ["samples", "generate", "-o", str(d / "s.csv"), "-n", "40", "-q"])
    assert res.exit_code == 0, res.stderr
    try:
        frame = pd.read_csv(d / "s.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    except UnicodeDecodeError:
        frame = pd.read_csv(d / "s.csv", encoding="gb18030", dtype=str, keep_default_na=False)
    return d, frame


def test_removed_column_goes_on_and_says_so_everywhere(sample):
    d, frame = sample
    frame.drop(columns=["城镇有房产"]).to_csv(d / "no-car.csv", index=False, encoding="utf-8")
    out = d / "reg.xlsx"
    res = runner.invoke(app, ["identify", str(d / "no-car.csv"), "--year", "2015", "-o", str(out), "--json", "-f"])
    assert res.exit_code == 0, res.stderr
    payload = json.loads(res.stdout)
    listed = {r["rule"]: r for r in payload["provenance"]["not_evaluated"]}
    assert listed["excl_town_property"]["fields"] == ["has_town_property"]
    assert listed["excl_town_property"]["reason"] == "花名册没有城镇有房产列"
    assert any("excl_town_property" in w for w in res.stderr.splitlines())  # the terminal says so
    wb = openpyxl.load_workbook(out, read_only=True)
    about = [tuple(r) for r in wb["说明"].iter_rows(values_only=True)]
    assert any(str(k).startswith("未评估规则 excl_town_property") for k, *_ in about)
    rows = list(wb["登记册"].iter_rows(values_only=True))
    col = rows[0].index("未评估规则")
    status = rows[0].index("识别结果")
    marked = [r for r in rows[1:] if r[col] and "城镇有房产" in r[col]]
    assert marked and all(r[status] in ("贫困户", "待核实") for r in marked)
    # --strict refuses; --allow-missing with the column label confirms
    res = runner.invoke(app, ["identify", str(d / "no-car.csv"), "--year", "2015", "-o", str(out), "-f", "--strict", "-q"])
    assert res.exit_code == 1 and "excl_town_property" in res.stderr


# ---- region and year from the data (issue 8 item 6) and the pack that follows it (issue 9 item 9) ----
@pytest.mark.parametrize("text", ["重庆", "重庆市", "500000", "50", " 重庆 "])
def test_region_names_and_codes(text):
    assert normalise_region(text) == "重庆"


def test_region_from_id_area_codes_and_title():
    hh = pd.DataFrame({"household_id": ["A", "B"], "head_id_number": ["530102198001010011", "530102198001010022"]})
    ev = infer_region(Roster(hh, pd.DataFrame({"household_id": []})))
    assert ev.region == "云南" and "户主证件号码" in ev.source
    info = SourceInfo(path="x", name="x", sha256="", format="xlsx", title="贵州省某县2015年建档立卡贫困户花名册")
    ev = infer_region(Roster(pd.DataFrame({"household_id": ["A"]}), pd.DataFrame({"household_id": []}), sources=[info]))
    assert ev.region == "贵州" and "标题行" in ev.source
    with pytest.raises(UsageError, match="contradicts the roster"):
        settle_region("重庆", Roster(hh, pd.DataFrame({"household_id": []})))


def test_cli_region_year_and_pack(sample):
    d, _frame = sample
    path = d / "s.csv"
    out = d / "r.xlsx"
    res = runner.invoke(app, ["identify", str(path), "--year", "2015", "-o", str(out), "--json", "-f"])
    choice = json.loads(res.stdout)["provenance"]["choice"]
    assert choice["region"] == "重庆" and choice["pack"] == "chongqing" and "省级规则包" in choice["pack_how"]
    res = runner.invoke(app, ["identify", str(path), "--year", "2015", "-o", str(out), "-f", "-q", "--region", "重庆市"])
    assert res.exit_code == 0, res.stderr
    res = runner.invoke(app, ["identify", str(path), "--year", "2015", "-o", str(out), "-f", "-q", "--region", "云南"])
    assert res.exit_code == 2 and "contradicts the roster" in res.stderr
    res = runner.invoke(app, ["identify", str(path), "--year", "2016", "-o", str(out), "-f", "-q"])
    assert res.exit_code == 2 and "年度" in res.stderr  # the roster says 2015
    res = runner.invoke(app, ["identify", str(path), "--year", "2030", "-o", str(out), "-f", "-q"])
    assert res.exit_code == 3 and "monitoring-2021" in res.stderr  # not silently the 2020 line
    res = runner.invoke(app, ["identify", str(path), "--year", "2015", "-o", str(out), "-f", "--json", "--pack", "national-2014"])
    assert json.loads(res.stdout)["provenance"]["choice"]["pack_how"] == "命令行 --pack national-2014"


def test_relabelled_column_stops_the_run_end_to_end(sample):
    """(a) through the reader: a column it cannot map but whose likely field a rule needs stops identify (exit 1),
    naming the rule, the field and the column; --allow-missing with the field confirms and the run goes on."""
    d, frame = sample
    path = d / "relabelled.csv"
    frame.rename(columns={"城镇有房产": "城镇房屋"}).to_csv(path, index=False, encoding="utf-8")
    out = d / "rel.xlsx"
    res = runner.invoke(app, ["identify", str(path), "--year", "2015", "-o", str(out), "-f", "-q"])
    assert res.exit_code == 1, res.stderr
    assert "excl_town_property" in res.stderr and "城镇有房产" in res.stderr and "“城镇房屋”" in res.stderr
    assert "--columns" in res.stderr and "--allow-missing has_town_property" in res.stderr
    assert not out.exists()
    res = runner.invoke(app, ["identify", str(path), "--year", "2015", "-o", str(out), "-f", "--json",
                              "--allow-missing", "城镇有房产"])
    assert res.exit_code == 0, res.stderr
    listed = {r["rule"]: r for r in json.loads(res.stdout)["provenance"]["not_evaluated"]}
    assert listed["excl_town_property"]["fields"] == ["has_town_property"] and listed["excl_town_property"]["allowed"] is True


# ---- the SQL backend (engine/compile_sql.py) -----------------------------------------------
@pytest.fixture(scope="module")
def generated(pack):
    pytest.importorskip("duckdb")
    from test_engine_sql import with_every_column

    from fupin_cli.samples.generate import generate_roster

    return with_every_column(generate_roster(300, seed=7, year=2016)[0], pack, 2016, seed=7)


def test_duckdb_backend_respects_not_evaluated_rules(pack, generated):
    """evaluate(..., backend="duckdb"): a roster that lacks a rule's column gets the pandas path's answer (the rule
    not evaluated, never read as 否); a full roster is computed in SQL with the same results."""
    full = generated
    absent = Roster(full.households.drop(columns=["has_town_property"]), full.members)
    for r in (full, absent):
        a, b = evaluate(r, pack, 2016), evaluate(r, pack, 2016, backend="duckdb")
        assert set(a.not_evaluated) == set(b.not_evaluated)
        pd.testing.assert_frame_equal(a.results, b.results)
        pd.testing.assert_frame_equal(identification(a), identification(b))
    assert evaluate(full, pack, 2016, backend="duckdb").backend == "duckdb"
    ev = evaluate(absent, pack, 2016, backend="duckdb")
    assert ev.backend == "pandas" and ev.not_evaluated["excl_town_property"].any()  # says which one computed it
    assert "excl_town_property" not in evaluate(full, pack, 2016, backend="duckdb").not_evaluated


def test_duckdb_called_directly_refuses_a_roster_with_absent_inputs(pack, generated):
    """The library-level SQL entry point has no not-evaluated rules: it refuses instead of reading NULLs as 否."""
    from fupin_cli.engine.compile_sql import evaluate_duckdb

    assert evaluate_duckdb(generated, pack, 2016).backend == "duckdb"
    absent = Roster(generated.households.drop(columns=["has_town_property"]), generated.members)
    with pytest.raises(ValueError, match=r"lacks has_town_property .*excl_town_property \(has_town_property\).*backend=\"duckdb\""):
        evaluate_duckdb(absent, pack, 2016)
