"""The `fupin` entry points: --help lists every command, --version, python -m, usage errors."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from fupin_cli import __version__
from fupin_cli.cli.app import app

COMMANDS = ["init", "validate", "identify", "explain", "causes", "exit", "reassess", "monitor", "rules", "samples"]
runner = CliRunner()


def test_help_lists_every_command_with_a_description():
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for cmd in COMMANDS:
        line = next((ln for ln in res.stdout.splitlines() if f" {cmd} " in ln), None)
        assert line is not None, f"{cmd} missing from --help"
        assert "not yet implemented" not in line, f"{cmd} has no description"


def test_every_command_has_help():
    for cmd in COMMANDS:
        res = runner.invoke(app, [cmd, "--help"])
        assert res.exit_code == 0, cmd
        assert "Usage" in res.stdout


def test_version():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0
    assert res.stdout.strip() == f"fupin {__version__}"


def test_python_dash_m():
    proc = subprocess.run([sys.executable, "-m", "fupin_cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"fupin {__version__}"


def test_unknown_command_and_option_are_usage_errors():
    assert runner.invoke(app, ["frobnicate"]).exit_code == 2
    assert runner.invoke(app, ["validate", "--no-such-flag", "x.xlsx"]).exit_code == 2


def test_no_arguments_shows_help():
    res = runner.invoke(app, [])
    assert res.exit_code in (0, 2)
    assert "Usage" in res.stdout + res.stderr
