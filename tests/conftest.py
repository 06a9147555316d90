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
