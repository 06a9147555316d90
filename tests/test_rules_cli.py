"""`fupin rules check|show|test` through typer's CliRunner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app
from fupin_cli.cli.rules_cmd import show_data
from fupin_cli.engine import load_pack

ROOT = Path(__file__).resolve().parents[1]
MINI = "tests/data/packs/mini"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def test_check_ok():
    r = runner.invoke(app, ["rules", "check", MINI])
    assert r.exit_code == 0
    pack = load_pack(MINI)
    assert r.stdout == f"ok: 20 rules, 3 parameters (mini@1.0, 6 derived fields, sha256 {pack.sha256[:12]})\n"


def test_check_prints_every_problem_and_exits_3():
    r = runner.invoke(app, ["rules", "check", "tests/data/packs/broken/unknown_field"])
    assert r.exit_code == 3
    assert r.stderr.splitlines() == [
        "错误: rule pack tests/data/packs/broken/unknown_field has 1 problem (fix them and run `fupin rules check` again)",
        "tests/data/packs/broken/unknown_field/rules.yaml:5:11: rules.0.when: unknown field 'incme_per_capita' (did you mean 'income_per_capita'?)",
        "    incme_per_capita < param.poverty_line",
        "    ^",
    ]
    assert r.stdout == ""


def test_check_json():
    r = runner.invoke(app, ["rules", "check", "tests/data/packs/broken/unknown_kind", "--json"])
    assert r.exit_code == 3
    data = json.loads(r.stdout)  # the error object every command prints (docs/cli.md "Errors")
    assert data["exit_code"] == 3 and data["error"].startswith("rule pack tests/data/packs/broken/unknown_kind has 1 problem")
    assert r.stderr.startswith("错误: rule pack")
    assert data["problems"] == ["tests/data/packs/broken/unknown_kind/rules.yaml:7:11: rules.1.kind: unknown kind 'critrion' (did you mean 'criterion'?)"]
    r = runner.invoke(app, ["rules", "check", MINI, "--json"])
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert (data["ok"], data["rules"], data["parameters"], data["pack"]) == (True, 20, 3, "mini")
    assert data["outputs"] == [] and data["provenance"]["command"] == "rules check"


def test_unknown_pack_exit_3():
    r = runner.invoke(app, ["rules", "check", "nationl-2014"])
    assert r.exit_code == 3
    assert "rule pack 'nationl-2014' not found (did you mean 'national-2014'?)" in r.stderr


def test_show_json_equals_library():
    r = runner.invoke(app, ["rules", "show", MINI, "--year", "2016", "--region", "重庆", "--json"])
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert {"outputs", "warnings", "provenance"} <= set(data)  # the envelope around the library's data
    data = {k: v for k, v in data.items() if k not in ("outputs", "warnings", "provenance")}
    assert data == json.loads(json.dumps(show_data(load_pack(MINI), 2016, "重庆"), ensure_ascii=False, default=str))
    line = next(p for p in data["parameters"] if p["name"] == "poverty_line")
    assert (line["value"], line["year"], line["region"], line["verified"], line["source"]) == (3100, 2016, "重庆", False, "test")
    assert "old_rule" not in [x["id"] for x in data["rules"]]


def test_show_table_flags_unverified():
    r = runner.invoke(app, ["rules", "show", MINI])
    assert r.exit_code == 0
    assert r.stdout.splitlines()[0].startswith("测试规则包（最小）  mini@1.0  sha256 ")
    assert "1 个参数取值未经来源核实 (verified: false)" in r.stdout


def test_show_unknown_region():
    r = runner.invoke(app, ["rules", "show", MINI, "--year", "2016", "--region", "重床"])
    assert r.exit_code == 3
    assert "unknown region '重床' for rule pack mini (did you mean '重庆'?)" in r.stderr


def test_test_passes():
    r = runner.invoke(app, ["rules", "test", MINI, "-v"])
    assert r.exit_code == 0
    assert r.stdout.splitlines()[-1] == "3 passed, 0 failed (mini@1.0)"
    assert r.stdout.splitlines()[0] == "PASS poor household with an ill member  tests/data/packs/mini/tests/identify.yaml:2"


def test_test_failure_exit_1_with_expected_got_and_explanation(tmp_path):
    pack = tmp_path / "p"
    shutil.copytree(ROOT / MINI, pack)
    (pack / "tests" / "zz.yaml").write_text(
        "tests:\n  - name: wrong\n    year: 2015\n    household: {household_id: X, household_size: 1, income_per_capita: 1000, has_public_employee: false}\n"
        "    expect: {status: 非贫困户}\n",
        encoding="utf-8",
    )
    r = runner.invoke(app, ["rules", "test", str(pack)])
    assert r.exit_code == 1
    lines = r.stdout.splitlines()
    assert lines[0] == f"FAIL wrong  {pack / 'tests' / 'zz.yaml'}:2"
    assert lines[1] == "     status: expected '非贫困户', got '贫困户'"
    assert lines[2].strip() == "户 X：贫困户"
    assert lines[-1] == "3 passed, 1 failed (mini@1.0)"
    r = runner.invoke(app, ["rules", "test", str(pack), "--json"])
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert (data["passed"], data["failed"]) == (3, 1)
    assert data["tests"][-1]["failures"] == ["status: expected '非贫困户', got '贫困户'"]


def test_test_without_scenarios(tmp_path):
    pack = tmp_path / "p"
    shutil.copytree(ROOT / MINI, pack)
    shutil.rmtree(pack / "tests")
    r = runner.invoke(app, ["rules", "test", str(pack)])
    assert r.exit_code == 3
    assert "has no scenario tests" in r.stderr


def test_help_lists_subcommands():
    r = runner.invoke(app, ["rules", "--help"])
    assert r.exit_code == 0
    for cmd in ("check", "show", "test"):
        assert cmd in r.stdout
