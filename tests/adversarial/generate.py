"""Adversarial inputs for fupin (issue 13): every file is made here, at test time, into a cache folder.

    python tests/adversarial/generate.py DIR          # write every fast case into DIR
    python tests/adversarial/generate.py DIR --slow   # the big ones too (GB bombs, 1M-row sheets)
    python tests/adversarial/generate.py --table      # the case counts per category (docs/reliability.md)

Nothing large is committed: the files are built from a small valid roster with the standard
library, xlsxwriter and pyarrow, deterministically (fixed timestamps), so the cache can be reused
(``FUPIN_ADVERSARIAL_CACHE``).  Each :class:`Case` names the file, its category and what a
correct run looks like: the exit codes allowed (``ok``), and optionally text the output must
contain (``must_say``: the finding that proves the value was not silently taken).
"""

from __future__ import annotations

import codecs
import dataclasses
import io
import struct
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

GOOD = {0, 1}  # read fine (validate exits 1 when the data has errors)
BAD = {4}  # input unusable: one clear line
FIXED_TIME = (2020, 1, 1, 0, 0, 0)

HEADER = ["户编号", "户主姓名", "户主证件号码", "家庭人口数", "人均纯收入", "行政村", "乡镇"]
ROWS = [
    ["5002300010010001", "张三", "500230196005097951", "3", "2100", "湾南村", "田白镇"],
    ["5002300010010002", "李四", "500230195803124417", "2", "5200.5", "湾南村", "田白镇"],
    ["5002300010010003", "王五", "50023019700101271X", "4", "1800", "石门村", "田白镇"],
]


@dataclasses.dataclass
class Case:
    name: str  # file name in the cache folder
    category: str
    make: Callable[[Path], None] = dataclasses.field(repr=False)
    ok: set[int] = dataclasses.field(default_factory=lambda: GOOD | BAD)
    must_say: str | None = None  # text that must appear in stdout/stderr of `validate`
    slow: bool = False
    commands: tuple[str, ...] = ("validate", "explain", "identify")


# ---- building blocks ---------------------------------------------------------------------
def _csv_text(header=HEADER, rows=ROWS, sep=",") -> str:
    return "\n".join(sep.join(r) for r in [header, *rows]) + "\n"


def _xlsx_bytes(sheets: dict[str, list[list]], *, options: dict | None = None) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False, **(options or {})})
    wb.set_properties({"created": __import__("datetime").datetime(2020, 1, 1)})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if v is not None:
                    ws.write_string(r, c, v) if isinstance(v, str) else ws.write(r, c, v)
    wb.close()
    return _fixed_zip(buf.getvalue())


def _fixed_zip(data: bytes, patch: Callable[[str, bytes], bytes] | None = None, compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    """Rewrite a zip with fixed timestamps, optionally patching members."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compress) as z:
        for info in src.infolist():
            body = src.read(info.filename)
            if patch is not None:
                body = patch(info.filename, body)
            zi = zipfile.ZipInfo(info.filename, FIXED_TIME)
            zi.compress_type = compress
            z.writestr(zi, body)
    return out.getvalue()


def _base_xlsx() -> bytes:
    return _xlsx_bytes({"花名册": [HEADER, *ROWS]})


def _sheet_patch(fn: Callable[[bytes], bytes]) -> Callable[[str, bytes], bytes]:
    return lambda name, body: fn(body) if name == "xl/worksheets/sheet1.xml" else body


def _xlsx_with(fn: Callable[[bytes], bytes]) -> bytes:
    return _fixed_zip(_base_xlsx(), _sheet_patch(fn))


def _far_cell(ref_col: str, dimension: str | None) -> Callable[[bytes], bytes]:
    def fn(xml: bytes) -> bytes:
        import re

        far = f'<row r="1048576"><c r="{ref_col}1048576" t="inlineStr"><is><t>x</t></is></c></row>'.encode()
        xml = xml.replace(b"</sheetData>", far + b"</sheetData>")
        if dimension is not None:
            xml = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>'.encode(), xml)
        return xml
    return fn


def _cfb(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2/CFB container with 4096-byte streams (names as Excel writes them)."""
    sector, free, end, fatsect, nostream = 512, 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    per = 8  # 4096-byte streams: stored in normal sectors (at the mini-stream cutoff)
    names = list(streams)
    fat = [fatsect, end]
    for k in range(len(names)):
        start = 2 + k * per
        fat += [start + i + 1 for i in range(per - 1)] + [end]
    fat += [free] * (sector // 4 - len(fat))
    header = bytearray(sector)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 40, 0, 1, 1, 0, 4096, end, 0, end, 0)
    struct.pack_into("<109I", header, 76, 0, *([free] * 108))

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00"
        e = bytearray(128)
        e[0:len(raw)] = raw
        struct.pack_into("<HBBIII", e, 64, len(raw) if name else 0, kind, 1, nostream, right, child)
        struct.pack_into("<IQ", e, 116, start, size)
        return bytes(e)

    directory = entry("Root Entry", 5, 1, nostream, end, 0)
    for k, n in enumerate(names):
        directory += entry(n, 2, nostream, k + 2 if k + 1 < len(names) else nostream, 2 + k * per, 4096)
    directory += entry("", 0, nostream, nostream, 0, 0) * ((4 - (len(names) + 1) % 4) % 4)
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    body = b"".join(streams[n][:4096].ljust(4096, b"\x00") for n in names)
    return bytes(header) + fat_bytes + directory + body


def _biff(rtype: int, data: bytes) -> bytes:
    return struct.pack("<HH", rtype, len(data)) + data


def _encrypted_xls() -> bytes:
    """A BIFF8 workbook stream that starts BOF, FILEPASS (RC4): how Excel stores a password-protected .xls."""
    bof = _biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x1F2B, 0x07CD, 0x000100C1, 0x00000206))
    filepass = _biff(0x002F, struct.pack("<HHH", 1, 1, 1) + bytes(range(16)) + bytes(32))
    return _cfb({"Workbook": bof + filepass + _biff(0x000A, b"")})


def _encrypted_xlsx() -> bytes:
    return _cfb({"EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00", "EncryptedPackage": b"\x5a" * 4096})


def _write(data: bytes) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(data)


def _lazy(fn: Callable[[], bytes]) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(fn())


def _whitespace_bomb(size: int, rows: bool = False) -> Callable[[Path], None]:
    """A sheet XML of ``size`` bytes of whitespace (or empty rows), streamed into the zip."""
    def make(p: Path) -> None:
        base = zipfile.ZipFile(io.BytesIO(_base_xlsx()))
        with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
            for info in base.infolist():
                body = base.read(info.filename)
                zi = zipfile.ZipInfo(info.filename, FIXED_TIME)
                zi.compress_type = zipfile.ZIP_DEFLATED
                if info.filename != "xl/worksheets/sheet1.xml":
                    z.writestr(zi, body)
                    continue
                head, tail = body.split(b"</sheetData>")
                with z.open(zi, "w", force_zip64=True) as f:
                    f.write(head)
                    done, n = 0, 0
                    chunk = b" " * (1 << 20)
                    while done < size:
                        if rows:
                            block = b"".join(b'<row r="%d"/>' % (n + i + 10) for i in range(20000))
                            n += 20000
                        else:
                            block = chunk
                        f.write(block)
                        done += len(block)
                    f.write(b"</sheetData>" + tail)
    return make


def _lying_size_bomb(p: Path) -> None:
    """A sheet part that declares 10 KB uncompressed but inflates to 60 MB."""
    _whitespace_bomb(60 << 20)(p)
    data = bytearray(p.read_bytes())
    z = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = z.getinfo("xl/worksheets/sheet1.xml")
    # patch the central directory entry's uncompressed size (zip64 extra field)
    cd = data.find(b"PK\x01\x02", 0)
    while cd >= 0:
        name_len, extra_len, comment_len = struct.unpack("<HHH", data[cd + 28:cd + 34])
        name = bytes(data[cd + 46:cd + 46 + name_len])
        if name == b"xl/worksheets/sheet1.xml":
            extra = cd + 46 + name_len
            end = extra + extra_len
            while extra < end:
                tag, size = struct.unpack("<HH", data[extra:extra + 4])
                if tag == 1:
                    struct.pack_into("<Q", data, extra + 4, 10_000)
                extra += 4 + size
            if struct.unpack("<I", data[cd + 24:cd + 28])[0] != 0xFFFFFFFF:
                struct.pack_into("<I", data, cd + 24, 10_000)
        cd = data.find(b"PK\x01\x02", cd + 46 + name_len + extra_len + comment_len)
    assert info.file_size > 10_000
    p.write_bytes(bytes(data))


def _many_columns(n: int) -> bytes:
    header = HEADER + [f"备注{i}" for i in range(n - len(HEADER))]
    rows = [r + ["x"] * (n - len(r)) for r in ROWS]
    return _xlsx_bytes({"花名册": [header, *rows]}, options={"constant_memory": True})


def _many_sheets(n: int) -> bytes:
    sheets = {f"表{i}": [["说明"], [f"第{i}张"]] for i in range(n - 1)}
    sheets["花名册"] = [HEADER, *ROWS]
    return _xlsx_bytes(sheets)


def _parquet(columns: dict[str, list]) -> Callable[[Path], None]:
    def make(p: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table(columns), p)
    return make


def _formulas(kind: str) -> Callable[[bytes], bytes]:
    """人均纯收入 of the first household as a formula: cached value, no cached value, cached 0, error."""
    def fn(xml: bytes) -> bytes:
        import re

        cell = {
            "cached": '<c r="E2"><f>1000+1100</f><v>2100</v></c>',
            "no_cache": '<c r="E2"><f>1000+1100</f></c>',
            "cached_zero": '<c r="E2"><f>SUM(Z1:Z9)</f><v>0</v></c>',
            "error": '<c r="E2" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
            "error_na": '<c r="E2" t="e"><f>NA()</f><v>#N/A</v></c>',
        }[kind].encode()
        return re.sub(rb'<c r="E2"[^>]*>.*?</c>', lambda m: cell, xml, count=1, flags=re.DOTALL)
    return fn


def _csv(text: str, encoding: str = "utf-8", bom: bytes = b"") -> Callable[[Path], None]:
    return _write(bom + text.encode(encoding, errors="replace"))


_TRADITIONAL = str.maketrans("户编证码数纯乡镇湾张门赵", "戶編證碼數純鄉鎮灣張門趙")


def _row_values(**changes: str) -> str:
    rows = [list(r) for r in ROWS]
    for key, value in changes.items():
        j = {"income": 4, "size": 3, "name": 1}[key]
        rows[0][j] = value
    return _csv_text(rows=rows)


# ---- the cases ---------------------------------------------------------------------------
def cases(slow: bool = False) -> list[Case]:
    root = Path(__file__).resolve().parents[2]
    xls_good = (root / "samples" / "roster-clean.xls").read_bytes()
    good_xlsx = _base_xlsx()
    good_csv = _csv_text().encode()
    out: list[Case] = [
        # baseline: the same roster in every format reads fine
        Case("good.xlsx", "baseline", _write(good_xlsx), GOOD),
        Case("good.csv", "baseline", _write(good_csv), GOOD),
        Case("good.xls", "baseline", _write(xls_good), GOOD),
        Case("good.parquet", "baseline", _parquet({h: [r[j] for r in ROWS] for j, h in enumerate(HEADER)}), GOOD),
    ]
    # malformed and truncated, every format
    for fmt, data in (("xlsx", good_xlsx), ("xls", xls_good), ("csv", good_csv), ("parquet", None)):
        if data is None:
            buf = io.BytesIO()
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({h: [r[j] for r in ROWS] for j, h in enumerate(HEADER)}), buf)
            data = buf.getvalue()
        for cut in (0.5, 0.9):
            ok = GOOD | BAD if fmt == "csv" else BAD
            out.append(Case(f"truncated_{int(cut * 100)}.{fmt}", "malformed", _write(data[: int(len(data) * cut)]), ok))
        out.append(Case(f"empty.{fmt}", "malformed", _write(b""), BAD))
        out.append(Case(f"random.{fmt}", "malformed", _write(bytes((i * 151 + 7) % 251 + 1 for i in range(5000))), BAD))
        flipped = bytearray(data)
        for i in range(len(flipped) // 3, len(flipped) // 3 + 64):
            flipped[i] ^= 0x5A
        out.append(Case(f"bitflip.{fmt}", "malformed", _write(bytes(flipped)), GOOD | BAD))
    out += [
        Case("bad_xml.xlsx", "malformed", _lazy(lambda: _xlsx_with(lambda x: x.replace(b"<sheetData>", b"<sheetData><row"))), GOOD | BAD),
        Case("no_workbook_part.xlsx", "malformed",
             _lazy(lambda: _fixed_zip(good_xlsx, lambda n, b: b if n != "xl/workbook.xml" else b"<nope")), BAD),
        Case("plain.zip.xlsx", "malformed", _lazy(lambda: _zip_of({"readme.txt": b"hello"})), BAD),
        Case("nul_in_cell.xlsx", "malformed", _lazy(lambda: _xlsx_with(lambda x: x.replace("张三".encode(), "张\x00三".encode()))), GOOD | BAD),
    ]
    # another format than the name says
    out += [
        Case("csv_named.xlsx", "wrong format", _write(good_csv), BAD),
        Case("xlsx_named.xls", "wrong format", _write(good_xlsx), GOOD),  # docs: a zip is an .xlsx whatever its name
        Case("xlsx_named.csv", "wrong format", _write(good_xlsx), BAD),
        Case("xls_named.xlsx", "wrong format", _write(xls_good), GOOD),
        Case("parquet_named.csv", "wrong format", _lazy(lambda: _parquet_bytes()), BAD),
        Case("html_named.xls", "wrong format", _write(b"<html><body><table><tr><td>\xe6\x88\xb7\xe7\xbc\x96\xe5\x8f\xb7</td></tr></table></body></html>"), BAD),
        Case("pdf_named.xlsx", "wrong format", _write(b"%PDF-1.4\n" + bytes(2000)), BAD),
        Case("xlsx_named.parquet", "wrong format", _write(good_xlsx), BAD),
    ]
    # password-protected / encrypted
    out += [
        Case("encrypted.xlsx", "encrypted", _lazy(_encrypted_xlsx), BAD, must_say="加密"),
        Case("encrypted.xls", "encrypted", _lazy(_encrypted_xls), BAD),
        Case("encrypted_named.xls", "encrypted", _lazy(_encrypted_xlsx), BAD, must_say="加密"),
    ]
    # bombs and huge used ranges (refused before the Rust reader allocates)
    out += [
        Case("far_XFD1048576.xlsx", "bombs and huge ranges", _lazy(lambda: _xlsx_with(_far_cell("XFD", None))), BAD, must_say="超过上限"),
        Case("far_ZZ1048576.xlsx", "bombs and huge ranges", _lazy(lambda: _xlsx_with(_far_cell("ZZ", None))), BAD, must_say="已用区域"),
        Case("far_XFD_honest_dimension.xlsx", "bombs and huge ranges",
             _lazy(lambda: _xlsx_with(_far_cell("XFD", "A1:XFD1048576"))), BAD, must_say="超过上限"),
        Case("whitespace_bomb_100MB.xlsx", "bombs and huge ranges", _whitespace_bomb(100 << 20), BAD, must_say="zip bomb"),
        Case("empty_rows_bomb.xlsx", "bombs and huge ranges", _whitespace_bomb(24 << 20, rows=True), GOOD | BAD),
        Case("lying_size_bomb.xlsx", "bombs and huge ranges", _lying_size_bomb, BAD),
        Case("columns_16384.xlsx", "bombs and huge ranges", _lazy(lambda: _many_columns(16384)), BAD, must_say="too many columns"),
        Case("sheets_400.xlsx", "bombs and huge ranges", _lazy(lambda: _many_sheets(400)), GOOD),
    ]
    if slow:
        out += [
            Case("whitespace_bomb_3GB.xlsx", "bombs and huge ranges", _whitespace_bomb(3 << 30), BAD, must_say="zip bomb", slow=True),
        ]
    # big cells, NUL bytes, control characters
    big = "长" * (1 << 20)
    out += [
        Case("cell_1MB.csv", "big cells and control characters", _csv(_row_values(name=big)), GOOD),
        Case("cell_1MB.xlsx", "big cells and control characters",
             _lazy(lambda: _xlsx_bytes({"花名册": [HEADER, [ROWS[0][0], big, *ROWS[0][2:]], *ROWS[1:]]})), GOOD),
        Case("nul_bytes.csv", "big cells and control characters", _write(_row_values(name="张\x00三").encode()), GOOD | BAD),
        Case("escape_codes.csv", "big cells and control characters", _csv(_row_values(name="\x1b[2J\x1b]0;pwned\x07张三\r")), GOOD),
        Case("bidi_override.csv", "big cells and control characters", _csv(_row_values(name="\u202e三张")), GOOD),
    ]
    # encodings
    text = _csv_text()
    mixed = (text.encode("utf-8") + "5002300010010004,赵六,,2,3000,湾南村,田白镇\n".encode("gbk"))
    out += [
        Case("utf8.csv", "encodings", _csv(text), GOOD),
        Case("utf8_bom.csv", "encodings", _csv(text, bom=codecs.BOM_UTF8), GOOD),
        Case("gbk.csv", "encodings", _csv(text, "gbk"), GOOD),
        Case("gb18030.csv", "encodings", _csv(text.replace("张三", "张𠀀"), "gb18030"), GOOD),
        Case("big5.csv", "encodings", _csv(text.translate(_TRADITIONAL), "big5"), GOOD | BAD),
        Case("utf16le_bom.csv", "encodings", _csv(text, "utf-16-le", codecs.BOM_UTF16_LE), GOOD),
        Case("utf16be_bom.csv", "encodings", _csv(text, "utf-16-be", codecs.BOM_UTF16_BE), GOOD),
        Case("utf16le_no_bom.csv", "encodings", _csv(text, "utf-16-le"), BAD, must_say="encoding"),
        Case("utf16be_no_bom.csv", "encodings", _csv(text, "utf-16-be"), BAD, must_say="encoding"),
        Case("mixed_utf8_gbk.csv", "encodings", _write(mixed), GOOD | BAD),
        Case("semicolon.csv", "encodings", _csv(_csv_text(sep=";")), GOOD),
        Case("crlf.csv", "encodings", _write(text.replace("\n", "\r\n").encode()), GOOD),
    ]
    # CSV structure
    out += [
        Case("unterminated_quote.csv", "csv structure", _csv(_row_values(name='"张三')), BAD, must_say="引号"),
        Case("unterminated_quote_last.csv", "csv structure", _write((_csv_text() + '5002300010010004,"赵六\n').encode()), BAD, must_say="引号"),
        Case("ragged.csv", "csv structure", _write(("某某县花名册\n" + _csv_text() + "a,b,c,d,e,f,g,h,i\n").encode()), GOOD),
        Case("only_header.csv", "csv structure", _csv(",".join(HEADER) + "\n"), GOOD | BAD),
    ]
    # formulas (cached values, none, errors)
    out += [
        Case("formula_cached.xlsx", "formulas", _lazy(lambda: _xlsx_with(_formulas("cached"))), GOOD),
        Case("formula_no_cache.xlsx", "formulas", _lazy(lambda: _xlsx_with(_formulas("no_cache"))), GOOD, must_say="read.formula_no_value"),
        Case("formula_cached_zero.xlsx", "formulas", _lazy(lambda: _xlsx_with(_formulas("cached_zero"))), GOOD, must_say="read.formula_zero"),
        Case("formula_error.xlsx", "formulas", _lazy(lambda: _xlsx_with(_formulas("error"))), {1}, must_say="read.formula_error"),
        Case("formula_error_na.xlsx", "formulas", _lazy(lambda: _xlsx_with(_formulas("error_na"))), {1}, must_say="read.formula_error"),
    ]
    # numbers: beyond float range, non-finite, negative, zero household
    out += [
        Case("income_1e400.csv", "numbers", _csv(_row_values(income="1e400")), {1}, must_say="1e400"),
        Case("income_1900_digits.csv", "numbers", _csv(_row_values(income="9" * 1900)), {1}, must_say="read.bad_value"),
        Case("income_inf.csv", "numbers", _csv(_row_values(income="inf")), {1}, must_say="“inf”"),
        Case("income_minus_inf.csv", "numbers", _csv(_row_values(income="-inf")), {1}, must_say="“-inf”"),
        Case("income_nan.csv", "numbers", _csv(_row_values(income="NaN")), {1}, must_say="“NaN”"),
        Case("income_negative.csv", "numbers", _csv(_row_values(income="-2000")), GOOD),
        Case("income_half_yuan.csv", "numbers", _csv(_row_values(income="0.5")), GOOD, must_say="income.implausible"),
        Case("household_size_0.csv", "numbers", _csv(_row_values(size="0")), {1}, must_say="家庭人口数为 0"),
        Case("income_inf.parquet", "numbers",
             _parquet({**{h: [r[j] for r in ROWS] for j, h in enumerate(HEADER) if h != "人均纯收入"},
                       "人均纯收入": [float("inf"), 5200.5, float("nan")]}), {1}, must_say="read.bad_value"),
        Case("income_1e300.xlsx", "numbers",
             _lazy(lambda: _xlsx_with(lambda x: __import__("re").sub(rb'<c r="E2"[^>]*>.*?</c>', b'<c r="E2"><v>1e300</v></c>', x, count=1, flags=__import__("re").S))),
             {1}, must_say="read.bad_value"),
    ]
    return [c for c in out if slow or not c.slow]


# ---- rule packs under attack -------------------------------------------------------------
def _pack(files: dict[str, str], extends: str = "national-2014", name: str = "attack") -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "pack.yaml").write_text(f'pack:\n  name: {name}\n  version: "1"\n  extends: {extends}\n', encoding="utf-8")
        for fname, text in files.items():
            target = folder / fname
            if text.startswith("symlink:"):
                target.symlink_to(text.split(":", 1)[1])
            else:
                target.write_text(text, encoding="utf-8")
    return make


def _param(value: str) -> dict[str, str]:
    return {"p.yaml": f"parameters:\n  poverty_line:\n    values:\n      - year: 2015\n        value: {value}\n"}


def _rule(when: str) -> dict[str, str]:
    return {"r.yaml": f"rules:\n  - id: attack\n    kind: check\n    label: x\n    severity: warning\n    when: >-\n      {when}\n    message: m\n"}


def _laughs() -> dict[str, str]:
    lines = ['    x0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"    x{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return {"r.yaml": "rules:\n  - id: lol\n    kind: check\n    label: lol\n    severity: warning\n    when: income_pc < 0\n"
                      "    message: m\n    note:\n" + "\n".join(lines) + "\n"}


def pack_cases() -> list[Case]:
    """Packs (folders) that must each be refused at load, exit 3, with file:line:col."""
    c = "rule packs"
    return [
        Case("pack_inf", c, _pack(_param(".inf")), {3}, must_say="finite"),
        Case("pack_minus_inf", c, _pack(_param("-.inf")), {3}, must_say="finite"),
        Case("pack_nan", c, _pack(_param(".nan")), {3}, must_say="finite"),
        Case("pack_1e400", c, _pack(_param("1e400")), {3}, must_say="finite"),
        Case("pack_huge_int", c, _pack(_param("9" * 1900)), {3}, must_say="1900-digit"),
        Case("pack_expr_huge_int", c, _pack(_rule("income_pc > " + "9" * 1900)), {3}, must_say="digit"),
        Case("pack_expr_1e999", c, _pack(_rule("income_pc > 1e999")), {3}, must_say="finite"),
        Case("pack_billion_laughs", c, _pack(_laughs()), {3}, must_say="alias"),
        Case("pack_python_tag", c, _pack(_param('!!python/object/apply:os.system ["touch PWNED"]')), {3}, must_say="tag"),
        Case("pack_python_name_tag", c, _pack(_param("!!python/name:os.system")), {3}, must_say="tag"),
        Case("pack_deep_nesting", c, _pack({"p.yaml": "parameters:\n  x: " + "[" * 5000 + "]" * 5000 + "\n"}), {3}, must_say="nested"),
        Case("pack_symlink_outside", c, _pack({"p.yaml": "symlink:/etc/passwd"}), {3}, must_say="outside the pack"),
        Case("pack_symlink_device", c, _pack({"p.yaml": "symlink:/dev/zero"}), {3}, must_say="outside the pack"),
        Case("pack_extends_outside", c, _pack({}, extends="../../../../../../etc"), {3}, must_say="outside"),
        Case("pack_extends_itself", c, _pack({}, extends="../pack_extends_itself"), {3}, must_say="circular"),
        Case("pack_lambda_expr", c, _pack(_rule("(lambda: 1)()")), {3}),
        Case("pack_dunder_import", c, _pack(_rule("__import__('os').system('touch PWNED')")), {3}),
        Case("pack_power", c, _pack(_rule("income_pc ** 9 ** 9 > 1")), {3}),
    ]


def _zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, body in members.items():
            z.writestr(zipfile.ZipInfo(name, FIXED_TIME), body)
    return buf.getvalue()


def _parquet_bytes() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table({h: [r[j] for r in ROWS] for j, h in enumerate(HEADER)}), buf)
    return buf.getvalue()


def build(folder: Path, slow: bool = False) -> list[Case]:
    """Write every case's file into ``folder`` (kept when it exists: a cache); packs into folder/packs."""
    folder.mkdir(parents=True, exist_ok=True)
    made = cases(slow)
    for c in made:
        p = folder / c.name
        if not p.exists():
            tmp = p.with_name(p.name + ".part")
            c.make(tmp)
            tmp.replace(p)
    packs = folder / "packs"
    for c in pack_cases():
        if not (packs / c.name).exists():
            c.make(packs / c.name)
    return made


def table_counts(slow: bool = True) -> dict[str, int]:
    counts: dict[str, int] = {}
    for c in [*cases(slow), *pack_cases()]:
        counts[c.category] = counts.get(c.category, 0) + 1
    return counts


if __name__ == "__main__":
    if "--table" in sys.argv:
        for cat, n in table_counts("--fast" not in sys.argv).items():
            print(f"{cat}\t{n}")
    else:
        target = Path(sys.argv[1])
        for c in build(target, slow="--slow" in sys.argv):
            print(target / c.name)
