"""Issue 8 leftovers: the household-level 辍学 flag, the same household in two files, column-map labels, several
files for exit and measures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fupin_cli.engine import evaluate, load_pack
from fupin_cli.roster import Roster

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture(scope="module")
def pack():
    return load_pack("national-2014")


def households(n: int = 3, **cols) -> pd.DataFrame:
    hh = pd.DataFrame({
        "household_id": [f"H{i}" for i in range(n)], "village": ["一村"] * n,
        "household_size": pd.array([2] * n, dtype="Int64"),
        "income_per_capita": pd.array([1000.0] * n, dtype="Float64"),
    })
    for k, v in cols.items():
        hh[k] = v
    return hh


def members(flags: list, n: int = 3) -> pd.DataFrame:
    """Two members per household; the child's 是否辍学 from ``flags`` (None: the column absent)."""
    rows = []
    for i in range(n):
        rows.append({"household_id": f"H{i}", "name": "父", "health": "健康", "labour": "普通劳动力",
                     "birth_date": pd.Timestamp("1980-01-01"), "school_status": "非在校生"})
        rows.append({"household_id": f"H{i}", "name": "子", "health": "健康", "labour": "无劳动力",
                     "birth_date": pd.Timestamp("2000-01-01"), "school_status": "九年级"})
    m = pd.DataFrame(rows)
    if flags is not None:
        m["dropout"] = pd.array([v for f in flags for v in (False, f)], dtype="boolean")
    return m


# ---- has_dropout: the household-level 辍学 flag ---------------------------------------------
def test_household_dropout_flag_is_used_without_member_rows(pack):
    flag = pd.array([True, False, None], dtype="boolean")
    ev = evaluate(Roster(households(has_dropout=flag), pd.DataFrame(columns=["household_id"])), pack, 2016)
    assert ev.households["compulsory_dropout"].astype(object).tolist() == [True, False, False]  # blank = not declared
    assert "hh_exit_education" not in ev.not_evaluated
    assert ev.results["hh_exit_education"].astype(object).tolist() == [False, True, True]  # 未达标 on the flag


def test_no_member_rows_and_no_flag_is_not_evaluated(pack):
    ev = evaluate(Roster(households(), pd.DataFrame(columns=["household_id"])), pack, 2016)
    assert ev.not_evaluated["hh_exit_education"].all()  # never read as 否 (无法核实, never 脱贫 on it)


def test_member_rows_and_household_flag_together_count_once(pack):
    # H0: the member and the household flag say so; H1: only the household flag; H2: only the member
    hh = households(has_dropout=pd.array([True, True, False], dtype="boolean"))
    ev = evaluate(Roster(hh, members([True, False, True])), pack, 2016)
    assert ev.households["compulsory_dropout"].astype(object).tolist() == [True, True, True]
    assert ev.households["compulsory_out_of_school_count"].astype(object).tolist() == [1, 0, 1]  # people, not flags
    assert ev.results["hh_exit_education"].astype(object).tolist() == [False, False, False]
    # a household flag saying 否 does not hide a member marked 辍学
    ev2 = evaluate(Roster(households(has_dropout=pd.array([False] * 3, dtype="boolean")), members([True, False, False])),
                   pack, 2016)
    assert ev2.households["compulsory_dropout"].astype(object).tolist() == [True, False, False]


def test_monitoring_pack_uses_the_flag_too():
    mon = load_pack("monitoring-2021")
    hh = households(has_dropout=pd.array([True, False, False], dtype="boolean"))
    ev = evaluate(Roster(hh, pd.DataFrame(columns=["household_id"])), mon, 2023, "云南")
    assert ev.households["compulsory_dropout"].astype(object).tolist() == [True, False, False]
    assert ev.results["elim_education"].astype(object).tolist() == [False, True, True]


# ---- the same household in two files ---------------------------------------------------------
def test_the_same_household_in_two_files_stops_identify_naming_both_places(tmp_path):
    import json

    from typer.testing import CliRunner

    from fupin_cli.checks import validate
    from fupin_cli.cli.app import app
    from fupin_cli.io.read import read_roster

    frame = pd.read_csv(SAMPLES / "roster-clean-gbk.csv", encoding="gbk", dtype=str)
    ids = frame["户编号"].unique()
    frame[frame["户编号"].isin(ids[:30])].to_csv(tmp_path / "a.csv", index=False)
    frame[frame["户编号"].isin(ids[29:])].to_csv(tmp_path / "b.csv", index=False)  # ids[29] in both
    dup = ids[29]
    runner = CliRunner()
    res = runner.invoke(app, ["identify", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "-y", "2015",
                              "-o", str(tmp_path / "r.xlsx")])
    assert res.exit_code == 1 and not (tmp_path / "r.xlsx").exists()
    lines = res.stderr.splitlines()
    assert lines[0].startswith("错误: a.csv、b.csv: ") and "fupin validate" in lines[0] and "keep it in one place" in lines[0]
    a_row = int(frame.index[frame["户编号"] == dup][0]) + 2  # Excel-style row of the CSV (header = row 1)
    assert f"户编号 {dup} 在多个文件/工作表中出现: a.csv 第 {a_row} 行、b.csv 第 2 行" in lines[1]  # said first
    # validate: one error naming both places, not a second 户编号重复 per row
    roster = read_roster([tmp_path / "a.csv", tmp_path / "b.csv"])
    f = validate(roster, 2015)
    assert (f["check"] == "read.duplicate_household").sum() == 1
    assert f.loc[f["check"] == "read.duplicate_household", "severity"].tolist() == ["error"]
    assert not ((f["check"] == "household.duplicate_id") & (f["household_id"] == dup)).any()
    # never silently one of them: with --allow-errors both rows are kept, 待核实 with the finding as the reason
    res = runner.invoke(app, ["identify", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "-y", "2015", "--json",
                              "--allow-errors"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["counts"]["households_read"] == len(ids) + 1


def test_a_repeated_household_within_one_sheet_is_still_household_duplicate_id():
    from fupin_cli.checks import validate

    hh = households(2)
    hh["household_id"] = ["H1", "H1"]
    f = validate(Roster(hh, pd.DataFrame(columns=["household_id"])), 2016)
    assert (f["check"] == "household.duplicate_id").sum() == 2


# ---- column maps and --allow-missing name fields by any label the reader accepts ------------
def test_field_for_header_any_form():
    from fupin_cli.schema import field_for_header

    assert field_for_header("房屋是否安全") is None  # as written it is the opposite of 是否危房: callers that rename
    assert field_for_header("房屋是否安全", any_form=True) == "unsafe_housing"
    assert field_for_header("人均纯收入(万元)") is None
    assert field_for_header("人均纯收入(万元)", any_form=True) == "income_per_capita"
    assert field_for_header("非危房", any_form=True) == "unsafe_housing"
    assert field_for_header("备注", any_form=True) is None


def test_column_map_field_given_as_an_inverted_or_unit_label(tmp_path):
    from fupin_cli.errors import UsageError
    from fupin_cli.io.colmap import load_column_map
    from fupin_cli.io.read import read_roster

    head = ["户编号", "行政村", "户主姓名", "家庭人口数", "住房情况", "收入"]
    pd.DataFrame([["H1", "青山村", "甲", 3, "是", 0.25], ["H2", "青山村", "乙", 2, "否", 0.31]], columns=head).to_csv(
        tmp_path / "r.csv", index=False)
    m = tmp_path / "m.yaml"
    m.write_text("columns:\n  - {header: 住房情况, field: 房屋是否安全}\n  - {header: 收入, field: 人均纯收入(万元)}\n",
                 encoding="utf-8")
    r = read_roster(tmp_path / "r.csv", columns=load_column_map(m))
    assert r.unmatched == []
    assert r.households["unsafe_housing"].tolist() == [False, True]  # 房屋是否安全 是 → not 危房
    assert r.households["income_per_capita"].tolist() == [2500.0, 3100.0]
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns:\n  - {header: 住房情况, field: 房屋是否安全, polarity: same}\n", encoding="utf-8")
    with pytest.raises(UsageError) as e:
        load_column_map(bad)
    assert "bad.yaml:2:" in e.value.message and "inverted label of unsafe_housing" in e.value.message


def test_allow_missing_takes_any_label():
    from fupin_cli.engine.inputs import resolve_field_names

    assert resolve_field_names(["房屋是否安全，人均纯收入(万元)", "车辆价值"]) == {"unsafe_housing", "income_per_capita",
                                                                                   "vehicle_value"}


# ---- exit SOURCE and measures take several files, a folder or a glob like identify --------------
@pytest.fixture(scope="module")
def split(tmp_path_factory):
    d = tmp_path_factory.mktemp("split")
    frame = pd.read_csv(SAMPLES / "roster-clean-gbk.csv", encoding="gbk", dtype=str)
    (d / "乡镇").mkdir()
    frame.to_csv(d / "all.csv", index=False)
    for i, (_, part) in enumerate(frame.groupby("行政村", sort=True)):
        part.to_csv(d / "乡镇" / f"v{i}.csv", index=False)
    return d


@pytest.mark.parametrize("command", ["exit", "measures"])
def test_several_files_a_folder_or_a_glob(split, command):
    import json

    from typer.testing import CliRunner

    from fupin_cli.cli.app import app

    runner = CliRunner()

    def run(*sources):
        res = runner.invoke(app, [command, *map(str, sources), "-y", "2015", "--json"])
        assert res.exit_code == 0, res.output
        body = json.loads(res.stdout)
        body.pop("provenance"), body.pop("outputs", None), body.pop("warnings", None)
        return body

    one = run(split / "all.csv")
    files = sorted((split / "乡镇").iterdir())
    assert len(files) > 1
    for sources in ([split / "乡镇"], [str(split / "乡镇" / "*.csv")], files):
        got = run(*sources)
        if command == "exit":  # the same households exit; village rows come from the same data
            assert (got["exited_households"], got["remaining_households"]) == (one["exited_households"], one["remaining_households"])
        else:
            assert got["overall"] == one["overall"]


def test_exit_refuses_a_register_among_several_files(split, tmp_path):
    from typer.testing import CliRunner

    from fupin_cli.cli.app import app

    runner = CliRunner()
    reg = tmp_path / "reg.xlsx"
    assert runner.invoke(app, ["identify", str(split / "all.csv"), "-y", "2015", "-q", "-o", str(reg)]).exit_code == 0
    res = runner.invoke(app, ["exit", str(reg), str(split / "all.csv"), "-y", "2015", "-q", "-o", str(tmp_path / "e.xlsx")])
    assert res.exit_code == 2 and "reg.xlsx is a register written by fupin: give it alone" in res.stderr


def test_household_level_roster_with_member_labels_has_no_data_errors(tmp_path):
    """The layout of issue 8's household-level benchmark roster (one row per household, 户主证件号码, member-labelled
    flags such as 是否特困供养 / 是否财政供养人员), at 300 households: identify runs without data errors."""
    import json

    from typer.testing import CliRunner

    from fupin_cli.cli.app import app
    from fupin_cli.io.write_roster import write_roster
    from fupin_cli.samples.generate import generate_roster

    roster, _ = generate_roster(300, seed=3, year=2015)
    write_roster(roster, tmp_path / "hh.csv", "household", encoding="utf-8")
    frame = pd.read_csv(tmp_path / "hh.csv", dtype=str, keep_default_na=False)
    assert "户主证件号码" in frame.columns and "证件号码" not in frame.columns
    frame["是否特困供养"], frame["是否财政供养人员"] = "否", "否"
    frame.to_csv(tmp_path / "hh.csv", index=False)
    res = CliRunner().invoke(app, ["identify", str(tmp_path / "hh.csv"), "-y", "2015", "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert body["counts"]["findings"]["error"] == 0 and body["counts"]["households_read"] == 300
    assert body["counts"]["members_read"] == 0  # not one member per household
