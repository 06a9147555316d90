"""The same mistakes give the same one-line error and exit code in every command.

Per command: a wrong flag, a missing input, a folder as input, an output that exists, an output
in a missing folder, a year before the pack's parameters, an unknown region; ``--json`` prints
only JSON on stdout (warnings on stderr); CliRunner is not a terminal, so no ANSI codes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
MONITOR = ROOT / "samples" / "monitor-2023.xlsx"
runner = CliRunner()
REGIONS = ("上海、东北、东部、中部、云南、内蒙古、北京、吉林、四川、国家、天津、宁夏、安徽、山东、山西、广东、广西、新疆、江苏、"
           "江西、河北、河南、浙江、海南、湖北、湖南、甘肃、福建、西藏、西部、贵州、辽宁、重庆、陕西、青海、黑龙江")
ERA_2003 = "错误: rule pack national-2014 covers the years 2010–2020, not 2003: 建档立卡识别与退出到2020年为止"
# command → (arguments with {in} for the input under test, the year in them, pack name, has -o)
COMMANDS = {
    "identify": (["identify", "{in}", "-y", "2015"], "2015", "national-2014", True),
    "explain": (["explain", "{in}", "5002300010010001", "-y", "2015"], "2015", "national-2014", False),
    "causes": (["causes", "{in}"], None, None, True),
    "exit": (["exit", "{in}", "-y", "2016"], "2016", "national-2014", True),
    "reassess": (["reassess", "reg.xlsx", "{in}", "-y", "2016"], "2016", "national-2014", True),
    "monitor": (["monitor", "{in}", "-y", "2023", "--region", "云南"], "2023", "monitoring-2021", True),
    "validate": (["validate", "{in}"], None, "national-2014", True),
}
INPUTS = {"identify": "r.xlsx", "explain": "r.xlsx", "causes": "reg.xlsx", "exit": "reg.xlsx", "reassess": "r16.xlsx",
          "monitor": "monitor.xlsx", "validate": "r.xlsx"}
ARG_NAME = {"causes": "register", "explain": "source", "exit": "source", "monitor": "source", "reassess": "current"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli_errors")
    for args in (["samples", "generate", "-o", str(d / "r.xlsx"), "-n", "20", "-q"],
                 ["samples", "generate", "-o", str(d / "r16.xlsx"), "-n", "20", "-y", "2016", "-q"],
                 ["identify", str(d / "r.xlsx"), "-y", "2015", "-o", str(d / "reg.xlsx"), "-q"]):
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.stderr
    shutil.copy(MONITOR, d / "monitor.xlsx")
    return d


@pytest.fixture
def here(workdir, monkeypatch) -> Path:
    monkeypatch.chdir(workdir)
    return workdir


def args_for(cmd: str, inp: str | None = None, extra: tuple[str, ...] = (), year: str | None = None) -> list[str]:
    base, y, _, _ = COMMANDS[cmd]
    out = [a.replace("{in}", inp or INPUTS[cmd]) for a in base]
    if year is not None:
        out = [year if a == y else a for a in out]
    return out + list(extra)


def run(args: list[str]):
    res = runner.invoke(app, args)
    assert "\x1b[" not in res.stdout + res.stderr, "ANSI codes outside a terminal"
    assert "Traceback" not in res.stderr
    return res


def first_line(res) -> str:
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    return lines[0]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_wrong_flag(here, cmd):
    res = run(args_for(cmd, extra=("--frobnicate",)))
    assert res.exit_code == 2
    assert first_line(res).startswith("错误: No such option: --frobnicate")
    assert first_line(res).endswith(f"(see `fupin {cmd} --help`)")


@pytest.mark.parametrize("cmd", COMMANDS)
def test_missing_input(here, cmd):
    res = run(args_for(cmd, inp="nope.xlsx"))
    assert res.exit_code == 2
    name = ARG_NAME.get(cmd, "roster")
    assert first_line(res) == f"错误: Invalid value for '{name}': file 'nope.xlsx' does not exist. (see `fupin {cmd} --help`)"


ROSTERS_COMMANDS = ("identify", "explain", "reassess", "monitor", "validate", "exit")  # ROSTER...: files, folders, globs


@pytest.mark.parametrize("cmd", [c for c in COMMANDS if c not in ROSTERS_COMMANDS])
def test_folder_as_input(here, cmd):
    res = run(args_for(cmd, inp="."))
    assert res.exit_code == 2
    name = ARG_NAME.get(cmd, "roster")
    assert first_line(res) == f"错误: Invalid value for '{name}': file '.' is a directory. (see `fupin {cmd} --help`)"


@pytest.mark.parametrize("cmd", ROSTERS_COMMANDS)
def test_folder_without_rosters(here, cmd):
    (here / "empty").mkdir(exist_ok=True)
    res = run(args_for(cmd, inp="empty"))
    assert res.exit_code == 2
    name = ARG_NAME.get(cmd, "roster")
    assert first_line(res) == (f"错误: Invalid value for '{name}': 文件夹 empty 中没有花名册文件 (no .xlsx/.xls/.csv/.parquet "
                               f"file in the folder) (检查文件夹路径) (see `fupin {cmd} --help`)")


@pytest.mark.parametrize("cmd", ROSTERS_COMMANDS)
def test_pattern_without_matches(here, cmd):
    res = run(args_for(cmd, inp="nothing-*.xlsx"))
    assert res.exit_code == 2
    name = ARG_NAME.get(cmd, "roster")
    assert first_line(res) == (f"错误: Invalid value for '{name}': 没有与 nothing-*.xlsx 匹配的文件 (no file matches the pattern) "
                               f"(see `fupin {cmd} --help`)")


@pytest.mark.parametrize("cmd", [c for c, v in COMMANDS.items() if v[3]])
def test_output_exists(here, cmd):
    (here / "taken.xlsx").write_bytes(b"keep me")
    res = run(args_for(cmd, extra=("-o", "taken.xlsx")))
    assert res.exit_code == 2
    assert first_line(res) == "错误: output taken.xlsx already exists (use --force to overwrite it, or choose another name)"
    assert (here / "taken.xlsx").read_bytes() == b"keep me"


@pytest.mark.parametrize("cmd", [c for c, v in COMMANDS.items() if v[3]])
def test_output_folder_missing(here, cmd):
    res = run(args_for(cmd, extra=("-o", "no/such/out.xlsx")))
    assert res.exit_code == 2
    assert first_line(res) == "错误: output folder no/such does not exist (create it first or choose another path)"


@pytest.mark.parametrize("cmd", [c for c, v in COMMANDS.items() if v[3] and c != "validate"])
def test_output_is_the_input(here, cmd):
    shutil.copy(here / INPUTS[cmd], here / "same.xlsx")
    res = run(args_for(cmd, inp="same.xlsx", extra=("-o", "same.xlsx", "--force")))
    assert res.exit_code == 2
    assert first_line(res) == "错误: output same.xlsx is one of the inputs (give the output its own file name)"


@pytest.mark.parametrize("cmd", ["identify", "explain", "exit", "monitor"])
def test_year_before_the_pack(here, cmd):
    res = run(args_for(cmd, year="2003", extra=("-o", "y.xlsx") if COMMANDS[cmd][3] else ()))
    assert res.exit_code == 3
    # the pack's era (pack.yaml years, issue 9.3) refuses the year before any parameter is looked up,
    # in every command (settle() checks it for explain and monitor too)
    if cmd == "monitor":
        assert first_line(res).startswith("错误: rule pack monitoring-2021 covers the years 2021–…, not 2003: 防止返贫动态监测")
    else:
        assert first_line(res).startswith(ERA_2003)
    assert not (here / "y.xlsx").exists()


def test_reassess_year_before_previous(here):
    res = run(args_for("reassess", year="2003", extra=("-o", "y.xlsx")))
    assert res.exit_code == 2
    assert first_line(res) == ("错误: years out of order: --year 2003 is before the year of PREVIOUS reg.xlsx (2015) "
                               "(PREVIOUS must be the earlier year's register and CURRENT the later year's roster)")


@pytest.mark.parametrize("cmd", ["identify", "explain", "exit", "reassess", "monitor"])
def test_year_outside_the_option_range(here, cmd):
    res = run(args_for(cmd, year="1990"))
    assert res.exit_code == 2
    assert first_line(res) == (f"错误: Invalid value for '--year' / '-y': Input should be greater than or equal to 2000 "
                               f"(see `fupin {cmd} --help`)")


@pytest.mark.parametrize("cmd", [c for c, v in COMMANDS.items() if v[2]])
def test_unknown_region(here, cmd):
    res = run(args_for(cmd, extra=("-r", "火星", *(("-o", "z.xlsx") if COMMANDS[cmd][3] else ()))))
    assert res.exit_code == 3
    assert first_line(res) == f"错误: unknown region '火星' for rule pack {COMMANDS[cmd][2]} (known regions: {REGIONS})"
    assert not (here / "z.xlsx").exists()


@pytest.mark.parametrize("cmd", COMMANDS)
def test_json_is_only_json(here, cmd):
    extra = ("--json",) + (("-o", f"json-{cmd}.xlsx", "--force") if COMMANDS[cmd][3] else ())
    res = run(args_for(cmd, extra=extra))
    assert res.exit_code in (0, 1), res.stderr  # validate: 1 when the roster has errors
    payload = json.loads(res.stdout)
    assert isinstance(payload, dict) and payload
    for line in res.stderr.splitlines():  # warnings only, never progress junk
        assert line.startswith("注意: "), line


def test_exit_warning_goes_to_stderr_with_json(here):
    res = run(args_for("exit", extra=("--json", "-o", "json-exit2.xlsx", "--force")))
    assert res.exit_code == 0
    # where region and pack came from is part of the summary (stdout), not a warning: with --json only the warning
    assert res.stderr == "注意: 未提供抽查表（--sample-check）：错退率、漏评率、群众认可度未核查（待核实）\n"
    assert "outputs" in json.loads(res.stdout)


def test_unknown_command_and_missing_year(here):
    res = run(["nosuch"])
    assert (res.exit_code, first_line(res)) == (2, "错误: No such command 'nosuch'. (see `fupin --help`)")
    res = run(["identify", "r.xlsx"])
    assert (res.exit_code, first_line(res)) == (2, "错误: Missing option '--year' / '-y'. (see `fupin identify --help`)")
