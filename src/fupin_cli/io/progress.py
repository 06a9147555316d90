"""Progress of long writes, reported to whoever shows it (the CLI's progress bar); io never prints.

Writers call :func:`report` with a stage and ``(done, total)``:

* ``"rows"``: rows of a table written (``done``/``total`` rows of the sheet being written);
* ``"save"``: the final save of a workbook (assembling the sheet XML and compressing the zip),
  in bytes processed out of an estimate — see :func:`fupin_cli.io.xlsx.save_workbook`.

The CLI registers a listener for the duration of a command (``with listening(fn): ...``, done by
``cli/run.py progress()``); with none registered, reports go nowhere.  A listener may be called
from a helper thread (the save is watched from one) and must be thread-safe; rich's ``Progress``
is.  The innermost listener gets the reports.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

Listener = Callable[[str, int, int], None]
_LISTENERS: list[Listener] = []
_LOCK = threading.Lock()


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send the writers' progress reports to ``listener(stage, done, total)`` inside the block."""
    with _LOCK:
        _LISTENERS.append(listener)
    try:
        yield
    finally:
        with _LOCK:
            _LISTENERS.remove(listener)


def current() -> Listener | None:
    """The listener reports go to now, or None."""
    with _LOCK:
        return _LISTENERS[-1] if _LISTENERS else None


def report(stage: str, done: int, total: int) -> None:
    """Tell the current listener (if any) how far a long write is."""
    listener = current()
    if listener is not None:
        listener(stage, done, total)


def rows_reporter(explicit: Callable[[int, int], None] | None = None) -> Callable[[int, int], None] | None:
    """The ``progress(done, total)`` callback of a table writer: the one given, else the listener's ``rows``."""
    if explicit is not None:
        return explicit
    if current() is None:
        return None
    return lambda done, total: report("rows", done, total)
