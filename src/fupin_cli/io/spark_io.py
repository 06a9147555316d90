"""Parquet in and out of Spark for ``engine.spark.evaluate_frames`` (any filesystem Spark reads:
local paths, ``hdfs://``, ``s3a://``, ``abfss://``, … with the cluster's connectors).

The files hold the roster in canonical columns, typed (numbers, booleans, DATE or TIMESTAMP_NTZ,
text): the layout ``fupin`` writes.  Mapping a county's own headers and typing text cells is the
reader's work (``io/read*.py`` on one machine, DuckDB's scan on the identify data path); it is not
repeated here.
"""

from __future__ import annotations


def read_roster(spark, households: str, members: str | None = None):
    """(households, members) DataFrames from Parquet paths (a file, a folder or a glob each)."""
    hh = spark.read.parquet(households)
    mem = spark.read.parquet(members) if members else None
    return hh, mem


def write_parquet(df, path: str, *, partition_by: list[str] | None = None, mode: str = "errorifexists") -> None:
    """A DataFrame as Parquet at ``path`` (Spark writes a folder of part files, committed at the end:
    a failed job leaves no half-written output).  ``mode="errorifexists"`` never replaces an output."""
    writer = df.write.mode(mode)
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.parquet(path)
