"""--json in every command: one envelope (outputs, warnings, provenance), no file that was not asked for, and
on failure {"error": …, "exit_code": …} on stdout (docs/cli.md "JSON", "Errors")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from fupin_cli.cli.app import app
from fupin_cli.cli.run import ENVELOPE_KEYS

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ROOT / "samples" / "roster-clean.xlsx"
MONITOR = ROOT / "samples" / "monitor-2023.xlsx"
R2016 = ROOT / "samples" / "chain" / "roster-2016.xlsx"
MINI = ROOT / "tests" / "data" / "packs" / "mini"
runner = CliRunner()

# command → (arguments of a successful run, the files it is asked to write, relative to the working folder);
# {in} is the folder of the inputs (never the working folder, so any file that appears there is an output).
RUNS = {
    "init": (["init", str(CLEAN), "-o", "f.toml"], ["f.toml"]),
    "validate": (["validate", str(CLEAN)], []),
    "identify": (["identify", str(CLEAN), "-y", "2015"], []),
    "explain": (["explain", str(CLEAN), "5002300010010001", "-y", "2015"], []),
    "causes": (["causes", "{in}/reg.xlsx"], []),
    "exit": (["exit", "{in}/reg.xlsx", "-y", "2016"], []),
    "reassess": (["reassess", "{in}/reg.xlsx", str(R2016), "-y", "2016"], []),
    "monitor": (["monitor", str(MONITOR), "-y", "2023", "-r", "云南"], []),
    "measures": (["measures", str(CLEAN), "-y", "2015"], []),
    "funds": (["funds", "{in}/pay.xlsx", "--register", "{in}/reg.xlsx", "-y", "2015", "-p", "chongqing"], []),
    "columns": (["columns", str(CLEAN)], []),
    "rules check": (["rules", "check", "national-2014"], []),
    "rules show": (["rules", "show", "national-2014", "-y", "2015"], []),
    "rules test": (["rules", "test", str(MINI)], []),
    "samples generate": (["samples", "generate", "-o", "s.csv", "-n", "5"], ["s.csv"]),
    "samples chain": (["samples", "chain", "-o", "chain", "-n", "5", "--years", "2015,2016", "--format", "csv"],
                      ["chain/roster-2015.csv", "chain/roster-2016.csv"]),
    "samples payments": (["samples", "payments", "{in}/reg.xlsx", "-o", "p.xlsx", "--truth"], ["p.xlsx", "p.xlsx.truth.json"]),
}
# asked-for outputs on commands that write none by default
ASKED = {
    "validate": (["-o", "v.csv"], ["v.csv"]),
    "identify": (["--publicity", "pub.xlsx"], ["pub.xlsx"]),
    "explain": (["-o", "e.json"], ["e.json"]),
    "columns": (["--write-map", "map.yaml"], ["map.yaml"]),
}
# command → (arguments of a failing run, exit code)
FAILS = {
    "init": (["init", "-o", "f.txt"], 2),
    "validate": (["validate", str(CLEAN), "-p", "{in}/nopack"], 3),
    "identify": (["identify", str(CLEAN), "-y", "2015", "-r", "火星"], 3),
    "explain": (["explain", str(CLEAN), "H0", "-y", "2015"], 2),
    "causes": (["causes", str(CLEAN)], 4),
    "exit": (["exit", "{in}/reg.xlsx", "-y", "2016", "-p", "{in}/nopack"], 3),
    "reassess": (["reassess", "{in}/reg.xlsx", str(R2016), "-y", "2016", "-p", "{in}/nopack"], 3),
    "monitor": (["monitor", str(MONITOR), "-y", "2023", "-p", "{in}/nopack"], 3),
    "measures": (["measures", str(CLEAN), "-y", "2003"], 3),
    "funds": (["funds", "{in}/pay.xlsx", "--register", "{in}/reg.xlsx", "-y", "2015", "-p", "monitoring-2021"], 3),
    "columns": (["columns", str(CLEAN), "--write-map", "map.txt"], 2),
    "rules check": (["rules", "check", "{in}/nopack"], 3),
    "rules show": (["rules", "show", "national-2014", "-y", "2003"], 3),
    "rules test": (["rules", "test", "{in}/nopack"], 3),
    "samples generate": (["samples", "generate", "-o", "s.pdf", "-n", "5"], 2),
    "samples chain": (["samples", "chain", "-o", "chain", "-n", "5", "--format", "pdf"], 2),
    "samples payments": (["samples", "payments", "{in}/reg.xlsx", "-o", "p.xlsx", "-y", "2030"], 3),
}


def json_commands() -> set[str]:
    """Every command with a --json option."""
    found = set()

    def walk(cmd, path):
        if any("--json" in p.opts for p in getattr(cmd, "params", [])):
            found.add(" ".join(path))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_every_command_with_json_is_covered():
    assert set(RUNS) == set(FAILS) == json_commands()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("json_inputs")
    for args in (["identify", str(CLEAN), "-y", "2015", "-o", str(d / "reg.xlsx"), "-q"],
                 ["samples", "payments", str(d / "reg.xlsx"), "-o", str(d / "pay.xlsx"), "-q"]):
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
    return d


@pytest.fixture
def cwd(tmp_path, monkeypatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _run(args: list[str], inputs: Path):
    return runner.invoke(app, [a.replace("{in}", str(inputs)) for a in args] + ["--json"])


@pytest.mark.parametrize("command", sorted(RUNS))
def test_json_is_the_envelope_and_writes_only_what_was_asked(command, inputs, cwd):
    args, asked = RUNS[command]
    extra, more = ASKED.get(command, ([], []))
    for run_args, files in ((args, asked), ([*args, *extra], [*asked, *more])) if extra else ((args, asked),):
        for p in list(cwd.iterdir()):  # each run starts in an empty folder
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        res = _run(run_args, inputs)
        assert res.exit_code in (0, 1), (run_args, res.output)  # 1: data errors found (validate, funds)
        payload = json.loads(res.stdout)
        assert set(ENVELOPE_KEYS) <= set(payload) and "error" not in payload, (command, sorted(payload))
        assert isinstance(payload["outputs"], list) and isinstance(payload["warnings"], list)
        prov = payload["provenance"]
        assert prov["command"] == command and prov["tool"] == "fupin" and prov["version"] and prov["run_time"]
        assert sorted(Path(p).as_posix() for p in payload["outputs"]) == sorted(files), (command, payload["outputs"])
        assert _files(cwd) == set(files), (command, _files(cwd), files)


@pytest.mark.parametrize("command", sorted(FAILS))
def test_a_failing_json_run_prints_the_error_object(command, inputs, cwd):
    args, code = FAILS[command]
    res = _run(args, inputs)
    assert res.exit_code == code, (command, res.output)
    payload = json.loads(res.stdout)
    assert set(payload) <= {"error", "exit_code", "problems"} and payload["exit_code"] == code, payload
    assert payload["error"] and res.stderr.startswith("错误:"), res.stderr
    assert not any(cwd.iterdir()), list(cwd.iterdir())


def test_inputs_carry_their_sha256(inputs, cwd):
    res = _run(["validate", str(CLEAN)], inputs)
    prov = json.loads(res.stdout)["provenance"]
    from fupin_cli.io.write import sha256_file

    assert prov["inputs"] == [{"name": CLEAN.name, "sha256": sha256_file(CLEAN), "format": "xlsx"}]
    assert prov["pack"]["name"] == "chongqing" and prov["region"] == "重庆" and prov["year"] == 2015  # the pack follows the region
