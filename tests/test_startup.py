"""Start-up stays light: importing the CLI, `fupin --help` and `fupin --version` load no data
libraries (timings are in benchmarks/bench_startup.py, not here)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "pyarrow", "duckdb", "fastexcel", "python_calamine", "xlsxwriter", "pydantic", "ruamel")

PROBE = """
import json, sys
from fupin_cli.cli.app import app
args = sys.argv[1:]
if args:
    try:
        app(args)
    except SystemExit:
        pass
loaded = sorted({m.split('.')[0] for m in sys.modules} & set(json.loads(%r)))
print(json.dumps(loaded), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [[], ["--help"], ["--version"], ["identify", "--help"], ["rules", "check", "--help"]])
def test_cli_start_imports_no_data_library(args):
    code = PROBE % json.dumps(HEAVY)
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    loaded = json.loads(proc.stderr.strip().splitlines()[-1])
    if len(args) > 1:  # a command's own --help: typer builds its parameters with pydantic (typer's dependency)
        loaded = [m for m in loaded if m != "pydantic"]
    assert loaded == [], f"`fupin {' '.join(args)}` imports {loaded}"
    if args == ["--version"]:
        assert proc.stdout.startswith("fupin ")
