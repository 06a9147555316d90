"""`fupin exit` end to end: a register written by identify → exit workbook, 脱贫名单, JSON, errors."""

from __future__ import annotations

import json

import openpyxl
import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app
from fupin_cli.core.exit import run_exit
from fupin_cli.engine import load_pack
from fupin_cli.io.register import read_register

runner = CliRunner()


@pytest.fixture(scope="module")
def register_2015(tmp_path_factory):
    from fupin_cli.core.identify import identify
    from fupin_cli.io.register import write_register
    from fupin_cli.samples.generate import generate_roster

    roster, _ = generate_roster(300, seed=7, year=2015)
    res = identify(roster, load_pack("national-2014"), 2015, allow_errors=True)
    # the register's data updated during the year: every other poor household now earns 6000 a head
    poor = res.households.index[(res.households["status"] == "贫困户").to_numpy()]
    res.households.loc[poor[::2], "income_per_capita"] = 6000.0
    path = tmp_path_factory.mktemp("exit") / "register-2015.xlsx"
    write_register(res, path)
    return path


def test_exit_workbook_and_json_equal_the_library(register_2015, tmp_path):
    out = tmp_path / "exit.xlsx"
    pub = tmp_path / "pub.xlsx"
    res = runner.invoke(app, ["exit", str(register_2015), "--year", "2016", "-o", str(out), "--publicity", str(pub), "--json"])
    assert res.exit_code == 0, res.stderr
    payload = json.loads(res.stdout)
    reg = read_register(register_2015)
    lib, _ = run_exit(reg.households, reg.members, load_pack("chongqing"), 2016, "重庆")  # the sample is a 重庆 county
    expected = lib.summary()
    for key in ("registered_households", "exited_households", "remaining_households", "villages_exiting",
                "unmet_conditions", "county"):
        assert payload[key] == expected[key], key
    assert payload["outputs"] == [str(out), str(pub)]
    assert payload["provenance"]["command"] == "exit"
    assert payload["provenance"]["inputs"][0]["name"] == "register-2015.xlsx"
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames == ["脱贫名单", "未脱贫", "未达标条件", "村退出", "县退出", "说明"]
    rows = list(wb["脱贫名单"].iter_rows(values_only=True))
    assert rows[1][:6] == ("序号", "乡镇", "行政村", "户编号", "户主姓名", "证件号码")
    assert len(rows) - 2 == expected["exited_households"] > 0
    ids = [r[5] for r in rows[2:] if r[5]]
    assert ids and all("*" in i for i in ids)  # masked
    remaining = list(wb["未脱贫"].iter_rows(values_only=True))
    assert len(remaining) - 1 == expected["remaining_households"]
    assert all(r[-1] for r in remaining[1:])  # every remaining household has a reason
    pub_wb = openpyxl.load_workbook(pub, read_only=True)
    first = list(pub_wb[pub_wb.sheetnames[0]].iter_rows(values_only=True))
    assert first[0][0].endswith("2016年贫困户脱贫名单")


def test_terminal_output_masks_ids_and_lists_outputs(register_2015, tmp_path):
    out = tmp_path / "exit.xlsx"
    res = runner.invoke(app, ["exit", str(register_2015), "--year", "2016", "-o", str(out)])
    assert res.exit_code == 0, res.stderr
    assert "脱贫退出" in res.stdout
    assert str(out) in res.stdout.replace("\n", "")
    import re

    assert not re.search(r"\d{17}[\dX]", res.stdout + res.stderr)


def test_english_labels_and_csv(register_2015, tmp_path):
    out = tmp_path / "exit.csv"
    res = runner.invoke(app, ["exit", str(register_2015), "--year", "2016", "-o", str(out), "--lang", "en", "-q"])
    assert res.exit_code == 0, res.stderr
    header = out.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("township,village,household_id,head_name,head_id_masked,people,income_per_capita")


def test_no_overwrite_without_force(register_2015, tmp_path):
    out = tmp_path / "exit.xlsx"
    out.write_text("keep")
    res = runner.invoke(app, ["exit", str(register_2015), "--year", "2016", "-o", str(out)])
    assert res.exit_code == 2
    assert f"output {out} already exists (use --force to overwrite it, or choose another name)" in res.stderr
    assert out.read_text() == "keep"
    res = runner.invoke(app, ["exit", str(register_2015), "--year", "2016", "-o", str(out), "--force", "-q"])
    assert res.exit_code == 0


def test_sample_check_and_population_files(register_2015, tmp_path):
    reg = read_register(register_2015)
    villages = reg.households["village"].astype(str).unique()
    pop = tmp_path / "pop.csv"
    pop.write_text("行政村,户籍人口\n" + "\n".join(f"{v},100000" for v in villages) + "\n", encoding="utf-8")
    sample = tmp_path / "sample.csv"
    ids = reg.households["household_id"].astype(str).tolist()
    sample.write_text("户编号,核查结论,是否认可\n" + "\n".join(f"{i},正确,是" for i in ids[:20]) + "\n", encoding="utf-8")
    res = runner.invoke(app, ["exit", str(register_2015), "--year", "2016", "-o", str(tmp_path / "e.xlsx"),
                              "--population", str(pop), "--sample-check", str(sample), "--json"])
    assert res.exit_code == 0, res.stderr
    county = json.loads(res.stdout)["county"]
    assert county["population"] == 100000 * len(villages)
    assert county["missed_rate"] == 0.0
    assert county["recognition_rate"] == 1.0


def test_bad_sample_check_value_is_an_input_error(register_2015, tmp_path):
    sample = tmp_path / "sample.csv"
    sample.write_text("户编号,核查结论\nX1,不知道\n", encoding="utf-8")
    res = runner.invoke(app, ["exit", str(register_2015), "--year", "2016", "-o", str(tmp_path / "e.xlsx"),
                              "--sample-check", str(sample)])
    assert res.exit_code == 4
    assert "sample.csv: 核查结论 '不知道' is not 正确, 错退 or 漏评" in res.stderr


def test_population_file_without_population_column(register_2015, tmp_path):
    pop = tmp_path / "pop.csv"
    pop.write_text("行政村,备注\n一村,x\n", encoding="utf-8")
    res = runner.invoke(app, ["exit", str(register_2015), "--year", "2016", "-o", str(tmp_path / "e.xlsx"),
                              "--population", str(pop)])
    assert res.exit_code == 4
    assert "pop.csv: no 人口数 column (the village table needs 行政村 and 人口数 (and may have 乡镇, 村集体经济收入" in res.stderr


def test_year_before_the_pack_is_a_rule_error(register_2015, tmp_path):
    res = runner.invoke(app, ["exit", str(register_2015), "--year", "2005", "-o", str(tmp_path / "e.xlsx")])
    assert res.exit_code == 3
    assert "covers the years 2010–2020, not 2005" in res.stderr


def test_bad_recognition_answer_names_the_row(register_2015, tmp_path):
    sample = tmp_path / "sample.csv"
    sample.write_text("户编号,核查结论,是否认可\nX1,正确,是\nX2,正确,也许\n", encoding="utf-8")
    res = runner.invoke(app, ["exit", str(register_2015), "--year", "2016", "-o", str(tmp_path / "e.xlsx"),
                              "--sample-check", str(sample)])
    assert res.exit_code == 4
    assert "sample.csv: row 3, column 是否认可: '也许' is not 是 or 否 (write 是 or 否 (or leave it blank when not asked))" in res.stderr


def test_exit_reads_a_village_table_for_poor_village_identification(register_2015, tmp_path):
    """Issue 9.5: the village table (--population) brings what a roster cannot: 村集体经济收入 and the
    province's incidence and income; the 村退出 sheet carries 贫困村识别 and the roster's rates."""
    reg = read_register(register_2015)
    villages = sorted(set(reg.households["village"].dropna().astype(str)))
    table = tmp_path / "villages.csv"
    lines = ["行政村,村集体经济收入,全省贫困发生率,全省农民人均纯收入"]
    lines += [f"{v},{0 if i % 2 == 0 else 20000},5%,30000" for i, v in enumerate(villages)]
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "exit.xlsx"
    res = runner.invoke(app, ["exit", str(register_2015), "--year", "2015", "-o", str(out), "--population", str(table), "--json"])
    assert res.exit_code == 0, res.stderr
    payload = json.loads(res.stdout)
    found = {v["village"]: v for v in payload["villages"]}
    for i, name in enumerate(villages):
        v = found[name]
        assert v["province_incidence"] == pytest.approx(0.05) and v["province_income_pc"] == 30000
        assert v["poor_village"] in ("贫困村", "非贫困村")
        if i % 2:  # collective income: never a 贫困村 (一无 fails)
            assert v["poor_village"] == "非贫困村" and "无村集体经济收入" in v["poor_village_unmet"]
        else:  # 一高 and 一低 decided from the roster's registered incidence and income
            high = v["registered_incidence"] >= 2 * 0.05
            low = v["income_pc"] < 0.6 * 30000
            assert (v["poor_village"] == "贫困村") == (high and low)
    assert sum(payload["poor_villages"].values()) == len(villages)
    rows = list(openpyxl.load_workbook(out, read_only=True)["村退出"].iter_rows(values_only=True))
    assert "贫困村识别" in rows[0] and "住房安全保障率" in rows[0] and "村集体经济收入" in rows[0]


def test_village_table_with_a_bad_number_is_a_one_line_error(register_2015, tmp_path):
    table = tmp_path / "villages.csv"
    table.write_text("行政村,村集体经济收入\n一村,很多\n", encoding="utf-8")
    res = runner.invoke(app, ["exit", str(register_2015), "--year", "2015", "-o", str(tmp_path / "x.xlsx"), "--population", str(table)])
    assert res.exit_code == 4, res.stderr
    assert "row 2, column 村集体经济收入: '很多' is not a number" in res.stderr
