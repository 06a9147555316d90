"""explain: --brief (default) shows the decision and the deciding rules; --full every rule; -o writes .txt/.json."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from fupin_cli.cli.app import app

runner = CliRunner()
CLEAN = Path(__file__).resolve().parents[1] / "samples" / "roster-clean.xlsx"
HH = "5002300010010004"


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_brief_is_the_default_and_short():
    res = run("explain", CLEAN, HH, "-y", "2015")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert len(lines) <= 40
    text = res.stdout
    assert "识别标准" in text and "人均纯收入低于国家扶贫标准" in text and "国家扶贫标准" in text
    assert "疑点检查" not in text and "帮扶措施" not in text  # not deciding groups
    full = run("explain", CLEAN, HH, "-y", "2015", "--full")
    assert full.exit_code == 0 and len(full.stdout.splitlines()) > 10 * len(lines)
    assert "疑点检查" in full.stdout


def test_brief_json_keeps_only_deciding_groups_and_fired_rules():
    res = run("explain", CLEAN, HH, "-y", "2015", "--json")
    payload = json.loads(res.stdout)
    assert payload["form"] == "brief"
    groups = [c for c in payload["tree"]["children"] if c["kind"] == "group"]
    # 一票否决: only the items that could not be evaluated (the roster lacks their columns; 重庆 → chongqing,
    # whose 七不进 items veto): any of them could have changed the decision, so the brief keeps them
    assert [g["label"] for g in groups] == ["识别标准", "一票否决", "贫困户属性", "致贫原因"]
    assert groups[1]["children"] and all(r["result"] is None and "未评估" in r["value"] for r in groups[1]["children"])
    for g in groups[1:]:
        assert all(r["result"] is not False for r in g["children"])
    assert all(r["result"] is None for r in groups[1]["children"])
    full = json.loads(run("explain", CLEAN, HH, "-y", "2015", "--json", "--full").stdout)
    assert full["form"] == "full" and len(json.dumps(full)) > 20 * len(json.dumps(payload))


def test_output_file_txt_and_json(tmp_path):
    res = run("explain", CLEAN, HH, "-y", "2015", "-o", tmp_path / "e.txt")
    assert res.exit_code == 0 and res.stdout.strip() == f"输出 output: {tmp_path / 'e.txt'}"
    text = (tmp_path / "e.txt").read_text(encoding="utf-8")
    assert text.startswith(f"户 {HH}") and "识别标准" in text
    res = run("explain", CLEAN, HH, "-y", "2015", "-o", tmp_path / "e.json", "--full")
    assert res.exit_code == 0
    assert json.loads((tmp_path / "e.json").read_text(encoding="utf-8"))["form"] == "full"
    res = run("explain", CLEAN, HH, "-y", "2015", "-o", tmp_path / "e.txt")
    assert res.exit_code == 2 and "already exists" in res.stderr
    res = run("explain", CLEAN, HH, "-y", "2015", "-o", tmp_path / "e.csv")
    assert res.exit_code == 2 and "unsupported file type" in res.stderr
