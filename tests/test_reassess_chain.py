"""Must show: identify 2015 → reassess 2016 → reassess 2017 on a generated chain, through the CLI.

Every transition count is asserted against the generator's Truth (computed from the data by the
national rules), the renumbered and split households are matched and reported, and the history
keeps every year.  The generated households are in 重庆 (ID numbers 500…), so the region's pack
(chongqing, whose 七不进 are vetoes: e.g. a 贫困户 with a 66,540 元 vehicle is 清退) would be chosen;
the Truth is the national rules', so the chain runs with ``--pack national-2014``.
"""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app
from fupin_cli.io.register import read_register
from fupin_cli.samples import generate_chain
from fupin_cli.schema import TRANSITIONS

runner = CliRunner()
YEARS = (2015, 2016, 2017)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    from fupin_cli.io.write_roster import write_roster

    d = tmp_path_factory.mktemp("chain")
    years = generate_chain(200, seed=3, years=YEARS)
    files = {}
    for year, (roster, truth) in zip(YEARS, years):
        path = d / f"roster-{year}.xlsx"
        write_roster(roster, path, "member")
        files[year] = (path, truth)
    reg = {2015: d / "register-2015.xlsx"}
    res = runner.invoke(app, ["identify", str(files[2015][0]), "--year", "2015", "-o", str(reg[2015]), "-q",
                              "--allow-errors", "--pack", "national-2014"])
    assert res.exit_code == 0, res.stderr
    payloads = {}
    for prev, year in ((2015, 2016), (2016, 2017)):
        reg[year] = d / f"register-{year}.xlsx"
        res = runner.invoke(app, ["reassess", str(reg[prev]), str(files[year][0]), "--year", str(year),
                                  "-o", str(reg[year]), "--json", "--allow-errors",
                                  "--pack", "national-2014"])
        assert res.exit_code == 0, res.stderr
        payloads[year] = json.loads(res.stdout)
    return {"files": files, "registers": reg, "payloads": payloads}


def truth_counts(truth) -> dict[str, int]:
    counts = truth.households["transition"].value_counts()
    return {t: int(counts.get(t, 0)) for t in TRANSITIONS}


@pytest.mark.parametrize("year", [2016, 2017])
def test_transition_counts_match_the_generators_truth(chain, year):
    got = {t: v["households"] for t, v in chain["payloads"][year]["transitions"].items()}
    assert got == truth_counts(chain["files"][year][1])


@pytest.mark.parametrize("year", [2016, 2017])
def test_every_household_gets_its_true_transition(chain, year):
    truth = chain["files"][year][1].households.set_index("household_id")["transition"]
    hh = read_register(chain["registers"][year]).households.set_index("household_id")
    assert hh["transition"].to_dict() == truth.to_dict()
    truth_status = chain["files"][year][1].households.set_index("household_id")["registry_status"]
    assert hh["registry_status"].to_dict() == truth_status.to_dict()


def test_history_keeps_every_year(chain):
    hh = read_register(chain["registers"][2017]).households
    since_2015 = hh[hh["status_history"].str.startswith("2015:")]
    assert len(since_2015) > 150
    assert since_2015["status_history"].str.match(r"^2015:[^|]+\|2016:[^|]+\|2017:[^|]+$").all()
    newer = hh[~hh["status_history"].str.startswith("2015:")]  # split off or new households
    assert newer["status_history"].str.match(r"^(2016:[^|]+\|)?2017:[^|]+$").all()
    wb = openpyxl.load_workbook(chain["registers"][2017], read_only=True)
    header = next(wb["历年状态"].iter_rows(values_only=True))
    assert header == ("乡镇", "行政村", "户编号", "户主姓名", "2015", "2016", "2017")
    # exit years agree with the history
    exited16 = hh[hh["status_history"].str.contains("2016:已脱贫", regex=False) & ~hh["status_history"].str.contains("2015:已脱贫", regex=False)]
    assert (exited16["exit_year"] == 2016).all()


def test_renumbered_and_split_households_are_matched_and_reported(chain):
    for year in (2016, 2017):
        truth = chain["files"][year][1].households
        hh = read_register(chain["registers"][year]).households.set_index("household_id")
        renumbered = truth[(truth["previous_household_id"] != "") & (truth["split_from"] == "")]
        assert len(renumbered) >= 1
        for new, old in zip(renumbered["household_id"], renumbered["previous_household_id"]):
            assert hh.loc[new, "match_method"] == "户主证件号码"
            assert hh.loc[new, "previous_household_id"] == old
        splits = truth[truth["split_from"] != ""]
        assert len(splits) >= 1
        for new, old in zip(splits["household_id"], splits["split_from"]):
            assert hh.loc[new, "match_method"] == "分户"
            assert hh.loc[new, "previous_household_id"] == old
        m = chain["payloads"][year]["matching"]
        assert (m["户主证件号码"], m["分户"]) == (len(renumbered), len(splits))


def test_change_report_sheets(chain):
    wb = openpyxl.load_workbook(chain["registers"][2016], read_only=True)
    assert wb.sheetnames[:3] == ["登记册", "登记册(打印)", "成员"]
    for name in ("历年状态", "动态调整", "分村调整", "户匹配", *TRANSITIONS, "说明"):
        assert name in wb.sheetnames, name
    counts = {r[0]: r[1] for r in list(wb["动态调整"].iter_rows(values_only=True))[1:]}
    assert counts == truth_counts(chain["files"][2016][1])
    for t in ("脱贫", "自然减少"):
        rows = list(wb[t].iter_rows(values_only=True))
        assert len(rows) - 1 == counts[t]
        ids = [v for v in rows[1][4:5]] if len(rows) > 1 else []
        assert all(v is None or "*" in v for v in ids)


def test_previous_that_is_a_roster_is_refused(chain, tmp_path):
    roster15 = chain["files"][2015][0]
    res = runner.invoke(app, ["reassess", str(roster15), str(chain["files"][2016][0]), "--year", "2016",
                              "-o", str(tmp_path / "r.xlsx")])
    assert res.exit_code == 2
    assert ("PREVIOUS roster-2015.xlsx is not a register: it has no 登记册 sheet or 识别结果 / 建档立卡状态 column "
            "(pass last year's register written by `fupin identify` or `fupin reassess`, not a roster)") in res.stderr


def test_current_year_equal_to_previous_is_refused(chain, tmp_path):
    res = runner.invoke(app, ["reassess", str(chain["registers"][2016]), str(chain["files"][2016][0]), "--year", "2016",
                              "-o", str(tmp_path / "r.xlsx")])
    assert res.exit_code == 2
    assert "CURRENT year 2016 is the same as the year of PREVIOUS register-2016.xlsx (2016)" in res.stderr


def test_years_out_of_order_are_refused(chain, tmp_path):
    res = runner.invoke(app, ["reassess", str(chain["registers"][2017]), str(chain["files"][2016][0]), "--year", "2016",
                              "-o", str(tmp_path / "r.xlsx")])
    assert res.exit_code == 2
    assert "years out of order: --year 2016 is before the year of PREVIOUS register-2017.xlsx (2017)" in res.stderr


def test_output_exists_without_force(chain, tmp_path):
    out = tmp_path / "r.xlsx"
    out.write_text("x")
    res = runner.invoke(app, ["reassess", str(chain["registers"][2015]), str(chain["files"][2016][0]), "--year", "2016",
                              "-o", str(out)])
    assert res.exit_code == 2
    assert "already exists" in res.stderr
    assert out.read_text() == "x"


def test_chain_through_parquet_and_csv_registers_in_english(chain, tmp_path):
    """CSV / Parquet registers hold one sheet: the history column alone must carry the chain."""
    files = chain["files"]
    r15, r16, r17 = tmp_path / "r15.parquet", tmp_path / "r16.csv", tmp_path / "r17.parquet"
    res = runner.invoke(app, ["identify", str(files[2015][0]), "--year", "2015", "-o", str(r15), "-q", "--allow-errors",
                              "--lang", "en", "--pack", "national-2014"])
    assert res.exit_code == 0, res.stderr
    for prev, year, out in ((r15, 2016, r16), (r16, 2017, r17)):
        res = runner.invoke(app, ["reassess", str(prev), str(files[year][0]), "--year", str(year), "-o", str(out),
                                  "--json", "--allow-errors", "--lang", "en",
                                  "--pack", "national-2014"])
        assert res.exit_code == 0, res.stderr
        got = {t: v["households"] for t, v in json.loads(res.stdout)["transitions"].items()}
        expected = {t: v["households"] for t, v in chain["payloads"][year]["transitions"].items()}
        assert got == expected
    final = pd.read_parquet(r17)
    assert "status_history" in final.columns and "transition" in final.columns
    assert final["status_history"].str.startswith("2015:").sum() > 150


def test_json_equals_the_library_result(chain):
    from fupin_cli.core.reassess import run_reassess
    from fupin_cli.engine import load_pack
    from fupin_cli.io.read import read_roster

    result, _ = run_reassess(read_register(chain["registers"][2015]), read_roster(chain["files"][2016][0]),
                             load_pack("national-2014"), 2016, allow_errors=True)
    payload = chain["payloads"][2016]
    expected = result.summary()
    for key in ("year", "previous_year", "households", "transitions", "registry_status", "matching", "notes"):
        assert payload[key] == expected[key], key
    assert payload["provenance"]["command"] == "reassess"
    assert payload["provenance"]["options"]["previous"].startswith("register-2015.xlsx (sha256 ")
