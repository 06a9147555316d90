"""Progress on every long step (cli/run.py progress()): which stages validate, samples and columns announce, the
row bar of a roster write, and when the display is silent (--quiet, --json, stderr not a terminal)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fupin_cli.cli import run
from fupin_cli.cli.app import app

CLEAN = Path(__file__).resolve().parents[1] / "samples" / "roster-clean.xlsx"
runner = CliRunner()


class Recorder:
    def __init__(self):
        self.calls: list[tuple] = []

    def __call__(self, name: str) -> None:
        self.calls.append(("step", name))

    def rows(self, done: int, total: int) -> None:
        self.calls.append(("rows", done, total))


@pytest.fixture
def recorded(monkeypatch):
    seen: list[tuple[bool, Recorder]] = []

    @contextlib.contextmanager
    def fake(quiet: bool):
        rec = Recorder()
        seen.append((quiet, rec))
        yield rec

    monkeypatch.setattr(run, "progress", fake)
    from fupin_cli.cli import explain_cmd

    monkeypatch.setattr(explain_cmd, "progress", fake)  # imported by name at module level
    return seen


def steps(rec: Recorder) -> list[str]:
    return [c[1] for c in rec.calls if c[0] == "step"]


def test_validate_announces_its_stages(recorded, tmp_path):
    res = runner.invoke(app, ["validate", str(CLEAN), "-o", str(tmp_path / "v.csv")])
    assert res.exit_code in (0, 1), res.output
    (quiet, rec), = recorded
    assert quiet is False and steps(rec) == ["pack", "read", "validate", "write"]
    runner.invoke(app, ["validate", str(CLEAN), "--no-pack", "--json"])
    assert recorded[1][0] is True and steps(recorded[1][1]) == ["read", "validate"]  # --json: silent
    runner.invoke(app, ["validate", str(CLEAN), "-q"])
    assert recorded[2][0] is True


def test_samples_generate_advances_a_bar_per_rows_written(recorded, tmp_path):
    res = runner.invoke(app, ["samples", "generate", "-o", str(tmp_path / "s.parquet"), "-n", "30"])
    assert res.exit_code == 0, res.output
    (quiet, rec), = recorded
    assert quiet is False and steps(rec) == ["生成 30 户", "write"]
    rows = [c for c in rec.calls if c[0] == "rows"]
    assert rows and rows[-1][1] == rows[-1][2] > 30  # every member row written, the bar at its end
    res = runner.invoke(app, ["samples", "chain", "-o", str(tmp_path / "c"), "-n", "5", "--years", "2015,2016",
                              "--format", "csv", "--json"])
    assert res.exit_code == 0, res.output
    quiet, rec = recorded[1]
    assert quiet is True and steps(rec)[1:] == ["写出 roster-2015.csv", "写出 roster-2016.csv"]


def test_columns_and_explain_show_their_stages(recorded):
    assert runner.invoke(app, ["columns", str(CLEAN)]).exit_code == 0
    assert steps(recorded[0][1]) == ["read"]
    assert runner.invoke(app, ["explain", str(CLEAN), "5002300010010004", "-y", "2015"]).exit_code == 0
    assert recorded[1][0] is False and steps(recorded[1][1]) == ["pack", "read", "evaluate"]
    assert runner.invoke(app, ["explain", str(CLEAN), "5002300010010004", "-y", "2015", "--json"]).exit_code == 0
    assert recorded[2][0] is True


def test_the_display_is_silent_off_a_terminal_and_when_quiet(monkeypatch):
    from fupin_cli.cli.common import err

    with run.progress(False) as step:  # pytest's stderr is not a terminal
        assert step._p.disable is True
    monkeypatch.setattr(err, "_force_terminal", True)
    with run.progress(False) as step:
        assert step._p.disable is False
    with run.progress(True) as step:  # --quiet / --json
        assert step._p.disable is True
