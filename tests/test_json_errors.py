"""A failing --json run still prints JSON on stdout: {"error": …, "exit_code": …} (and the one line on stderr)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app

runner = CliRunner()
CLEAN = Path(__file__).resolve().parents[1] / "samples" / "roster-clean.xlsx"


@pytest.mark.parametrize(("args", "code", "starts"), [
    (["identify", "nope.xlsx", "-y", "2015"], 2, "Invalid value for 'roster'"),
    (["identify", str(CLEAN), "-y", "2015", "-r", "火星", "-o", "{tmp}/a.xlsx"], 3, "unknown region '火星'"),
    (["identify", str(CLEAN), "-y", "2015", "--yeer", "1"], 2, "No such option: --yeer"),
    (["explain", str(CLEAN), "H0", "-y", "2015"], 2, "household H0 is not in"),
    (["validate", str(CLEAN), "-o", "{tmp}/x.pdf"], 2, "output x.pdf: unsupported file type"),
    (["exit", str(CLEAN), "-y", "2016", "-p", "{tmp}/nopack", "-o", "{tmp}/e.xlsx"], 3, "rule pack"),
    (["causes", str(CLEAN), "-o", "{tmp}/c.xlsx"], 4, ""),
    (["rules", "show", "{tmp}/nopack"], 3, "rule pack"),
])
def test_failing_json_run_prints_an_error_object(tmp_path, args, code, starts):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args] + ["--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == code, res.output
    payload = json.loads(res.stdout)
    assert payload["exit_code"] == code and payload["error"].startswith(starts)
    assert res.stderr.startswith("错误:")


def test_a_successful_json_run_has_no_error_key(tmp_path):
    res = runner.invoke(app, ["identify", str(CLEAN), "-y", "2015", "-o", str(tmp_path / "r.xlsx"), "--json"])
    assert res.exit_code == 0 and "error" not in json.loads(res.stdout)


def test_json_without_output_writes_no_file(tmp_path, monkeypatch):
    """--json alone prints the summary and writes nothing it was not asked for (no default register)."""
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["identify", str(CLEAN), "-y", "2015", "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["outputs"] == [] and payload["counts"]["households_read"] == 60
    assert list(tmp_path.iterdir()) == []
    res = runner.invoke(app, ["identify", str(CLEAN), "-y", "2015", "--json"])  # and the next run does not fail
    assert res.exit_code == 0
    monitor = Path(__file__).resolve().parents[1] / "samples" / "monitor-2023.xlsx"
    res = runner.invoke(app, ["monitor", str(monitor), "-y", "2023", "-r", "云南", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["outputs"] == [] and list(tmp_path.iterdir()) == []
    res = runner.invoke(app, ["identify", str(CLEAN), "-y", "2015", "--json", "--publicity", "p.xlsx"])
    assert json.loads(res.stdout)["outputs"] == [str(Path("p.xlsx"))] and [p.name for p in tmp_path.iterdir()] == ["p.xlsx"]


def test_report_commands_share_the_envelope(tmp_path):
    samples = Path(__file__).resolve().parents[1] / "samples"
    runs = [["identify", str(CLEAN), "-y", "2015", "-o", str(tmp_path / "r.xlsx")],
            ["causes", str(tmp_path / "r.xlsx")],
            ["exit", str(tmp_path / "r.xlsx"), "-y", "2016", "-o", str(tmp_path / "e.xlsx")],
            ["monitor", str(samples / "monitor-2023.xlsx"), "-y", "2023", "-r", "云南", "-o", str(tmp_path / "m.xlsx")]]
    for args in runs:
        res = runner.invoke(app, [*args, "--json"])
        assert res.exit_code == 0, (args, res.output)
        payload = json.loads(res.stdout)
        assert {"outputs", "warnings", "provenance"} <= set(payload), args
        assert isinstance(payload["warnings"], list) and isinstance(payload["outputs"], list)
