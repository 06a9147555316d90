"""io/xlsx saving: ZIP64 for large sheets, progress during the final save, XlsxWriter's temporaries
removed, the sheet's end never passed silently, and only XlsxWriter's public API.

The ZIP64 path is proved on small files by lowering ``zipfile.ZIP64_LIMIT`` (the size above which
Python's zipfile needs ZIP64): the same code path a >2 GB sheet XML takes, in a second.  The
slow test writes the issue's case for real (``samples generate -n 200000``).
"""

from __future__ import annotations

import ast
import csv
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import fastexcel
import numpy as np
import openpyxl
import pandas as pd
import pytest
import xlsxwriter
from xlsxwriter.exceptions import FileSizeError

from fupin_cli.errors import UsageError
from fupin_cli.io import xlsx as xlsx_mod
from fupin_cli.io.progress import listening
from fupin_cli.io.write import write_frame
from fupin_cli.io.xlsx import XlsxBook, _SaveWatch

ROOT = Path(__file__).resolve().parents[1]
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({
        "户编号": [f"5002301{i:08d}" for i in range(n)],
        "户主姓名": pd.array([f"张{i % 97}" for i in range(n)], dtype="str"),
        "人均纯收入": np.round(rng.normal(3000, 900, n), 2),
        "人数": rng.integers(1, 7, n),
        "备注": ["=1+1" if i % 50 == 0 else None for i in range(n)],
    })


def _local_zip64(path: Path, member: str) -> bool:
    """Whether the member's local header carries a ZIP64 extra field (the writer took the ZIP64 path)."""
    with zipfile.ZipFile(path) as z:
        offset = z.getinfo(member).header_offset
    with open(path, "rb") as f:
        f.seek(offset)
        head = f.read(30)
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        f.seek(name_len, os.SEEK_CUR)
        extra = f.read(extra_len)
    return extra[:2] == b"\x01\x00"


# Between the sheet XML's size and the zip's: the sheet member needs ZIP64 (as a 2-4 GiB sheet XML
# does), its compressed size, offsets and the archive do not — a large register, scaled down.
SCALED_LIMIT = 1 << 19


def _zip64_members(path: Path) -> list[str]:
    """Members whose central-directory entry carries a ZIP64 extra field (header id 0x0001)."""
    out = []
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            extra, i = info.extra, 0
            while i + 4 <= len(extra):
                hid, size = struct.unpack("<HH", extra[i:i + 4])
                if hid == 1:
                    out.append(info.filename)
                i += 4 + size
    return out


def test_every_workbook_allows_zip64_and_small_files_keep_their_bytes(tmp_path):
    with XlsxBook(tmp_path / "a.xlsx") as book:
        assert book.wb.allow_zip64  # the option is set on the workbook XlsxWriter saves
        book.add_table("s", frame(10))
    assert _zip64_members(tmp_path / "a.xlsx") == []  # nothing needed it: no ZIP64 records written


def test_a_sheet_past_the_zip64_limit_is_saved_and_reads_back(tmp_path, monkeypatch):
    df = frame(6000)
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", SCALED_LIMIT)
    # without the option XlsxWriter refuses the save (exit 5 of issue 12): the test can fail
    wb = xlsxwriter.Workbook(str(tmp_path / "plain.xlsx"), {"constant_memory": True, "tmpdir": str(tmp_path)})
    ws = wb.add_worksheet()
    for i, (a, b) in enumerate(zip(df["户编号"], df["户主姓名"])):
        ws.write_string(i, 0, a)
        ws.write_string(i, 1, b)
    with pytest.raises(FileSizeError):
        wb.close()
    p = write_frame(df, tmp_path / "big.xlsx", sheet_name="登记册", private=True)
    monkeypatch.undo()
    with zipfile.ZipFile(p) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
        assert info.file_size * 1.05 > SCALED_LIMIT > info.compress_size
        assert z.testzip() is None
    assert _local_zip64(p, "xl/worksheets/sheet1.xml")  # written through ZIP64 ...
    assert _zip64_members(p) == []  # ... and the central directory holds plain 32-bit sizes (they fit)
    got = fastexcel.read_excel(str(p)).load_sheet(0, dtypes="string").to_pandas()
    assert len(got) == 6000
    assert got["户编号"].tolist() == df["户编号"].tolist()
    assert got["户主姓名"].tolist() == df["户主姓名"].tolist()
    ws = openpyxl.load_workbook(p, read_only=True)["登记册"]
    rows = list(ws.iter_rows(min_row=2, max_row=6001, values_only=True))
    assert [r[2] for r in rows] == pytest.approx(df["人均纯收入"].tolist())
    assert rows[0][4] == "=1+1" and rows[1][4] is None  # text, never a formula


def test_zip64_records_are_kept_where_they_are_needed(tmp_path, monkeypatch):
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1 << 12)  # offsets and the directory past the limit too
    p = write_frame(frame(3000), tmp_path / "big.xlsx", private=True)
    monkeypatch.undo()
    with zipfile.ZipFile(p) as z:  # still a valid archive: entries whose offset needs ZIP64 keep it
        assert z.testzip() is None
        assert [i.filename for i in z.infolist() if i.header_offset > 1 << 12] != []
    assert len(fastexcel.read_excel(str(p)).load_sheet(0).to_pandas()) == 3000
    assert not xlsx_mod.zip64_only_where_needed(p)  # nothing left to change
    # a member of 4 GiB or more (claimed by its ZIP64 record): the archive is left exactly as written
    z = tmp_path / "huge.zip"
    with zipfile.ZipFile(z, "w") as out:
        out.writestr("a.xml", b"<a/>")
    data = bytearray(z.read_bytes())
    cd = data.rindex(b"PK\x01\x02")
    struct.pack_into("<LL", data, cd + 20, 0xFFFFFFFF, 0xFFFFFFFF)
    name_len = struct.unpack_from("<H", data, cd + 28)[0]
    extra = struct.pack("<HHQQ", 1, 16, 5 << 30, 5 << 30)
    data[cd + 30:cd + 32] = struct.pack("<H", len(extra))
    data[cd + 46 + name_len:cd + 46 + name_len] = extra
    eocd = data.rindex(b"PK\x05\x06")
    struct.pack_into("<L", data, eocd + 12, struct.unpack_from("<L", data, eocd + 12)[0] + len(extra))
    z.write_bytes(bytes(data))
    assert not xlsx_mod.zip64_only_where_needed(z)
    assert z.read_bytes() == bytes(data)


@pytest.mark.libreoffice
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_opens_a_zip64_workbook(tmp_path, monkeypatch):
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", SCALED_LIMIT)
    p = write_frame(frame(6000), tmp_path / "big.xlsx", sheet_name="登记册", private=True)
    monkeypatch.undo()
    assert _local_zip64(p, "xl/worksheets/sheet1.xml")
    cmd = [SOFFICE, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--norestore",
           "--convert-to", "csv", "--outdir", str(tmp_path / "csv"), str(p)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "csv" / "big.csv").exists(), proc.stderr  # LibreOffice 7.4 refuses ZIP64 central-directory sizes
    with open(tmp_path / "csv" / "big.csv", encoding="utf-8", errors="replace", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 6001
    assert rows[1][0] == "500230100000000" and rows[6000][0] == "500230100005999"


def test_samples_generate_writes_past_the_zip64_limit(tmp_path, monkeypatch):
    from fupin_cli.io.read import read_roster
    from fupin_cli.io.write_roster import write_roster
    from fupin_cli.samples import generate_roster

    roster, _ = generate_roster(600, 5, 2015)
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", SCALED_LIMIT)
    write_roster(roster, tmp_path / "r.xlsx", "member")
    write_roster(roster, tmp_path / "t.xlsx", "template")
    monkeypatch.undo()
    for name in ("r.xlsx", "t.xlsx"):
        assert _local_zip64(tmp_path / name, "xl/worksheets/sheet1.xml")
        back = read_roster(tmp_path / name)
        assert back.n_households == 600
        assert back.n_members == roster.n_members


def test_save_reports_progress_from_start_to_end(tmp_path):
    events: list[tuple[str, int, int]] = []
    with listening(lambda stage, done, total: events.append((stage, done, total))), XlsxBook(tmp_path / "a.xlsx") as book:
        book.add_table("s", frame(45_000))
    rows = [e for e in events if e[0] == "rows"]
    save = [e for e in events if e[0] == "save"]
    assert rows[-1][1:] == (45_000, 45_000) and len(rows) == 45  # one report per 1,000 rows
    assert [e[1] for e in rows] == list(range(1000, 45_001, 1000))
    assert save[0][1] == 0 and save[-1][1] == save[-1][2] > 0
    assert [e[1] for e in save] == sorted(e[1] for e in save)  # never backwards
    assert events.index(rows[-1]) < events.index(save[0])  # the save comes after the rows


def test_save_watch_counts_assembled_and_compressed_parts(tmp_path):
    """The watcher's accounting on a folder it sees change as XlsxWriter's close changes it."""
    (tmp_path / "rowdata").write_bytes(b"x" * 1000)  # constant-memory row data, written before close
    seen: list[tuple[int, int]] = []
    watch = _SaveWatch(str(tmp_path), lambda stage, done, total: seen.append((done, total)))
    (tmp_path / "sheet1.xml").write_bytes(b"y" * 600)  # assembly under way
    watch.poll()
    assert seen[-1] == (600, 2000)
    (tmp_path / "sheet1.xml").write_bytes(b"y" * 1010)
    (tmp_path / "rowdata").unlink()  # XlsxWriter removes the row data once copied
    (tmp_path / "styles.xml").write_bytes(b"z" * 90)
    watch.poll()
    assert seen[-1] == (1100, 2100)  # total grows to rows + assembled when the estimate was short
    (tmp_path / "sheet1.xml").unlink()  # compressed into the zip, then removed
    watch.poll()
    assert seen[-1] == (2099, 2100)  # assembled 1100 + compressed 1010, held below the end until the close returns
    watch.finish()
    assert seen[-1][0] == seen[-1][1]


def test_xlsxwriter_temporaries_are_removed_on_success_and_on_failure(tmp_path, monkeypatch):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    with XlsxBook(tmp_path / "ok.xlsx", private=True) as book:
        book.add_table("s", frame(30_000))
        assert any(tmp.iterdir())  # the row data lives there while the sheet is written
    assert list(tmp.iterdir()) == []
    with pytest.raises(KeyboardInterrupt), XlsxBook(tmp_path / "no.xlsx", private=True) as book:
        book.add_table("s", frame(30_000))
        raise KeyboardInterrupt
    assert list(tmp.iterdir()) == []  # full ID numbers do not linger in /tmp
    assert not (tmp_path / "no.xlsx").exists()


def test_folders_of_runs_that_died_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"fupin-xlsx-{int(dead.stdout)}-abc123"
    stale.mkdir()
    (stale / "rowdata").write_text("500230199001011234")
    mine = tmp_path / f"fupin-xlsx-{os.getpid()}-live"
    mine.mkdir()
    other = tmp_path / "fupin-xlsx-notes"
    other.mkdir()
    with XlsxBook(tmp_path / "a.xlsx") as book:
        book.add_table("s", frame(3))
    assert not stale.exists() and mine.exists() and other.exists()


def test_a_title_row_counts_against_the_sheet_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_mod, "EXCEL_MAX_DATA_ROWS", 4)  # a sheet of 5 rows
    with XlsxBook(tmp_path / "a.xlsx") as book:
        book.add_table("fits", pd.DataFrame({"x": range(4)}))
        book.add_table("titled", pd.DataFrame({"x": range(3)}), title="标题")
    with pytest.raises(UsageError, match="4 rows exceed Excel's limit of 3 data rows"), XlsxBook(tmp_path / "b.xlsx") as book:
        book.add_table("titled", pd.DataFrame({"x": range(4)}), title="标题")


def test_register_print_view_that_does_not_fit_is_left_out_with_a_note(tmp_path, monkeypatch):
    from test_identify_writers import result

    from fupin_cli.io import print_view
    from fupin_cli.io.register import write_register

    # title, unit line and header above; a blank row and the signature line below; 1,048,576 rows a sheet
    assert print_view.print_rows_fit(1_048_571) and not print_view.print_rows_fit(1_048_572)
    res = result()
    n = len(res.households)
    ws = openpyxl.load_workbook(write_register(res, tmp_path / "reg.xlsx").outputs[0])["登记册(打印)"]
    assert ws.max_row == n + 5  # the rows print_rows_fit counts
    monkeypatch.setattr(print_view, "print_rows_fit", lambda rows: False)
    outcome = write_register(res, tmp_path / "reg2.xlsx")
    assert any("登记册(打印)" in w and "do not fit" in w for w in outcome.warnings)
    wb = openpyxl.load_workbook(tmp_path / "reg2.xlsx", read_only=True)
    assert "登记册(打印)" not in wb.sheetnames and "登记册" in wb.sheetnames


def test_writers_use_only_xlsxwriters_public_api():
    """No XlsxWriter internals (underscored names, the file handle, the row table) anywhere in src/."""
    offenders = []
    for path in (ROOT / "src" / "fupin_cli").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            private_import = (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xlsxwriter")
                              and (node.module != "xlsxwriter" or any(a.name.startswith("_") for a in node.names)))
            if private_import:
                offenders.append(f"{path.name}:{node.lineno} from {node.module} import ...")
            internal = (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                        and node.value.id in ("ws", "wb", "worksheet")
                        and (node.attr.startswith("_") or node.attr in ("fh", "table", "merge", "fileclosed", "formats")))
            if internal:
                offenders.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
    assert offenders == []


def test_pyproject_does_not_pin_xlsxwriter_below_4():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if '"xlsxwriter' in ln.lower())
    assert "<4" not in line.replace(" ", "")


@pytest.mark.slow
def test_a_sheet_xml_past_2_gib_is_saved_for_real(tmp_path, monkeypatch):
    """No scaled-down limit: 70,000 cells of 32,000 characters make a 2.2 GB sheet XML (few cells, so
    the write is quick); the workbook saves, the sheet went through ZIP64 and its central-directory
    sizes are plain 32-bit ones, and every row is in the zip."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    n, text = 70_000, "贫困户" * 2 + "x" * 31_994
    df = pd.DataFrame({"说明": pd.Series([text] * n, dtype=object)})  # one string, referenced n times
    p = write_frame(df, tmp_path / "big.xlsx", private=True)
    with zipfile.ZipFile(p) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
        assert info.file_size > zipfile.ZIP64_LIMIT
        rows = 0
        with z.open(info) as f:  # streamed: CRC checked at the end
            tail = b""
            while block := f.read(1 << 24):
                rows += (tail + block).count(b"<row ") - tail.count(b"<row ")
                tail = block[-8:]
    assert rows == n + 1
    assert _local_zip64(p, "xl/worksheets/sheet1.xml") and _zip64_members(p) == []
    assert list(tmp_path.glob("fupin-xlsx-*")) == []


@pytest.mark.slow
def test_samples_generate_200000_households_as_xlsx(tmp_path):
    """Issue 12's case: `samples generate -n 200000 -o x.xlsx` failed after 296 s with exit 5 (ZIP64)."""
    out = tmp_path / "x.xlsx"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TMPDIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "fupin_cli", "samples", "generate", "-n", "200000", "-o", str(out), "--json"],
                          capture_output=True, text=True, env=env, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "xl/worksheets/sheet1.xml" in _zip64_members(out)
    with zipfile.ZipFile(out) as z:
        assert z.getinfo("xl/worksheets/sheet1.xml").file_size > zipfile.ZIP64_LIMIT
    members = json.loads(proc.stdout)["members"]
    sheet = fastexcel.read_excel(str(out)).load_sheet(0, dtypes="string", use_columns=[0])
    assert sheet.height == members


def test_the_cli_progress_bar_listens_to_rows_and_save():
    from fupin_cli.cli.run import progress
    from fupin_cli.io import progress as io_progress

    assert io_progress.current() is None
    with progress(quiet=True) as step:
        assert io_progress.current() == step.report
        io_progress.report("rows", 5, 10)
        assert step._p.tasks[0].completed == 5 and "5/10 行" in step._p.tasks[0].description
        io_progress.report("save", 3 << 20, 8 << 20)
        assert step._p.tasks[0].completed == 3 << 20 and "保存 3/8 MB" in step._p.tasks[0].description
    assert io_progress.current() is None
