"""Project-wide test settings.

The suite runs in parallel with pytest-xdist (`-n auto`): the scheduler below sends every test of one file
to one worker, so a module-scoped fixture (a generated chain, LibreOffice conversions) is built once, and
all of tests/adversarial to one worker, because tests/adversarial/test_zz_table.py checks the tally of
every adversarial test run before it (docs/reliability.md).

Hypothesis runs derandomized by default so that CI is reproducible (the same examples every run);
`HYPOTHESIS_PROFILE=explore` draws fresh random examples (run it when changing the engine or the reader).
A failing example is shrunk for at most the default budget and printed with its reproduce blob.
"""

import os

from hypothesis import settings

# pytest-xdist workers start with COLUMNS=80 in their environment; the CLI reads it as a terminal width
# (cli/common.py) and would squeeze its piped tables into 80 columns: a worker sees what a serial run sees
if os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get("COLUMNS") == "80":
    del os.environ["COLUMNS"]

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


# ---- pytest-xdist: one worker per file, tests/adversarial on one worker ---------------------------
@pytest.hookimpl(optionalhook=True)  # the hook exists only where pytest-xdist is installed
def pytest_xdist_make_scheduler(config, log):
    """Not `--dist loadgroup`: pytest 9.2 ignores the test-id suffix that xdist_group markers rely on."""
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "tests/adversarial" if path.startswith("tests/adversarial/") else path

    return ByFile(config, log)
