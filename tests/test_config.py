"""fupin.toml: a county set up once; the command line wins; 说明 records both; errors with file:line; fupin init."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[1] / "samples"
CLEAN, MESSY = SAMPLES / "roster-clean.xlsx", SAMPLES / "roster-messy.xlsx"


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def about(path: Path) -> dict[str, str]:
    ws = openpyxl.load_workbook(path)["说明"]
    return {str(k): str(v) for k, v in ws.iter_rows(values_only=True)}


@pytest.fixture
def county(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "fupin.toml").write_text(
        '# a county\nregion = "重庆"\npack = "chongqing"\noutput_dir = "out"\nunit = "丰都县扶贫开发办公室"\n\n'
        '[signatures]\npreparer = "张三"\n\n[publicity]\nstart = 2015-10-08\nphone = "023-1234567"\n', encoding="utf-8")
    return tmp_path


def test_the_file_sets_the_county_and_the_command_line_wins(county):
    res = run("identify", CLEAN, "-y", "2015", "-q")
    assert res.exit_code == 0, res.output
    written = county / "out" / "roster-clean-register-2015.xlsx"  # output_dir from the file
    assert written.is_file()
    a = about(written)
    assert a["规则包 (pack)"].startswith("chongqing")
    # region and pack: resolved with the roster (cli/run.py settle), value and source in 区域来源 / 规则包选择
    assert a["区域来源 (region from)"] == "fupin.toml:2（region = 重庆）；与花名册一致：“省”列（60 户为重庆）"
    assert a["规则包选择 (pack chosen)"] == "fupin.toml:3（pack = chongqing）"
    assert a["年度来源 (year from)"] == "命令行 --year 2015（与花名册“年度”列一致）"
    assert "选项 region" not in a and "选项 pack" not in a  # one record per value
    assert a["选项 phone"] == "023-1234567 (fupin.toml:12)"
    res = run("identify", CLEAN, "-y", "2015", "-q", "-r", "西部", "-p", "national-2014", "-o", "cli.xlsx")
    assert res.exit_code == 0, res.output
    a = about(county / "cli.xlsx")
    assert a["区域 (region)"] == "西部"
    assert a["区域来源 (region from)"] == "命令行 --region 西部（fupin.toml 中为 重庆）"
    assert a["规则包选择 (pack chosen)"] == "命令行 --pack national-2014（fupin.toml 中为 chongqing）"


def test_publicity_period_from_the_file(county):
    res = run("identify", CLEAN, "-y", "2015", "-q", "-o", "r.xlsx", "--publicity", "p.xlsx")
    assert res.exit_code == 0, res.output
    ws = openpyxl.load_workbook(county / "p.xlsx").worksheets[0]
    texts = [c for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert "公示期：2015年10月8日至2015年10月14日（7天）" in texts
    assert "监督电话：023-1234567" in texts


def test_config_option_names_another_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "county.toml").write_text('region = "西部"\n', encoding="utf-8")
    res = run("--config", tmp_path / "county.toml", "identify", CLEAN, "-y", "2015", "-q", "-o", "r.xlsx")
    assert res.exit_code == 0, res.output
    assert about(tmp_path / "r.xlsx")["区域来源 (region from)"] == "county.toml:1（region = 西部）"
    res = run("--config", tmp_path / "nope.toml", "identify", CLEAN, "-y", "2015", "-q", "-o", "r2.xlsx")
    assert res.exit_code == 2 and "--config" in res.stderr and "no such file" in res.stderr


@pytest.mark.parametrize(("text", "message"), [
    ('region = "重庆"\nregin = "x"\n', "错误: fupin.toml:2: regin: unknown key (did you mean 'region'?)"),
    ('region = "重庆"\n\n[publicity]\ndays = "seven"\n', "错误: fupin.toml:4: publicity.days: Input should be a valid integer"),
    ('region = "重庆"\n\n[publicity]\ndays = 90\n', "错误: fupin.toml:4: publicity.days: Input should be less than or equal to 60"),
    ('[signatures]\nprepare = "张三"\n', "错误: fupin.toml:2: signatures.prepare: unknown key (did you mean 'preparer'?)"),
    ('region = 重庆\n', "错误: fupin.toml:1: TOML syntax error"),
    ('population = "nope.csv"\n', "错误: fupin.toml:1: population: file"),
    ('region = "  "\n', "错误: fupin.toml:1: region: Value error, must not be blank"),
])
def test_bad_file_is_one_line_with_its_line(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fupin.toml").write_text(text, encoding="utf-8")
    res = run("identify", CLEAN, "-y", "2015", "-q", "-o", "r.xlsx")
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith(message), res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.xlsx").exists()


def test_a_column_map_in_the_file_goes_to_the_reader(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "map.yaml").write_text("户号: household_id\n", encoding="utf-8")  # not the map format: the reader says so
    (tmp_path / "fupin.toml").write_text('columns = "map.yaml"\n', encoding="utf-8")
    res = run("identify", CLEAN, "-y", "2015", "-q", "-o", "r.xlsx")
    assert res.exit_code == 2 and "column map map.yaml" in res.stderr


def test_identify_population_gives_incidence_over_registered_people(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run("identify", CLEAN, "-y", "2015", "-q", "--json", "-o", "a.xlsx")
    base = json.loads(res.stdout)["counts"]
    ws = openpyxl.load_workbook(tmp_path / "a.xlsx")["汇总"]
    rows = [r for r in ws.iter_rows(values_only=True)]
    head = list(rows[2])
    villages = [r for r in rows[3:] if r[1] and r[1] != "小计" and r[0] != "合计"]
    first = villages[0]
    lines = ["乡镇,行政村,人口数", f"{first[head.index('乡镇')]},{first[head.index('行政村')]},5000", ",不存在村,10"]
    (tmp_path / "pop.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = run("identify", CLEAN, "-y", "2015", "-q", "--json", "-o", "b.xlsx", "--population", "pop.csv")
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    counts = payload["counts"]
    people = base["people"] - first[head.index("总人口")] + 5000
    assert counts["people"] == people
    assert counts["incidence"] == pytest.approx(base["poor_people"] / people, abs=1e-6)
    assert any("不存在村" in w for w in payload["warnings"])
    assert any("人口数文件中没有" in w for w in payload["warnings"])
    ws = openpyxl.load_workbook(tmp_path / "b.xlsx")["汇总"]
    rows = list(ws.iter_rows(values_only=True))
    head = list(rows[2])
    assert "人口数来源" in head
    village = next(r for r in rows[3:] if r[head.index("行政村")] == first[head.index("行政村")])
    assert village[head.index("总人口")] == 5000 and village[head.index("人口数来源")] == "人口数文件"


def test_init_infers_the_region_and_writes_a_loadable_file(tmp_path, monkeypatch):
    from fupin_cli.cli.config import load

    monkeypatch.chdir(tmp_path)
    res = run("init", MESSY)
    assert res.exit_code == 0, res.output
    text = (tmp_path / "fupin.toml").read_text(encoding="utf-8")
    assert 'region = "重庆"' in text and "# region: inferred from the roster: “省”列（" in text
    # the pack is left to follow the region (a pinned chongqing would also apply to monitor, 2021+)
    assert '# pack = "chongqing"' in text and "the pack follows the region" in text
    assert "\npack =" not in text
    assert 'unit = "丰都县扶贫开发办公室"' in text
    project = load(tmp_path / "fupin.toml")
    assert project.region == "重庆" and project.publicity.days == 7
    res = run("init", MESSY)
    assert res.exit_code == 2 and "already exists" in res.stderr
    # a roster without 省/市/县 columns: the ID numbers' area code (the inference every command makes: regions.py)
    import pandas as pd

    frame = pd.read_csv(SAMPLES / "roster-clean-gbk.csv", encoding="gbk", dtype=str)
    frame.drop(columns=["省", "市", "县"]).to_csv(tmp_path / "no-province.csv", index=False, encoding="utf-8")
    res = run("init", tmp_path / "no-province.csv", "-o", "b.toml")
    assert res.exit_code == 0, res.output
    text = (tmp_path / "b.toml").read_text(encoding="utf-8")
    assert 'region = "重庆"' in text and "证件号码的地区码" in text and "以 50 开头" in text
    res = run("init", "-o", "c.toml")
    assert res.exit_code == 0 and '# region = "重庆"' in (tmp_path / "c.toml").read_text(encoding="utf-8")
    res = run("identify", CLEAN, "-y", "2015", "-q", "-o", "r.xlsx")  # the file init wrote drives the run
    assert res.exit_code == 0, res.output
    a = about(tmp_path / "r.xlsx")
    assert a["区域来源 (region from)"].startswith("fupin.toml:7（region = 重庆）")
    assert a["规则包选择 (pack chosen)"].startswith("由地区推断：重庆有 2015 年适用的省级规则包 chongqing")


def test_explain_follows_the_file(county):
    import json as _json

    res = run("explain", CLEAN, "5002300010010004", "-y", "2015", "--json")
    assert res.exit_code == 0, res.output
    payload = _json.loads(res.stdout)
    assert payload["pack"]["name"] == "chongqing" and payload["region"] == "重庆"
