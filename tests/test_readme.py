"""The README stays true: every command is documented, its links exist, its commands run."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
runner = CliRunner()


def _bash_blocks() -> list[list[str]]:
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)
    return [[ln.split("  #")[0].strip() for ln in b.splitlines() if ln.strip() and not ln.startswith("#")] for b in blocks]


def _fupin_args(line: str) -> list[str]:
    """The fupin part of a README line (after the last `&&`), without the leading `fupin`."""
    cmd = line.split("&&")[-1].strip()
    args = shlex.split(cmd)
    assert args[0] == "fupin", line
    return args[1:]


def _commands() -> list[str]:
    names = [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]
    return [n for n in names if n]


def test_every_command_is_in_the_readme_table():
    for name in _commands():
        assert re.search(rf"^\| `fupin {name}[ `]", README, flags=re.MULTILINE), f"fupin {name} missing from README's table"


def test_readme_links_exist():
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target


def test_quick_start_has_two_commands_install_run_and_test():
    quick = _bash_blocks()[0]
    assert len(quick) == 2
    assert "pip install -e ." in quick[0] and "fupin identify samples/" in quick[0]
    assert 'pip install -e ".[test]"' in quick[1] and "python -m pytest" in quick[1]
    ci = [ln.split("#")[0].strip() for ln in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    # CI runs the README's command 2 (install, then the tests) with lint and type checks in between
    test_command = quick[1][quick[1].index("python -m pytest"):].strip()
    steps = ['python -m pip install -q -e ".[test]"', "ruff check", "mypy", test_command]
    assert all(step in ci for step in steps), ci
    assert [ci.index(step) for step in steps] == sorted(ci.index(step) for step in steps)
    assert "set -euo pipefail" in ci  # a finding (non-zero exit) of any step fails the run


def _run_lines(lines, cwd, monkeypatch):
    monkeypatch.chdir(cwd)
    for line in lines:
        args = _fupin_args(line)
        res = runner.invoke(app, args)
        expected = 1 if args[0] == "validate" and "messy" in line else 0
        assert res.exit_code == expected, f"{line}\n{res.stdout}\n{res.stderr}"


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "samples").symlink_to(ROOT / "samples")
    return tmp_path


def test_quick_start_main_job_runs(workdir, monkeypatch):
    _run_lines([_bash_blocks()[0][0]], workdir, monkeypatch)
    assert (workdir / "register-2015.xlsx").is_file()
    assert (workdir / "公示-2015.xlsx").is_file()


@pytest.mark.slow
def test_readme_examples_run(workdir, monkeypatch):
    _run_lines([_bash_blocks()[0][0]], workdir, monkeypatch)  # examples use its register-2015.xlsx
    _run_lines(_block("fupin validate"), workdir, monkeypatch)
    assert (workdir / "exit-2018.xlsx").is_file()


def _block(marker: str) -> list[str]:
    return next(b for b in _bash_blocks() if any(marker in ln for ln in b))


def test_county_quick_start_runs(workdir, monkeypatch):
    """The fupin.toml way of working: init from the roster, then identify with --annotate."""
    _run_lines(_block("fupin init"), workdir, monkeypatch)
    text = (workdir / "fupin.toml").read_text(encoding="utf-8")
    assert 'region = "重庆"' in text and 'pack = "chongqing"' in text
    assert (workdir / "花名册-识别结果.xlsx").is_file()
    assert (workdir / "roster-messy-register-2015.xlsx").is_file()
