"""Project-wide test settings.

Hypothesis runs derandomized by default so that CI is reproducible (the same examples every run);
`HYPOTHESIS_PROFILE=explore` draws fresh random examples (run it when changing the engine or the reader).
A failing example is shrunk for at most the default budget and printed with its reproduce blob.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# ---- Spark (tests/test_engine_spark.py): one local session for the whole run --------------------
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def spark():
    """A local SparkSession (2 threads, 2 shuffle partitions, UI off); skipped without pyspark/Java."""
    import shutil

    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java (.ci/run installs a JRE)")
    from fupin_cli.engine.spark import session

    s = session("local[2]", app_name="fupin-tests", conf={
        "spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2", "spark.driver.memory": "1g",
        "spark.sql.adaptive.enabled": "false", "spark.ui.showConsoleProgress": "false"})
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()
