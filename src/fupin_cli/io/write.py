"""Writing outputs: atomic, locked, never over an input, never overwriting without ``force``,
formula-safe, deterministic.

Every writer in fupin goes through :func:`atomic_output`:

* the output is compared with every input of the run (:func:`protect_inputs`; resolved paths,
  symlinks and hard links included) and refused, with or without ``--force``;
* the file is written to a temporary name in the destination folder
  (``.NAME.fupin-PID-XXXX.tmpSUFFIX``), flushed to disk and moved into place with ``os.replace``
  only when complete, so an error, Ctrl-C, SIGTERM or kill -9 leaves either the previous file or
  the complete new one — never a partial one.  Temporaries of a run that died are removed by
  the next run writing to that folder (:func:`clean_stale_temporaries`);
* a lock (``.NAME.fupin-lock``, ``flock``) makes two runs writing the same file at once fail
  clearly instead of racing: one wins whole, the other stops with :class:`OutputError`;
* the file gets the user's umask; outputs holding full ID numbers (``private=True``: registers,
  generated rosters) at most ``0600``;
* a full disk, a read-only or unwritable folder become :class:`OutputError` (exit 4), one line.

Formula injection: text cells that start with ``= + - @`` (or a tab / carriage return) would be
run as formulas by Excel or LibreOffice when a CSV is opened.  CSV writers prefix such text
with ``'`` (headers included); xlsx writers write text with ``write_string`` so it is never a formula.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fupin_cli.errors import OutputError, UsageError

try:  # POSIX; elsewhere two runs are not locked against each other
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

EXCEL_MAX_DATA_ROWS = 1_048_575  # 1,048,576 rows a sheet, one of them the header
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SUPPORTED_TABLE_FORMATS = (".xlsx", ".csv", ".parquet")
TEMP_MARK = ".fupin-"
_STALE = re.compile(r"^\.(?P<name>.+)\.fupin-(?P<pid>\d+)-[A-Za-z0-9_]+\.tmp")
_LEGACY_TEMP = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp(\.[A-Za-z]+)?$")  # before 0.2: mkstemp(prefix=".NAME.")
_LOCK_SUFFIX = ".fupin-lock"
_PROTECTED: list[Path] = []
EXCEL_MAX_CELL_CHARS = 32_767
NOTICES: list[str] = []  # things a writer had to do that the user must hear of (drained by the CLI)


def take_notices() -> list[str]:
    """The writers' notices since the last call (e.g. cells cut at Excel's 32,767 characters)."""
    out = list(dict.fromkeys(NOTICES))
    NOTICES.clear()
    return out


# ---- inputs are sacred -------------------------------------------------------------------
def protect_inputs(paths: Iterable[str | os.PathLike], *, reset: bool = False) -> None:
    """Declare the inputs of this run: no output may ever be written over one of them."""
    if reset:
        _PROTECTED.clear()
    _PROTECTED.extend(Path(p) for p in paths if p is not None)


def protected_inputs() -> list[Path]:
    return list(_PROTECTED)


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name the same file: same inode (hard links, symlinks) or same resolved path."""
    with contextlib.suppress(OSError):
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def _check_not_an_input(p: Path, inputs: Iterable[str | os.PathLike]) -> None:
    for q in [*inputs, *_PROTECTED]:
        if same_file(p, q):
            raise UsageError(f"output {p.name} is one of the inputs", "give the output its own file name")


def check_output(path: str | os.PathLike, force: bool = False, *, allowed: Sequence[str] | None = None,
                 inputs: Iterable[str | os.PathLike] = ()) -> Path:
    """Validate an output path before any work is done; raise UsageError / OutputError with a fix hint."""
    p = Path(path)
    _check_not_an_input(p, inputs)
    if allowed is not None and p.suffix.lower() not in allowed:
        raise UsageError(
            f"output {p.name}: unsupported file type '{p.suffix or '(none)'}'",
            f"use one of {', '.join(allowed)}",
        )
    if p.exists() and p.is_dir():
        raise UsageError(f"output {p} is a folder", "give a file name")
    if p.exists() and not p.is_file():
        raise UsageError(f"output {p} is not a regular file (a device, pipe or socket)", "give the name of a file")
    if p.exists() and not force:
        raise UsageError(f"output {p} already exists", "use --force to overwrite it, or choose another name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise UsageError(f"output folder {parent} does not exist", "create it first or choose another path")
    check_writable(parent)
    return p


def check_writable(folder: str | os.PathLike) -> None:
    """Create and remove a probe file in ``folder`` (honest on read-only mounts, ACLs, full quotas)."""
    folder = Path(folder)
    try:
        fd, probe = tempfile.mkstemp(prefix=f".fupin-probe-{os.getpid()}-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise _output_error(folder, e, what="output folder") from None


# ---- temporaries, locks, modes -----------------------------------------------------------
def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def clean_stale_temporaries(folder: str | os.PathLike, *, legacy_age: float = 3600.0) -> list[Path]:
    """Remove temporaries of our own naming left in ``folder`` by runs that died (kill -9, power loss).

    ``.NAME.fupin-PID-XXXX.tmp*`` whose process is gone; unheld ``.NAME.fupin-lock`` files;
    temporaries of the older naming (``.NAME.XXXXXXXX.tmp.EXT``) older than ``legacy_age`` seconds.
    Returns the paths removed.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(os.fspath(folder)))
    except OSError:
        return removed
    now = time.time()
    for e in entries:
        name = e.name
        if not name.startswith("."):
            continue
        stale = False
        m = _STALE.match(name)
        if m:
            stale = not _alive(int(m.group("pid")))
        elif name.endswith(_LOCK_SUFFIX):
            stale = _lock_is_free(e.path)
        elif _LEGACY_TEMP.match(name):
            with contextlib.suppress(OSError):
                stale = now - e.stat(follow_symlinks=False).st_mtime > legacy_age
        if stale and e.is_file(follow_symlinks=False):
            with contextlib.suppress(OSError):
                os.unlink(e.path)
                removed.append(Path(e.path))
    return removed


def _lock_is_free(path: str) -> bool:
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)  # closing releases the probe lock
    return True


@contextlib.contextmanager
def _locked(p: Path) -> Iterator[None]:
    """Hold ``.NAME.fupin-lock`` beside the target while it is written; fail at once if held."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    lock = p.with_name(f".{p.name}{_LOCK_SUFFIX}")
    busy = OutputError(f"another fupin run is writing {p} right now (locked)",
                       "wait for it to finish, or write to another file")
    for _ in range(5):
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise busy from None
        try:  # the file we locked must still be the one at the path (not one unlinked meanwhile)
            current = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(fd)
    else:
        raise busy
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def output_mode(private: bool = False) -> int:
    """The mode a new output gets: the user's umask; outputs with full ID numbers at most 0600."""
    umask = os.umask(0o077)
    os.umask(umask)
    mode = 0o666 & ~umask
    return mode & 0o600 if private else mode


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_ERRNO_HINTS = {
    errno.ENOSPC: ("disk full", "free some space or write to another disk; nothing was half-written"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or write to another disk; nothing was half-written"),
    errno.EFBIG: ("file too large for this disk or limit", "write to another disk or a smaller format (.parquet)"),
    errno.EROFS: ("read-only file system", "write to a writable folder"),
    errno.EACCES: ("permission denied", "write to a folder you may write to"),
    errno.EPERM: ("permission denied", "write to a folder you may write to"),
}


def _os_error(e: BaseException | None) -> OSError | None:
    """The OSError behind ``e`` (itself, its cause or context, or a library's wrapper's argument)."""
    seen = 0
    while e is not None and seen < 5:
        if isinstance(e, OSError):
            return e
        args = getattr(e, "args", ())
        if args and isinstance(args[0], OSError):
            return args[0]
        e = e.__cause__ or e.__context__
        seen += 1
    return None


def _output_error(p: Path, e: OSError, what: str = "output") -> OutputError:
    what_went_wrong, hint = _ERRNO_HINTS.get(e.errno or 0, (e.strerror or type(e).__name__, "check the folder is writable and has space"))
    return OutputError(f"cannot write {what} {p}: {what_went_wrong}", hint)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, force: bool = False, *, private: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place when the block succeeds.

    ``private``: the output holds full ID numbers (mode at most 0600 whatever the umask).
    """
    p = check_output(path, force)
    folder = p.parent if str(p.parent) else Path(".")
    clean_stale_temporaries(folder)
    with _locked(p):
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{p.name}{TEMP_MARK}{os.getpid()}-", suffix=".tmp" + p.suffix, dir=folder)
        except OSError as e:
            raise _output_error(p, e) from None
        os.close(fd)
        tmp_path = Path(tmp)
        try:
            yield tmp_path
            _check_not_an_input(p, ())  # a symlink swapped in while we wrote
            if p.exists() and not force:  # appeared while we were writing
                raise UsageError(f"output {p} already exists", "use --force to overwrite it, or choose another name")
            _fsync(tmp_path)
            os.chmod(tmp_path, output_mode(private))
            os.replace(tmp_path, p)
            _fsync_dir(folder)
        except Exception as e:
            cause = _os_error(e)
            if cause is not None and not isinstance(e, (UsageError, OutputError)):
                raise _output_error(p, cause) from None
            raise
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()


def escape_formula(value: Any) -> Any:
    """Prefix text that a spreadsheet would read as a formula with ``'``; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def escape_formulas_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Vectorised :func:`escape_formula` over every text column of a frame and over its header
    (a passed-through column's header is text from the input too); returns a copy."""
    out = df.copy()
    if any(isinstance(c, str) and c.startswith(FORMULA_PREFIXES) for c in out.columns):
        out.columns = [escape_formula(c) for c in out.columns]
    for col in out.columns:
        s = out[col]
        if s.dtype == object:  # only the text values: numbers (negative amounts too) stay numbers
            mask = s.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_PREFIXES)).astype(bool)
        elif pd.api.types.is_string_dtype(s):
            mask = s.astype("string").str.match(r"^[=+\-@\t\r]", na=False).astype(bool)
        else:
            continue
        if mask.any():
            out[col] = s.astype(object)
            out.loc[mask, col] = "'" + s[mask].astype(str)
    return out


def mask_ids_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Every ID-like number inside the text cells (and headers) of a frame masked (returns the frame
    itself when there is none).  Outputs other than the register (``private=False``) go through this,
    so a full ID typed into a name or note column never reaches a list, report or findings file."""
    from fupin_cli.idnumber import _ID_LIKE, mask_text

    out = None
    for col in df.columns:
        s = df[col]
        if s.dtype == object:
            hit = s.map(lambda v: isinstance(v, str) and _ID_LIKE.search(v) is not None).astype(bool)
        elif pd.api.types.is_string_dtype(s):
            hit = s.str.contains(_ID_LIKE, regex=True, na=False).astype(bool)
        else:
            continue
        if hit.any():
            out = df.copy() if out is None else out
            out[col] = s.astype(object)
            out.loc[hit, col] = [mask_text(v) for v in s[hit]]
    if any(isinstance(c, str) and _ID_LIKE.search(c) for c in df.columns):
        out = (df.copy() if out is None else out)
        out.columns = [mask_text(c) if isinstance(c, str) else c for c in out.columns]
    return df if out is None else out


def write_csv(df: pd.DataFrame, path: str | os.PathLike, force: bool = False, *, private: bool = False) -> Path:
    """CSV in UTF-8 with BOM (Excel shows Chinese), ``\\n`` line ends, formula-escaped, deterministic."""
    if not private:
        df = mask_ids_frame(df)
    with atomic_output(path, force, private=private) as tmp:
        _cr_as_newline(escape_formulas_frame(df)).to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")
    return Path(path)


def _cr_as_newline(df: pd.DataFrame) -> pd.DataFrame:
    """A carriage return inside a text cell becomes a newline: the CSV writer quotes cells with
    ``\\n`` (the line terminator) but not ones with a bare ``\\r``, which would split the row."""
    for col in df.columns:
        s = df[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            has = s.map(lambda v: isinstance(v, str) and "\r" in v).astype(bool)
            if has.any():
                df[col] = s.astype(object)
                df.loc[has, col] = [v.replace("\r\n", "\n").replace("\r", "\n") for v in s[has]]
    return df


def write_parquet(df: pd.DataFrame, path: str | os.PathLike, force: bool = False, *, private: bool = False) -> Path:
    if not private:
        df = mask_ids_frame(df)
    with atomic_output(path, force, private=private) as tmp:
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
    private: bool = False,
) -> Path:
    """Write one table as .xlsx (styled), .csv or .parquet, chosen by the file extension.

    ``private``: the table may hold full ID numbers (mode 0600); otherwise they are masked."""
    p = check_output(path, force, allowed=SUPPORTED_TABLE_FORMATS)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return write_csv(df, p, force, private=private)
    if suffix == ".parquet":
        return write_parquet(df, p, force, private=private)
    from fupin_cli.io.xlsx import XlsxBook

    with XlsxBook(p, force=force, private=private) as book:
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
