"""One resolution of region, pack and year for every command that reads a roster (cli/run.py settle):
command line > fupin.toml > inferred from the data > default, each value's source in the summary, --json
(provenance.choice) and the 说明 sheet; a given value (option or fupin.toml) the roster contradicts stops the run."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[1] / "samples"
CLEAN = SAMPLES / "roster-clean.xlsx"


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def choice_of(res) -> dict:
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)["provenance"]["choice"]


def about(path: Path) -> dict[str, str]:
    ws = openpyxl.load_workbook(path)["说明"]
    return {str(k): str(v) for k, v in ws.iter_rows(values_only=True)}


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_each_value_says_where_it_came_from(here):
    # nothing given: region inferred from the 省 column, pack from the region, year given
    c = choice_of(run("identify", CLEAN, "-y", "2015", "--json"))
    assert (c["region"], c["region_source"]) == ("重庆", "inferred") and c["region_how"].startswith("由花名册推断：“省”列")
    assert (c["pack"], c["pack_source"]) == ("chongqing", "inferred") and "省级规则包 chongqing" in c["pack_how"]
    assert (c["year"], c["year_source"]) == (2015, "given") and "年度" in c["year_how"]
    # fupin.toml: config, naming file and line
    (here / "fupin.toml").write_text('unit = "某县"\nregion = "重庆市"\n', encoding="utf-8")
    c = choice_of(run("identify", CLEAN, "-y", "2015", "--json"))
    assert (c["region"], c["region_source"]) == ("重庆", "config")
    assert c["region_how"].startswith("fupin.toml:2（region = 重庆市）（即 重庆）；与花名册一致")
    assert c["pack_source"] == "inferred"  # the file sets no pack: it follows the region
    # the command line wins over the file, and the file's value is recorded beside it
    c = choice_of(run("identify", CLEAN, "-y", "2015", "--json", "-r", "500000", "-p", "national-2014"))
    assert (c["region"], c["region_source"], c["pack"], c["pack_source"]) == ("重庆", "given", "national-2014", "given")
    assert c["region_how"] == "命令行 --region 500000（fupin.toml 中为 重庆市）（即 重庆）；与花名册一致：“省”列（60 户为重庆）"


def test_default_when_the_roster_says_nothing(here):
    frame = pd.read_csv(SAMPLES / "roster-clean-gbk.csv", encoding="gbk", dtype=str)
    frame = frame.drop(columns=["省", "市", "县"])
    frame["户编号"] = "H" + frame["户编号"].str[6:]  # no area code either
    for col in ("证件号码", "户主证件号码"):  # 71: no province of GB/T 2260's list (the check digits fail: --allow-errors)
        frame[col] = "71" + frame[col].str[2:]
    frame.to_csv(here / "anon.csv", index=False, encoding="utf-8")
    c = choice_of(run("identify", here / "anon.csv", "-y", "2015", "--json", "--allow-errors"))
    assert c["region_source"] == "default" and c["region"] == "国家" and c["inferred"] is None
    assert (c["pack"], c["pack_source"]) == ("national-2014", "default")


def test_summary_and_register_print_the_sources(here):
    res = run("identify", CLEAN, "-y", "2015", "-o", "r.xlsx")
    assert res.exit_code == 0, res.output
    assert "地区 重庆：由花名册推断：“省”列（60 户为重庆）" in res.stdout
    assert "规则包 chongqing@" in res.stdout and "由地区推断" in res.stdout
    assert "年度 2015：命令行 --year 2015（与花名册“年度”列一致）" in res.stdout
    a = about(here / "r.xlsx")
    assert a["区域 (region)"] == "重庆" and a["区域来源 (region from)"].startswith("由花名册推断")
    assert a["规则包选择 (pack chosen)"].startswith("由地区推断") and a["年度来源 (year from)"].startswith("命令行 --year 2015")


def test_a_region_in_fupin_toml_the_roster_contradicts_stops_the_run(here):
    (here / "fupin.toml").write_text('# county\nregion = "云南"\n', encoding="utf-8")
    res = run("identify", CLEAN, "-y", "2015", "-o", "r.xlsx")
    assert res.exit_code == 2
    assert "fupin.toml:2: region = 云南 contradicts the roster: “省”列（60 户为重庆） says 重庆" in res.stderr
    assert 'region = "重庆"' in res.stderr and not (here / "r.xlsx").exists()
    res = run("identify", CLEAN, "-y", "2015", "-o", "r.xlsx", "-r", "重庆")  # the command line wins: no contradiction
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("command", ["explain", "exit", "measures"])
def test_every_roster_command_goes_through_it(here, command):
    args = {"explain": ["explain", CLEAN, "5002300010010004"], "exit": ["exit", CLEAN], "measures": ["measures", CLEAN]}[command]
    res = run(*args, "-y", "2015", "--json")
    body = json.loads(res.stdout)
    c = body.get("choice") or body["provenance"]["choice"]
    assert (c["region"], c["region_source"], c["pack"]) == ("重庆", "inferred", "chongqing"), res.output
    res = run(*args, "-y", "2015", "--json", "-r", "云南")
    assert res.exit_code == 2 and "--region 云南 contradicts the roster" in res.stderr


def test_funds_goes_through_it(here):
    res = run("identify", CLEAN, "-y", "2015", "-q", "-o", "reg.xlsx")
    assert res.exit_code == 0, res.output
    res = run("samples", "payments", "reg.xlsx", "-o", "pay.xlsx")
    assert res.exit_code == 0, res.output
    c = choice_of(run("funds", "pay.xlsx", "--register", "reg.xlsx", "-y", "2015", "--json"))
    assert (c["region"], c["region_source"], c["pack"], c["pack_source"]) == ("重庆", "inferred", "chongqing", "inferred")
    res = run("funds", "pay.xlsx", "--register", "reg.xlsx", "-y", "2015", "-r", "云南")
    assert res.exit_code == 2 and "contradicts the roster" in res.stderr
