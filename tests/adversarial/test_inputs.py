"""Every reading command on every adversarial input (issue 13, item 2).

Each run happens in its own child process (runner.py) with an address-space limit; it must end
with an exit code in {0, 1, 2, 3, 4} as documented (never 5, never a signal or a hang), print at
most one error line and no traceback, stay under MEMORY_LIMIT_MB of peak RSS, leave the input
unchanged (SHA-256 before/after) and leave no temporary file behind.  Each case also says which
exit codes are right for it and, for values that must not be taken silently, which finding must
be reported.  The default run uses `validate` (the roster reader and every check); `-m slow`
runs every reading command and the big files.
"""

from __future__ import annotations

import json

import generate
import pytest
from conftest import MEMORY_LIMIT_MB, record, sha256

FAST = generate.cases(slow=False)
SLOW_ONLY = [c for c in generate.cases(slow=True) if c.slow]
ALL_COMMANDS = {
    "validate": lambda f, out: ["validate", f, "--json"],
    "identify": lambda f, out: ["identify", f, "--year", "2015", "-o", out / "r.xlsx", "--allow-errors", "-q"],
    "explain": lambda f, out: ["explain", f, "5002300010010001", "--year", "2015"],
    "exit": lambda f, out: ["exit", f, "--year", "2016", "-o", out / "e.xlsx", "-q"],
    "monitor": lambda f, out: ["monitor", f, "--year", "2021", "-o", out / "m.xlsx", "-q"],
    "reassess": lambda f, out: ["reassess", out.parent / "prev.xlsx", f, "--year", "2016", "-o", out / "n.xlsx", "-q", "--allow-errors"],
    "causes": lambda f, out: ["causes", f, "--json"],
}


def judge(case: generate.Case, command: str, res, before: str, after: str, out_dir) -> str | None:
    """None when the run was right; otherwise the reliability-table column it falls in."""
    stray = [p.name for p in out_dir.rglob(".*fupin-*")]
    if before != after or stray:
        return "data lost or leaked"
    if res.code is None or res.code not in (0, 1, 2, 3, 4) or "Traceback" in res.stderr or "UNCAUGHT" in res.stderr:
        return "crash"
    if res.peak_rss_mb > MEMORY_LIMIT_MB:
        return "crash"
    if res.code in (2, 3, 4) and sum(1 for line in res.stderr.splitlines() if line.startswith("错误")) != 1:
        return "silent wrong result"
    if command == "validate":
        if res.code not in case.ok:
            return "silent wrong result"
        if case.must_say and case.must_say not in res.stdout + res.stderr:
            return "silent wrong result"
        if res.code in (0, 1):
            json.loads(res.stdout)
    return None


def run_case(case, command, files, runner, tmp_path):
    src = files / case.name
    before = sha256(src)
    out = tmp_path / "out"
    out.mkdir()
    res = runner.run([str(a) for a in ALL_COMMANDS[command](src, out)], cwd=out)
    verdict = judge(case, command, res, before, sha256(src), out)
    return res, verdict


@pytest.mark.parametrize("case", FAST, ids=[c.name for c in FAST])
def test_validate_every_input(case, adversarial_files, runner, tmp_path):
    res, verdict = run_case(case, "validate", adversarial_files, runner, tmp_path)
    record(case.category, verdict)
    if verdict is None and res.code in (2, 3, 4):
        record_clean(case.category)
    assert verdict is None, (case.name, res.code, res.signal, f"{res.peak_rss_mb:.0f} MB", res.stderr[-600:])


def record_clean(category: str) -> None:
    from conftest import TALLY

    TALLY[category]["clean error"] += 1


@pytest.fixture(scope="module")
def previous_register(adversarial_files, runner, tmp_path_factory):
    d = tmp_path_factory.mktemp("prev")
    res = runner.run(["identify", str(adversarial_files / "good.csv"), "--year", "2015", "-o", str(d / "prev.xlsx"), "-q",
                      "--allow-errors"], cwd=d)
    assert res.code == 0, res.stderr
    return d / "prev.xlsx"


@pytest.mark.slow
@pytest.mark.parametrize("command", [c for c in ALL_COMMANDS if c != "validate"])
@pytest.mark.parametrize("case", FAST + SLOW_ONLY, ids=[c.name for c in FAST + SLOW_ONLY])
def test_every_reading_command_on_every_input(case, command, adversarial_files, runner, tmp_path, previous_register):
    (tmp_path / "prev.xlsx").write_bytes(previous_register.read_bytes())
    res, verdict = run_case(case, command, adversarial_files, runner, tmp_path)
    assert verdict is None, (case.name, command, res.code, res.signal, f"{res.peak_rss_mb:.0f} MB", res.stderr[-600:])


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW_ONLY, ids=[c.name for c in SLOW_ONLY])
def test_validate_big_inputs(case, adversarial_files, runner, tmp_path):
    res, verdict = run_case(case, "validate", adversarial_files, runner, tmp_path)
    assert verdict is None, (case.name, res.code, res.signal, f"{res.peak_rss_mb:.0f} MB", res.stderr[-600:])


PACKS = generate.pack_cases()


@pytest.mark.parametrize("command", ["rules check", pytest.param("identify --pack", marks=pytest.mark.slow)])
@pytest.mark.parametrize("case", PACKS, ids=[c.name for c in PACKS])
def test_attack_pack_refused_at_load(case, command, adversarial_files, runner, tmp_path):
    """`rules check` (and, in the slow run, `identify --pack`) refuse the pack at load: exit 3,
    file:line:col, nothing run or written."""
    import re

    pack = adversarial_files / "packs" / case.name
    before = sha256(pack)
    verdicts = []
    runs = {"rules check": ["rules", "check", str(pack)],
            "identify --pack": ["identify", str(adversarial_files / "good.csv"), "--year", "2015", "--pack", str(pack),
                                "-o", str(tmp_path / "r.xlsx")]}
    for args in (runs[command],):
        res = runner.run(args, cwd=tmp_path)
        text = res.stdout + res.stderr
        if res.code is None or res.code not in (0, 1, 2, 3, 4) or "Traceback" in text or res.peak_rss_mb > MEMORY_LIMIT_MB:
            verdicts.append("crash")
        elif res.code != 3 or not re.search(r"\.ya?ml:\d+:\d+: ", text) or (case.must_say and case.must_say not in text) \
                or (tmp_path / "PWNED").exists() or (tmp_path / "r.xlsx").exists():
            verdicts.append("silent wrong result")
        else:
            verdicts.append(None)
    if sha256(pack) != before:
        verdicts.append("data lost or leaked")
    bad = next((v for v in verdicts if v), None)
    if command == "rules check":
        record(case.category, bad)
        if bad is None:
            record_clean(case.category)
    assert bad is None, (case.name, verdicts, res.code, text[-800:])
