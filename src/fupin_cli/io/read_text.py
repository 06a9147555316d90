"""CSV and Parquet files → :class:`Grid` (all cells as text, like a worksheet).

CSV encoding: ``--encoding`` when given; otherwise UTF-8 (with or without BOM) is tried
strictly, then GB18030 (a superset of GBK and GB2312).  A file with NUL bytes (UTF-16
without BOM, binary data) or that neither decodes is refused with a hint to pass
``--encoding``.  Blank lines are kept as blank rows so row numbers match what Excel shows
when it opens the file.  Parquet columns become the header row; typed values are rendered
as text the way fastexcel renders Excel cells (``3.0`` → ``3``, dates ``1990-08-08 00:00:00``)
and numeric columns are reported as "stored as numbers" for the ID check.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_cli.errors import InputError
from fupin_cli.io.read_grid import Grid, frame_from_arrow

_SAMPLE_LINES = 200


def wrong_encoding_error(name: str, detail: str) -> InputError:
    return InputError(
        f"{name}: 无法识别文件编码, 不是 UTF-8 或 GBK/GB18030 文本 (wrong encoding: {detail})",
        "用 --encoding 指定文件的编码, 例如 --encoding utf-16; 或在 Excel 中另存为“CSV UTF-8”",
    )


def decode_csv(data: bytes, name: str, encoding: str | None) -> tuple[str, str]:
    """(text, encoding used)."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputError(f"{name}: 未知的编码“{encoding}” (unknown encoding)", "常用编码: utf-8, gb18030, gbk, utf-16") from None
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as e:
            raise InputError(
                f"{name}: 不能按 {encoding} 解码, 第 {e.start} 字节起有无效字节 (wrong encoding)",
                "去掉 --encoding 让 fupin 自动识别, 或换用文件实际的编码",
            ) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    if b"\x00" in data[: 1 << 16]:
        raise wrong_encoding_error(name, "NUL bytes, UTF-16 or binary data?")
    try:
        text = data.decode("utf-8-sig")
        return text, "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as e:
        raise wrong_encoding_error(name, f"invalid byte at offset {e.start}") from None


def _delimiter(lines: list[str]) -> str:
    counts = {d: sum(line.count(d) for line in lines) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv_grid(path: Path, encoding: str | None = None) -> tuple[Grid, str]:
    if encoding is None:
        lean = _utf8_csv_grid(path)  # the common case, without the file's bytes in memory
        if lean is not None:
            return lean
    data = path.read_bytes()
    if not data.strip():
        raise InputError(f"{path.name}: 文件是空的 (empty file)", "检查是否选错了文件")
    text, used = decode_csv(data, path.name, encoding)
    head = text[: 1 << 16].splitlines()[:_SAMPLE_LINES]
    sep = _delimiter(head)
    width = max((len(r) for r in csv.reader(head, delimiter=sep)), default=1)
    # the parsers read UTF-8 bytes far faster than text; the decoded text is dropped first
    if used in ("utf-8", "utf-8-sig"):
        utf8 = data
        del text
    else:
        utf8 = text.encode("utf-8")
        del text, data
    table = _parse_arrow(utf8, sep, width)
    if table is not None:
        del utf8
        if all(table.column(j).null_count == table.num_rows for j in range(width)):
            raise InputError(f"{path.name}: 文件是空的 (empty file)", "检查是否选错了文件")
        return _lean_csv_grid(path.name, table), used
    try:  # ragged rows (e.g. a title line): pandas pads them with blanks
        cells = _parse(utf8, sep, width)
    except pd.errors.ParserError:  # a later line has more fields than the sample: measure all
        from fupin_cli.io.guard import csv_parse_error

        lines = io.TextIOWrapper(io.BytesIO(utf8), encoding="utf-8-sig", newline="")
        try:
            width = max((len(r) for r in csv.reader(lines, delimiter=sep)), default=1)
            cells = _parse(utf8, sep, width)
        except (pd.errors.ParserError, csv.Error) as e:  # an unterminated quote, a NUL byte ...
            raise csv_parse_error(path.name, e) from None
    del utf8
    if not cells.notna().to_numpy().any():
        raise InputError(f"{path.name}: 文件是空的 (empty file)", "检查是否选错了文件")
    return Grid(path.name, "", cells), used


def _utf8_csv_grid(path: Path) -> tuple[Grid, str] | None:
    """A UTF-8 CSV parsed by pyarrow straight from the file; None when the file needs the
    general path (another encoding, invalid UTF-8, UTF-16, ragged rows, blank head)."""
    with open(path, "rb") as f:
        head_bytes = f.read(1 << 16)
    if not head_bytes.strip() or b"\x00" in head_bytes or head_bytes.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    try:
        head_text = codecs.getincrementaldecoder("utf-8-sig")().decode(head_bytes)  # a cut last character waits
    except UnicodeDecodeError:
        return None
    head = head_text.splitlines()[:_SAMPLE_LINES]
    sep = _delimiter(head)
    width = max((len(r) for r in csv.reader(head, delimiter=sep)), default=1)
    table = _parse_arrow(path, sep, width)  # invalid UTF-8 later in the file: None too
    if table is None or all(table.column(j).null_count == table.num_rows for j in range(width)):
        return None
    return _lean_csv_grid(path.name, table), "utf-8-sig" if head_bytes.startswith(codecs.BOM_UTF8) else "utf-8"


def _lean_csv_grid(name: str, table: pa.Table) -> Grid:
    """A lean grid over dictionary-encoded CSV columns: the first rows as text for the header,
    each column decoded to text only when the table builder asks for it."""
    head = [table.column(j).slice(0, HEAD_ROWS + 1).cast(pa.large_string()) for j in range(table.num_columns)]
    columns: list[pa.ChunkedArray | None] = [table.column(j) for j in range(table.num_columns)]
    n_rows = table.num_rows
    del table

    def column_source(j: int) -> pa.Array:
        return columns[j].cast(pa.large_string()).combine_chunks()  # type: ignore[union-attr]

    def release_column(j: int) -> None:
        columns[j] = None

    return Grid(name, "", frame_from_arrow(head), column_source=column_source, n_rows=n_rows, source_start=0,
                release_column=release_column)


def _parse_arrow(utf8: bytes | Path, sep: str, width: int) -> pa.Table | None:
    """All fields as dictionary-encoded text with pyarrow's CSV reader (a county's villages,
    codes and 是/否 cost an index per cell); None when a line has another number of fields than
    ``width`` (pandas then pads them).

    Blank fields and blank lines → null (rows kept, so numbering holds), as in :func:`_parse`.
    """
    import pyarrow.csv as pcsv

    if isinstance(utf8, Path):
        source = pa.OSFile(str(utf8))  # a leading UTF-8 BOM is skipped by the reader
    else:
        buf = pa.py_buffer(utf8)
        source = pa.BufferReader(buf.slice(len(codecs.BOM_UTF8)) if utf8.startswith(codecs.BOM_UTF8) else buf)
    names = [str(j) for j in range(width)]
    try:
        table = pcsv.read_csv(
            source,
            read_options=pcsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pcsv.ParseOptions(delimiter=sep, quote_char='"', double_quote=True, escape_char=False,
                                            newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(column_types={n: pa.dictionary(pa.int32(), pa.string()) for n in names},
                                                null_values=[""],
                                                strings_can_be_null=True, quoted_strings_can_be_null=True),
        )
    except pa.ArrowInvalid:
        return None
    return table


def _parse(utf8: bytes, sep: str, width: int) -> pd.DataFrame:
    """All fields as text; blank fields and blank lines → NaN (rows kept, so numbering holds)."""
    df = pd.read_csv(
        io.BytesIO(utf8), sep=sep, header=None, names=list(range(width)), dtype=str, encoding="utf-8-sig",
        keep_default_na=False, na_values=[""], skip_blank_lines=False, engine="c", quoting=csv.QUOTE_MINIMAL,
    )
    return df.astype(pd.StringDtype("pyarrow", na_value=np.nan))


HEAD_ROWS = 15  # data rows a lean Parquet grid keeps as text: enough for find_header (first 15 grid rows + 1)


def read_parquet_grid(path: Path, typed: bool = True) -> Grid:
    """A grid whose row 0 is the column names.

    With ``typed`` (the lean path for large files) the grid holds only the names row and the
    first :data:`HEAD_ROWS` data rows as text; ``Grid.column_source(j)`` reads column j from the
    file when the table builder needs it, as stored (numbers, booleans, dates stay typed and are
    used directly when the field's kind fits), so at most one raw column is in memory at a time.
    Without ``typed`` (the header is not the names row) every cell is rendered as text.
    """
    import pyarrow.parquet as pq

    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(-4, 2) if path.stat().st_size >= 8 else None
        tail = f.read(4)
    if head != b"PAR1" or tail != b"PAR1":
        raise InputError(f"{path.name}: 不是 Parquet 文件 (not a Parquet file)",
                         "确认文件格式; Excel 表格请保存为 .xlsx, 文本请保存为 .csv")

    def corrupt(e: Exception) -> InputError:
        detail = str(e).splitlines()[0].replace(str(path), path.name)[:100]
        return InputError(f"{path.name}: Parquet 文件已损坏 (corrupt parquet: {detail})", "重新导出该文件")

    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
    except (pa.ArrowException, OSError) as e:
        raise corrupt(e) from None
    names = [n for n in schema.names if not n.startswith("__index_level_")]
    if not names:
        raise InputError(f"{path.name}: 文件是空的 (empty file)", "检查是否选错了文件")
    if not typed or len(set(names)) < len(names):
        try:
            table = pf.read(columns=names)
        except (pa.ArrowException, OSError) as e:
            raise corrupt(e) from None
        return _text_grid(path, names, [table.column(i) for i in range(len(names))])
    n_rows = pf.metadata.num_rows
    try:
        batch = next(pf.iter_batches(batch_size=HEAD_ROWS, columns=names), None) if n_rows else None
    except (pa.ArrowException, OSError) as e:
        raise corrupt(e) from None
    first = pa.Table.from_batches([batch]) if batch is not None else schema.empty_table().select(names)
    first = first.slice(0, HEAD_ROWS)
    heads = [pa.concat_arrays([pa.array([n], type=pa.large_string()), _as_text(first.column(i))[0]])
             for i, n in enumerate(names)]

    def column_source(j: int) -> pa.Array:
        try:
            return pf.read(columns=[names[j]]).column(0).combine_chunks()
        except (pa.ArrowException, OSError) as e:
            raise corrupt(e) from None

    def numeric_cells(cols: Sequence[int]) -> dict[int, np.ndarray]:
        out = {}
        for c in cols:
            col = column_source(c) if c < len(names) and _is_numeric(schema.field(names[c]).type) else None
            out[c] = np.empty(0, dtype=np.int64) if col is None else _valid_rows(col)
        return out

    return Grid(path.name, "", frame_from_arrow(heads), numeric_cells=numeric_cells,
                column_source=column_source, n_rows=n_rows + 1)


def _text_grid(path: Path, names: list[str], cols: list[pa.ChunkedArray]) -> Grid:
    """Every cell as text (row 0: the column names), numeric columns reported for the ID check."""
    columns, valid = [], {}
    for j, (n, col) in enumerate(zip(names, cols)):
        text, is_num = _as_text(col)
        columns.append(pa.concat_arrays([pa.array([n], type=pa.large_string()), text]))
        if is_num:
            valid[j] = _valid_rows(col)

    def numeric_cells(cs: Sequence[int]) -> dict[int, np.ndarray]:
        return {c: valid.get(c, np.empty(0, dtype=np.int64)) for c in cs}

    return Grid(path.name, "", frame_from_arrow(columns), numeric_cells=numeric_cells)


def _is_numeric(t: pa.DataType) -> bool:
    """A column whose cells are numbers (or booleans), which an ID column must not be."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_boolean(t)


def _valid_rows(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Grid rows (names row = 0) of the non-null values."""
    return np.flatnonzero(~np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)) + 1


def _typed_kind(t: pa.DataType) -> str | None:
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "date"
    return None


def typed_values(arr: pa.Array, kind: str) -> pd.Series | None:
    """A typed Arrow column as the schema kind's pandas values, or None when it does not fit."""
    tk = _typed_kind(arr.type)
    if tk == "number" and kind in ("float", "money", "int"):
        from fupin_cli.io.guard import finite_column

        valid = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        if not finite_column(arr.cast(pa.float64()).to_numpy(zero_copy_only=False), valid):
            return None  # NaN, inf or huge values: the text path reports each cell
    if tk == "number" and kind in ("float", "money"):
        vals = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)  # null → NaN
        nan = np.isnan(vals)
        return pd.Series(pd.arrays.FloatingArray(np.where(nan, 0.0, vals), nan))
    if tk == "number" and kind == "int":
        vals = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            whole = np.isnan(vals) | (vals == np.round(vals))
        if not whole.all():
            return None  # fractions: the text path reports them
        return pd.Series(pd.arrays.IntegerArray(np.nan_to_num(vals).astype(np.int64), np.isnan(vals)))
    if tk == "bool" and kind == "bool":
        values = np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)
        return pd.Series(pd.arrays.BooleanArray(values, np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)))
    if tk == "date" and kind == "date":
        ts = arr.cast(pa.timestamp("ns")) if pa.types.is_date(arr.type) else arr.cast(pa.timestamp("ns"), safe=False)
        return pd.Series(ts.to_numpy(zero_copy_only=False).astype("datetime64[ns]"))
    return None


def typed_as_text(arr: pa.Array) -> pa.Array:
    return _as_text(pa.chunked_array([arr]))[0]


def _as_text(col: pa.ChunkedArray) -> tuple[pa.Array, bool]:
    """Render a typed column as text like fastexcel renders Excel cells; (text, was numeric)."""
    col = col.combine_chunks()
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.dictionary_decode()
        t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return col.cast(pa.large_string()), False  # blanks become NaN when folded
    if pa.types.is_integer(t):
        return col.cast(pa.large_string()), True
    if pa.types.is_floating(t):
        arr = col.to_numpy(zero_copy_only=False).astype(np.float64)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(arr) & (arr == np.round(arr)) & (np.abs(arr) < 2.0**63)
        ints = pa.array(np.where(whole, arr, 0).astype(np.int64)).cast(pa.large_string())
        texts = pc.if_else(pa.array(whole), ints, col.cast(pa.large_string()))
        return pc.if_else(pa.array(np.isnan(arr)), pa.scalar(None, pa.large_string()), texts), True
    if pa.types.is_boolean(t):
        return col.cast(pa.large_string()), True
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        ts = col.cast(pa.timestamp("us")) if pa.types.is_date(t) else col
        return pc.strftime(ts, format="%Y-%m-%d %H:%M:%S").cast(pa.large_string()), False
    if pa.types.is_decimal(t):
        return col.cast(pa.float64()).cast(pa.large_string()), True
    return pa.array([None if v is None else str(v) for v in col.to_pylist()], type=pa.large_string()), False
