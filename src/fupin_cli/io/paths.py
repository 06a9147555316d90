"""ROSTER... arguments → roster files (no pandas import: the CLI calls this while parsing)."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

from fupin_cli.errors import InputError

FORMATS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
GLOB_CHARS = "*?["


class MissingPath(InputError):
    """A ROSTER argument that is neither a file, a folder nor a pattern with matches."""


def expand_paths(args: Sequence[str | os.PathLike]) -> list[Path]:
    """Files, folders and glob patterns → roster files, in the order given, each once.

    A folder gives its roster files (by extension, sorted by name, not recursive; Excel's ``~$``
    lock files and hidden files left out); a pattern (quoted, or on a shell that does not expand
    it) gives its matching files, sorted.
    """
    out: list[Path] = []
    for arg in args:
        p = Path(arg)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in FORMATS
                           and not f.name.startswith(("~$", ".")))
            if not found:
                raise InputError(f"文件夹 {p} 中没有花名册文件 (no .xlsx/.xls/.csv/.parquet file in the folder)",
                                 "检查文件夹路径")
            out.extend(found)
        elif not p.exists() and any(ch in str(arg) for ch in GLOB_CHARS):
            found = sorted(Path(m) for m in glob.glob(str(arg)) if Path(m).is_file())
            if not found:
                raise MissingPath(f"没有与 {arg} 匹配的文件 (no file matches the pattern)", "检查通配符和路径")
            out.extend(found)
        elif not p.exists():
            raise MissingPath(f"file '{arg}' does not exist.")
        else:
            out.append(p)
    return list(dict.fromkeys(out))
