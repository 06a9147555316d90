"""`fupin identify` / `explain` / `causes` through the CLI on generated roster files."""

from __future__ import annotations

import json
import re

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app
from fupin_cli.io.register import read_register
from fupin_cli.io.write_roster import write_roster
from fupin_cli.samples.generate import generate_roster

runner = CliRunner()


def run(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("rosters")
    roster, truth = generate_roster(120, seed=11)
    paths = {}
    for name, layout in (("roster.xlsx", "template"), ("roster.xls", "member"), ("roster.csv", "member")):
        write_roster(roster, d / name, layout=layout)  # CSV in GBK
        paths[name] = d / name
    return d, paths, truth


@pytest.fixture(scope="module")
def registered(files, tmp_path_factory):
    """identify once on the .xlsx roster: register, 公示 list and JSON summary."""
    _, paths, _ = files
    out = tmp_path_factory.mktemp("out")
    res = run("identify", paths["roster.xlsx"], "--year", 2015, "-o", out / "reg.xlsx", "--publicity", out / "pub.xlsx",
              "--publicity-start", "2015-10-08", "--phone", "023-1234", "--json")
    assert res.exit_code == 0, res.output
    return out, json.loads(res.stdout)


def test_identify_json_summary(registered, files):
    out, payload = registered
    _, _, truth = files
    c = payload["counts"]
    assert c["households_read"] == 120
    assert c["poor_households"] == int((truth.households["expected_status"] == "贫困户").sum())
    # the sample is 重庆 (below), and the chongqing pack's 七不进 are vetoes: every household the generator
    # flags with an exclusion condition is excluded (national-2014 would put them in review, 0 excluded)
    assert c["excluded_households"] == int(truth.households["excluded"].sum()) > 0
    assert payload["outputs"] == [str(out / "reg.xlsx"), str(out / "pub.xlsx")]
    prov = payload["provenance"]
    assert prov["inputs"][0]["name"] == "roster.xlsx" and len(prov["inputs"][0]["sha256"]) == 64
    # the sample is a 重庆 county (省 column, ID area codes 50…): its provincial pack is the default
    assert prov["year"] == 2015 and prov["pack"]["name"] == "chongqing"
    assert prov["choice"]["region"] == "重庆" and prov["choice"]["region_how"].startswith("由花名册推断")
    assert set(payload) == {"counts", "outputs", "provenance", "coverage", "quota", "warnings"}
    # --json is the library result
    from fupin_cli import __version__
    from fupin_cli.core.identify import identify
    from fupin_cli.engine import load_pack
    from fupin_cli.io.read import read_roster

    _, paths, _ = files
    lib = identify(read_roster(paths["roster.xlsx"]), load_pack("chongqing"), 2015, "重庆", version=__version__,
                   run_time=prov["run_time"], options={"allow_errors": False, "lang": "zh"})
    lib.provenance["choice"] = prov["choice"]  # the CLI's choice of region and pack (cli/run.py settle)
    expected = json.loads(json.dumps(lib.to_json(payload["outputs"]), ensure_ascii=False, default=str))
    assert {k: payload[k] for k in expected} == expected


def test_identify_register_and_publicity_files(registered):
    out, payload = registered
    wb = openpyxl.load_workbook(out / "reg.xlsx", read_only=True)
    assert wb.sheetnames[:5] == ["登记册", "登记册(打印)", "成员", "汇总", "致贫原因"] and wb.sheetnames[-1] == "说明"
    reg = read_register(out / "reg.xlsx")
    assert len(reg.households) == 120
    assert int((reg.households["status"] == "贫困户").sum()) == payload["counts"]["poor_households"]
    pub = openpyxl.load_workbook(out / "pub.xlsx")
    poor_villages = reg.households.loc[reg.households["status"] == "贫困户", "village"].unique().tolist()
    assert len(pub.sheetnames) == len(poor_villages)
    ws = pub[pub.sheetnames[0]]
    assert ws["A1"].value.endswith("2015年建档立卡贫困户公示名单")
    cells = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    assert "公示期：2015年10月8日至2015年10月14日（7天）" in cells and "监督电话：023-1234" in cells
    ids = [ws.cell(r, 3).value for r in range(4, ws.max_row + 1) if isinstance(ws.cell(r, 1).value, int)]
    assert ids and all("********" in i for i in ids)


def test_same_roster_in_xlsx_xls_gbk_csv_gives_identical_registers(files, tmp_path):
    _, paths, _ = files
    frames = []
    for name in ("roster.xlsx", "roster.xls", "roster.csv"):
        target = tmp_path / f"{name}.register.csv"
        res = run("identify", paths[name], "--year", 2015, "-o", target, "--quiet")
        assert res.exit_code == 0, res.output
        frames.append(read_register(target).households.drop(columns=["_row"]))
    pd.testing.assert_frame_equal(frames[0], frames[1])
    pd.testing.assert_frame_equal(frames[0], frames[2])


def test_same_inputs_byte_identical_csv_and_json(files, tmp_path):
    _, paths, _ = files
    outs, payloads = [], []
    for i in range(2):
        target = tmp_path / f"r{i}.csv"
        res = run("identify", paths["roster.csv"], "--year", 2015, "-o", target, "--json")
        assert res.exit_code == 0, res.output
        outs.append(target.read_bytes())
        p = json.loads(res.stdout)
        p["provenance"].pop("run_time")
        p["outputs"] = [o.replace(f"r{i}.csv", "r.csv") for o in p["outputs"]]
        payloads.append(p)
    assert outs[0] == outs[1]
    assert payloads[0] == payloads[1]


def test_default_output_no_overwrite_and_force(files, tmp_path, monkeypatch):
    _, paths, _ = files
    monkeypatch.chdir(tmp_path)
    res = run("identify", paths["roster.csv"], "--year", 2015, "--quiet")
    assert res.exit_code == 0, res.output
    target = tmp_path / "roster-register-2015.xlsx"
    assert target.exists()
    before = target.read_bytes()
    res = run("identify", paths["roster.csv"], "--year", 2015, "--quiet")
    assert res.exit_code == 2
    assert "roster-register-2015.xlsx already exists" in res.stderr and "--force" in res.stderr
    assert target.read_bytes() == before
    res = run("identify", paths["roster.csv"], "--year", 2015, "--quiet", "--force")
    assert res.exit_code == 0


def test_summary_table_and_lang_en(files, tmp_path):
    _, paths, _ = files
    res = run("identify", paths["roster.csv"], "--year", 2015, "-o", tmp_path / "en.xlsx", "--lang", "en")
    assert res.exit_code == 0, res.output
    assert "贫困户 poor households" in res.stdout and str(tmp_path / "en.xlsx") in res.stdout
    assert openpyxl.load_workbook(tmp_path / "en.xlsx", read_only=True).sheetnames[0] == "households"
    assert not re.search(r"\d{17}[\dX]", res.stdout + res.stderr)  # no full ID number printed


def test_missing_parameter_year_is_rule_error(files, tmp_path):
    _, paths, _ = files
    res = run("identify", paths["roster.csv"], "--year", 2005, "-o", tmp_path / "x.xlsx")
    assert res.exit_code == 3
    assert "2005" in res.stderr and not (tmp_path / "x.xlsx").exists()


def test_quota_and_assist_options(files, registered, tmp_path):
    _, paths, _ = files
    out, _ = registered
    reg = read_register(out / "reg.xlsx").households
    poor = reg[reg["status"] == "贫困户"]
    village = poor["village"].value_counts().index[0]
    (tmp_path / "quota.csv").write_text(f"行政村,指标\n{village},1\n", encoding="utf-8")
    first = poor["household_id"].iloc[0]
    (tmp_path / "assist.csv").write_text(f"户编号,帮扶责任人\n{first},王帮扶\n", encoding="utf-8")
    res = run("identify", paths["roster.xlsx"], "--year", 2015, "-o", tmp_path / "q.xlsx", "--quota", tmp_path / "quota.csv",
              "--assist", tmp_path / "assist.csv", "--json")
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    q = next(r for r in payload["quota"] if r["village"] == village)
    assert q["quota"] == 1 and q["over_households"] >= 1
    assert payload["provenance"]["options"]["quota"].startswith("quota.csv (sha256 ")
    wb = openpyxl.load_workbook(tmp_path / "q.xlsx", read_only=True)
    assert "规模控制" in wb.sheetnames and "帮扶覆盖" in wb.sheetnames
    got = read_register(tmp_path / "q.xlsx").households.set_index("household_id")
    assert got.loc[first, "responsible_person"] == "王帮扶"
    assert got["not_identified_reason"].fillna("").str.startswith("超出规模控制指标").sum() == q["over_households"]


def test_explain_tree_and_unknown_household(files, registered):
    _, paths, _ = files
    out, _ = registered
    reg = read_register(out / "reg.xlsx").households
    hid = reg.loc[reg["status"] == "贫困户", "household_id"].iloc[0]
    res = run("explain", paths["roster.csv"], hid, "--year", 2015)
    assert res.exit_code == 0, res.output
    assert f"户 {hid}" in res.stdout and "贫困户" in res.stdout and "识别标准" in res.stdout
    assert "国家扶贫标准" in res.stdout and "2,855 元（2015，国家）" in res.stdout  # long labels fold, never cut
    from_register = run("explain", out / "reg.xlsx", hid, "--year", 2015)  # a register works as SOURCE too
    assert from_register.exit_code == 0, from_register.output
    assert from_register.stdout.splitlines()[0] == res.stdout.splitlines()[0]
    res = run("explain", paths["roster.csv"], hid, "--year", 2015, "--json")
    tree = json.loads(res.stdout)
    assert tree["household_id"] == hid and tree["tree"]["value"] == "贫困户"
    wrong = hid[:-1] + ("0" if hid[-1] != "0" else "1")
    res = run("explain", paths["roster.csv"], wrong + "9", "--year", 2015)
    assert res.exit_code == 2
    assert f"household {wrong}9 is not in roster.csv" in res.stderr and "did you mean" in res.stderr


def test_causes_from_each_register_format(registered, files, tmp_path):
    out, payload = registered
    _, paths, _ = files
    res = run("causes", out / "reg.xlsx", "--json")
    assert res.exit_code == 0, res.output
    from_xlsx = json.loads(res.stdout)
    from fupin_cli.core.causes import causes_report

    library = causes_report(read_register(out / "reg.xlsx").households).to_json()
    assert {k: from_xlsx[k] for k in library} == json.loads(json.dumps(library))  # --json is the library result
    assert from_xlsx["households"] == payload["counts"]["poor_households"]
    assert sum(r["households"] for r in from_xlsx["by_cause"]) == from_xlsx["households"]
    pq = tmp_path / "reg.parquet"
    assert run("identify", paths["roster.xlsx"], "--year", 2015, "-o", pq, "--quiet").exit_code == 0
    from_pq = json.loads(run("causes", pq, "--json").stdout)
    for key in ("by_cause", "cooccurrence", "by_area", "by_attribute", "households", "people"):
        assert from_pq[key] == from_xlsx[key], key
    res = run("causes", out / "reg.xlsx", "--by", "行政村", "-o", tmp_path / "c.xlsx")
    assert res.exit_code == 0, res.output
    assert "主要致贫原因" in res.stdout and "合计" in res.stdout
    assert openpyxl.load_workbook(tmp_path / "c.xlsx", read_only=True).sheetnames == ["致贫原因", "按行政村", "次要原因", "按属性", "说明"]
    res = run("causes", out / "reg.xlsx", "--by", "县")
    assert res.exit_code == 2 and "--by 县: unknown area" in res.stderr


def test_messy_sample_stops_with_exit_1_unless_allow_errors(tmp_path):
    from pathlib import Path

    messy = Path(__file__).resolve().parents[1] / "samples" / "roster-messy.xlsx"
    res = run("identify", messy, "--year", 2015, "-o", tmp_path / "m.xlsx")
    assert res.exit_code == 1
    assert "roster-messy.xlsx: " in res.stderr and "identification stopped" in res.stderr
    assert f"fupin validate {messy}" in res.stderr.replace("\n", "")
    assert not (tmp_path / "m.xlsx").exists()
    res = run("identify", messy, "--year", 2015, "-o", tmp_path / "m.xlsx", "--allow-errors", "--json")
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    errors = payload["counts"]["findings"]["error"]
    assert errors > 0 and payload["counts"]["pending_households"] >= 1
    reg = read_register(tmp_path / "m.xlsx").households
    pending = reg[reg["not_identified_reason"].fillna("").str.startswith("数据错误待核实：")]
    assert len(pending) >= 1 and (pending["status"] == "待核实").all()
    assert not re.search(r"\d{17}[\dX]", " ".join(pending["not_identified_reason"]))  # IDs masked in reasons


def test_docs_quick_start_runs(tmp_path, monkeypatch):
    """The commands at the top of docs/identify.md work as written (from the repository root)."""
    import shlex
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "identify.md").read_text(encoding="utf-8")
    block = text.split("```", 2)[1]
    commands = [shlex.split(line) for line in block.strip().splitlines()]
    assert [c[:2] for c in commands] == [["fupin", "identify"], ["fupin", "explain"], ["fupin", "causes"]]
    (tmp_path / "samples").symlink_to(root / "samples")
    monkeypatch.chdir(tmp_path)
    for argv in commands:
        res = runner.invoke(app, argv[1:])
        assert res.exit_code == 0, (argv, res.output)
    assert {p.name for p in tmp_path.iterdir()} >= {"register-2015.xlsx", "公示-2015.xlsx", "causes-2015.xlsx"}
