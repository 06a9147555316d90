"""Writing outputs: atomic, never overwriting without ``force``, formula-safe, deterministic.

Every writer in fupin goes through :func:`atomic_output`: the file is written to a temporary
name in the destination folder and moved into place with ``os.replace`` only when complete,
so a crash or an error never leaves a half-written output (or destroys an existing one).

Formula injection: text cells that start with ``= + - @`` (or a tab / carriage return) would be
run as formulas by Excel or LibreOffice when a CSV is opened.  CSV writers prefix such text
with ``'``; xlsx writers write text with ``write_string`` so it is never a formula.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fupin_cli.errors import UsageError

EXCEL_MAX_DATA_ROWS = 1_048_575  # 1,048,576 rows a sheet, one of them the header
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SUPPORTED_TABLE_FORMATS = (".xlsx", ".csv", ".parquet")


def check_output(path: str | os.PathLike, force: bool = False, *, allowed: Sequence[str] | None = None) -> Path:
    """Validate an output path before any work is done; raise UsageError with a fix hint."""
    p = Path(path)
    if allowed is not None and p.suffix.lower() not in allowed:
        raise UsageError(
            f"output {p.name}: unsupported file type '{p.suffix or '(none)'}'",
            f"use one of {', '.join(allowed)}",
        )
    if p.exists() and p.is_dir():
        raise UsageError(f"output {p} is a folder", "give a file name")
    if p.exists() and not force:
        raise UsageError(f"output {p} already exists", "use --force to overwrite it, or choose another name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise UsageError(f"output folder {parent} does not exist", "create it first or choose another path")
    return p


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place when the block succeeds."""
    p = check_output(path, force)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp" + p.suffix, dir=p.parent if str(p.parent) else ".")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if p.exists() and not force:  # appeared while we were writing
            raise UsageError(f"output {p} already exists", "use --force to overwrite it, or choose another name")
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, p)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def escape_formula(value: Any) -> Any:
    """Prefix text that a spreadsheet would read as a formula with ``'``; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def escape_formulas_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Vectorised :func:`escape_formula` over every text column of a frame (returns a copy)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_string_dtype(s) or s.dtype == object:
            mask = s.astype("string").str.match(r"^[=+\-@\t\r]", na=False).astype(bool)
            if mask.any():
                out[col] = s.astype(object)
                out.loc[mask, col] = "'" + s[mask].astype(str)
    return out


def write_csv(df: pd.DataFrame, path: str | os.PathLike, force: bool = False) -> Path:
    """CSV in UTF-8 with BOM (Excel shows Chinese), ``\\n`` line ends, formula-escaped, deterministic."""
    with atomic_output(path, force) as tmp:
        escape_formulas_frame(df).to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")
    return Path(path)


def write_parquet(df: pd.DataFrame, path: str | os.PathLike, force: bool = False) -> Path:
    with atomic_output(path, force) as tmp:
        df.to_parquet(tmp, index=False)
    return Path(path)


def write_json(payload: Any, path: str | os.PathLike, force: bool = False) -> Path:
    with atomic_output(path, force) as tmp:
        tmp.write_text(json.dumps(payload, ensure_ascii=False, sort_keys=True, indent=2, default=str) + "\n", encoding="utf-8")
    return Path(path)


def write_frame(
    df: pd.DataFrame,
    path: str | os.PathLike,
    force: bool = False,
    *,
    sheet_name: str = "Sheet1",
    text_columns: Sequence[str] = (),
    money_columns: Sequence[str] = (),
    percent_columns: Sequence[str] = (),
) -> Path:
    """Write one table as .xlsx (styled), .csv or .parquet, chosen by the file extension."""
    p = check_output(path, force, allowed=SUPPORTED_TABLE_FORMATS)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return write_csv(df, p, force)
    if suffix == ".parquet":
        return write_parquet(df, p, force)
    from fupin_cli.io.xlsx import XlsxBook

    with XlsxBook(p, force=force) as book:
        book.add_table(
            sheet_name, df, text_columns=text_columns, money_columns=money_columns, percent_columns=percent_columns
        )
    return p


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
