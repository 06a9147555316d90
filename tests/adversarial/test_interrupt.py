"""Nothing lost on interruption (issue 13, item 6).

A real process writes a large workbook over an existing good one (``--force``) and is sent
SIGINT, SIGTERM or SIGKILL at some moment of the write: the target is afterwards either the
previous file, byte for byte, or a complete new workbook — never a partial one.  Temporaries are
gone after SIGINT/SIGTERM at once, after SIGKILL on the next write to that folder.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import record

from fupin_cli.io import write as w
from fupin_cli.io.xlsx import XlsxBook

ROOT = Path(__file__).resolve().parents[2]
CAT = "interruption"

WRITER = """
import signal, sys
import numpy as np, pandas as pd
from fupin_cli.cli.app import _terminate
from fupin_cli.io.xlsx import XlsxBook
signal.signal(signal.SIGTERM, _terminate)
n = int(sys.argv[2])
df = pd.DataFrame({"户编号": [f"{i:016d}" for i in range(n)], "姓名": ["张三丰"] * n,
                   "收入": np.arange(n) * 1.5, "村": ["湾南村", "石门村"] * (n // 2)})
with XlsxBook(sys.argv[1], force=True) as book:
    book.add_table("登记册", df)
"""


def _complete(p: Path) -> bool:
    try:
        with zipfile.ZipFile(p) as z:
            return z.testzip() is None and "xl/worksheets/sheet1.xml" in z.namelist()
    except zipfile.BadZipFile:
        return False


def _interrupt(tmp_path: Path, sig: int, rows: int, delay: float) -> tuple[str, list[str]]:
    target = tmp_path / "register.xlsx"
    with XlsxBook(target) as book:
        book.add_table("old", pd.DataFrame({"a": [1, 2, 3]}))
    old = target.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(rows)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".register.xlsx.fupin-*")) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(delay)
    if p.poll() is None:
        p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    now = target.read_bytes()
    state = "old" if now == old else ("new" if _complete(target) else "partial")
    leftovers = sorted(x.name for x in tmp_path.iterdir() if x.name != "register.xlsx" and x.name.startswith("."))
    assert "Traceback" not in err or sig == signal.SIGINT, err[-500:]
    return state, leftovers


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_signal_during_a_write_leaves_old_or_complete_new(tmp_path, sig):
    state, leftovers = _interrupt(tmp_path, sig, 60_000, random.Random(sig).uniform(0.05, 0.6))
    bad = state == "partial" or (leftovers and sig != signal.SIGKILL)
    record(CAT, "data lost or leaked" if bad else None)
    assert state in ("old", "new"), state
    if sig == signal.SIGKILL:
        w.clean_stale_temporaries(tmp_path)  # what the next run writing there does first
        leftovers = sorted(x.name for x in tmp_path.iterdir() if x.name != "register.xlsx" and x.name.startswith("."))
    assert leftovers == [], leftovers


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(12))
def test_signals_at_many_moments(tmp_path, attempt):
    rng = random.Random(attempt)
    sig = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL][attempt % 3]
    state, _ = _interrupt(tmp_path, sig, 200_000, rng.uniform(0.0, 4.0))
    assert state in ("old", "new")


def test_failed_close_does_not_commit(tmp_path, monkeypatch):
    """The finding: XlsxBook.__exit__ committed the temporary file even when close() raised
    (Ctrl-C while the zip was written left a broken workbook at the target)."""
    target = tmp_path / "r.xlsx"
    target.write_bytes(b"the previous register")
    import xlsxwriter

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(xlsxwriter.Workbook, "close", interrupted)
    with pytest.raises(KeyboardInterrupt), XlsxBook(target, force=True) as book:
        book.add_table("t", pd.DataFrame({"a": range(10)}))
    assert target.read_bytes() == b"the previous register"
    assert [p.name for p in tmp_path.iterdir()] == ["r.xlsx"]
    record(CAT, None)
