"""Deterministic synthetic county rosters: clean, messy (planted faults) and multi-year chains.

>>> roster, truth = generate_roster(60, seed=1)              # one year, clean
>>> roster, truth = generate_roster(60, seed=1, messy=True)  # same county, faults planted
>>> chain = generate_chain(80, seed=1, years=[2015, 2016, 2017])

The generator never touches files; write with :func:`fupin_cli.io.write_roster.write_roster`.
"""

from fupin_cli.samples.chain import TRANSITIONS, generate_chain
from fupin_cli.samples.generate import generate_roster, poverty_line
from fupin_cli.samples.messy import FAULTS
from fupin_cli.samples.truth import Truth

__all__ = ["FAULTS", "TRANSITIONS", "Truth", "generate_chain", "generate_roster", "poverty_line"]
