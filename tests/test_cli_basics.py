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


def test_one_year_range_for_every_command():
    """Every --year takes the same range, a sanity bound below every shipped pack's first year (each pack's own
    years are checked after it, exit 3)."""
    from fupin_cli.cli.common import YEAR_MAX, YEAR_MIN
    from fupin_cli.engine import load_pack

    firsts = [min(e.year for d in load_pack(n).parameters.values() for e in d.model.values)
              for n in ("national-2014", "monitoring-2021", "chongqing")]
    assert YEAR_MIN <= min(firsts)
    for args in (["identify", "x.xlsx"], ["explain", "x.xlsx", "H1"], ["exit", "x.xlsx"], ["reassess", "a", "b"],
                 ["monitor", "x.xlsx"], ["validate", "x.xlsx"], ["rules", "show", "national-2014"], ["samples", "generate"],
                 ["measures", __file__], ["funds", __file__, "--register", __file__],  # any existing file passes the parser
                 ["samples", "payments", __file__]):
        res = runner.invoke(app, [*args, "--year", str(YEAR_MIN - 1)])
        assert res.exit_code == 2, args
        assert f"greater than or equal to {YEAR_MIN}" in res.stderr, (args, res.stderr)
        res = runner.invoke(app, [*args, "--year", str(YEAR_MAX + 1)])
        assert f"less than or equal to {YEAR_MAX}" in res.stderr, (args, res.stderr)


def test_one_meaning_per_short_flag():
    """A short flag stands for the same long option in every command that has it."""
    import typer.main

    seen: dict[str, set[str]] = {}
    group = typer.main.get_command(app)

    def walk(cmd):
        for sub in getattr(cmd, "commands", {}).values():
            walk(sub)
        for param in getattr(cmd, "params", []):
            longs = [o for o in param.opts if o.startswith("--")]
            for short in (o for o in param.opts if not o.startswith("--")):
                seen.setdefault(short, set()).update(longs)

    walk(group)
    clashes = {k: v for k, v in seen.items() if len(v) > 1}
    assert not clashes, clashes


def test_a_long_option_has_the_same_short_flag_everywhere():
    """The other direction: --seed is -s in samples and in measures, --output is -o wherever it exists, ..."""
    import typer.main

    shorts: dict[str, dict[str, str]] = {}  # long option → {command: its short flag or ""}

    def walk(cmd, path):
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])
        for param in getattr(cmd, "params", []):
            if not param.opts or not param.opts[0].startswith("-"):
                continue
            long = next((o for o in param.opts if o.startswith("--")), None)
            short = next((o for o in param.opts if not o.startswith("--")), "")
            if long:
                shorts.setdefault(long, {})[" ".join(path)] = short

    walk(typer.main.get_command(app), [])
    mixed = {long: by for long, by in shorts.items() if len(set(by.values())) > 1}
    assert not mixed, mixed


def test_every_command_that_applies_a_pack_checks_its_years(tmp_path):
    """One --year rule: a year outside the pack's era stops with exit 3 naming the pack's years, in the commands
    whose own checks used to come first or were missing (measures, funds, rules show, samples payments)."""
    reg = tmp_path / "reg.xlsx"
    assert runner.invoke(app, ["samples", "generate", "-o", str(tmp_path / "r.xlsx"), "-n", "8", "-q"]).exit_code == 0
    assert runner.invoke(app, ["identify", str(tmp_path / "r.xlsx"), "-y", "2015", "-o", str(reg), "-q"]).exit_code == 0
    runs = {"national-2014": [["measures", str(tmp_path / "r.xlsx"), "-y", "2003"], ["rules", "show", "national-2014", "-y", "2003"]],
            "chongqing": [["samples", "payments", str(reg), "-o", str(tmp_path / "p.xlsx"), "-y", "2021"]]}
    for pack, runs_of in runs.items():
        for args in runs_of:
            res = runner.invoke(app, args)
            year = args[args.index("-y") + 1]
            assert res.exit_code == 3, (args, res.output)
            assert res.stderr.startswith(f"错误: rule pack {pack} covers the years 2010–2020, not {year}"), res.stderr
    assert not (tmp_path / "p.xlsx").exists()
