"""The I/O layer: the only package that reads or writes files.

``read_roster(path, sheet=None, member_sheet=None, encoding=None) -> Roster`` reads a county
roster (.xlsx, .xls, .csv, .parquet); see ``docs/reading.md``.
"""

from fupin_cli.io.read import read_roster

__all__ = ["read_roster"]
