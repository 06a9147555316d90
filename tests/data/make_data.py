"""Make the small broken and awkward input files the reader tests use (committed beside this script).

    .venv/bin/python tests/data/make_data.py        # rewrites tests/data/reader/*

Each file shows one failure mode of ``read_roster``; tests/test_reader_errors.py asserts the
exact message each one produces.  The files are tiny and deterministic (fixed timestamps).
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
from pathlib import Path

import xlsxwriter

OUT = Path(__file__).with_name("reader")
FIXED = dt.datetime(2020, 1, 1)


def _xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> None:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    wb.set_properties({"created": FIXED})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if v is not None:
                    ws.write(r, c, v)
    wb.close()
    path.write_bytes(_fix_zip_times(buf.getvalue()))


def _fix_zip_times(data: bytes) -> bytes:
    """Rewrite a zip with fixed member timestamps (byte-identical reruns)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            info.date_time = (2020, 1, 1, 0, 0, 0)
            dst.writestr(info, src.read(info.filename))
    return out.getvalue()


def encrypted_cfb() -> bytes:
    """A minimal OLE2/CFB container holding EncryptionInfo + EncryptedPackage streams.

    This is how Excel stores a password-protected .xlsx (MS-OFFCRYPTO); the stream contents
    here are filler, which is enough for a reader that must recognise the container.
    """
    sector, free, end, fatsect, nostream = 512, 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    stream_sectors = 8  # 4096 bytes each: at the mini-stream cutoff, so stored in normal sectors
    fat = [fatsect, end]
    for start in (2, 2 + stream_sectors):
        fat += [start + i + 1 for i in range(stream_sectors - 1)] + [end]
    fat += [free] * (sector // 4 - len(fat))
    header = bytearray(sector)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 40, 0, 1, 1, 0, 4096, end, 0, end, 0)
    difat = [0] + [free] * 108
    struct.pack_into("<109I", header, 76, *difat)

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00"
        e = bytearray(128)
        e[0 : len(raw)] = raw
        struct.pack_into("<HBBIII", e, 64, len(raw) if name else 0, kind, 1, nostream, right, child)
        struct.pack_into("<IQ", e, 116, start, size)
        return bytes(e)

    directory = (
        entry("Root Entry", 5, 1, nostream, end, 0)
        + entry("EncryptionInfo", 2, nostream, 2, 2, 4096)
        + entry("EncryptedPackage", 2, nostream, nostream, 2 + stream_sectors, 4096)
        + entry("", 0, nostream, nostream, 0, 0)
    )
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    streams = (b"\x04\x00\x04\x00\x40\x00\x00\x00" + b"\x00" * 4088) + b"\x5a" * 4096
    return bytes(header) + fat_bytes + directory + streams


def main() -> None:
    OUT.mkdir(exist_ok=True)
    good = [["户编号", "户主姓名", "家庭人口数"], ["H001", "张三", 3], ["H002", "李四", 2]]
    (OUT / "empty.csv").write_bytes(b"")
    (OUT / "unsupported.json").write_text('{"户编号": "H001"}\n', encoding="utf-8")
    _xlsx(OUT / "empty_sheet.xlsx", {"Sheet1": []})
    _xlsx(OUT / "no_header.xlsx", {"说明": [["某某县扶贫办"], ["请按模板填写"], *[[f"第{i}行", i] for i in range(1, 20)]]})
    _xlsx(OUT / "duplicated_header.xlsx", {
        "花名册": [["某某县花名册"], ["户编号", "姓名", "身份证号", "与户主关系", "证件号码"], ["H001", "张三", "x", "户主", "y"]],
    })
    _xlsx(OUT / "two_sheets.xlsx", {"户": good, "成员": [["户编号", "姓名", "与户主关系"], ["H001", "张三", "户主"]]})
    (OUT / "utf16_no_bom.csv").write_bytes("户编号,户主姓名\nH001,张三\n".encode("utf-16-le"))
    (OUT / "random_bytes.csv").write_bytes(bytes((i * 151 + 7) % 256 for i in range(4096)).replace(b"\x00", b"\x81"))
    (OUT / "gbk.csv").write_bytes("户编号,户主姓名,家庭人口数\r\nH001,张三,3\r\nH002,李四,2\r\n".encode("gbk"))
    (OUT / "encrypted.xlsx").write_bytes(encrypted_cfb())
    full = (OUT / "two_sheets.xlsx").read_bytes()
    (OUT / "truncated.xlsx").write_bytes(full[: len(full) // 2])
    (OUT / "not_parquet.parquet").write_bytes(b"household_id,name\nH001,x\n")


if __name__ == "__main__":
    main()
